"""Moving elements around: transpose, indexing and its scatter, concatenate and stack."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike

from wengert._checks import refusal
from wengert.autodiff.ops.arithmetic import _data
from wengert.autodiff.primitive import Primitive, Variadic, apply
from wengert.autodiff.tensor import Tensor

__all__ = [
    "concatenate",
    "concatenate_p",
    "getitem",
    "getitem_p",
    "scatter_add_p",
    "stack",
    "stack_p",
    "swapaxes",
    "transpose",
    "transpose_p",
]


def _transpose_rule(g, ans, x, axes=None):
    return transpose_p(g, axes=None if axes is None else tuple(np.argsort(axes).tolist()))


def _has_array(index) -> bool:
    return any(isinstance(i, (np.ndarray, list)) for i in index)


def _scatter_add(g, index, shape):
    out = np.zeros(shape, dtype=g.dtype)
    if _has_array(index):
        np.add.at(out, index, g)  # repeated indices add up: x[[0, 0]] sends 2 g to x[0]
    else:
        out[index] = g  # basic indexing selects each element at most once
    return out


def _slot(i, xs, axis):
    """The index of argument i's elements in the result of concatenate(xs, axis)."""
    start = sum(x.shape[axis] for x in xs[:i])
    return (slice(None),) * axis + (slice(start, start + xs[i].shape[axis]),)


# Moving elements is linear: the tangent of the result is the same move of the tangents. For
# concatenate and stack each argument's term is its tangent put in its slot, zeros elsewhere
# (a scatter, the transpose of the reverse rule's slice).
def _concatenate_rule(i, g, ans, *xs, axis=0):
    return getitem_p(g, index=_slot(i, xs, axis))


def _concatenate_tangent(i, t, ans, *xs, axis=0):
    return scatter_add_p(t, index=_slot(i, xs, axis), shape=ans.shape)


def _stack_rule(i, g, ans, *xs, axis=0):
    return getitem_p(g, index=(slice(None),) * axis + (i,))


def _stack_tangent(i, t, ans, *xs, axis=0):
    return scatter_add_p(t, index=(slice(None),) * axis + (i,), shape=ans.shape)


transpose_p = Primitive(
    "transpose",
    lambda x, axes=None: np.asarray(x).transpose(axes),
    (_transpose_rule,),
    (lambda t, ans, x, axes=None: transpose_p(t, axes=axes),),
    saves=(),
    sympy=lambda sp, x, axes=None: np.transpose(x, axes),
)
getitem_p = Primitive(
    "getitem",
    lambda x, index: x[index],
    (lambda g, ans, x, index: scatter_add_p(g, index=index, shape=x.shape),),
    (lambda t, ans, x, index: getitem_p(t, index=index),),  # x[[0, 0]] repeats ẋ[0] too
    saves=("index",),
    template="{0}[{index}]",
    precedence=90,
    sympy=lambda sp, x, index: x[index],
)
scatter_add_p = Primitive(
    "scatter_add",
    _scatter_add,
    (lambda g, ans, src, index, shape: getitem_p(g, index=index),),
    (lambda t, ans, src, index, shape: scatter_add_p(t, index=index, shape=shape),),
    saves=("index",),
    sympy=lambda sp, src, index, shape: _scatter_add(src, index, shape),  # objects too
)
concatenate_p = Primitive(
    "concatenate",
    lambda *xs, axis=0: np.concatenate(xs, axis=axis),
    Variadic(_concatenate_rule),
    Variadic(_concatenate_tangent),
    saves=(),
    sympy=lambda sp, *xs, axis=0: np.concatenate(xs, axis=axis),
)
stack_p = Primitive(
    "stack",
    lambda *xs, axis=0: np.stack(xs, axis=axis),
    Variadic(_stack_rule),
    Variadic(_stack_tangent),
    saves=(),
    sympy=lambda sp, *xs, axis=0: np.stack(xs, axis=axis),
)


def transpose(x: Tensor | ArrayLike, axes: Iterable[int] | None = None) -> Tensor:
    """Axes permuted (reversed by default, so a matrix is transposed)."""
    if axes is not None:
        axes = tuple(int(a) for a in axes)
        ndim = np.ndim(_data(x))
        if sorted(a % max(ndim, 1) for a in axes) != list(range(ndim)):
            expected = f"a permutation of 0..{ndim - 1} for an array of shape {np.shape(_data(x))}"
            raise refusal("transpose", "axes", expected, f"{axes}")
        axes = tuple(a % ndim for a in axes)
    return apply(transpose_p, x, axes=axes)


def swapaxes(x: Tensor | ArrayLike, axis1: int, axis2: int) -> Tensor:
    """x with two axes exchanged (a transpose)."""
    perm = list(range(np.ndim(_data(x))))
    perm[axis1], perm[axis2] = perm[axis2], perm[axis1]
    return transpose(x, perm)


def _normalize_index(index):
    """Tensors and lists in an index become ndarrays; the index is always a tuple."""
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    for i in index:
        if isinstance(i, Tensor):
            i = i._data
        if isinstance(i, list):
            i = np.asarray(i)
        if isinstance(i, np.ndarray) and i.dtype.kind not in "iub":
            raise IndexError(f"an index array must hold integers or booleans; got {i.dtype}")
        out.append(i)
    return tuple(out)


def getitem(x: Tensor | ArrayLike, index: object) -> Tensor:
    """x[index]: basic indexing (ints, slices, None, ...) and integer or boolean arrays.

    The gradient scatters back into x's shape; an element picked twice receives both gradients.
    """
    index = _normalize_index(index)
    _data(x)[index]  # raises NumPy's IndexError now, before anything is recorded
    return apply(getitem_p, x, index=index)


def concatenate(xs: Iterable[Tensor | ArrayLike], axis: int = 0) -> Tensor:
    """The arrays of `xs` joined along an existing axis."""
    xs = tuple(xs)
    if not xs:
        raise refusal("concatenate", "xs", "at least one array", "an empty sequence")
    ndim = np.ndim(_data(xs[0]))
    if ndim == 0:
        expected = "arrays of at least 1 dimension"
        raise refusal("concatenate", "xs", expected, "0-d arrays", fix="Join them with stack().")
    axis = int(axis) % ndim
    shapes = [np.shape(_data(x)) for x in xs]
    if any(
        len(s) != ndim or s[:axis] + s[axis + 1 :] != shapes[0][:axis] + shapes[0][axis + 1 :]
        for s in shapes
    ):
        expected = f"arrays of equal shapes but along axis {axis}"
        raise refusal("concatenate", "xs", expected, f"shapes {shapes}")
    return apply(concatenate_p, *xs, axis=axis)


def stack(xs: Iterable[Tensor | ArrayLike], axis: int = 0) -> Tensor:
    """The arrays of `xs`, all of one shape, joined along a new axis."""
    xs = tuple(xs)
    if not xs:
        raise refusal("stack", "xs", "at least one array", "an empty sequence")
    shapes = [np.shape(_data(x)) for x in xs]
    if any(s != shapes[0] for s in shapes):
        raise refusal("stack", "xs", "arrays of one shape", f"shapes {shapes}")
    axis = int(axis) % (len(shapes[0]) + 1)
    return apply(stack_p, *xs, axis=axis)
