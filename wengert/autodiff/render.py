"""How a Wengert list writes values and expressions: `t1 = w * x`, `z̄ = t1̄ * x`, `[0.5, 1]`."""

from __future__ import annotations

import html
import shutil
import subprocess
import unicodedata
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from wengert.autodiff.primitive import Primitive
from wengert.autodiff.tensor import Tensor

ATOM = 100  # the precedence of a name, a number or a call: never parenthesised


def number(x: float | np.number | np.bool_) -> str:
    """A short form of a number: 0.5, -3, 1e-08, True."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    return f"{float(x) + 0.0:.6g}"  # + 0.0 turns -0.0 into 0.0


def value(x: ArrayLike | Tensor, width: int = 6) -> str:
    """A value as a learner wants to read it: the number, a short list, or dtype and shape."""
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if data.ndim == 0 or data.size == 1:
        return number(data.reshape(()).item())
    if data.size <= width and data.ndim == 1:
        return "[" + ", ".join(number(v) for v in data.tolist()) + "]"
    return f"<{data.dtype} {'x'.join(map(str, data.shape))}>"


def index(idx: tuple) -> str:
    """An index tuple as it is written in Python: 0, 1:3, ..., None, [0, 0, 2]."""
    parts = []
    for i in idx:
        if isinstance(i, slice):
            s = f"{'' if i.start is None else i.start}:{'' if i.stop is None else i.stop}"
            parts.append(s if i.step is None else f"{s}:{i.step}")
        elif i is Ellipsis:
            parts.append("...")
        elif isinstance(i, np.ndarray):
            parts.append(value(i, width=8))
        else:
            parts.append(str(i))
    return ", ".join(parts)


def param(name: str, v: object) -> str:
    """A primitive's keyword parameter as the Wengert list prints it (an index as Python would)."""
    if name == "index":
        return index(v)
    if isinstance(v, np.dtype):
        return str(v)
    if isinstance(v, tuple) and all(isinstance(a, (int, np.integer)) for a in v):
        return str(v[0]) if len(v) == 1 and name == "axis" else str(tuple(int(a) for a in v))
    if isinstance(v, (np.ndarray, np.generic, float, int)):
        return value(v)
    return repr(v)


def operation(prim: Primitive, args: list[str], params: dict, precs: list[int]) -> tuple[str, int]:
    """The text of prim applied to already-written args, and its precedence.

    An argument is parenthesised when it binds more loosely than the operation, or equally on
    the side where the grouping would change (the right of -, /, the left of **).
    """
    if prim.template is None:
        # Defaults (None, False) are left out: sum(x), not sum(x, axis=None, keepdims=False).
        shown = [
            f"{k}=[{index(v)}]" if k == "index" else f"{k}={param(k, v)}"
            for k, v in params.items()
            if v is not None and v is not False
        ]
        return f"{prim.name}({', '.join(args + shown)})", ATOM
    wrapped = []
    for pos, (text, prec) in enumerate(zip(args, precs, strict=True)):
        right_assoc = prim.name == "pow"
        tight = (
            prec < prim.precedence
            or (prec == prim.precedence and (pos == 0) == right_assoc and len(args) == 2)
            or (prec == prim.precedence and len(args) == 1)
        )
        wrapped.append(f"({text})" if tight else text)
    kw = {k: param(k, v) for k, v in params.items()}
    return prim.template.format(*wrapped, **kw), prim.precedence


def operand(x: ArrayLike | Tensor, names: dict[int, str]) -> tuple[str, int]:
    """A leaf of an expression: a named Tensor or array, or a constant written by value."""
    if id(x) in names:
        return names[id(x)], ATOM
    if isinstance(x, Tensor):
        x = x.data
    text = value(x)
    return text, (ATOM if not text.startswith("-") else 0)


def expression(root: Tensor, names: dict[int, str]) -> str:
    """The expression that computed root, down to the Tensors named in `names`."""

    def parts(t):
        if not isinstance(t, Tensor) or id(t) in names or t._prim is None or t._inputs is None:
            return None
        return t._inputs

    def combine(t, done):
        if done is None:
            return operand(t, names)
        return operation(t._prim, [d[0] for d in done], t._params, [d[1] for d in done])

    return fold(root, parts, combine)[0]


def fold(root: object, parts: Callable, combine: Callable) -> object:
    """The value of `root`, computed bottom-up: `parts(x)` gives what x is computed from (None
    at a leaf), `combine(x, values)` x's value from those of its parts, in order (None at a
    leaf). Iterative, so a deep expression does not recurse; each object is combined once."""
    done: dict[int, object] = {}
    stack = [root]
    while stack:
        x = stack[-1]
        if id(x) in done:
            stack.pop()
            continue
        kids = parts(x)
        if kids is not None:
            pending = [k for k in kids if id(k) not in done]
            if pending:
                stack.extend(reversed(pending))
                continue
            done[id(x)] = combine(x, [done[id(k)] for k in kids])
        else:
            done[id(x)] = combine(x, None)
        stack.pop()
    return done[id(root)]


def width(text: str) -> int:
    """Columns a string takes on screen (combining marks such as the bar of z̄ take none)."""
    return sum(not unicodedata.combining(c) for c in text)


def pad(text: str, columns: int) -> str:
    """`text` padded with spaces to `columns` columns of the terminal (its printed width)."""
    return text + " " * max(0, columns - width(text))


def text_table(rows: list) -> list[str]:
    """Rows of plain-text cells (the first row the header) as lines of left-aligned columns two
    spaces apart, each column as wide on screen as its widest cell; no trailing spaces."""
    widths = [max(width(row[j]) for row in rows) for j in range(len(rows[0]))]
    return ["  ".join(pad(c, w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]


# ----------------------------------------------------------------------------- HTML and DOT
def html_table(header: list[str], rows: list[list[str]], caption: str = "") -> str:
    """An HTML table of plain-text cells, every one escaped (a notebook shows it as is)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_block(kind: str, title: str, parts: list[str]) -> str:
    """One object's HTML: a div of class `wengert-<kind>`, a bold escaped title, then `parts`
    (HTML already written, e.g. by html_table)."""
    return (
        f'<div class="wengert-{kind}"><p><b>{html.escape(title)}</b></p>'
        + "".join(parts)
        + "</div>"
    )


def dot_string(text: str) -> str:
    """A DOT quoted string of `text`: backslashes and quotes escaped, a newline as DOT's \\n."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n") + '"'


class GraphvizNotFoundError(RuntimeError):
    """Graphviz's `dot` program, which turns DOT text into a picture, is not installed."""


def graphviz_dot() -> str | None:
    """The path of Graphviz's `dot` program, or None when it is not on PATH."""
    return shutil.which("dot")


def render_dot(text: str, fmt: str, owner: str) -> bytes:
    """`text` (DOT) drawn by Graphviz as `fmt` ("svg" or "png"); GraphvizNotFoundError naming
    what to install when `dot` is missing, RuntimeError with its message when it fails."""
    program = graphviz_dot()
    if program is None:
        raise GraphvizNotFoundError(
            f"{owner}: drawing the graph needs Graphviz's `dot` program, which is not on PATH; "
            "install it: apt-get install graphviz (Debian, Ubuntu), brew install graphviz "
            "(macOS) or conda install graphviz (pip install graphviz gives only the Python "
            "bindings, which call the same program). to_dot() gives the DOT text without it."
        )
    done = subprocess.run(
        [program, f"-T{fmt}"], input=text.encode("utf-8"), capture_output=True, check=False
    )
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines() or [
            f"exit status {done.returncode}"
        ]
        raise RuntimeError(f"{owner}: Graphviz's dot failed: {why[0]}")
    return done.stdout


# ----------------------------------------------------------------------------- a Trace's views
_BAR = "\u0304"  # combining overline, as in the printed sweep: z̄ is the adjoint of z


def _dot_node(name: str, lines: list[str], adjoints: dict, attributes: str) -> str:
    if name in adjoints:
        lines.append(f"{name}{_BAR} = {value(adjoints[name])}")
    return f"  {dot_string(name)} [{attributes}, label={dot_string(chr(10).join(lines))}];"


def trace_dot(trace: object) -> str:
    """The DOT text of a Trace's graph (see Trace.to_dot): its named arguments as ellipses
    (constants dashed), its primitives as boxes (the output's doubled), operands to operations."""
    adjoints = {} if trace.last_sweep is None else trace.last_sweep.adjoints
    lines = ["digraph wengert {", "  rankdir=LR;", '  node [fontname="monospace"];']
    for n, (a, name) in enumerate(zip(trace.arguments, trace.argument_names, strict=True)):
        if id(a) not in trace.names:  # a number: the expressions write it by value
            continue
        kind, shape = ("input", "shape=ellipse")
        if n not in trace.argnums:
            kind, shape = ("constant", "shape=ellipse, style=dashed")
        lines.append(_dot_node(name, [f"{name}  ({kind})", f"value {value(a)}"], adjoints, shape))
    for t, step in zip(trace.nodes, trace.steps, strict=True):
        shape = "shape=box, peripheries=2" if t is trace.output else "shape=box"
        text = [f"{step.name} = {step.expression}", f"{step.primitive}  value {value(t)}"]
        lines.append(_dot_node(step.name, text, adjoints, shape))
        for a in t._inputs:
            if id(a) in trace.names:
                lines.append(f"  {dot_string(trace.names[id(a)])} -> {dot_string(step.name)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def trace_html(trace: object) -> str:
    """A Trace as HTML (see Trace._repr_html_): its arguments and steps, then its latest sweep."""
    rows = []
    for n, (a, name) in enumerate(zip(trace.arguments, trace.argument_names, strict=True)):
        numeric = np.asarray(getattr(a, "data", a)).dtype.kind in "biuf"
        shown = value(a) if numeric else type(a).__name__
        rows.append([name, "input" if n in trace.argnums else "constant", "", shown])
    rows += [[s.name, s.expression, s.primitive, value(s.value)] for s in trace.steps]
    fname = getattr(trace.function, "__name__", "f")
    title = f"Wengert list of {fname}({', '.join(trace.argument_names)}): {len(trace.steps)} "
    table = html_table(["name", "expression", "primitive", "value"], rows)
    sweep = [] if trace.last_sweep is None else [sweep_html(trace.last_sweep)]
    return html_block("trace", title + "primitives", [table, *sweep])


def sweep_html(sweep: object) -> str:
    """A Sweep as HTML: one row per rule applied, then the gradient of each input."""
    root = sweep.trace.names[id(sweep.trace.output)]
    title = (
        f"Backward sweep: x{_BAR} = d{root}/dx, from {root}{_BAR} = {value(sweep.gradient)} "
        "back to the inputs"
    )
    rows = [
        [a.name, "+=" if a.accumulates else "=", a.rule, value(a.value), a.source]
        for a in sweep.lines
    ]
    lines = html_table(["adjoint", "", "rule", "value", "from"], rows)
    grads = [[f"d{root}/d{name}", value(g, width=24)] for name, g in sweep.grads.items()]
    return html_block("sweep", title, [lines, html_table(["gradient", "value"], grads)])
