"""Activation functions and the softmax family, written to stay finite for inputs of +-1000.

sigmoid and tanh keep their output for the rule (s' = s(1 - s), tanh' = 1 - tanh^2), so the
backward pass evaluates no exponential.
"""

from __future__ import annotations

import numpy as np

from wengert.autodiff.ops.arithmetic import _data, exp_p, where_p
from wengert.autodiff.ops.reductions import keepdims_shape, normalize_axis, reshape_p, sum_p
from wengert.autodiff.tensor import Primitive, apply


def _sigmoid(x):
    # exp of -|x| never overflows; the two branches are the same function rearranged.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _leaky_relu(x, negative_slope=0.01):
    return np.where(x > 0, x, x * negative_slope)


def _softplus(x):
    return np.logaddexp(0, x)


def _shifted(x, axis):
    """x minus its maximum along axis (0 where the maximum is infinite), keepdims."""
    m = np.max(x, axis=axis, keepdims=True)
    return x - np.where(np.isfinite(m), m, 0)


def _softmax(x, axis=-1):
    e = np.exp(_shifted(x, axis))
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(x, axis=-1):
    z = _shifted(x, axis)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def _logsumexp(x, axis=None, keepdims=False):
    # log sum exp(x - m) + m with m the maximum (0 where it is infinite, so that a row of -inf
    # gives -inf and not NaN). Ufunc reductions and in-place exp and log on the fresh x - m:
    # about a third cheaper than np.max/np.sum/np.where on a small batch.
    m = np.maximum.reduce(x, axis=axis, keepdims=True)
    if not np.isfinite(m).all():
        m = np.where(np.isfinite(m), m, 0)
    e = np.subtract(x, m)
    if type(e) is not np.ndarray or e.dtype.kind != "f":  # a 0-d or integer x: no buffer to reuse
        out = np.log(np.sum(np.exp(e), axis=axis, keepdims=True)) + m
        return out if keepdims else np.squeeze(out, axis=axis)
    np.exp(e, out=e)
    out = np.add.reduce(e, axis=axis, keepdims=True)
    np.log(out, out=out)
    out += m
    return out if keepdims else np.squeeze(out, axis=axis)


def _logsumexp_rule(g, ans, x, axis=None, keepdims=False):
    if not keepdims:
        shape = keepdims_shape(x.shape, axis)
        g, ans = reshape_p(g, shape=shape), reshape_p(ans, shape=shape)
    return g * exp_p(x - ans)


def _logsumexp_tangent(t, ans, x, axis=None, keepdims=False):
    # The softmax-weighted sum of the tangents: exp(x - logsumexp(x)) is softmax(x).
    if not keepdims:
        ans = reshape_p(ans, shape=keepdims_shape(x.shape, axis))
    return sum_p(t * exp_p(x - ans), axis=axis, keepdims=keepdims)


# Elementwise (sigmoid to softplus): the tangent rule is the reverse rule with t for g.
sigmoid_p = Primitive(
    "sigmoid",
    _sigmoid,
    (lambda g, ans, x: g * ans * (1 - ans),),
    (lambda t, ans, x: t * ans * (1 - ans),),
)
tanh_p = Primitive(
    "tanh",
    np.tanh,
    (lambda g, ans, x: g * (1 - ans * ans),),
    (lambda t, ans, x: t * (1 - ans * ans),),
)
# relu'(0) is taken as 0 (PyTorch and JAX agree); any value in [0, 1] is a valid subgradient.
# The rule multiplies by the mask rather than selecting with where: np.where branches on every
# element, and on a layer's mask (about half the units live, at random) it runs ~10x slower
# than the product (bench/training.py). The one difference is a non-finite g at x <= 0, which
# gives NaN here and 0 with where (micrograd multiplies; PyTorch and JAX select); after a dense
# layer a non-finite cotangent has reached every unit anyway.
relu_p = Primitive(
    "relu",
    lambda x: np.maximum(x, 0),
    (lambda g, ans, x: g * (_data(x) > 0),),
    (lambda t, ans, x: t * (_data(x) > 0),),
)
leaky_relu_p = Primitive(
    "leaky_relu",
    _leaky_relu,
    (lambda g, ans, x, negative_slope=0.01: where_p(_data(x) > 0, g, g * negative_slope),),
    (lambda t, ans, x, negative_slope=0.01: where_p(_data(x) > 0, t, t * negative_slope),),
)
softplus_p = Primitive(
    "softplus",
    _softplus,
    (lambda g, ans, x: g * sigmoid_p(x),),
    (lambda t, ans, x: t * sigmoid_p(x),),
)
softmax_p = Primitive(
    "softmax",
    _softmax,
    # sum_p's own rule reads axis as a tuple (as sum() stores it): pass (axis,), not axis.
    (lambda g, ans, x, axis=-1: ans * (g - sum_p(g * ans, axis=(axis,), keepdims=True)),),
    # Its Jacobian diag(s) - s s^T is symmetric: the tangent rule is the reverse one.
    (lambda t, ans, x, axis=-1: ans * (t - sum_p(t * ans, axis=(axis,), keepdims=True)),),
)
log_softmax_p = Primitive(
    "log_softmax",
    _log_softmax,
    (lambda g, ans, x, axis=-1: g - exp_p(ans) * sum_p(g, axis=(axis,), keepdims=True),),
    # Its Jacobian I - 1 s^T is not symmetric: the tangent is t - (s . t), the reverse rule's
    # transpose.
    (lambda t, ans, x, axis=-1: t - sum_p(exp_p(ans) * t, axis=(axis,), keepdims=True),),
)
logsumexp_p = Primitive("logsumexp", _logsumexp, (_logsumexp_rule,), (_logsumexp_tangent,))


def sigmoid(x):
    """1 / (1 + exp(-x)), computed without overflow."""
    return apply(sigmoid_p, x)


def tanh(x):
    """Hyperbolic tangent."""
    return apply(tanh_p, x)


def relu(x):
    """max(x, 0); its gradient at 0 is 0."""
    return apply(relu_p, x)


def leaky_relu(x, negative_slope=0.01):
    """x where x > 0, else negative_slope * x; the gradient at 0 is negative_slope."""
    return apply(leaky_relu_p, x, negative_slope=float(negative_slope))


def softplus(x):
    """log(1 + exp(x)), stable for large |x|; its derivative is sigmoid(x)."""
    return apply(softplus_p, x)


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along axis, shifted by the maximum so that it never overflows."""
    return apply(softmax_p, x, axis=_one_axis(x, axis))


def log_softmax(x, axis=-1):
    """x - logsumexp(x) along axis, stable for inputs of any size."""
    return apply(log_softmax_p, x, axis=_one_axis(x, axis))


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) along axis (all axes by default), shifted by the maximum."""
    return apply(logsumexp_p, x, axis=normalize_axis(x, axis), keepdims=bool(keepdims))


def _one_axis(x, axis):
    (axis,) = normalize_axis(x, axis)
    return axis
