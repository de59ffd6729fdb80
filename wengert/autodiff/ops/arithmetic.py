"""Elementwise arithmetic: each primitive's NumPy forward, with its derivatives beneath.

An elementwise Jacobian is diagonal, so one derivative per argument, d_i(ans, *args), gives
both directions: the reverse rule g * d_i and the tangent rule t * d_i (`elementwise`). Where
a hand rule is cheaper, the cotangent itself (add, sub, neg) or a quotient (div, log: g / b
costs one array operation, g * (1 / b) two), one tuple of rules serves both directions.

Rules return a cotangent of the result's (broadcast) shape; the sweep sums it back to the
argument's shape in one place (`backward.unbroadcast`), and forward mode broadcasts a tangent
term to the result's shape (`forward._fit`).
"""

from __future__ import annotations

import operator

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from wengert._checks import refusal
from wengert.autodiff.elementwise import elementwise
from wengert.autodiff.primitive import Primitive, apply
from wengert.autodiff.sympy_forms import each, objects
from wengert.autodiff.tensor import Tensor

__all__ = [
    "abs",
    "abs_p",
    "add",
    "add_p",
    "astype",
    "astype_p",
    "clip",
    "clip_p",
    "div",
    "div_p",
    "exp",
    "exp_p",
    "expm1",
    "expm1_p",
    "log",
    "log_p",
    "maximum",
    "maximum_p",
    "minimum",
    "minimum_p",
    "mul",
    "mul_p",
    "neg",
    "neg_p",
    "pow_p",
    "power",
    "sign",
    "sign_p",
    "sqrt",
    "sqrt_p",
    "sub",
    "sub_p",
    "where",
    "where_p",
]


def _data(x):
    """The ndarray behind x: masks and counts in rules are constants, not graph nodes."""
    return x._data if isinstance(x, Tensor) else x


def _same(g, ans, a, b=None):
    return g


def _negated(g, ans, a, b=None):
    return -g


# Linear in each argument with slope 1 or -1: the rule hands the cotangent (or tangent) on.
_ADD_RULES = (_same, _same)
_SUB_RULES = (_same, _negated)
add_p = Primitive(
    "add",
    np.add,
    _ADD_RULES,
    _ADD_RULES,
    saves=(),
    template="{0} + {1}",
    precedence=50,
    sympy=lambda sp, a, b: a + b,
)
sub_p = Primitive(
    "sub",
    np.subtract,
    _SUB_RULES,
    _SUB_RULES,
    saves=(),
    template="{0} - {1}",
    precedence=50,
    sympy=lambda sp, a, b: a - b,
)
neg_p = Primitive(
    "neg",
    np.negative,
    (_negated,),
    (_negated,),
    saves=(),
    template="-{0}",
    precedence=70,
    sympy=lambda sp, a: -a,
)
mul_p = elementwise(
    "mul",
    np.multiply,
    (lambda ans, a, b: b, lambda ans, a, b: a),
    saves=(0, 1),
    reads=((1,), (0,)),  # w * x with x a constant saves x alone
    template="{0} * {1}",
    precedence=60,
    sympy=lambda sp, a, b: a * b,
)
_DIV_RULES = (lambda g, ans, a, b: g / b, lambda g, ans, a, b: -g * ans / b)  # 1/b, -a/b^2
div_p = Primitive(
    "div",
    np.divide,
    _DIV_RULES,
    _DIV_RULES,
    saves=(1, "ans"),
    template="{0} / {1}",
    precedence=60,
    sympy=lambda sp, a, b: a / b,
)


def _pow_base(ans, a, b):
    if type(b) in (int, float) and b == 2:
        return 2 * a  # the square of every L2 loss: a ** 1 would cost a power and read worse
    return b * a ** (b - 1)


def _pow_exponent(ans, a, b):
    # d(a**b)/db = a**b * log(a). At a = 0 the limit is 0 (for b > 0), as in PyTorch; a negative
    # base gives NaN, since a**b is then not real for non-integer b.
    zero = _data(a) == 0
    return where_p(zero, 0, ans * log_p(where_p(zero, 1, a)))


pow_p = elementwise(
    "pow",
    np.power,
    (_pow_base, _pow_exponent),
    saves=(0, 1, "ans"),
    template="{0} ** {1}",
    precedence=80,
    sympy=lambda sp, a, b: a**b,
)
exp_p = elementwise(
    "exp",
    np.exp,
    (lambda ans, x: ans,),
    saves=("ans",),
    sympy=each(lambda sp, v: sp.exp(v)),
    expression=True,
)
# exp(x) - 1, exact where it is tiny (where exp(x) - 1 cancels); its derivative exp(x) = ans + 1.
expm1_p = elementwise(
    "expm1",
    np.expm1,
    (lambda ans, x: ans + 1,),
    saves=("ans",),
    sympy=each(lambda sp, v: sp.exp(v) - 1),
)
_LOG_RULES = (lambda g, ans, x: g / x,)  # d log(x) = 1/x, as a quotient
log_p = Primitive(
    "log",
    np.log,
    _LOG_RULES,
    _LOG_RULES,
    saves=(0,),
    sympy=each(lambda sp, v: sp.log(v)),
    expression=True,
)
sqrt_p = elementwise(
    "sqrt",
    np.sqrt,
    (lambda ans, x: 0.5 / ans,),
    saves=("ans",),
    sympy=each(lambda sp, v: sp.sqrt(v)),
    expression=True,
)
# |x| has no derivative at 0; sign(0) = 0 picks the subgradient 0 there, as PyTorch does.
abs_p = elementwise(
    "abs",
    np.abs,
    (lambda ans, x: np.sign(_data(x)),),
    saves=(0,),
    sympy=each(lambda sp, v: sp.Abs(v)),
    expression=True,
)
# A step has slope 0 wherever it has one; at 0 none, and 0 is taken.
sign_p = elementwise(
    "sign",
    np.sign,
    (lambda ans, x: 0,),
    saves=(),
    sympy=each(lambda sp, v: sp.sign(v)),
    expression=True,
)


def _share(first, second, dtype):
    """Weight of the first argument of maximum/minimum: 1 where it wins, 1/2 at a tie."""
    return (np.where(first, 1.0, 0.0) + np.where(second, 0.5, 0.0)).astype(dtype, copy=False)


# At a tie each argument gets half: the tangent is then the mean of the two arguments' tangents,
# which is what halving the cotangent is in reverse. The weights take the result's dtype.
def _wins(beats):
    def d(ans, a, b):
        a, b = _data(a), _data(b)
        return _share(beats(a, b), a == b, ans.dtype)

    return d


def _loses(beats):
    return _wins(lambda a, b: beats(b, a))


def _pairwise(name, forward, beats, scalar_form):
    """maximum or minimum: `beats(a, b)` says where a is the answer."""
    derivatives = (_wins(beats), _loses(beats))
    sympy = each(scalar_form)
    return elementwise(name, forward, derivatives, saves=(0, 1), sympy=sympy, expression=True)


maximum_p = _pairwise("maximum", np.maximum, operator.gt, lambda sp, a, b: sp.Max(a, b))
minimum_p = _pairwise("minimum", np.minimum, operator.lt, lambda sp, a, b: sp.Min(a, b))


def _clip(x, lo=None, hi=None):
    return np.clip(x, lo, hi)


def _inside(ans, x, lo=None, hi=None):
    # The gradient passes where lo <= x <= hi, bounds included, as in PyTorch's clamp. The mask
    # multiplies, as relu's does (activations.py): a non-finite g outside gives NaN, not 0.
    x = _data(x)
    inside = np.ones(x.shape, dtype=bool)
    if lo is not None:
        inside &= x >= lo
    if hi is not None:
        inside &= x <= hi
    return inside


def _clip_sympy(sp, x, lo=None, hi=None):
    def one(v, low, high):
        pieces = [(low, v < low)] if low is not None else []
        pieces += [(high, v > high)] if high is not None else []
        return sp.Piecewise(*pieces, (v, True))

    bounds = [np.asarray(None, dtype=object) if b is None else objects(sp, b) for b in (lo, hi)]
    return np.frompyfunc(one, 3, 1)(x, *bounds)


clip_p = elementwise(
    "clip", _clip, (_inside,), params=True, saves=(0, "lo", "hi"), sympy=_clip_sympy
)
# cond is a constant mask: it has no rule. Selecting keeps a non-finite g out of the branch
# not taken (g * mask would turn it into NaN).
_WHERE_RULES = (
    None,
    lambda g, ans, cond, a, b: where_p(cond, g, 0),
    lambda g, ans, cond, a, b: where_p(cond, 0, g),
)
where_p = Primitive(
    "where",
    np.where,
    _WHERE_RULES,
    _WHERE_RULES,
    saves=(0,),
    sympy=lambda sp, cond, a, b: np.where(cond, a, b),
)


def _astype(x, dtype):
    return x.astype(dtype, copy=False)


# The cotangent goes back to the argument's dtype; the tangent comes forward to the result's.
astype_p = Primitive(
    "astype",
    _astype,
    (lambda g, ans, x, dtype: astype_p(g, dtype=x.dtype),),
    (lambda t, ans, x, dtype: astype_p(t, dtype=dtype),),
    saves=(),
    sympy=lambda sp, x, dtype: x,
)


# ------------------------------------------------------------------------- public functions
def add(a: Tensor | ArrayLike, b: Tensor | ArrayLike) -> Tensor:
    """a + b, elementwise, with NumPy broadcasting."""
    return apply(add_p, a, b)


def sub(a: Tensor | ArrayLike, b: Tensor | ArrayLike) -> Tensor:
    """a - b, elementwise."""
    return apply(sub_p, a, b)


def mul(a: Tensor | ArrayLike, b: Tensor | ArrayLike) -> Tensor:
    """a * b, elementwise."""
    return apply(mul_p, a, b)


def div(a: Tensor | ArrayLike, b: Tensor | ArrayLike) -> Tensor:
    """a / b, elementwise."""
    return apply(div_p, a, b)


def neg(a: Tensor | ArrayLike) -> Tensor:
    """-a."""
    return apply(neg_p, a)


def power(a: Tensor | ArrayLike, b: Tensor | ArrayLike) -> Tensor:
    """a ** b, elementwise; differentiable in both a and b (d/db needs a > 0)."""
    return apply(pow_p, a, b)


def exp(x: Tensor | ArrayLike) -> Tensor:
    """e ** x."""
    return apply(exp_p, x)


def expm1(x: Tensor | ArrayLike) -> Tensor:
    """e ** x - 1, accurate also where it is tiny (x near 0)."""
    return apply(expm1_p, x)


def log(x: Tensor | ArrayLike) -> Tensor:
    """Natural logarithm."""
    return apply(log_p, x)


def sqrt(x: Tensor | ArrayLike) -> Tensor:
    """Square root."""
    return apply(sqrt_p, x)


def abs(x: Tensor | ArrayLike) -> Tensor:
    """|x|; its gradient at 0 is 0."""
    return apply(abs_p, x)


def sign(x: Tensor | ArrayLike) -> Tensor:
    """-1, 0 or 1; its gradient is 0 everywhere (a step has no useful slope)."""
    return apply(sign_p, x)


def maximum(a: Tensor | ArrayLike, b: Tensor | ArrayLike) -> Tensor:
    """Elementwise maximum; at a tie each argument gets half the gradient."""
    return apply(maximum_p, a, b)


def minimum(a: Tensor | ArrayLike, b: Tensor | ArrayLike) -> Tensor:
    """Elementwise minimum; at a tie each argument gets half the gradient."""
    return apply(minimum_p, a, b)


def clip(
    x: Tensor | ArrayLike,
    lo: Tensor | ArrayLike | None = None,
    hi: Tensor | ArrayLike | None = None,
) -> Tensor:
    """x limited to [lo, hi] (either may be None); the gradient passes where lo <= x <= hi."""
    if lo is None and hi is None:
        raise refusal("clip", "lo or hi", "given (or both)", "neither")
    return apply(clip_p, x, lo=_data(lo), hi=_data(hi))


def where(cond: Tensor | ArrayLike, a: Tensor | ArrayLike, b: Tensor | ArrayLike) -> Tensor:
    """a where cond is true, else b; cond is a constant (it carries no gradient)."""
    return apply(where_p, np.asarray(_data(cond), dtype=bool), a, b)


def astype(x: Tensor | ArrayLike, dtype: DTypeLike) -> Tensor:
    """x converted to `dtype`; the gradient is converted back to x's dtype."""
    return apply(astype_p, x, dtype=np.dtype(dtype))
