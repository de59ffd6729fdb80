"""Tracing f once: the primitives it ran, in order, and the reverse sweep of every transform.

The arguments reach f as Tensors: a differentiable one (floating point) requires grad, so every
operation that reads it is recorded; a data one (integers, or an argument named in
`data_argnums`) does not, and is recognised where it reappears as itself. While f runs, the
tracer is `MODE.compiler`: `wg.grad`, `wg.value_and_grad` and `wg.jacobian` hand it their
output and their variables, and it runs the first-order sweep on the recorded nodes, as
`backward._walk` does, keeping for each rule it applies what the program needs to write that
line out. The gradients go back to f as fresh leaves (placeholders), so that what f computes
from them (an SGD update) is recorded as well.

A Tensor that requires grad and that f reads from outside (a model's parameter) is an external:
the program takes its array as an argument, read at each call, since an optimizer moves it
between calls; a transform may differentiate with respect to it (`gradients`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from wengert._checks import refusal
from wengert.autodiff.backward import repeated_axes, toposort, unbroadcast
from wengert.autodiff.mode import MODE, enable_grad, recording
from wengert.autodiff.ops import add_p
from wengert.autodiff.tensor import Tensor
from wengert.compile import rules
from wengert.compile.watch import Watch


@dataclass
class Contribution:
    """One rule applied: the cotangent of argument `i` of `node`, added to `target`'s adjoint."""

    node: Tensor
    i: int
    target: Tensor
    first: bool  # the first contribution to target: it starts the adjoint
    fresh: bool  # (first only) an array nothing else holds, which += may update in place
    plan: tuple  # unbroadcast as (axes, shape, dtype), each None where it is not needed
    tree: tuple | None  # the rule as an expression, when it has one (rules.py)


@dataclass
class Block:
    """The reverse sweep of one transform: d(seed . out)/dx for each x in xs."""

    out: Tensor
    xs: list[Tensor]
    seed: np.ndarray | None
    steps: list[Contribution] = field(default_factory=list)
    results: list[Tensor] = field(default_factory=list)  # placeholders, one per x
    reached: list[bool] = field(default_factory=list)


class Tracer:
    """The record of one run of f: `steps` (nodes and blocks, in order), inputs and names."""

    def __init__(self, values, kinds) -> None:
        self.steps: list[tuple[str, object]] = []
        self.inputs: list[Tensor | None] = []  # None for a static argument
        self.nodes: dict[int, Tensor] = {}
        self.alias: dict[int, Tensor] = {}  # a transform's variable x = a + 0 stands for a
        self.placeholders: dict[int, Tensor] = {}
        self.names: dict[int, str] = {}
        self.backward_called = False
        self.arguments = []
        self.variables: set[int] = set()  # the differentiable inputs
        self.externals: list[Tensor] = []  # read from outside f, requiring grad: arguments too
        for value, kind in zip(values, kinds, strict=True):
            if kind == "static":
                self.inputs.append(None)
                self.arguments.append(value)
                continue
            data = np.array(value, copy=True)
            t = Tensor._make(data, kind == "diff", None, None, None)
            if kind == "diff":
                self.variables.add(id(t))
            self.inputs.append(t)
            self.arguments.append(t)

    # ------------------------------------------------------------------ recording
    def append(self, node: Tensor) -> None:
        """The recorder's hook: every node f's operations make, in order."""
        self.nodes[id(node)] = node
        self.steps.append(("node", node))
        for a in node._inputs:
            if isinstance(a, Tensor) and a.requires_grad and not self.traced(a):
                self.externals.append(a)
                self.variables.add(id(a))

    def run(self, f: Callable) -> object:
        """f on the traced arguments, recorded; its result as f returned it."""
        with enable_grad(), recording(self), self._compiling():
            return self._call_naming(f)

    @contextlib.contextmanager
    def _compiling(self):
        previous = MODE.compiler
        MODE.compiler = self
        MODE.depth += 1  # inside a transform: grad and jacobian return Tensors, not arrays
        try:
            yield
        finally:
            MODE.depth -= 1
            MODE.compiler = previous

    def _call_naming(self, f):
        """f(*arguments), watched (watch.py): its nodes named after f's local variables, and
        a read of a traced value into Python refused."""
        watch = Watch(self.traced, self.names)
        return watch.run(f, self.arguments)

    def traced(self, t: Tensor) -> bool:
        """True for a Tensor of the program: a node, a gradient or a differentiable input."""
        return id(t) in self.nodes or id(t) in self.placeholders or id(t) in self.variables

    # ------------------------------------------------------------------ the sweep
    def __call__(self, out: Tensor, xs: list[Tensor], seed) -> list[Tensor]:
        """The functional API's cotangents, computed here and written down (MODE.compiler)."""
        for x in xs:
            self.alias[id(x)] = self._variable(x)
        block = Block(out, list(xs), None if seed is None else np.asarray(seed))
        grads = {}
        if block.seed is not None and out.requires_grad:
            grads = self._sweep(block)
        for x in xs:
            g = grads.get(id(x))
            block.reached.append(g is not None)
            value = np.zeros_like(x._data) if g is None else g
            placeholder = Tensor._make(value, True, None, None, None)
            self.placeholders[id(placeholder)] = placeholder
            block.results.append(placeholder)
        self.steps.append(("block", block))
        return list(block.results)

    def gradients(self, out: Tensor, xs: list[Tensor]) -> list[Tensor | None]:
        """The gradient of the scalar `out` with respect to each external of `xs` (a model's
        parameters), as placeholders; None for one that `out` does not reach."""
        for x in xs:
            if id(x) not in self.variables:  # not read yet: an argument of the program all the same
                self.externals.append(x)
                self.variables.add(id(x))
        results = self(out, list(xs), np.ones_like(out._data))
        block = self.steps[-1][1]
        return [r if reached else None for r, reached in zip(results, block.reached, strict=True)]

    def _variable(self, x: Tensor) -> Tensor:
        """What the transform's variable x stands for: `_wrap` makes x = a + 0 of a Tensor a, and
        `gradients` passes externals themselves."""
        if any(x is e for e in self.externals):
            return x
        if id(x) in self.nodes and x._prim is add_p:
            a, zero = x._inputs
            if isinstance(a, Tensor) and type(zero) is int and zero == 0:
                return a
        raise refusal(
            "compile",
            "the argument that wg.grad differentiates",
            "a value computed from f's differentiable arguments",
            "an argument compile takes as data (integers, or named in data_argnums)",
            TypeError,
            fix="Leave it out of data_argnums, or pass it as floating-point numbers.",
        )

    def _sweep(self, block: Block) -> dict[int, object]:
        stop = frozenset(id(x) for x in block.xs)
        order, leaves = toposort(block.out, stop)
        if any(id(leaf) in self.placeholders for leaf in leaves):
            raise NotImplementedError(
                "compile: f differentiates a result that depends on a gradient (wg.hessian, "
                "wg.hvp, or wg.grad of a function that calls wg.grad); the compiled program "
                "writes out first-order sweeps only. Call that transform without compile."
            )
        live = set(stop)
        for t in reversed(order):
            if any(isinstance(a, Tensor) and id(a) in live for a in t._inputs):
                live.add(id(t))
        grads = {id(block.out): block.seed}
        known = self._known_arrays(block)
        for t in order:
            if id(t) not in live:
                continue
            g = grads.pop(id(t))
            self._apply_rules(block, t, g, grads, live, known)
        return grads

    def _apply_rules(self, block, t, g, grads, live, known) -> None:
        ans = t._data
        args = [a._data if isinstance(a, Tensor) else a for a in t._inputs]
        for i, a in enumerate(t._inputs):
            if not (isinstance(a, Tensor) and id(a) in live):
                continue
            rule = t._prim.vjps[i]
            if rule is None:
                raise refusal(
                    "compile",
                    f"argument {i} of {t._prim.name}",
                    "an argument with a derivative rule",
                    "one the primitive gives no gradient (a mask, integer labels)",
                    TypeError,
                )
            raw = rule(g, ans, *args, **t._params)
            ga = unbroadcast(raw, a._data)
            first = id(a) not in grads
            fresh = first and _fresh(ga, known)
            known[id(ga)] = ga
            tree = rules.expression(t, i, g, raw, args)
            plan = _plan(raw, a._data)
            block.steps.append(Contribution(t, i, a, first, fresh, plan, tree))
            grads[id(a)] = ga if first else grads[id(a)] + ga
            known[id(grads[id(a)])] = grads[id(a)]

    def owned(self, data: object) -> bool:
        """True for an array the program makes on every run and holds nowhere after: a node's or
        a gradient's new array, not an argument, a constant, a seed, or a view of one. A view
        (a reshape) of an array that no argument, constant or seed is, made as the program
        runs, counts as the program's own too: its memory is the new array's."""
        if type(data) is not np.ndarray:
            return False
        if not data.flags.owndata:
            base = data.base
            return type(base) is np.ndarray and base.flags.owndata and self._owned(data, base)
        return self._owned(data, data)

    def _owned(self, data: np.ndarray, memory: np.ndarray) -> bool:
        kept = [t._data for t in self.inputs if t is not None]
        for kind, item in self.steps:
            if kind == "block":
                kept.append(item.seed)
                continue
            for a in item._inputs:  # the constants: what no node or sweep of the program made
                if not isinstance(a, Tensor):
                    kept.append(a)
                elif id(a) not in self.nodes and id(a) not in self.placeholders:
                    kept.append(a._data)
        made = [item._data for kind, item in self.steps if kind == "node"]
        made += [r._data for kind, item in self.steps if kind == "block" for r in item.results]
        mine = all(memory is not a and getattr(a, "base", None) is not memory for a in kept)
        return mine and any(data is a for a in made)

    def _known_arrays(self, block: Block) -> dict[int, object]:
        """Every array the program holds so far, by id: an adjoint must not start as one. (The
        values are kept, so that no id is reused by a new array while the sweep runs.)"""
        arrays = [block.seed] + [t._data for t in self.inputs if t is not None]
        for kind, item in self.steps:
            if kind == "node":
                arrays.append(item._data)
                arrays.extend(a._data if isinstance(a, Tensor) else a for a in item._inputs)
            else:
                arrays.extend(r._data for r in item.results)
        return {id(a): a for a in arrays}


def _fresh(ga, known: dict[int, object]) -> bool:
    """True for a new array that owns its memory: updating it in place changes nothing else."""
    return (
        type(ga) is np.ndarray and ga.flags.owndata and ga.flags.writeable and id(ga) not in known
    )


def _plan(raw, x: np.ndarray) -> tuple:
    """What `unbroadcast(raw, x)` does for these shapes and dtypes: (axes, shape, dtype)."""
    shape = x.shape
    raw_shape = np.shape(raw)
    axes = reshape = None
    if raw_shape != shape:
        axes = repeated_axes(raw_shape, shape)
        summed = tuple(n for k, n in enumerate(raw_shape) if k not in axes)
        axes = axes or None
        if summed != shape:
            reshape = shape
    dtype = x.dtype if np.result_type(raw) != x.dtype else None
    return axes, reshape, dtype
