"""The squared error as one node: the lecture's L2 loss and PyTorch's MSE.

`squared_error_p(y_hat, y, scale, reduction)`, on ŷ and y of one shape, is scale·(ŷ - y)² per
element, then summed, averaged ("mean") or left as it is ("none"): l2 is scale ½, mse scale 1.
It is the exact composition
`reduced(scale * (ŷ - y) ** 2)` in value and in gradient (tests/test_primitives.py checks it
against central differences, tests/test_losses.py against the composition), recorded as one
node instead of four: per-sample training of the lecture's perceptron records two nodes per
step instead of five, and a node costs the engine microseconds.

Its gradient with respect to ŷ is g·2·scale·(ŷ - y), divided by the count for "mean"; with
respect to y the negative of that. The rules are written with the operators, so they run on
arrays in the first-order sweep, record a graph on Tensors (second order), and read as the
expression they are in a compiled program.
"""

from __future__ import annotations

import numpy as np

from wengert.autodiff.ops.reductions import sum_p
from wengert.autodiff.primitive import Primitive
from wengert.autodiff.sympy_forms import reduce

__all__ = ["squared_error_p"]


def _squared_error(y_hat, y, scale=0.5, reduction="mean"):
    if reduction == "none":
        r = np.subtract(y_hat, y)
        r *= r  # a fresh array: squared in place
        if scale != 1:
            r *= scale
        return r
    if y_hat.size == 1:  # one sample: the same operations on NumPy scalars, a third the time
        d = y_hat.flat[0] - y.flat[0]
        total = d * d
    else:
        r = np.subtract(y_hat, y)
        r *= r
        total = np.add.reduce(r, axis=None)
    if scale != 1:
        total = total * scale  # exact for ½: the same value as summing ½·r² term by term
    return total / y_hat.size if reduction == "mean" else total


def _factor(y_hat, scale: float, reduction: str) -> float:
    """d(loss)/d(ŷ) = factor·(ŷ - y)."""
    return 2 * scale / y_hat.size if reduction == "mean" else 2 * scale


def _rule_y_hat(g, ans, y_hat, y, scale=0.5, reduction="mean"):
    factor = _factor(y_hat, scale, reduction)
    if type(g) is np.ndarray and type(y_hat) is np.ndarray and type(y) is np.ndarray:
        # The first-order sweep: a 0-d g as a NumPy scalar, whose product costs a tenth.
        return (y_hat - y) * (g[()] * factor if g.ndim == 0 else g * factor)
    return g * factor * (y_hat - y)


def _rule_y(g, ans, y_hat, y, scale=0.5, reduction="mean"):
    return -_rule_y_hat(g, ans, y_hat, y, scale, reduction)


def _tangent(t, ans, y_hat, y, scale, reduction, sign):
    product = (y_hat - y) * t * (sign * _factor(y_hat, scale, reduction))
    return product if reduction == "none" else sum_p(product, axis=None, keepdims=False)


def _sympy(sp, y_hat, y, scale=0.5, reduction="mean"):
    per_element = sp.Float(scale) * (y_hat - y) ** 2
    if reduction == "none":
        return per_element
    total = reduce(sp.Add, per_element, None, False)
    return total / sp.Integer(y_hat.size) if reduction == "mean" else total


squared_error_p = Primitive(
    "squared_error",
    _squared_error,
    (_rule_y_hat, _rule_y),
    jvps=(
        lambda t, ans, y_hat, y, scale=0.5, reduction="mean": _tangent(
            t, ans, y_hat, y, scale, reduction, 1
        ),
        lambda t, ans, y_hat, y, scale=0.5, reduction="mean": _tangent(
            t, ans, y_hat, y, scale, reduction, -1
        ),
    ),
    saves=(0, 1),
    sympy=_sympy,
)
