"""The Wengert list of a program, and its backward sweep, printed.

`trace(f, *args)` runs f once on Tensors and keeps every primitive it executed, in order. Each
result is named after the local variable of f that holds it when f returns (`z`, `y`, `L`),
or `t<k>` for its position k in the list — the slide's `t1 = w * x`, `z = t1 + b`, `t3 = -z`.

`Trace.backward()` then walks the list in reverse, as backpropagation does, and writes for each
argument of each primitive the rule applied and its value: `z̄ = t3̄ * -1`, where `z̄` (z-bar) is
the adjoint dL/dz. The rule is the primitive's own vector-Jacobian rule, run on named Tensors
and written back as an expression: what is printed is what the engine computes.
"""

from __future__ import annotations

import inspect
import sys
from collections import ChainMap
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from wengert._checks import refusal, what_came
from wengert.autodiff import render
from wengert.autodiff.backward import check_locked, toposort, unbroadcast
from wengert.autodiff.functional import _check_argnums
from wengert.autodiff.mode import enable_grad, recording
from wengert.autodiff.tensor import Tensor, as_array

BAR = "\u0304"  # combining overline: z̄ is the adjoint of z


def trace(
    f: Callable[..., Tensor],
    *args: object,
    argnums: int | tuple[int, ...] | None = None,
    **kwargs: object,
) -> Trace:
    """Run f(*args, **kwargs) once and return its Wengert list.

    The positional arguments in `argnums` (all of them when it is None; an int or a tuple of
    ints, as for `wg.grad`) become float Tensors that require grad; the others, such as the
    data X and the targets y of a loss, are passed as they are and listed as constants. All are
    named after f's parameters; keyword arguments are passed through as constants.

    >>> def f(w, x, b, t):
    ...     z = w * x + b
    ...     y = 1 / (1 + wg.exp(-z))
    ...     L = (y - t) ** 2 / 2
    ...     return L
    >>> print(wg.trace(f, 0.5, 2.0, 0.1, 1.0))
    >>> print(wg.trace(loss, W1, W2, X, y, argnums=(0, 1)))    # dL/dW1, dL/dW2 only
    """
    nums = range(len(args)) if argnums is None else _check_argnums(argnums, len(args), "trace")
    call_args = [a.detach() if isinstance(a, Tensor) and a.requires_grad else a for a in args]
    for n in nums:
        call_args[n] = _as_input(args[n], n)
    nodes: list[Tensor] = []
    with enable_grad(), recording(nodes):
        out, local_vars = _call_keeping_locals(f, call_args, kwargs)
    if not isinstance(out, Tensor):
        expected = "a Tensor computed from its arguments"
        raise refusal("trace", "the result of f", expected, what_came(out), TypeError)
    names = _parameter_names(f, len(args))
    return Trace(f, call_args, names, nodes, out, local_vars, argnums=sorted(nums))


@dataclass
class Step:
    """One line of the Wengert list: `name = expression`, and the value it took."""

    name: str
    primitive: str
    expression: str
    value: np.ndarray


@dataclass
class Adjoint:
    """One line of the backward sweep: the contribution of one primitive to one adjoint."""

    name: str  # the adjoint written to, e.g. "z̄"
    rule: str  # the rule applied, e.g. "t3̄ * -1"
    value: np.ndarray  # the contribution
    accumulates: bool  # True for "+=": the variable is used more than once
    source: str  # the forward line the rule belongs to


class Trace:
    """The primitives a program executed, in order, with named temporaries."""

    def __init__(self, f, arguments, arg_names, nodes, output, local_vars, argnums=None) -> None:
        self.function = f
        self.arguments = arguments  # as f received them: Tensors at argnums, the rest as given
        self.argnums = tuple(range(len(arguments)) if argnums is None else argnums)
        self.inputs = [arguments[n] for n in self.argnums]  # the differentiated arguments
        self.nodes = nodes
        self.output = output
        self.names: dict[int, str] = {}
        self._taken: set[str] = set()  # the names' values, kept so that naming stays O(1)
        self.argument_names = [
            self._name(a, name) for a, name in zip(arguments, arg_names, strict=True)
        ]
        named = {id(v): k for k, v in local_vars.items() if isinstance(v, Tensor)}
        for k, t in enumerate(nodes, start=1):
            self._name(t, named.get(id(t), f"t{k}"))
        self.steps = [Step(self.names[id(t)], t._prim.name, self._line(t), t.data) for t in nodes]
        self.last_sweep: Sweep | None = None  # the latest backward(), which the views show

    def _name(self, t, name: str) -> str:
        while name in self._taken:
            name += "'"
        self._taken.add(name)
        # A constant is named where it reappears as itself: an array or a Tensor, not a number
        # (the interpreter shares equal numbers, so 1 in f could be taken for the argument).
        if isinstance(t, (Tensor, np.ndarray)):
            self.names.setdefault(id(t), name)
        return name

    def _line(self, t: Tensor) -> str:
        parts = [render.operand(a, self.names) for a in t._inputs]
        text, _ = render.operation(t._prim, [p[0] for p in parts], t._params, [p[1] for p in parts])
        return text

    def name_of(self, t: Tensor) -> str:
        """The name the listing gives `t` (an input, a constant or an intermediate)."""
        return self.names[id(t)]

    def __len__(self) -> int:
        return len(self.steps)

    def __str__(self) -> str:
        fname = getattr(self.function, "__name__", "f")
        args = ", ".join(self.argument_names)
        head = [f"Wengert list of {fname}({args}): {len(self.steps)} primitives"]
        for n, (a, name) in enumerate(zip(self.arguments, self.argument_names, strict=True)):
            if n in self.argnums:
                head.append(f"  input  {name} = {render.value(a)}")
            else:
                head.append(f"  const  {name} = {_shown(a)}   # not differentiated")
        w_name = max([render.width(s.name) for s in self.steps] + [1])
        w_expr = max([render.width(s.expression) for s in self.steps] + [1])
        body = [
            f"  {render.pad(s.name, w_name)} = {render.pad(s.expression, w_expr)}"
            f"   # {render.value(s.value)}"
            for s in self.steps
        ]
        return "\n".join(head + body)

    def __repr__(self) -> str:
        return f"<Trace of {len(self.steps)} primitives>"

    def backward(self, gradient: ArrayLike | Tensor | None = None) -> Sweep:
        """The reverse sweep over this list, one line per rule applied; see `Sweep`.

        `gradient` is the cotangent the sweep starts from (the "seed" of reverse mode), as in
        Tensor.backward: it may be left out when f returns one number, which then starts at 1.
        """
        self.last_sweep = Sweep(self, gradient)
        return self.last_sweep

    def to_dot(self) -> str:
        """The graph of this list as Graphviz DOT text: a node per input and per primitive,
        labelled with its name, operation and value and, once backward() ran, its adjoint;
        an edge from each named operand to the operation that reads it."""
        return render.trace_dot(self)

    def to_svg(self) -> SVG:
        """The graph of to_dot() drawn as SVG by Graphviz (a str a notebook shows as the
        picture); GraphvizNotFoundError saying what to install when Graphviz is missing."""
        return SVG(render.render_dot(self.to_dot(), "svg", "Trace.to_svg").decode("utf-8"))

    def _repr_html_(self) -> str:
        """The list as an HTML table for Jupyter, and the latest backward sweep under it."""
        return render.trace_html(self)


class Sweep:
    """The backward sweep of a Trace: adjoints in reverse order, each rule with its value.

    `grads` maps each input's name to dL/d(input), the same numbers `wg.grad` gives;
    `gradient` is the output's cotangent that the sweep started from.
    """

    def __init__(self, trace: Trace, gradient: ArrayLike | Tensor | None = None) -> None:
        self.trace = trace
        out = trace.output
        if gradient is None and out.size != 1:
            expected = f"an array of shape {out.shape} (the cotangent of the output)"
            fix = "It may be left out only when f returns one number."
            raise refusal("Trace.backward", "gradient", expected, "None", fix=fix)
        self.gradient = (
            np.ones_like(out.data)
            if gradient is None
            else as_array(gradient, name="gradient", owner="Trace.backward")
        )
        self.lines: list[Adjoint] = []
        self.adjoints: dict[str, np.ndarray] = {}  # each name's total adjoint, inputs included
        adjoints = self._run()
        self.grads = {
            trace.names[id(t)]: adjoints.get(id(t), np.zeros_like(t.data)) for t in trace.inputs
        }
        self.adjoints.update(self.grads)

    def _run(self) -> dict[int, np.ndarray]:
        trace, names = self.trace, self.trace.names
        order, _ = toposort(trace.output)
        adjoints = {id(trace.output): self.gradient}
        for t in order:
            check_locked(t, trace.nodes)
            bar_t = Tensor(adjoints.pop(id(t)), requires_grad=True)
            self.adjoints[names[id(t)]] = bar_t.data
            known = ChainMap({id(bar_t): names[id(t)] + BAR}, names)  # no copy per node
            source = f"{names[id(t)]} = {trace._line(t)}"
            for i, a in enumerate(t._inputs):
                if not (isinstance(a, Tensor) and a.requires_grad):
                    continue
                with enable_grad():
                    rule = t._prim.vjps[i]
                    contribution = unbroadcast(rule(bar_t, t, *t._inputs, **t._params), a)
                key = id(a)
                self.lines.append(
                    Adjoint(
                        names[key] + BAR,
                        render.expression(contribution, known),
                        contribution.data,
                        key in adjoints,
                        source,
                    )
                )
                adjoints[key] = contribution.data + adjoints.get(key, 0)
        return adjoints

    def __str__(self) -> str:
        root = self.trace.names[id(self.trace.output)]
        head = [
            f"Backward sweep: x{BAR} = d{root}/dx, from {root}{BAR} = "
            f"{render.value(self.gradient)} back to the inputs"
        ]
        w_lhs = max([render.width(a.name) for a in self.lines] + [1])
        w_rule = max([render.width(a.rule) for a in self.lines] + [1])
        w_val = max([len(render.value(a.value)) for a in self.lines] + [1])
        body = []
        for a in self.lines:
            op = "+=" if a.accumulates else "= "
            body.append(
                f"  {render.pad(a.name, w_lhs)} {op} {render.pad(a.rule, w_rule)}"
                f"   # {render.value(a.value):<{w_val}}   from {a.source}"
            )
        tail = []
        for name, g in self.grads.items():
            label = f"Gradient: d{root}/d{name} = "
            tail.append(label + _full(g, len(label)))
        return "\n".join(head + body + tail)

    def _repr_html_(self) -> str:
        """The sweep as an HTML table for Jupyter: each rule applied, its value, the gradient."""
        return render.sweep_html(self)

    def __repr__(self) -> str:
        return f"<Sweep of {len(self.lines)} rules back to {len(self.grads)} inputs>"


class SVG(str):
    """SVG text that Jupyter shows as the picture it draws (`_repr_svg_`)."""

    def _repr_svg_(self) -> str:
        """The SVG text itself."""
        return str(self)

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:
        """IPython's plain-text form: a short line, not the whole text."""
        printer.text(f"<SVG of {len(self)} characters>")


def _full(g: np.ndarray, indent: int) -> str:
    if g.size > 24:
        return render.value(g)
    return np.array2string(g, precision=6, separator=", ", prefix=" " * indent)


def _shown(a) -> str:
    """A constant argument's value, or its type when it is not numbers (a model, a string)."""
    kind = a.dtype.kind if isinstance(a, Tensor) else np.asarray(a).dtype.kind
    return render.value(a) if kind in "biuf" else type(a).__name__


def _as_input(a, i: int) -> Tensor:
    data = as_array(a, name=f"argument {i}", owner="trace")
    if data.dtype.kind != "f":
        data = data.astype(np.float64)
    return Tensor(data, requires_grad=True)


def _parameter_names(f, n: int) -> list[str]:
    try:
        params = [
            p
            for p in inspect.signature(f).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        params = []
    names = [p.name for p in params[:n]]
    return names + [f"x{k}" for k in range(len(names), n)]


def _call_keeping_locals(f, args, kwargs):
    """f(*args, **kwargs), and f's local variables as they stood when it returned.

    A profile hook sees f's frame at its return; the local names are what the slide calls
    z and y. The hook is removed on the way out, also when f raises.
    """
    code = getattr(f, "__code__", None)
    seen: dict = {}

    def hook(frame, event, arg):
        if event == "return" and frame.f_code is code:
            seen.clear()
            seen.update(frame.f_locals)

    previous = sys.getprofile()
    sys.setprofile(hook)
    try:
        out = f(*args, **kwargs)
    finally:
        sys.setprofile(previous)
    return out, seen


__all__ = ["SVG", "Adjoint", "Step", "Sweep", "Trace", "trace"]
