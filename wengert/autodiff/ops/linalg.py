"""Matrix products: 1-D (dot), 2-D and batched, with NumPy's matmul rules for the shapes."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from wengert._checks import refusal
from wengert.autodiff.ops.arithmetic import _data
from wengert.autodiff.ops.reductions import reshape_p
from wengert.autodiff.ops.shapes import transpose_p
from wengert.autodiff.primitive import Primitive, apply
from wengert.autodiff.tensor import Tensor

__all__ = ["matmul", "matmul_p"]


def _mT(x):
    """x with its last two axes swapped."""
    if x.ndim == 2:
        return transpose_p(x)
    perm = list(range(x.ndim))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    return transpose_p(x, axes=tuple(perm))


def _column(x):
    """x with a new last axis of size 1: (..., n) -> (..., n, 1)."""
    return reshape_p(x, shape=(*x.shape, 1))


def _drop_last(x):
    return reshape_p(x, shape=x.shape[:-1])


# Shapes: a (..., n, k) @ b (..., k, m) -> (..., n, m); a 1-D argument acts as a row (a) or a
# column (b) whose axis is then removed. The sweep sums batch axes that were broadcast.
def _matmul_rule_a(g, ans, a, b):
    if b.ndim == 1:
        return g * b if a.ndim == 1 else _column(g) * b
    if a.ndim == 1:
        return _drop_last(matmul_p(b, _column(g)))
    return matmul_p(g, _mT(b))


def _matmul_rule_b(g, ans, a, b):
    if a.ndim == 1:
        if b.ndim == 1:
            return g * a
        return _column(a) * reshape_p(g, shape=(*g.shape[:-1], 1, g.shape[-1]))
    if b.ndim == 1:
        return _drop_last(matmul_p(_mT(a), _column(g)))
    return matmul_p(_mT(a), g)


# Bilinear: the tangent (a + ȧ)(b + ḃ) - a b to first order is ȧ b + a ḃ, in every shape case.
matmul_p = Primitive(
    "matmul",
    np.matmul,
    (_matmul_rule_a, _matmul_rule_b),
    jvps=(lambda t, ans, a, b: matmul_p(t, b), lambda t, ans, a, b: matmul_p(a, t)),
    saves=(0, 1),
    reads=((1,), (0,)),  # X @ W with X data saves X alone
    template="{0} @ {1}",
    precedence=60,
    sympy=lambda sp, a, b: np.matmul(a, b),  # object arrays multiply as numbers do
)


def matmul(a: Tensor | ArrayLike, b: Tensor | ArrayLike) -> Tensor:
    """The matrix product a @ b (a dot product for two vectors; batched over leading axes)."""
    check_matmul_shapes(np.shape(_data(a)), np.shape(_data(b)))
    return apply(matmul_p, a, b)


def check_matmul_shapes(sa: tuple[int, ...], sb: tuple[int, ...], owner: str = "matmul") -> None:
    """Raise the ValueError of matmul when arrays of shapes sa and sb cannot be multiplied;
    `owner` is the operation called ("matmul" of a and b, or "linear" of x and w)."""
    if not sa or not sb:
        raise _misfit(owner, "arrays of at least 1 dimension", f"shapes {sa} and {sb}")
    k_a = sa[-1]
    k_b = sb[0] if len(sb) == 1 else sb[-2]
    if k_a != k_b:
        a, b = ("x", "w") if owner == "linear" else ("a", "b")
        axis = "only" if len(sb) == 1 else "second-last"
        expected = f"{k_a}, the length of the last axis of {a} (shape {sa})"
        raise refusal(owner, f"the {axis} axis of {b}", expected, f"{k_b} (shape {sb})")
    try:
        if len(sa) > 2 or len(sb) > 2:
            np.broadcast_shapes(sa[:-2], sb[:-2])
    except ValueError:
        got = f"batch axes {sa[:-2]} and {sb[:-2]} (shapes {sa} and {sb})"
        raise _misfit(owner, "arrays whose batch axes broadcast", got) from None


def _misfit(owner: str, expected: str, got: str) -> ValueError:
    """A refusal that names both factors of a product."""
    names = "x and w" if owner == "linear" else "a and b"
    return refusal(owner, names, expected, got)
