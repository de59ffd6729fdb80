"""The numba forms that a compiled program calls where NumPy inside numba has no one-line form.

Imported only when the numba backend builds a program (numba is an optional extra). Each form
computes what the primitive's NumPy forward or rule computes, in the same formula, so that the
two backends agree to rounding: elementwise ones are numba ufuncs (they broadcast, and numba
fuses them into the loops of the array expressions around them), the row-wise ones (softmax,
log_softmax, logsumexp and cross-entropy over the last axis) loop over rows of a 2-D array.
A 0-d value is a scalar inside numba: `as_shape` and `filled` take a scalar or an array alike.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types, vectorize
from numba.extending import overload

FLOATS = ["float32(float32)", "float64(float64)"]
FLOATS2 = ["float32(float32, float32)", "float64(float64, float64)"]


@vectorize(FLOATS, cache=True)
def sigmoid(x: float) -> float:
    """1 / (1 + e^-x), from exp(-|x|), which never overflows (as the NumPy forward)."""
    e = math.exp(-abs(x))
    return 1 / (1 + e) if x >= 0 else e / (1 + e)


@vectorize(FLOATS, cache=True)
def softplus(x: float) -> float:
    """log(1 + e^x) = logaddexp(0, x)."""
    return max(x, 0) + math.log1p(math.exp(-abs(x)))


@vectorize(FLOATS2, cache=True)
def relu_vjp(g: float, x: float) -> float:
    """g times the mask x > 0 (a product, as the eager rule: a non-finite g gives NaN)."""
    return g * (1 if x > 0 else 0)


def as_shape(x: np.ndarray | float, shape: tuple[int, ...]) -> np.ndarray | float:
    """x (a scalar or an array) with the given shape; a scalar for shape ()."""
    return np.reshape(np.asarray(x), shape)


@overload(as_shape, jit_options={"cache": True})
def _as_shape(x, shape):
    if len(shape) == 0:
        if isinstance(x, types.Array):
            return lambda x, shape: np.ascontiguousarray(x).ravel()[0]
        return lambda x, shape: x
    if isinstance(x, types.Array):
        return lambda x, shape: np.ascontiguousarray(x).reshape(shape)
    return lambda x, shape: np.full(shape, x)


def filled(x: np.ndarray | float, shape: tuple[int, ...]) -> np.ndarray:
    """x broadcast to shape as a new array (the NumPy forward of broadcast_to)."""
    return np.broadcast_to(x, shape).copy()


@overload(filled, jit_options={"cache": True})
def _filled(x, shape):
    if isinstance(x, types.Array):

        def fill(x, shape):
            out = np.empty(shape, x.dtype)
            out[...] = x
            return out

        return fill
    return lambda x, shape: np.full(shape, x)


@njit(cache=True)
def _finite_max(row):
    """The row's maximum, 0 where it is not finite (a row of -inf gives -inf, not NaN)."""
    m = row.max()
    return m if np.isfinite(m) else np.zeros(1, row.dtype)[0]


@njit(cache=True)
def logsumexp_rows(x: np.ndarray) -> np.ndarray:
    """log Σ exp along the last axis of a 2-D x, shifted by the row's finite maximum."""
    out = np.empty(x.shape[0], x.dtype)
    for i in range(x.shape[0]):
        m = _finite_max(x[i])
        out[i] = np.log(np.sum(np.exp(x[i] - m))) + m
    return out


@njit(cache=True)
def log_softmax_rows(x: np.ndarray) -> np.ndarray:
    """x - logsumexp(x) along the last axis of a 2-D x."""
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        z = x[i] - _finite_max(x[i])
        out[i] = z - np.log(np.sum(np.exp(z)))
    return out


@njit(cache=True)
def softmax_rows(x: np.ndarray) -> np.ndarray:
    """exp(x - max) / Σ along the last axis of a 2-D x."""
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        e = np.exp(x[i] - _finite_max(x[i]))
        out[i] = e / np.sum(e)
    return out


@njit(cache=True)
def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """logsumexp(logits[i]) - logits[i, labels[i]] for each row i."""
    out = logsumexp_rows(logits)
    for i in range(logits.shape[0]):
        out[i] -= logits[i, labels[i]]
    return out


@njit(cache=True)
def cross_entropy_vjp(
    g: np.ndarray, ans: np.ndarray, logits: np.ndarray, labels: np.ndarray
) -> np.ndarray:
    """g[i] (softmax(logits[i]) - onehot(labels[i])), the softmax rebuilt from the result as
    exp(logits - (ans + picked)) where the loss is finite, computed afresh where it is not."""
    out = np.empty_like(logits)
    finite = np.isfinite(np.sum(ans))
    for i in range(logits.shape[0]):
        if finite:
            out[i] = np.exp(logits[i] - (ans[i] + logits[i, labels[i]]))
        else:
            e = np.exp(logits[i] - _finite_max(logits[i]))
            out[i] = e / np.sum(e)
        out[i, labels[i]] -= 1
        out[i] *= g[i]
    return out


SMALL = 4096  # multiply-adds below which a loop beats the call into BLAS


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray | float:
    """a @ b: loops for a small product (BLAS's call costs more than its work), else BLAS."""
    return a @ b


@njit(cache=True)
def _product(x, y):
    """x @ y of 2-D arrays: three loops for a small product, BLAS for a large one."""
    n, k, m = x.shape[0], x.shape[1], y.shape[1]
    if n * k * m > SMALL:
        return x @ y
    out = np.zeros((n, m), x.dtype)
    for i in range(n):
        for p in range(k):
            xv = x[i, p]
            for j in range(m):
                out[i, j] += xv * y[p, j]
    return out


@overload(matmul, jit_options={"cache": True})
def _matmul(a, b):
    arrays = isinstance(a, types.Array) and isinstance(b, types.Array)
    if not arrays or a.dtype != b.dtype or a.ndim > 2 or b.ndim > 2 or a.ndim + b.ndim == 2:
        return lambda a, b: a @ b
    if a.ndim == 1:
        return lambda a, b: _product(np.ascontiguousarray(a).reshape((1, a.size)), b).reshape(
            b.shape[1]
        )
    if b.ndim == 1:
        return lambda a, b: _product(a, np.ascontiguousarray(b).reshape((b.size, 1))).reshape(
            a.shape[0]
        )
    return lambda a, b: _product(a, b)
