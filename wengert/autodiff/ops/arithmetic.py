"""Elementwise arithmetic: each primitive's NumPy forward, with its rules per argument beneath.

Reverse rules (vjps) take (g, ans, *args): the cotangent of the result, the result, and the
arguments. They return a cotangent of the result's (broadcast) shape; the sweep sums it back to
the argument's shape in one place (`backward.unbroadcast`). Tangent rules (jvps) take
(t, ans, *args), t the tangent of one argument, and return its term of the result's tangent,
which forward mode broadcasts to the result's shape (`forward._fit`). An elementwise Jacobian is
diagonal, hence its own transpose: the tangent rule is the reverse rule read with t for g, and
where the rule is a named function it serves as both.
"""

from __future__ import annotations

import numpy as np

from wengert._checks import refusal
from wengert.autodiff.primitive import Primitive, apply
from wengert.autodiff.tensor import Tensor


def _data(x):
    """The ndarray behind x: masks and counts in rules are constants, not graph nodes."""
    return x._data if isinstance(x, Tensor) else x


add_p = Primitive(
    "add",
    np.add,
    (lambda g, ans, a, b: g, lambda g, ans, a, b: g),
    jvps=(lambda t, ans, a, b: t, lambda t, ans, a, b: t),
    saves=(),
    template="{0} + {1}",
    precedence=50,
)
sub_p = Primitive(
    "sub",
    np.subtract,
    (lambda g, ans, a, b: g, lambda g, ans, a, b: -g),
    jvps=(lambda t, ans, a, b: t, lambda t, ans, a, b: -t),
    saves=(),
    template="{0} - {1}",
    precedence=50,
)
mul_p = Primitive(
    "mul",
    np.multiply,
    (lambda g, ans, a, b: g * b, lambda g, ans, a, b: g * a),
    jvps=(lambda t, ans, a, b: t * b, lambda t, ans, a, b: a * t),
    saves=(0, 1),
    template="{0} * {1}",
    precedence=60,
)
div_p = Primitive(
    "div",
    np.divide,
    (lambda g, ans, a, b: g / b, lambda g, ans, a, b: -g * ans / b),
    jvps=(lambda t, ans, a, b: t / b, lambda t, ans, a, b: -t * ans / b),
    saves=(1, "ans"),
    template="{0} / {1}",
    precedence=60,
)
neg_p = Primitive(
    "neg",
    np.negative,
    (lambda g, ans, a: -g,),
    jvps=(lambda t, ans, a: -t,),
    saves=(),
    template="-{0}",
    precedence=70,
)


def _pow_base(g, ans, a, b):
    if type(b) in (int, float) and b == 2:
        return g * 2 * a  # the square of every L2 loss: a ** 1 would cost a power and read worse
    return g * b * a ** (b - 1)


def _pow_exponent(g, ans, a, b):
    # d(a**b)/db = a**b * log(a). At a = 0 the limit is 0 (for b > 0), as in PyTorch; a negative
    # base gives NaN, since a**b is then not real for non-integer b.
    zero = _data(a) == 0
    return g * where_p(zero, 0, ans * log_p(where_p(zero, 1, a)))


pow_p = Primitive(
    "pow",
    np.power,
    (_pow_base, _pow_exponent),
    jvps=(_pow_base, _pow_exponent),
    saves=(0, 1, "ans"),
    template="{0} ** {1}",
    precedence=80,
)
exp_p = Primitive(
    "exp", np.exp, (lambda g, ans, x: g * ans,), (lambda t, ans, x: t * ans,), saves=("ans",)
)
log_p = Primitive("log", np.log, (lambda g, ans, x: g / x,), (lambda t, ans, x: t / x,), saves=(0,))
sqrt_p = Primitive(
    "sqrt",
    np.sqrt,
    (lambda g, ans, x: g / (2 * ans),),
    (lambda t, ans, x: t / (2 * ans),),
    saves=("ans",),
)
# |x| has no derivative at 0; sign(0) = 0 picks the subgradient 0 there, as PyTorch does.
abs_p = Primitive(
    "abs",
    np.abs,
    (lambda g, ans, x: g * sign_p(_data(x)),),
    (lambda t, ans, x: t * sign_p(_data(x)),),
    saves=(0,),
)
sign_p = Primitive(
    "sign", np.sign, (lambda g, ans, x: g * 0,), (lambda t, ans, x: t * 0,), saves=()
)


def _share(first, second):
    """Weight of the first argument of maximum/minimum: 1 where it wins, 1/2 at a tie."""
    return np.where(first, 1.0, 0.0) + np.where(second, 0.5, 0.0)


# One pair of rules per primitive, for both directions (elementwise); at a tie the tangent is the
# mean of the two arguments' tangents, which is what halving the cotangent is in reverse.
_MAXIMUM_RULES = (
    lambda g, ans, a, b: g * _share(_data(a) > _data(b), _data(a) == _data(b)).astype(g.dtype),
    lambda g, ans, a, b: g * _share(_data(b) > _data(a), _data(a) == _data(b)).astype(g.dtype),
)
_MINIMUM_RULES = (
    lambda g, ans, a, b: g * _share(_data(a) < _data(b), _data(a) == _data(b)).astype(g.dtype),
    lambda g, ans, a, b: g * _share(_data(b) < _data(a), _data(a) == _data(b)).astype(g.dtype),
)
maximum_p = Primitive("maximum", np.maximum, _MAXIMUM_RULES, jvps=_MAXIMUM_RULES, saves=(0, 1))
minimum_p = Primitive("minimum", np.minimum, _MINIMUM_RULES, jvps=_MINIMUM_RULES, saves=(0, 1))


def _clip(x, lo=None, hi=None):
    return np.clip(x, lo, hi)


def _clip_rule(g, ans, x, lo=None, hi=None):
    # The gradient passes where lo <= x <= hi, bounds included, as in PyTorch's clamp.
    x = _data(x)
    inside = np.ones(x.shape, dtype=bool)
    if lo is not None:
        inside &= x >= lo
    if hi is not None:
        inside &= x <= hi
    return where_p(inside, g, 0)


clip_p = Primitive("clip", _clip, (_clip_rule,), jvps=(_clip_rule,), saves=(0, "lo", "hi"))
where_p = Primitive(
    "where",
    np.where,
    (
        None,
        lambda g, ans, cond, a, b: where_p(cond, g, 0),
        lambda g, ans, cond, a, b: where_p(cond, 0, g),
    ),
    jvps=(
        None,
        lambda t, ans, cond, a, b: where_p(cond, t, 0),
        lambda t, ans, cond, a, b: where_p(cond, 0, t),
    ),
    saves=(0,),
)


def _astype(x, dtype):
    return x.astype(dtype, copy=False)


astype_p = Primitive(
    "astype",
    _astype,
    (lambda g, ans, x, dtype: astype_p(g, dtype=x.dtype),),
    (lambda t, ans, x, dtype: astype_p(t, dtype=dtype),),
    saves=(),
)


# ------------------------------------------------------------------------- public functions
def add(a, b):
    """a + b, elementwise, with NumPy broadcasting."""
    return apply(add_p, a, b)


def sub(a, b):
    """a - b, elementwise."""
    return apply(sub_p, a, b)


def mul(a, b):
    """a * b, elementwise."""
    return apply(mul_p, a, b)


def div(a, b):
    """a / b, elementwise."""
    return apply(div_p, a, b)


def neg(a):
    """-a."""
    return apply(neg_p, a)


def power(a, b):
    """a ** b, elementwise; differentiable in both a and b (d/db needs a > 0)."""
    return apply(pow_p, a, b)


def exp(x):
    """e ** x."""
    return apply(exp_p, x)


def log(x):
    """Natural logarithm."""
    return apply(log_p, x)


def sqrt(x):
    """Square root."""
    return apply(sqrt_p, x)


def abs(x):
    """|x|; its gradient at 0 is 0."""
    return apply(abs_p, x)


def sign(x):
    """-1, 0 or 1; its gradient is 0 everywhere (a step has no useful slope)."""
    return apply(sign_p, x)


def maximum(a, b):
    """Elementwise maximum; at a tie each argument gets half the gradient."""
    return apply(maximum_p, a, b)


def minimum(a, b):
    """Elementwise minimum; at a tie each argument gets half the gradient."""
    return apply(minimum_p, a, b)


def clip(x, lo=None, hi=None):
    """x limited to [lo, hi] (either may be None); the gradient passes where lo <= x <= hi."""
    if lo is None and hi is None:
        raise refusal("clip", "lo or hi", "given (or both)", "neither")
    return apply(clip_p, x, lo=_data(lo), hi=_data(hi))


def where(cond, a, b):
    """a where cond is true, else b; cond is a constant (it carries no gradient)."""
    return apply(where_p, np.asarray(_data(cond), dtype=bool), a, b)


def astype(x, dtype):
    """x converted to `dtype`; the gradient is converted back to x's dtype."""
    return apply(astype_p, x, dtype=np.dtype(dtype))
