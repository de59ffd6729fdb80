"""Fused primitives: one node where the unfused form would record several.

Each is the exact composition it replaces, in value and in gradient (tests/test_fused.py), and
pays for itself in the per-node cost of the engine (bench/engine_overhead.py).

- `linear(x, w, b)` = x @ w + b: the layer of every perceptron. The bias is added in place to
  the fresh product, and the sweep visits one node instead of two.
- `cross_entropy(logits, labels)` = logsumexp(logits) - logits[labels], per sample: softmax
  cross-entropy from logits and integer labels, whose gradient is softmax(logits) - onehot.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from wengert._checks import refusal
from wengert.autodiff.elementwise import underflow_ignored
from wengert.autodiff.ops.activations import _logsumexp, _sympy_logsumexp, softmax_p
from wengert.autodiff.ops.arithmetic import _data, exp_p
from wengert.autodiff.ops.linalg import (
    _matmul_rule_a,
    _matmul_rule_b,
    check_matmul_shapes,
    matmul_p,
)
from wengert.autodiff.ops.reductions import reshape_p, sum_p
from wengert.autodiff.ops.shapes import getitem_p
from wengert.autodiff.primitive import Primitive, apply
from wengert.autodiff.tensor import Tensor

__all__ = ["cross_entropy", "cross_entropy_p", "linear", "linear_p"]


def _linear(x, w, b=None):
    out = np.matmul(x, w)
    if b is not None:
        out += b  # the product is a fresh array: adding in place saves an allocation
    return out


def _label_index(labels):
    """The index that picks logits[..., labels] out of logits of shape (*labels.shape, C)."""
    if labels.ndim == 1:
        return np.arange(labels.shape[0]), labels  # the usual (N, C) batch: a third the cost
    return (*np.ix_(*(range(n) for n in labels.shape)), labels)


def _cross_entropy(logits, labels):
    picked = logits[_label_index(labels)]
    return _logsumexp(logits, axis=(logits.ndim - 1,)) - picked


# The rules catch underflow as the softmax family does (see activations.py): exp of a logit far
# below the others is 0, harmlessly, also under np.errstate(all="raise").
def _cross_entropy_rule(g, ans, logits, labels):
    try:
        slope = _cross_entropy_slope(ans, logits, labels)
        if type(g) is np.ndarray and type(slope) is np.ndarray and g.dtype == slope.dtype:
            slope *= g[..., None]  # the first-order sweep: the slope is a fresh array
            return slope
        return reshape_p(g, shape=(*g.shape, 1)) * slope
    except FloatingPointError:
        return underflow_ignored(_cross_entropy_rule, g, ans, logits, labels)


def _cross_entropy_tangent(t, ans, logits, labels):
    try:
        return sum_p(t * _cross_entropy_slope(ans, logits, labels), axis=(logits.ndim - 1,))
    except FloatingPointError:
        return underflow_ignored(_cross_entropy_tangent, t, ans, logits, labels)


def _cross_entropy_slope(ans, logits, labels):
    """softmax(logits) - onehot(labels): the derivative of each sample's loss by its logits.

    The softmax is rebuilt from the result, exp(logits - lse) with lse = ans + logits[labels]:
    one exp, no max or sum. Written with primitives, so that it is differentiable again (the
    derivative of ans + logits[labels] is softmax - onehot + onehot). Where the loss is not
    finite (a label whose logit is -inf) that sum would be NaN: softmax is computed afresh.
    """
    labels = _data(labels)
    if not math.isfinite(np.add.reduce(_data(ans), axis=None)):  # a sum is finite if every term is
        onehot = np.arange(logits.shape[-1]) == labels[..., None]
        return softmax_p(logits, axis=-1) - onehot
    index = _label_index(labels)
    if type(logits) is np.ndarray and type(ans) is np.ndarray:  # the same steps, in NumPy
        lse = ans + logits[index]
        slope = np.subtract(logits, lse[..., None])
        np.exp(slope, out=slope)
        slope[index] -= 1
        return slope
    lse = ans + getitem_p(logits, index=index)
    slope = exp_p(logits - reshape_p(lse, shape=(*lse.shape, 1)))
    if isinstance(slope, Tensor):
        return slope - (np.arange(logits.shape[-1]) == labels[..., None])
    slope[index] -= 1  # a fresh array: subtract the one-hot in place
    return slope


# The rules of linear: on the first-order sweep's ndarrays, a layer's usual shapes (a batch of
# rows x (N, k), w (k, m) or (k,)) take NumPy directly, x.T @ g and g @ w.T; anything else
# (Tensors under create_graph=True, batched or 1-D x) takes matmul's rules, written with
# primitives so that they differentiate again.
def _linear_rule_x(g, ans, x, w, b=None):
    if type(g) is np.ndarray and type(w) is np.ndarray:
        if w.ndim == 2:
            return np.matmul(g, w.T)  # (..., m) @ (m, k)
        if g.ndim == 1:  # x (N, k) @ w (k,) -> (N,): the perceptron's column
            return np.multiply.outer(g, w)
    return _matmul_rule_a(g, ans, x, w)


def _linear_rule_w(g, ans, x, w, b=None):
    if type(g) is np.ndarray and type(x) is np.ndarray and x.ndim == 2:
        return np.matmul(x.T, g)  # (k, N) @ (N, m), or (k, N) @ (N,) for a 1-D w
    return _matmul_rule_b(g, ans, x, w)


def _linear_rule_b(g, ans, x, w, b):
    """The bias's gradient: g summed over the batch, in the rule for a batch of rows and a bias
    of shape (m,) (the sweep's unbroadcast would call sum_p for it); other shapes are summed
    back by the sweep."""
    if g.ndim == 2 and np.ndim(b) == 1 and np.shape(b)[0] == g.shape[1]:
        if type(g) is np.ndarray:
            return np.add.reduce(g, axis=0)
        return sum_p(g, axis=(0,))  # the same sum, recorded: it differentiates again
    return g


linear_p = Primitive(
    "linear",
    _linear,
    (_linear_rule_x, _linear_rule_w, _linear_rule_b),
    jvps=(
        lambda t, ans, x, w, b=None: matmul_p(t, w),
        lambda t, ans, x, w, b=None: matmul_p(x, t),
        lambda t, ans, x, w, b: t,  # repeated over the batch by forward mode's broadcast
    ),
    saves=(0, 1),
    reads=((1,), (0,), ()),  # x's rule reads w, w's reads x, the bias's rule reads no value
    sympy=lambda sp, x, w, b=None: np.matmul(x, w) if b is None else np.matmul(x, w) + b,
)
cross_entropy_p = Primitive(
    "cross_entropy",
    _cross_entropy,
    (_cross_entropy_rule, None),
    jvps=(_cross_entropy_tangent, None),  # integer labels carry no tangent
    saves=(0, 1, "ans"),
    sympy=lambda sp, logits, labels: (  # the replay hands labels over as SymPy integers
        _sympy_logsumexp(sp, logits, (logits.ndim - 1,))
        - logits[_label_index(labels.astype(np.int64))]
    ),
)


def linear(
    x: Tensor | ArrayLike, w: Tensor | ArrayLike, b: Tensor | ArrayLike | None = None
) -> Tensor:
    """x @ w + b in one node (b may be None): w has shape (inputs, outputs)."""
    # matmul's shape check and message, without computing the product a second time
    check_matmul_shapes(np.shape(_data(x)), np.shape(_data(w)), "linear")
    if b is not None:
        out = np.shape(_data(w))[-1:]
        if np.shape(_data(b)) not in (out, (1,), ()):
            expected = f"of shape {out} (one bias per output)"
            raise refusal("linear", "b", expected, f"shape {np.shape(_data(b))}")
        return apply(linear_p, x, w, b)
    return apply(linear_p, x, w)


def cross_entropy(logits: Tensor | ArrayLike, labels: Tensor | ArrayLike) -> Tensor:
    """Per-sample softmax cross-entropy of `logits` (..., C) with integer `labels` (...).

    -log softmax(logits)[label], computed as logsumexp(logits) - logits[label]: finite for
    logits of any size. Its gradient with respect to the logits is softmax(logits) - onehot.
    """
    labels = np.asarray(_data(labels))
    classes = np.shape(_data(logits))[-1] if np.ndim(_data(logits)) else 0
    if labels.dtype.kind not in "iu":
        expected = "integers (class indices)"
        raise refusal("cross_entropy", "labels", expected, f"dtype {labels.dtype}", TypeError)
    if labels.shape != np.shape(_data(logits))[:-1]:
        shape = np.shape(_data(logits))
        expected = f"of shape {shape[:-1]}, to fit logits of shape {shape}"
        raise refusal("cross_entropy", "labels", expected, f"shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        bad = labels[(labels < 0) | (labels >= classes)][0]
        expected = f"in [0, {classes}) for {classes} classes"
        raise refusal("cross_entropy", "labels", expected, f"{bad}")
    return apply(cross_entropy_p, logits, labels)
