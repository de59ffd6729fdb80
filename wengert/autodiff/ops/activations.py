"""Activation functions and the softmax family, written to stay finite for inputs of +-1000.

sigmoid and tanh keep their output for the rule (s' = s(1 - s), tanh' = 1 - tanh^2), so the
backward pass evaluates no exponential.

Underflow is the expected answer here, not an error: sigmoid(-1000) and softmax([0, -1000])[1]
are 0 because exp(-1000) is. A user who turns on `np.errstate(all="raise")` to hunt NaNs must
not be stopped by it, so the forwards and rules of this family (and of the fused cross-entropy)
catch the FloatingPointError and compute again with underflow ignored (`underflow_ignored`,
and `quiet_underflow=True` for the elementwise ones); the user's setting for overflow, invalid
and division by zero stays in force. The try costs nothing on the usual path, where NumPy
ignores underflow anyway.

The softmax family has SymPy forms too (`symbolic_grad`), written along its axis with the same
maximum shift left out: SymPy's exp does not overflow.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from wengert._checks import refusal, what_came
from wengert.autodiff.elementwise import elementwise, underflow_ignored
from wengert.autodiff.ops.arithmetic import _data, exp_p, expm1_p, where_p
from wengert.autodiff.ops.reductions import flag, keepdims_shape, normalize_axis, reshape_p, sum_p
from wengert.autodiff.primitive import Primitive, apply
from wengert.autodiff.sympy_forms import each, number, objects, reduce
from wengert.autodiff.tensor import Tensor

__all__ = [
    "leaky_relu",
    "leaky_relu_p",
    "log_softmax",
    "log_softmax_p",
    "logsumexp",
    "logsumexp_p",
    "relu",
    "relu_p",
    "sigmoid",
    "sigmoid_p",
    "softmax",
    "softmax_p",
    "softplus",
    "softplus_p",
    "tanh",
    "tanh_p",
]


def _sigmoid(x):
    # exp of -|x| never overflows; the two branches are the same function rearranged.
    try:
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    except FloatingPointError:
        return underflow_ignored(_sigmoid, x)


def _leaky_relu(x, negative_slope=0.01):
    return np.where(x > 0, x, x * negative_slope)


def _leaky_relu_slope(ans, x, negative_slope=0.01):
    return np.where(_data(x) > 0, 1, negative_slope).astype(ans.dtype, copy=False)


def _softplus(x):
    try:
        return np.logaddexp(0, x)
    except FloatingPointError:
        return underflow_ignored(_softplus, x)


def _shifted(x, axis):
    """x minus its maximum along axis (0 where the maximum is infinite), keepdims."""
    m = np.max(x, axis=axis, keepdims=True)
    return x - np.where(np.isfinite(m), m, 0)


def _softmax(x, axis=-1):
    try:
        e = np.exp(_shifted(x, axis))
        return e / np.sum(e, axis=axis, keepdims=True)
    except FloatingPointError:
        return underflow_ignored(_softmax, x, axis)


def _softmax_rule(g, ans, x, axis=-1):
    # Its Jacobian diag(s) - s s^T is symmetric: the tangent rule is this one with t for g.
    # sum_p's own rule reads axis as a tuple (as sum() stores it): pass (axis,), not axis.
    try:
        return ans * (g - sum_p(g * ans, axis=(axis,), keepdims=True))
    except FloatingPointError:
        return underflow_ignored(_softmax_rule, g, ans, x, axis)


def _log_softmax(x, axis=-1):
    try:
        z = _shifted(x, axis)
        return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))
    except FloatingPointError:
        return underflow_ignored(_log_softmax, x, axis)


def _log_softmax_rule(g, ans, x, axis=-1):
    try:
        return g - exp_p(ans) * sum_p(g, axis=(axis,), keepdims=True)
    except FloatingPointError:
        return underflow_ignored(_log_softmax_rule, g, ans, x, axis)


def _log_softmax_tangent(t, ans, x, axis=-1):
    # Its Jacobian I - 1 s^T is not symmetric: the tangent is t - (s . t), the reverse rule's
    # transpose.
    try:
        return t - sum_p(exp_p(ans) * t, axis=(axis,), keepdims=True)
    except FloatingPointError:
        return underflow_ignored(_log_softmax_tangent, t, ans, x, axis)


def _logsumexp(x, axis=None, keepdims=False):
    try:
        return _logsumexp_shifted(x, axis, keepdims)
    except FloatingPointError:
        return underflow_ignored(_logsumexp_shifted, x, axis, keepdims)


def _logsumexp_shifted(x, axis, keepdims):
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
    try:
        if not keepdims:
            shape = keepdims_shape(x.shape, axis)
            return reshape_p(g, shape=shape) * exp_p(x - reshape_p(ans, shape=shape))
        return g * exp_p(x - ans)
    except FloatingPointError:
        return underflow_ignored(_logsumexp_rule, g, ans, x, axis, keepdims)


def _logsumexp_tangent(t, ans, x, axis=None, keepdims=False):
    # The softmax-weighted sum of the tangents: exp(x - logsumexp(x)) is softmax(x).
    try:
        lse = ans if keepdims else reshape_p(ans, shape=keepdims_shape(x.shape, axis))
        return sum_p(t * exp_p(x - lse), axis=axis, keepdims=keepdims)
    except FloatingPointError:
        return underflow_ignored(_logsumexp_tangent, t, ans, x, axis, keepdims)


# Elementwise: one derivative each, for both directions. sigmoid and tanh read their result:
# s' = s (1 - s) and tanh' = 1 - tanh^2 (tanh(1e-200)^2 underflows, harmlessly).
sigmoid_p = elementwise(
    "sigmoid",
    _sigmoid,
    (lambda ans, x: ans * (1 - ans),),
    quiet_underflow=True,
    saves=("ans",),
    sympy=each(lambda sp, v: 1 / (1 + sp.exp(-v))),
    expression=True,
)
tanh_p = elementwise(
    "tanh",
    np.tanh,
    (lambda ans, x: 1 - ans * ans,),
    quiet_underflow=True,
    saves=("ans",),
    sympy=each(lambda sp, v: sp.tanh(v)),
    expression=True,
)


# relu'(0) is taken as 0 (PyTorch and JAX agree); any value in [0, 1] is a valid subgradient.
# The rule selects: g where x > 0 and 0 elsewhere, also where g is infinite or NaN (PyTorch and
# JAX select too; g * mask would give NaN there). On ndarrays it multiplies by the mask when g
# is finite, which np.isfinite(g).all() tells: the check and the product cost about a third of
# np.where on a layer's random mask (float32, (16, 256) and (128, 256)); it selects otherwise.
# On Tensors (create_graph=True, jvp) it selects with where_p.
def _relu_rule(g, ans, x):
    mask = _data(x) > 0  # x > 0 of a Tensor is a constant as well
    if type(g) is np.ndarray:
        if np.isfinite(g).all():
            return g * mask
        return np.where(mask, g, np.zeros((), g.dtype))
    return where_p(mask, g, 0)


relu_p = Primitive(
    "relu",
    lambda x: np.maximum(x, 0),
    (_relu_rule,),
    (_relu_rule,),
    saves=(0,),
    sympy=each(lambda sp, v: sp.Max(0, v)),
    expression=True,
)
leaky_relu_p = elementwise(
    "leaky_relu",
    _leaky_relu,
    (_leaky_relu_slope,),
    params=True,
    saves=(0,),
    sympy=each(
        lambda sp, v, negative_slope=0.01: sp.Piecewise(
            (v, v > 0), (number(sp, negative_slope) * v, True)
        )
    ),
    expression=True,
)


def _softplus_slope(ans, x):
    # softplus' = sigmoid(x) = 1 - exp(-softplus(x)), read from the result: two array operations
    # where sigmoid's forward takes eight; expm1 keeps it exact where it is tiny, and is a
    # primitive, so that the same formula differentiates again on Tensors.
    return -expm1_p(-ans)


softplus_p = elementwise(
    "softplus",
    _softplus,
    (_softplus_slope,),
    quiet_underflow=True,
    saves=("ans",),
    sympy=each(lambda sp, v: sp.log(1 + sp.exp(v))),
    expression=True,
)


def _sympy_exp(sp, x):
    return objects(sp, np.frompyfunc(sp.exp, 1, 1)(x))


def _sympy_softmax(sp, x, axis=-1):
    e = _sympy_exp(sp, x)
    return e / reduce(sp.Add, e, (axis,), True)


def _sympy_logsumexp(sp, x, axis=None, keepdims=False):
    return np.frompyfunc(sp.log, 1, 1)(reduce(sp.Add, _sympy_exp(sp, x), axis, keepdims))


# Softmax's Jacobian diag(s) - s s^T is symmetric: its tangent rule is its reverse rule.
softmax_p = Primitive(
    "softmax",
    _softmax,
    (_softmax_rule,),
    (_softmax_rule,),
    saves=("ans",),
    sympy=_sympy_softmax,
)
log_softmax_p = Primitive(
    "log_softmax",
    _log_softmax,
    (_log_softmax_rule,),
    (_log_softmax_tangent,),
    saves=("ans",),
    sympy=lambda sp, x, axis=-1: x - _sympy_logsumexp(sp, x, (axis,), True),
)
logsumexp_p = Primitive(
    "logsumexp",
    _logsumexp,
    (_logsumexp_rule,),
    (_logsumexp_tangent,),
    saves=(0, "ans"),
    sympy=_sympy_logsumexp,
)


def sigmoid(x: Tensor | ArrayLike) -> Tensor:
    """1 / (1 + exp(-x)), computed without overflow."""
    return apply(sigmoid_p, x)


def tanh(x: Tensor | ArrayLike) -> Tensor:
    """Hyperbolic tangent."""
    return apply(tanh_p, x)


def relu(x: Tensor | ArrayLike) -> Tensor:
    """max(x, 0); its gradient at 0 is 0."""
    return apply(relu_p, x)


def leaky_relu(x: Tensor | ArrayLike, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, else negative_slope * x; the gradient at 0 is negative_slope."""
    return apply(leaky_relu_p, x, negative_slope=float(negative_slope))


def softplus(x: Tensor | ArrayLike) -> Tensor:
    """log(1 + exp(x)), stable for large |x|; its derivative is sigmoid(x)."""
    return apply(softplus_p, x)


def softmax(x: Tensor | ArrayLike, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along axis, shifted by the maximum so that it never overflows."""
    return apply(softmax_p, x, axis=_one_axis(x, axis, "softmax"))


def log_softmax(x: Tensor | ArrayLike, axis: int = -1) -> Tensor:
    """x - logsumexp(x) along axis, stable for inputs of any size."""
    return apply(log_softmax_p, x, axis=_one_axis(x, axis, "log_softmax"))


def logsumexp(
    x: Tensor | ArrayLike, axis: int | tuple[int, ...] | None = None, keepdims: bool = False
) -> Tensor:
    """log(sum(exp(x))) along axis (all axes by default), shifted by the maximum."""
    return apply(
        logsumexp_p,
        x,
        axis=normalize_axis(x, axis, "logsumexp"),
        keepdims=flag(keepdims, "logsumexp"),
    )


def _one_axis(x, axis, owner: str):
    axes = normalize_axis(x, axis, owner)
    try:
        (one,) = axes
    except (TypeError, ValueError):  # None, or several axes
        raise refusal(owner, "axis", "one int", what_came(axis), TypeError) from None
    return one
