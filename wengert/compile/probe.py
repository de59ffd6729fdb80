"""Whether f runs the same program at other values of its arguments.

A Wengert list records the primitives f ran, not the Python that chose them, nor where a
constant came from: `if x > 0:`, `float(x)`, `.item()`, `.data` read into NumPy leave no trace
but their effect. compile traces f again at other values (probes) and compares the two records
step by step: the primitive, which input, step or gradient each operand is, every constant by
value, every parameter, every sweep, and what f returns. The first difference is reported.
"""

from __future__ import annotations

import numpy as np

from wengert.autodiff import render
from wengert.autodiff.tensor import Tensor
from wengert.compile.tracer import Tracer
from wengert.derivatives.program import short


def probe_values(values: list, kinds: list[str], rng: np.random.Generator) -> list[list]:
    """Two other points: the differentiable arguments negated, then drawn at random (normal,
    scale 2, either sign); the data arguments shuffled, then drawn from their own values with
    replacement (labels stay labels, and a sum or a mean of them changes too)."""
    points = []
    for first in (True, False):
        point = []
        for v, kind in zip(values, kinds, strict=True):
            if kind == "static":
                point.append(v)
            elif kind == "diff":
                drawn = rng.normal(0.0, 2.0, np.shape(v)).astype(v.dtype)
                point.append(-v if first else drawn)
            else:
                flat = v.reshape(-1)
                drawn = rng.permutation(flat) if first else rng.choice(flat, flat.size)
                point.append(drawn.reshape(v.shape))
        points.append(point)
    return points


class Record:
    """A trace as comparable entries, each with the line that describes it."""

    def __init__(self, tracer: Tracer, out, names: list[str]) -> None:
        self.tracer = tracer
        self.names = names
        self.refs: dict[int, tuple] = {}
        self.text: dict[int, str] = {}
        for k, t in enumerate(tracer.inputs):
            if t is not None:
                self._name(t, ("input", k), names[k])
        for k, t in enumerate(tracer.externals):  # read at each call, so compared as inputs
            self._name(t, ("external", k), tracer.names.get(id(t), "p"))
        self.entries: list[tuple] = []
        self.lines: list[str] = []
        count = 0
        for kind, item in tracer.steps:
            if kind == "node":
                if id(item) in tracer.alias:
                    source = tracer.alias[id(item)]
                    self._name(item, self.refs[id(source)], self.text[id(source)])
                    continue
                count += 1
                self._node(item, f"t{count}", len(self.entries))
            else:
                self._block(item, len(self.entries))
        self.entries.append(("return", self.key(out)))
        self.lines.append("the value f returns")

    def _name(self, t: Tensor, ref: tuple, text: str) -> None:
        self.refs.setdefault(id(t), ref)
        self.refs.setdefault(id(t._data), ref)
        self.text.setdefault(id(t), text)
        self.text.setdefault(id(t._data), text)

    def _node(self, t: Tensor, name: str, k: int) -> None:
        parts = [render.operand(a, self.text) for a in t._inputs]
        expr, _ = render.operation(t._prim, [p[0] for p in parts], t._params, [p[1] for p in parts])
        operands = tuple(self.key(a) for a in t._inputs)
        self.entries.append(("node", t._prim.name, operands, self.key(t._params)))
        self.lines.append(f"{name} = {expr}")
        self._name(t, ("step", k), name)

    def _block(self, block, k: int) -> None:
        out = self.text.get(id(block.out), "a constant")
        steps = tuple(
            (self.key(c.node), c.i, self.key(c.target), c.first, c.fresh, c.plan)
            for c in block.steps
        )
        seed = None if block.seed is None else self.key(block.seed)
        xs = tuple(self.key(x) for x in block.xs)
        self.entries.append(("block", self.key(block.out), xs, seed, steps, tuple(block.reached)))
        self.lines.append(f"the gradient of {out}")
        for j, r in enumerate(block.results):
            self._name(r, ("gradient", k, j), f"{self.text.get(id(block.xs[j]), 'x')}_bar")

    def key(self, v: object) -> tuple:
        """v as a comparable value: a reference to an input or a step, or a constant."""
        if id(v) in self.refs and isinstance(v, (Tensor, np.ndarray)):
            return self.refs[id(v)]
        if isinstance(v, Tensor):
            v = v._data
        if isinstance(v, (np.ndarray, np.generic)):
            a = np.asarray(v)
            return ("array", a.shape, a.dtype.str, a.tobytes())
        if isinstance(v, dict):
            return ("dict", tuple((k, self.key(x)) for k, x in v.items()))
        if isinstance(v, (tuple, list)):
            return (type(v).__name__, tuple(self.key(x) for x in v))
        if isinstance(v, slice):
            return ("slice", self.key(v.start), self.key(v.stop), self.key(v.step))
        if v is None or isinstance(v, (bool, int, float, str, complex, np.dtype)):
            return (type(v).__name__, repr(v))
        return ("object", id(v))


def difference(a: Record, b: Record) -> tuple[int, str, object] | None:
    """The first difference of two records: (entry, kind, detail), or None."""
    for k, (x, y) in enumerate(zip(a.entries, b.entries, strict=False)):
        if x == y:
            continue
        if x[0] == "node" and y[0] == "node" and x[1] == y[1] and len(x[2]) == len(y[2]):
            for i, (p, q) in enumerate(zip(x[2], y[2], strict=True)):
                if p != q:
                    constant = p[0] not in ("input", "step", "gradient")
                    return k, "constant" if constant else "operations", i
            return k, "parameter", None
        return k, "return" if x[0] == "return" == y[0] else "operations", None
    if len(a.entries) != len(b.entries):
        return min(len(a.entries), len(b.entries)), "operations", None
    return None


def message(a: Record, b: Record, where: tuple, names: list[str], here: list, there: list) -> str:
    """Why the program changes with the arguments' values, in words, with both points."""
    k, kind, detail = where
    shown = [(n, v) for n, v, t in zip(names, here, a.tracer.inputs, strict=True) if t is not None]
    at_a = ", ".join(f"{n} = {short(v)}" for n, v in shown)
    at_b = ", ".join(
        f"{n} = {short(v)}"
        for n, v, t in zip(names, there, a.tracer.inputs, strict=True)
        if t is not None
    )
    line_a = a.lines[k] if k < len(a.lines) else "the end of f"
    line_b = b.lines[k] if k < len(b.lines) else "the end of f"
    outside = (
        "f computes it outside wengert's operations (float(), .item(), .data, .numpy(), a "
        "comparison such as x > 0, or NumPy on a Tensor's values), and the compiled program "
        "would keep the value of its first call"
    )
    if kind == "operations":
        return (
            f"compile: f executes different operations at different points (data-dependent "
            f"control flow): step {k + 1} is `{line_a}` at {at_a} but `{line_b}` at {at_b}. A "
            f"Python if or while on a Tensor's value (e.g. `if x > 0:`) chooses them, and a "
            f"compiled program runs one branch for every value. Write the choice with "
            f"wg.maximum, wg.minimum, wg.relu or wg.clip, or call f without compile."
        )
    if kind == "return":
        return (
            f"compile: f returns a value that changes with its arguments ({at_a} and {at_b}) "
            f"but is not a Tensor computed from them: {outside}. Return the Tensor instead."
        )
    what = f"operand {detail} of" if kind == "constant" else "a parameter of"
    return (
        f"compile: {what} step {k + 1}, `{line_a}`, changes with the arguments ({at_a} and "
        f"{at_b}) as a constant: {outside}. Compute it with wengert's operations, or call f "
        f"without compile."
    )
