"""`wengert trace`, `wengert gradcheck`, `wengert derivatives`: one expression, three views.

Domain. The expression is evaluated in float64 with NumPy's semantics (1/0 is inf, log(-1) and
(-1)**0.5 are nan), NumPy's warnings off. Where f's value at the point is not finite the command
refuses with one line: the point is outside f's domain (nan), or a pole or an overflow (inf).
Where the value is finite but a derivative is not (sqrt(x) at 0), trace and derivatives print
the nan or inf and say so in a note under it; gradcheck refuses, having nothing to compare.
"""

from __future__ import annotations

import contextlib

import click
import numpy as np

from wengert.autodiff.render import GraphvizNotFoundError, render_dot
from wengert.autodiff.trace import trace as trace_program
from wengert.cli.boundary import UserError, boundary
from wengert.cli.expr import FUNCTIONS, MAX_OPERATIONS, compile_expression, parse_point

__all__ = ["DERIVATIVES_LIMIT", "SYMBOLIC_LIMIT", "derivatives", "gradcheck", "trace"]

_LANGUAGE = (
    "EXPR uses numbers, the variables of --at, + - * / ** (right-associative, above unary "
    "minus), parentheses and the functions " + ", ".join(FUNCTIONS) + "."
)
_AT = click.option(
    "--at", "at", required=True, metavar="NAME=VALUE,...", help="The point: w=0.5,x=2,b=0.1."
)

# The most primitives for which `derivatives` derives the symbolic (SymPy) row: SymPy replays
# f one primitive at a time, about 3 ms each for a sum that does not collapse; past this the row
# says it was skipped, and the five other methods still run.
SYMBOLIC_LIMIT = 1_000
# The most operations `derivatives` accepts: it runs f some 30 times (finite differences, timing
# repeats, operation counts), about 7 s for 20,000 operations; trace and gradcheck take up to
# MAX_OPERATIONS.
DERIVATIVES_LIMIT = 10_000
# The rows of compare_derivatives that step away from the point.
_FINITE_DIFFERENCES = ("forward", "central", "richardson")


def _compile(expression: str, at: str, max_operations: int = MAX_OPERATIONS):
    """f and its point ({name: value}); a ValueError where f's value there is not finite."""
    point = parse_point(at)
    f = compile_expression(expression, point, max_operations)
    y = _number(f(*point.values()))
    if not np.isfinite(y):
        why = (
            "the point is outside the function's domain, or a step overflows float64"
            if np.isnan(y)
            else "the function has a pole there, or its value overflows float64"
        )
        raise ValueError(
            f"{_short(expression)} is not finite at {_where(point)} ({y}): {why}; choose "
            f"another point with --at"
        )
    return f, point


@contextlib.contextmanager
def _float64_quietly(command: str):
    """NumPy's floating-point warnings off (the commands report nan and inf themselves), and
    Python's recursion limit, should a library walk recurse after all, as one error line."""
    try:
        with np.errstate(all="ignore"):
            yield
    except RecursionError:
        raise UserError(
            command, "the expression is nested too deeply (Python's recursion limit)"
        ) from None


def _not_finite(gradient, point: dict) -> str | None:
    """What is wrong with a gradient (one value per variable) that has nan or inf, or None."""
    partials = [
        f"∂/∂{name} = {g}"
        for name, g in zip(point, map(_number, gradient), strict=True)
        if not np.isfinite(g)
    ]
    if not partials:
        return None
    return (
        f"the gradient is not finite at {_where(point)} ({', '.join(partials)}): f is not "
        f"differentiable there, or its derivative's formula breaks down in float64"
    )


def _number(value) -> float:
    return float(np.asarray(getattr(value, "data", value), dtype=np.float64))


def _where(point: dict) -> str:
    return ",".join(f"{name}={value:g}" for name, value in point.items())


def _short(expression: str, width: int = 60) -> str:
    text = " ".join(expression.split())
    return text if len(text) <= width else text[: width - 1] + "…"


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
    help="Also write the graph, with values and adjoints, as Graphviz text to FILE, and draw "
    "it with Graphviz's `dot` when installed: FILE.png beside it, or, for a FILE ending in "
    ".svg or .png, that picture (the text then goes to FILE's name with .dot).",
)
@boundary("trace")
def trace(expression: str, at: str, dot: str | None) -> None:
    """`wengert trace`: print the Wengert list of an expression, its sweep and its gradient."""
    with _float64_quietly("trace"):
        f, point = _compile(expression, at)
        recorded = trace_program(f, *point.values())
        sweep = recorded.backward()
        click.echo(str(recorded))
        click.echo()
        click.echo(str(sweep))
        problem = _not_finite(sweep.grads.values(), point)
        if problem:
            click.echo(f"\nNote: {problem}.")
        if dot is not None:
            _write_dot(recorded, dot)


def _write_dot(recorded, path: str) -> None:
    """The graph with its adjoints as DOT text, and a picture of it when Graphviz is installed:
    PATH itself when it ends in .svg or .png (the DOT text then goes beside it, in .dot), else
    PATH.png beside PATH. Says in one line when no picture is written, and why."""
    stem, dot_suffix, suffix = _picture_names(path)
    dot_path = path if dot_suffix else stem + ".dot"
    picture = path if not dot_suffix else stem + ".png"
    text = recorded.to_dot()
    with open(dot_path, "w", encoding="utf-8") as file:
        file.write(text)
    click.echo(f"wrote {dot_path}", err=True)
    try:
        drawn = render_dot(text, suffix, "wengert trace")
    except GraphvizNotFoundError:
        click.echo(
            f"no picture written: {picture} needs Graphviz's `dot` program (apt-get install "
            f"graphviz, brew install graphviz or conda install graphviz); {dot_path} holds "
            "the graph as text",
            err=True,
        )
        return
    except RuntimeError as error:
        click.echo(f"no picture written: {str(error).removeprefix('wengert trace: ')}", err=True)
        return
    with open(picture, "wb") as file:
        file.write(drawn)
    click.echo(f"wrote {picture}", err=True)


def _picture_names(path: str) -> tuple[str, bool, str]:
    """(the path without its .dot, .svg or .png, whether the DOT text goes to path itself,
    the picture's format)."""
    for suffix in (".svg", ".png"):
        if path.lower().endswith(suffix):
            return path[: -len(suffix)], False, suffix[1:]
    return (path[:-4] if path.endswith(".dot") else path), True, "png"


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
    """`wengert gradcheck`: compare the expression's gradient with central differences."""
    from wengert.autodiff.functional import grad
    from wengert.derivatives import gradcheck as check

    with _float64_quietly("gradcheck"):
        f, point = _compile(expression, at)
        values = list(point.values())
        problem = _not_finite(grad(f, tuple(range(len(values))))(*values), point)
        if problem:  # nothing to compare: refuse rather than report a failure
            raise ValueError(f"{problem}; gradcheck compares finite numbers, choose another point")
        report = check(f, *values, order=order, raise_on_fail=False)
    problem = _numerical_not_finite(report, point)
    if problem:  # a finite autodiff against nan: the comparison would say nothing true
        raise ValueError(problem)
    click.echo(str(report))
    if not report.passed:
        raise SystemExit(1)


def _numerical_not_finite(report, point: dict) -> str | None:
    """Why the central differences of a check are not finite while autodiff's are, or None.

    gradcheck's step is h = eps_mach^(1/3) max(1, |x|) (its default); f(x - h) or f(x + h) is
    then outside f's domain (nan) or past a pole or float64's range (inf)."""
    for checked in report.arguments:
        numerical, autodiff = checked.numerical_grad, checked.autodiff_grad
        if np.all(np.isfinite(numerical)) or not np.all(np.isfinite(autodiff)):
            continue
        name = list(point)[checked.index]
        h = np.finfo(np.float64).eps ** (1 / 3) * max(1.0, abs(point[name]))
        which = "derivative" if checked.order == 1 else "second derivative"
        leaves = (
            "leaves the function's domain"
            if np.isnan(numerical).any()
            else "reaches a pole or overflows float64"
        )
        return (
            f"the numerical {which} in {name} is not finite at {_where(point)} "
            f"({checked.numerical:g}; autodiff's is {checked.autodiff:g}): a step of h={h:.3g} "
            f"in {name} {leaves}; choose a point farther from it"
        )
    return None


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
    """`wengert derivatives`: the gradient of the expression by every method, side by side."""
    from wengert.derivatives import compare_derivatives

    with _float64_quietly("derivatives"):
        f, point = _compile(expression, at, DERIVATIVES_LIMIT)
        values = list(point.values())
        table = compare_derivatives(f, *values, repeats=repeats, symbolic_limit=SYMBOLIC_LIMIT)
        click.echo(str(table))
        _note_non_finite_rows(table, point)


def _note_non_finite_rows(table, point: dict) -> None:
    rows = [r for r in table.rows if r["gradient"] is not None]
    bad = [r for r in rows if not np.all(np.isfinite(r["gradient"]))]
    if not bad:
        return
    labels = ", ".join(r["label"] for r in bad)
    if all(r["method"] in _FINITE_DIFFERENCES for r in bad):  # the exact methods are finite
        why = (
            f"a finite difference's step leaves f's domain near {_where(point)}, where the "
            "exact methods' gradient is finite; their errors are nan"
        )
    else:
        why = (
            f"f is not differentiable at {_where(point)}, or a finite difference stepped "
            "outside its domain; errors measured against a non-finite number are nan"
        )
    click.echo(f"\nNote: nan or inf in the gradient by {labels}: {why}.")
