"""`wengert trace`, `wengert gradcheck`, `wengert derivatives`: one expression, three views."""

from __future__ import annotations

import shutil
import subprocess

import click

from wengert.autodiff.trace import trace as trace_program
from wengert.cli.boundary import boundary
from wengert.cli.expr import FUNCTIONS, compile_expression, parse_point

__all__ = ["derivatives", "gradcheck", "trace"]

_LANGUAGE = (
    "EXPR uses numbers, the variables of --at, + - * / ** (right-associative, above unary "
    "minus), parentheses and the functions " + ", ".join(FUNCTIONS) + "."
)
_AT = click.option(
    "--at", "at", required=True, metavar="NAME=VALUE,...", help="The point: w=0.5,x=2,b=0.1."
)


def _compile(expression: str, at: str):
    point = parse_point(at)
    f = compile_expression(expression, point)
    return f, list(point.values())


@click.command(
    epilog="\b\nExample:\n  wengert trace 'sigmoid(w*x + b)' --at w=0.5,x=2,b=0.1 --dot graph.dot",
    help="Print the Wengert list of EXPR at a point, its backward sweep and the gradient. "
    + _LANGUAGE,
)
@click.argument("expression", metavar="EXPR")
@_AT
@click.option(
    "--dot",
    type=click.Path(dir_okay=False, writable=True),
    help="Also write the graph as Graphviz text (and FILE.png when `dot` is installed).",
)
@boundary("trace")
def trace(expression: str, at: str, dot: str | None) -> None:
    f, values = _compile(expression, at)
    recorded = trace_program(f, *values)
    click.echo(str(recorded))
    click.echo()
    click.echo(str(recorded.backward()))
    if dot is not None:
        _write_dot(recorded, dot)


def _write_dot(recorded, path: str) -> None:
    lines = ["digraph wengert {", "  rankdir=LR;", '  node [fontname="monospace"];']
    for t in recorded.inputs:
        name = recorded.name_of(t)
        lines.append(f'  "{name}" [shape=ellipse, label="{name} = {float(t.data):.6g}"];')
    for t, step in zip(recorded.nodes, recorded.steps, strict=True):
        name = recorded.name_of(t)
        expression = step.expression.replace('"', '\\"')
        label = f"{name} = {expression}\\n{float(t.data.ravel()[0]):.6g}"
        lines.append(f'  "{name}" [shape=box, label="{label}"];')
        for a in t._inputs:
            if id(a) in recorded.names:
                lines.append(f'  "{recorded.name_of(a)}" -> "{name}";')
    lines.append("}")
    with open(path, "w", encoding="utf-8") as file:
        file.write("\n".join(lines) + "\n")
    click.echo(f"wrote {path}", err=True)
    if shutil.which("dot"):
        png = path.rsplit(".", 1)[0] + ".png" if path.endswith(".dot") else path + ".png"
        done = subprocess.run(["dot", "-Tpng", path, "-o", png], capture_output=True, check=False)
        if done.returncode == 0:
            click.echo(f"wrote {png}", err=True)


@click.command(
    epilog="\b\nExample:\n  wengert gradcheck 'log(1 + exp(w*x + b))' --at w=0.5,x=1.5,b=-0.3 "
    "--order 2",
    help="Check the autodiff gradient of EXPR against central differences (float64). Exit "
    "status 1 when they disagree. " + _LANGUAGE,
)
@click.argument("expression", metavar="EXPR")
@_AT
@click.option("--order", type=click.IntRange(1, 2), default=1, show_default=True)
@boundary("gradcheck")
def gradcheck(expression: str, at: str, order: int) -> None:
    from wengert.derivatives import gradcheck as check

    f, values = _compile(expression, at)
    report = check(f, *values, order=order, raise_on_fail=False)
    click.echo(str(report))
    if not report.passed:
        raise SystemExit(1)


@click.command(
    epilog="\b\nExample:\n  wengert derivatives 'sigmoid(w*x + b)' --at w=0.5,x=2,b=0.1",
    help="The gradient of EXPR by finite differences, SymPy, forward and reverse mode, with "
    "their errors and costs. " + _LANGUAGE,
)
@click.argument("expression", metavar="EXPR")
@_AT
@click.option("--repeats", type=click.IntRange(min=1), default=5, show_default=True)
@boundary("derivatives")
def derivatives(expression: str, at: str, repeats: int) -> None:
    from wengert.derivatives import compare_derivatives

    f, values = _compile(expression, at)
    click.echo(str(compare_derivatives(f, *values, repeats=repeats)))
