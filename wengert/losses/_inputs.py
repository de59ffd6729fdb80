"""The checks of a loss's arguments, shared by every loss in wengert.losses.

Each takes `owner`, the loss's name, which its messages name: "{owner}: {argument} must be
{expected}; got {what came}."
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

from wengert._checks import Interval, Options, check, refusal
from wengert.autodiff import ops
from wengert.autodiff.mode import MODE
from wengert.autodiff.primitive import apply
from wengert.autodiff.tensor import Tensor, as_array

REDUCTIONS = ("mean", "sum", "none")
Shape = tuple[int, ...]
_FLOAT64 = np.dtype(np.float64)


def check_reduction(owner: str, reduction: object) -> None:
    """Refuse a reduction other than "mean", "sum" or "none"."""
    if reduction.__class__ is str and reduction in REDUCTIONS:
        return  # the usual case, per call of a loss: no constraint object is built
    check(owner, "reduction", reduction, Options(REDUCTIONS))


def check_scale(owner: str, name: str, value: object, *, allow_zero: bool) -> float:
    """A margin or delta: a finite number >= 0 (or > 0)."""
    scale = Interval(Real, 0, None, closed="left" if allow_zero else "neither")
    return float(check(owner, name, value, scale))


def as_prediction(owner: str, y_hat: object, name: str = "y_hat", real: bool = True) -> Tensor:
    """y_hat as a Tensor (a node of the caller's graph stays that node); float unless real=False."""
    if not isinstance(y_hat, Tensor):
        y_hat = Tensor(as_array(y_hat, name=name, owner=owner))
    if y_hat.dtype.kind not in "biuf":
        raise refusal(owner, name, "real numbers", f"dtype {y_hat.dtype}", TypeError)
    if real and y_hat.dtype.kind != "f":
        y_hat = ops.astype(y_hat, np.float64)
    return y_hat


def _index(bad: np.ndarray) -> tuple[int, ...]:
    """The index of the first True in bad, as plain ints (NumPy 2 would print np.int64(3))."""
    return tuple(int(i) for i in np.argwhere(bad)[0])


def _broadcast_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    """The shape NumPy would broadcast a and b to; None where it would refuse."""
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        return None


def _shape_hint(y_shape: Shape, expected: Shape, pred_shape: Shape, pred: str) -> str:
    """How to fix the classic column-against-vector mistake, when that is what came."""
    if len(expected) == 2 and expected[1] == 1 and y_shape == expected[:1]:
        also = f", or {pred}.reshape(-1)" if expected == pred_shape else ""
        return f" Make them agree: y.reshape(-1, 1){also}."
    if len(y_shape) == 2 and y_shape[1] == 1 and y_shape[:1] == expected:
        return " Make them agree: y.reshape(-1)."
    return ""


def check_targets(
    owner: str,
    y_hat: Tensor,
    y: object,
    *,
    pred: str = "y_hat",
    expected: Shape | None = None,
    what: str | None = None,
) -> np.ndarray:
    """y as a finite, non-empty ndarray of the expected shape (ŷ's unless given); no gradient.

    `what` describes the expected shape in the message (default: "of shape ..., the shape of
    y_hat"). Returns y as an ndarray, unconverted.
    """
    if isinstance(y, Tensor):
        if y.requires_grad:
            raise refusal(
                owner, "y (the target, which carries no gradient)", "data without a gradient",
                "a Tensor with requires_grad=True", fix="Pass y.detach(), or, to differentiate "
                "through both arguments, write the formula out with wengert's operations.",
            )  # fmt: skip
        y = y.data
    y = as_array(y, name="y", owner=owner)
    if y.dtype.kind not in "biuf":
        raise refusal(owner, "y", "real numbers", f"dtype {y.dtype}", TypeError)
    expected = y_hat.shape if expected is None else expected
    if y.shape != expected:
        raise _shape_refusal(owner, y.shape, expected, y_hat.shape, pred, what)
    if y.size == 0:
        raise refusal(owner, "y", "a non-empty array of targets", f"shape {y.shape}")
    # A sum is finite when every term is (a NaN or an infinity spreads): one cheap reduction
    # for the usual case, and the elementwise search only when it is not.
    if y.dtype.kind == "f" and not math.isfinite(np.add.reduce(y, axis=None)):
        bad = ~np.isfinite(y)
        if bad.any():
            first = _index(bad)
            got = f"{int(bad.sum())} NaN or infinite value(s), the first at index {first}"
            raise refusal(owner, "y", "finite", f"{got}: {y[first]}")
    return y


def _shape_refusal(
    owner: str, y_shape: Shape, expected: Shape, pred_shape: Shape, pred: str, what: str | None
) -> ValueError:
    """The error for targets of another shape than expected, with how to fix it."""
    what = what or f"of shape {expected}, the shape of {pred}"
    fix = ""
    broadcast = _broadcast_shape(y_shape, expected)
    if expected == pred_shape and broadcast not in (None, expected):
        fix = (
            f"NumPy would broadcast the two to {broadcast} and compare every prediction "
            f"with every target."
        )
    fix += _shape_hint(y_shape, expected, pred_shape, pred)
    return refusal(owner, "y", what, f"shape {y_shape}", fix=fix)


def check_labels(owner: str, y: np.ndarray, allowed: tuple, fix: str) -> None:
    """Every target in `allowed`, or an error naming the first that is not and how to fix it."""
    # A comparison per allowed label: on a batch, half the time of np.isin (which sorts).
    bad = y != allowed[0]
    for label in allowed[1:]:
        bad &= y != label
    if bad.any():
        first = _index(bad)
        names = " and ".join(f"{a:+d}" if -1 in allowed else str(a) for a in allowed)
        got = f"{y[first]} at index {first} ({int(bad.sum())} such value(s))"
        raise refusal(owner, "y", f"labels {names}", got, fix=fix)


def prepare(
    owner: str, y_hat: object, y: object, reduction: object, pred: str = "y_hat"
) -> tuple[Tensor, np.ndarray]:
    """The common start: a float Tensor ŷ and checked targets y in its dtype.

    The usual call is tested first and passes with a few comparisons: ŷ a float Tensor, y a
    non-empty, finite ndarray of its shape and dtype. Anything else takes the full checks.
    """
    if reduction.__class__ is not str or reduction not in REDUCTIONS:
        check_reduction(owner, reduction)  # refuses
    if y_hat.__class__ is Tensor and y.__class__ is np.ndarray:
        data = y_hat._data
        kind = data.dtype.kind
        if y.dtype is data.dtype and kind == "f" and y.shape == data.shape and _finite(y):
            return y_hat, y
    y_hat = as_prediction(owner, y_hat, pred)
    y = check_targets(owner, y_hat, y, pred=pred)
    return y_hat, y.astype(y_hat.dtype, copy=False)


def _finite(y: np.ndarray) -> bool:
    """Whether float y is non-empty and finite, by one cheap test (False sends y to the checks).

    A sum is finite when every term is (a NaN or an infinity spreads). It is taken in float64,
    where no sum of float32 values overflows; a float64 sum that does sends y to check_targets,
    which searches elementwise.
    """
    size = y.size
    if size == 1:
        return math.isfinite(y.item(0))
    return size > 0 and math.isfinite(np.add.reduce(y, None, _FLOAT64))


def squared(y_hat: Tensor, y: np.ndarray, scale: float, reduction: str) -> Tensor:
    """scale·(ŷ - y)², reduced: one node (ops.squared_error_p) in training, where a node costs
    the engine microseconds; written out, scale * (ŷ - y) ** 2 and the reduction, where a
    Wengert list is read (wg.trace, symbolic_grad) or compiled (wg.compile fuses the chain
    itself), and for an empty ŷ (whose mean refuses)."""
    mode = MODE
    if mode.recorder is None and mode.compiler is None and y_hat._data.size:
        return apply(ops.squared_error_p, y_hat, y, scale=scale, reduction=reduction)
    return reduced(scale * (y_hat - y) ** 2, reduction)


def reduced(per_element: Tensor, reduction: str) -> Tensor:
    """The per-element losses summed, averaged, or as they are ("none").

    axis=None needs no normalizing: the primitives are applied directly, as ops.sum and
    ops.mean would (ops.mean itself where it would refuse an empty array).
    """
    if reduction == "mean":
        if per_element._data.size:
            return apply(ops.mean_p, per_element, axis=None, keepdims=False)
        return ops.mean(per_element)
    if reduction == "sum":
        return apply(ops.sum_p, per_element, axis=None, keepdims=False)
    return per_element


def check_class_labels(owner: str, y: np.ndarray, classes: int) -> np.ndarray:
    """y as integer class indices in [0, classes)."""
    if y.dtype.kind == "f":
        fractional = y != np.round(y)
        if fractional.any():
            first = _index(fractional)
            raise refusal(
                owner, "y", "integer class labels", f"{y[first]} at index {first}",
                fix="For class probabilities pass y of the logits' shape (N, C).",
            )  # fmt: skip
    bad = (y < 0) | (y >= classes)  # on y itself: a huge float would wrap round as an int
    if bad.any():
        first = _index(bad)
        raise refusal(
            owner, "y", f"class labels in [0, {classes}) for {classes} classes",
            f"{y[first]} at index {first}",
        )  # fmt: skip
    return y.astype(np.intp, copy=False)


def check_probabilities(owner: str, p: np.ndarray) -> np.ndarray:
    """p as rows of class probabilities: entries ≥ 0, each row summing to 1."""
    negative = p < 0
    if negative.any():
        first = _index(negative)
        raise refusal(owner, "y (class probabilities)", ">= 0", f"{p[first]} at index {first}")
    sums = np.sum(p, axis=-1, dtype=np.float64)
    eps = np.finfo(p.dtype).eps if p.dtype.kind == "f" else 0.0
    off = np.abs(sums - 1) > max(1e-6, 4 * p.shape[-1] * eps)
    if off.any():
        first = _index(off)
        raise refusal(
            owner, "each row of y (class probabilities)", "a sum of 1",
            f"row {first} summing to {sums[first]:.6g}",
            fix="For class labels pass y of shape (N,).",
        )  # fmt: skip
    return p
