"""Helpers for the SymPy forms of the primitives (`Primitive.sympy`), which `symbolic_grad`
replays a Wengert list with.

A form is `form(sp, *args, **params)`: `sp` is the sympy module, handed in by the caller, so
that this module (and `import wengert`) never imports SymPy; args are object arrays of SymPy
expressions, combined with NumPy's broadcasting. Numbers that a primitive keeps as parameters
(a clip bound, a slope) become SymPy numbers by `number`, exact where they are integers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    import sympy


def each(scalar: Callable[..., object]) -> Callable[..., np.ndarray]:
    """The form of an elementwise primitive, from its form on single expressions.

    `scalar(sp, *values, **params)` writes the primitive for one element; the form applies it to
    object arrays with NumPy's broadcasting: `sympy=each(lambda sp, v: sp.exp(v))`.
    """

    def form(sp, *args, **params):
        return np.frompyfunc(lambda *values: scalar(sp, *values, **params), len(args), 1)(*args)

    return form


def number(sp: ModuleType, v: float | np.number | np.bool_) -> sympy.Basic:
    """A number of the forward as SymPy's: integers exact, other floats as Floats that hold the
    double, bools as SymPy's true and false."""
    if isinstance(v, (bool, np.bool_)):
        return sp.true if v else sp.false
    v = float(v)
    if v.is_integer() and abs(v) < 2**53:
        return sp.Integer(int(v))
    # repr is the shortest text that reads back as this double; Float keeps at least its digits.
    return sp.Float(repr(v)) if np.isfinite(v) else sp.sympify(v)


def objects(sp: ModuleType, value: ArrayLike | sympy.Basic) -> np.ndarray:
    """value (an expression, a number, an array) as an object array of SymPy expressions."""
    if isinstance(value, np.ndarray) and value.dtype == object:
        return value
    if isinstance(value, (np.ndarray, np.generic, int, float)):
        return np.asarray(np.frompyfunc(lambda v: number(sp, v), 1, 1)(np.asarray(value)), object)
    out = np.empty((), dtype=object)
    out[()] = value
    return out


def reduce(
    combine: Callable[..., sympy.Basic], x: np.ndarray, axis: tuple[int, ...] | None, keepdims: bool
) -> np.ndarray:
    """x combined over `axis` (a tuple, or None for all) by `combine(*terms)`, one call per
    result: sp.Add of all the terms at once, where adding them one at a time, as np.add.reduce
    does, re-sorts the growing sum at each step."""
    axes = tuple(range(x.ndim)) if axis is None else tuple(axis)
    kept = [a for a in range(x.ndim) if a not in axes]
    rows = np.transpose(x, kept + list(axes)).reshape(*[x.shape[a] for a in kept], -1)
    out = np.empty(rows.shape[:-1], dtype=object)
    for idx in np.ndindex(out.shape):
        out[idx] = combine(*rows[idx])
    if keepdims:
        out = out.reshape([1 if a in axes else n for a, n in enumerate(x.shape)])
    return out


def count(shape: tuple[int, ...], axis: tuple[int, ...] | None) -> int:
    """How many elements a reduction over `axis` combines into each result."""
    return math.prod(shape) if axis is None else math.prod(shape[a] for a in axis)
