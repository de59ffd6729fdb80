"""Reductions (sum, max, min, and mean built on sum) and the reshapes their rules need.

`axis` is stored as a tuple of non-negative axes (or None for all), so a rule can rebuild the
kept-dimensions shape of its result without reading the call again.
"""

from __future__ import annotations

import builtins
import functools
import math
from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike

from wengert._checks import Boolean, check, refusal, what_came
from wengert.autodiff.ops.arithmetic import _data
from wengert.autodiff.primitive import Primitive, apply
from wengert.autodiff.sympy_forms import count, reduce
from wengert.autodiff.tensor import Tensor

__all__ = [
    "broadcast_to",
    "broadcast_to_p",
    "max",
    "max_p",
    "mean",
    "mean_p",
    "min",
    "min_p",
    "reshape",
    "reshape_p",
    "sum",
    "sum_p",
]


def normalize_axis(
    x: Tensor | ArrayLike, axis: int | Iterable[int] | None, owner: str
) -> tuple[int, ...] | None:
    """axis (None, an int or a sequence of ints) as a sorted tuple of non-negative axes; a
    refusal names `owner`, the operation that was called."""
    if axis is None:
        return None
    ndim = np.ndim(_data(x))
    if isinstance(axis, (int, np.integer)):
        axes = (axis,)
    else:
        try:
            axes = tuple(axis)
        except TypeError:
            axes = (axis,)  # neither an int nor a sequence: refused below, by name
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or not -builtins.max(ndim, 1) <= a < builtins.max(
            ndim, 1
        ):
            raise _bad_axis(owner, x, axis, a)
        out.append(int(a) % builtins.max(ndim, 1))
    if len(set(out)) != len(out):
        raise refusal(owner, "axis", "distinct axes", f"{axis!r}, which repeats an axis")
    return tuple(sorted(out))


def _bad_axis(owner: str, x, axis, a) -> Exception:
    """The refusal of an axis `a` (of `axis`) that is no int (TypeError) or out of range."""
    shape = np.shape(_data(x))
    ndim = len(shape)
    expected = f"an int in [{-ndim}, {ndim}) (or a tuple of them) for an array of shape {shape}"
    error = ValueError if isinstance(a, (int, np.integer)) else TypeError
    return refusal(owner, "axis", expected, what_came(axis), error)


def keepdims_shape(shape: tuple[int, ...], axis: tuple[int, ...] | None) -> tuple[int, ...]:
    """The shape a reduction over `axis` has with keepdims=True."""
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


def _sum_rule(g, ans, x, axis=None, keepdims=False):
    if axis is not None and not keepdims:
        # Put the summed axes back as size-1 axes, so that g broadcasts along them.
        g = reshape_p(g, shape=keepdims_shape(x.shape, axis))
    return g if g.shape == x.shape else broadcast_to_p(g, shape=x.shape)


def _shares(ans, x, axis):
    """1/k at each of the k elements that attain the extremum, 0 elsewhere (keepdims)."""
    # The gradient is shared equally among the elements that attain the extremum (as JAX does);
    # PyTorch's max(dim) instead gives it all to one of them. Forward mode takes the same shares,
    # so its tangent is the mean of the tied elements' tangents and both modes give one Jacobian.
    hit = _data(x) == np.reshape(_data(ans), keepdims_shape(x.shape, axis))
    return hit / np.sum(hit, axis=axis, keepdims=True)


def _extremum_rule(g, ans, x, axis=None, keepdims=False):
    g = reshape_p(g, shape=keepdims_shape(x.shape, axis))
    return g * _shares(ans, x, axis).astype(g.dtype)


def _extremum_tangent(t, ans, x, axis=None, keepdims=False):
    return sum_p(t * _shares(ans, x, axis).astype(t.dtype), axis=axis, keepdims=keepdims)


def _broadcast_to(x, shape):
    # A copy, not np.broadcast_to's read-only view: several times faster on the small arrays of
    # the sum rule, and the result is an ordinary array that later rules may write into.
    x = np.asarray(x)
    out = np.empty(shape, dtype=x.dtype)
    out[...] = x
    return out


# The forwards call the ufuncs' reduce and the array methods: np.sum, np.reshape and friends
# add microseconds of Python dispatch that the sweep would pay on every node.
def _mean(x, axis=None, keepdims=False):
    return np.add.reduce(x, axis=axis, keepdims=keepdims) / count(np.shape(x), axis)


def _mean_rule(g, ans, x, axis=None, keepdims=False):
    # The cotangent is divided while it is small, before it is spread over x's shape.
    return _sum_rule(g / count(x.shape, axis), ans, x, axis, keepdims)


# Linear primitives (sum, mean, reshape, broadcast_to) are their own tangent rule: ż = f(ẋ).
sum_p = Primitive(
    "sum",
    np.add.reduce,
    (_sum_rule,),
    (lambda t, ans, x, axis=None, keepdims=False: sum_p(t, axis=axis, keepdims=keepdims),),
    saves=(),
    sympy=lambda sp, x, axis=None, keepdims=False: reduce(sp.Add, x, axis, keepdims),
)
# mean is sum / count, written as one node: every loss ends in one, and a node costs microseconds.
mean_p = Primitive(
    "mean",
    _mean,
    (_mean_rule,),
    (lambda t, ans, x, axis=None, keepdims=False: mean_p(t, axis=axis, keepdims=keepdims),),
    saves=(),
    sympy=lambda sp, x, axis=None, keepdims=False: (
        reduce(sp.Add, x, axis, keepdims) / sp.Integer(count(x.shape, axis))
    ),
)


def _extremum(name, ufunc, combine):
    """max or min over axes: `ufunc` is np.maximum or np.minimum, `combine` the SymPy name."""

    # Pairwise and unevaluated, Max(Max(a, b), c): SymPy's Max of three or more arguments
    # differentiates to nested Piecewise conditions that its lambdify cannot evaluate. (At a tie
    # SymPy's kinks then split the derivative pair by pair; the engine shares it equally.)
    def form(sp, x, axis=None, keepdims=False):
        pair = getattr(sp, combine)
        return reduce(lambda *terms: functools.reduce(_unevaluated(pair), terms), x, axis, keepdims)

    return Primitive(
        name, ufunc.reduce, (_extremum_rule,), (_extremum_tangent,), saves=(0, "ans"), sympy=form
    )


def _unevaluated(pair):
    return lambda a, b: pair(a, b, evaluate=False)


max_p = _extremum("max", np.maximum, "Max")
min_p = _extremum("min", np.minimum, "Min")
reshape_p = Primitive(
    "reshape",
    lambda x, shape: np.asarray(x).reshape(shape),
    (lambda g, ans, x, shape: reshape_p(g, shape=x.shape),),
    (lambda t, ans, x, shape: reshape_p(t, shape=shape),),
    saves=(),
    sympy=lambda sp, x, shape: np.reshape(x, shape),
)
# The sweep sums the cotangent back to x's shape (backward.unbroadcast): the rule is the identity.
broadcast_to_p = Primitive(
    "broadcast_to",
    _broadcast_to,
    (lambda g, ans, x, shape: g,),
    (lambda t, ans, x, shape: broadcast_to_p(t, shape=shape),),
    saves=(),
    sympy=lambda sp, x, shape: np.broadcast_to(x, shape).copy(),
)


def flag(value: object, owner: str, name: str = "keepdims") -> bool:
    """A bool argument of an operation (keepdims): True or False pass at once, anything else
    (numpy.bool_ included) goes through the one check."""
    if value is True or value is False:
        return value
    return bool(check(owner, name, value, Boolean()))


def sum(
    x: Tensor | ArrayLike, axis: int | tuple[int, ...] | None = None, keepdims: bool = False
) -> Tensor:
    """Sum over `axis` (all axes by default)."""
    return apply(sum_p, x, axis=normalize_axis(x, axis, "sum"), keepdims=flag(keepdims, "sum"))


def mean(
    x: Tensor | ArrayLike, axis: int | tuple[int, ...] | None = None, keepdims: bool = False
) -> Tensor:
    """Mean over `axis` (all axes by default): the sum divided by the count."""
    if np.size(_data(x)) == 0:
        raise _empty("mean", x)
    return apply(mean_p, x, axis=normalize_axis(x, axis, "mean"), keepdims=flag(keepdims, "mean"))


def max(
    x: Tensor | ArrayLike, axis: int | tuple[int, ...] | None = None, keepdims: bool = False
) -> Tensor:
    """Maximum over `axis`; tied maxima share the gradient equally."""
    _check_not_empty(x, "max")
    return apply(max_p, x, axis=normalize_axis(x, axis, "max"), keepdims=flag(keepdims, "max"))


def min(
    x: Tensor | ArrayLike, axis: int | tuple[int, ...] | None = None, keepdims: bool = False
) -> Tensor:
    """Minimum over `axis`; tied minima share the gradient equally."""
    _check_not_empty(x, "min")
    return apply(min_p, x, axis=normalize_axis(x, axis, "min"), keepdims=flag(keepdims, "min"))


def reshape(x: Tensor | ArrayLike, shape: int | Iterable[int]) -> Tensor:
    """The same elements in a new shape (one dimension may be -1)."""
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(builtins.map(int, shape))
    size = np.size(_data(x))
    known = math.prod(n for n in shape if n != -1)
    if (
        shape.count(-1) > 1
        or (-1 in shape and (known == 0 or size % known))
        or (-1 not in shape and known != size)
    ):
        expected = (
            f"a shape of {size} elements, as x has shape {np.shape(_data(x))} (one "
            f"dimension may be -1)"
        )
        raise refusal("reshape", "shape", expected, f"{shape}")
    if -1 in shape:
        shape = tuple(size // known if n == -1 else n for n in shape)
    return apply(reshape_p, x, shape=shape)


def broadcast_to(x: Tensor | ArrayLike, shape: Iterable[int]) -> Tensor:
    """x repeated along new or size-1 axes to `shape`, by NumPy's broadcasting rules."""
    shape = tuple(int(n) for n in shape)
    try:
        np.broadcast_shapes(np.shape(_data(x)), shape)
    except ValueError:
        expected = f"a shape that x's shape {np.shape(_data(x))} broadcasts to"
        raise refusal("broadcast_to", "shape", expected, f"{shape}") from None
    return apply(broadcast_to_p, x, shape=shape)


def _check_not_empty(x, name):
    if np.size(_data(x)) == 0:
        raise _empty(name, x)


def _empty(owner: str, x) -> ValueError:
    """The refusal of a reduction that has no value on an empty array."""
    expected = f"non-empty (the {owner} of no values has no value)"
    return refusal(owner, "x", expected, f"an empty array of shape {np.shape(_data(x))}")
