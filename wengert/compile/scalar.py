"""A program whose every array holds one number, written on NumPy scalars.

The lecture's perceptron on one sample is such a program: w, x, y and every value and adjoint
have one element. A ufunc call on a one-element array costs a few hundred nanoseconds however
little it computes; the same operation on NumPy scalars of the same dtype costs a fifth of that
and rounds alike (IEEE arithmetic, NumPy's promotion rules for scalars and arrays are one). So
such a program (what runs; `source` and `show()` keep the lines of f on arrays, which give the
same numbers) reads each argument's number once (`x_ = x[0, 0]`), computes on scalars, and
makes arrays again only where arrays leave it: the gradients that a compiled step's update
reads, and the arrays it returns (`array([t1])`, new on every call).

Each operation is written so that it gives the array operation's bits:

- + - * / and unary minus as they are; x ** 2 as x * x (NumPy squares an array for ** 2), x ** 1
  as x;
- a matrix product (and `linear`) of one-element operands as `a * b + 0.0`, a sum or a mean as
  `x + 0.0`: NumPy's products and reductions add into a zero, so -0.0 comes out as 0.0;
- reshape, transpose and broadcast_to as the number itself; a cast as the dtype's scalar type.

`fits` says whether a traced program is of this kind: one-element floating-point values only,
these operations only, and every rule written inline (a rule called on arrays stays an array
program). Anything else is written by `emit.Emitter` as ever.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from wengert.autodiff import render
from wengert.autodiff.primitive import Primitive
from wengert.autodiff.tensor import Tensor
from wengert.compile.emit import Emitter
from wengert.compile.tracer import Tracer

ARITHMETIC = {"add", "sub", "mul", "div", "neg"}
PRODUCTS = {"matmul", "linear"}
REDUCTIONS = {"sum", "mean"}
MOVES = {"reshape", "transpose", "broadcast_to"}
SCALAR_OPS = ARITHMETIC | PRODUCTS | REDUCTIONS | MOVES | {"pow"}


def _one(a: object) -> bool:
    a = a._data if isinstance(a, Tensor) else a
    if not isinstance(a, (np.ndarray, np.generic)):
        return type(a) in (int, float)  # a Python number: NumPy's weak scalar either way
    return a.size == 1 and a.dtype.kind == "f"


def _power(exponent: object) -> bool:
    return type(exponent) in (int, float) and exponent in (1, 2)


def _node_fits(t: Tensor) -> bool:
    name = t._prim.name
    if name not in SCALAR_OPS or not all(_one(a) for a in (t, *t._inputs) if a is not None):
        return False
    if name == "pow":
        return _power(t._inputs[1])
    if name == "linear" and len(t._inputs) == 3 and t._inputs[2] is not None:
        return (
            np.result_type(t._inputs[2]._data if isinstance(t._inputs[2], Tensor) else t._inputs[2])
            == t._data.dtype
        )
    return True


def _tree_fits(tree: tuple) -> bool:
    if tree[0] != "op":
        return tree[0] in ("g", "ans", "arg") or type(tree[1]) in (int, float)
    name = tree[1].name
    if name not in SCALAR_OPS or (name == "linear" and len(tree[2]) == 3):
        return False
    if name == "pow" and not (tree[2][1][0] == "lit" and _power(tree[2][1][1])):
        return False
    return all(_tree_fits(k) for k in tree[2])


def fits(tracer: Tracer, inline: set[int]) -> bool:
    """True for a program of one-element floating-point values whose operations and rules
    this module writes on scalars."""
    values = [t for t in tracer.inputs if t is not None] + list(tracer.externals)
    if not values or not all(_one(t) for t in values):
        return False
    number = 0
    for kind, item in tracer.steps:
        if kind == "node":
            if id(item) not in tracer.alias and not _node_fits(item):
                return False
            continue
        if not all(item.reached) or item.seed is None or not _one(item.seed):
            return False
        for c in item.steps:
            if number not in inline or c.tree is None or not _tree_fits(c.tree):
                return False
            number += 1
    return True


class ScalarEmitter(Emitter):
    """emit.Emitter writing each line on NumPy scalars (see the module docstring)."""

    def __init__(self, tracer: Tracer, names: list[str], inline: set[int]) -> None:
        super().__init__(tracer, names, inline)
        self.arrays = self._function("array", np.array)
        self.array_names: dict[int, str] = {}  # an argument -> the name of its array
        self.made: set[str] = set()  # names of arrays made from scalars (the gradients)
        self.returned_names: set[str] = set()
        self.scalar_of: dict[str, str] = {}  # a gradient's array -> its number (update.py)
        for t in [t for t in tracer.inputs if t is not None] + list(tracer.externals):
            name = self.names[id(t)]
            scalar = self._unique(f"{name}_")
            index = ", ".join(["0"] * t._data.ndim) or "()"
            self.emit(scalar, f"{scalar} = {name}[{index}]", {name})
            self.array_names[id(t)] = name
            self.names[id(t)] = scalar
            if self.names.get(id(t._data)) == name:  # data reappears as its array
                self.array_names[id(t._data)] = name
                self.names[id(t._data)] = scalar

    def _unique(self, base: str) -> str:
        if base.endswith("__bar"):  # the adjoint of x_ (x's number) is x_bar
            base = base[: -len("__bar")] + "_bar"
        return super()._unique(base)

    def writes_numpy(self) -> bool:
        """True: the constants are folded as ever (peephole.fold)."""
        return True

    def _constant(self, value, base: str = "c") -> str:
        if type(value) is np.ndarray and value.size == 1 and value.dtype.kind == "f":
            value = value.reshape(-1)[0]  # the number, as the scalar of the array's dtype
        return super()._constant(value, base)

    def _forward(self, t: Tensor, base: str) -> None:
        used: set[str] = set()
        parts = [self.operand(a, used) for a in t._inputs if a is not None]
        text, _ = self.operation(t._prim, parts, t._params)
        name = self._bind_name(t, base)
        self.emit(name, f"{name} = {text}", used)

    def _inline_tree(self, c) -> tuple:
        return c.tree  # numbers stay Python numbers: beside a NumPy scalar they cost nothing

    def operation(
        self, prim: Primitive, parts: list[tuple[str, int]], params: dict
    ) -> tuple[str, int]:
        """prim on scalars, written so that it gives the array operation's bits."""
        name = prim.name
        if name in ARITHMETIC:
            return super().operation(prim, parts, {})
        atoms = [p if q >= render.ATOM else f"({p})" for p, q in parts]
        if name == "pow":
            squared = (f"({atoms[0]} * {atoms[0]})", render.ATOM)
            return squared if parts[1][0] in ("2", "2.0") else parts[0]
        if name in PRODUCTS:
            added = "".join(f" + {a}" for a in atoms[2:])
            return f"({atoms[0]} * {atoms[1]} + 0.0{added})", render.ATOM
        if name in REDUCTIONS:
            return f"({atoms[0]} + 0.0)", render.ATOM
        return parts[0]  # reshape, transpose, broadcast_to: the number itself

    def _unbroadcast(self, text: str, plan: tuple) -> str:
        """A sum of one number over broadcast axes is 0.0 + it; a cast, the dtype's type."""
        axes, _, dtype = plan
        text = text if axes is None else f"({text} + 0.0)"
        return text if dtype is None else f"{self._function(dtype.name, dtype.type)}({text})"

    def _before_finish(self) -> None:
        """The gradients as arrays, and the arguments' names their arrays again: the update
        lines write into the parameters' arrays."""
        for kind, item in self.tracer.steps:
            if kind == "block":
                for r in item.results:
                    scalar, ndim = self.names[id(r)], r._data.ndim
                    name = self._unique(f"{scalar}_array")
                    text = f"{name} = {self.arrays}({'[' * ndim}{scalar}{']' * ndim})"
                    self.emit(name, text, {scalar})
                    self.made.add(name)
                    self.scalar_of[name] = scalar
                    self.names[id(r)] = name
        for key, name in self.array_names.items():
            self.names[key] = name

    def _returned(self, value, used: set[str]) -> str:
        """A returned array, made from its number on every call (a name already an array: as
        it is, once)."""
        text = self.operand(value, used)[0]
        data = value._data if isinstance(value, Tensor) else value
        ndim = np.ndim(data)
        if ndim == 0:
            return f"float({text})"
        if text in self.made and text not in self.returned_names:
            self.returned_names.add(text)
            return text
        if text in self.made or text in self.array_names.values():
            return f"_out({text})"
        return f"{self.arrays}({'[' * ndim}{text}{']' * ndim})"


def written(
    tracer: Tracer,
    names: list[str],
    inline: set[int],
    fname: str,
    result: object,
    finish: Callable | None,
) -> tuple[str, dict] | None:
    """(source, namespace) of the program on scalars where the trace `fits`, else None."""
    if not fits(tracer, inline):
        return None
    emitter = ScalarEmitter(tracer, names, inline)
    return emitter.source(fname, result, finish), emitter.namespace


__all__ = ["ScalarEmitter", "fits", "written"]
