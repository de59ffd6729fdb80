"""Loss functions ℓ(ŷ, y): the lecture's four (L1, L2, zero-one, hinge) and the usual others.

Every loss takes its arguments in the lecture's order, ℓ(ŷ, y):

- `y_hat` (or `logits`): the predictions, scores or logits, a Tensor (gradients flow back to it)
  or an array; a non-float array is read as float64 (zero_one keeps integers: they are labels);
- `y`: the targets, an array or a Tensor that does not require grad. Targets carry no gradient:
  a Tensor y with requires_grad=True is refused rather than silently cut off. y is converted to
  ŷ's dtype, so a float32 model gets a float32 loss;
- `reduction`: "mean" (the default, as in PyTorch and scikit-learn), "sum", or "none" (the
  per-element losses, a Tensor of ŷ's shape; of the sample shape for cross_entropy).

The loss over a batch is L = (1/N) Σ_i ℓ(ŷ_i, y_i) for "mean": its gradient is 1/N of the
per-sample one. Each loss is written with the engine's primitives, so first and second
derivatives flow through it (wg.grad, wg.hessian, backward(create_graph=True)).

Bad input is refused before anything is computed, by the shared checkers below: y of another
shape than ŷ (no silent broadcasting: (N, 1) against (N,) would compare every prediction with
every target), NaN or infinite targets, labels that do not fit the loss, an unknown reduction,
a negative margin or delta. Predictions are not checked for NaN: they come from the model, and
a diverging run is the training loop's business (it stops with a message).
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

from wengert._checks import Interval, Options, check, refusal
from wengert.autodiff import ops
from wengert.autodiff.primitive import apply
from wengert.autodiff.tensor import Tensor, as_array

__all__ = [
    "REDUCTIONS",
    "cross_entropy",
    "hinge",
    "huber",
    "l1",
    "l2",
    "logistic",
    "mse",
    "squared_hinge",
    "zero_one",
]

REDUCTIONS = ("mean", "sum", "none")


# ------------------------------------------------------------------------------ the checkers
def _check_reduction(loss: str, reduction) -> None:
    if reduction.__class__ is str and reduction in REDUCTIONS:
        return  # the usual case, per call of a loss: no constraint object is built
    check(loss, "reduction", reduction, Options(REDUCTIONS))


def _check_scale(loss: str, name: str, value, *, allow_zero: bool) -> float:
    """A margin or delta: a finite number >= 0 (or > 0)."""
    scale = Interval(Real, 0, None, closed="left" if allow_zero else "neither")
    return float(check(loss, name, value, scale))


def _as_prediction(loss: str, y_hat, name: str = "y_hat", real: bool = True) -> Tensor:
    """y_hat as a Tensor (a node of the caller's graph stays that node); float unless real=False."""
    if not isinstance(y_hat, Tensor):
        y_hat = Tensor(as_array(y_hat, name=name, owner=loss))
    if y_hat.dtype.kind not in "biuf":
        raise refusal(loss, name, "real numbers", f"dtype {y_hat.dtype}", TypeError)
    if real and y_hat.dtype.kind != "f":
        y_hat = ops.astype(y_hat, np.float64)
    return y_hat


def _index(bad: np.ndarray) -> tuple[int, ...]:
    """The index of the first True in bad, as plain ints (NumPy 2 would print np.int64(3))."""
    return tuple(int(i) for i in np.argwhere(bad)[0])


def _broadcast_shape(a, b):
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        return None


def _shape_hint(y_shape, expected, pred_shape, pred: str) -> str:
    """How to fix the classic column-against-vector mistake, when that is what came."""
    if len(expected) == 2 and expected[1] == 1 and y_shape == expected[:1]:
        also = f", or {pred}.reshape(-1)" if expected == pred_shape else ""
        return f" Make them agree: y.reshape(-1, 1){also}."
    if len(y_shape) == 2 and y_shape[1] == 1 and y_shape[:1] == expected:
        return " Make them agree: y.reshape(-1)."
    return ""


def _check_targets(loss: str, y_hat: Tensor, y, *, pred: str = "y_hat", expected=None, what=None):
    """y as a finite, non-empty ndarray of the expected shape (ŷ's unless given); no gradient.

    `what` describes the expected shape in the message (default: "of shape ..., the shape of
    y_hat"). Returns y as an ndarray, unconverted.
    """
    if isinstance(y, Tensor):
        if y.requires_grad:
            raise refusal(
                loss, "y (the target, which carries no gradient)", "data without a gradient",
                "a Tensor with requires_grad=True", fix="Pass y.detach(), or, to differentiate "
                "through both arguments, write the formula out with wengert's operations.",
            )  # fmt: skip
        y = y.data
    y = as_array(y, name="y", owner=loss)
    if y.dtype.kind not in "biuf":
        raise refusal(loss, "y", "real numbers", f"dtype {y.dtype}", TypeError)
    expected = y_hat.shape if expected is None else expected
    if y.shape != expected:
        what = what or f"of shape {expected}, the shape of {pred}"
        fix = ""
        broadcast = _broadcast_shape(y.shape, expected)
        if expected == y_hat.shape and broadcast not in (None, expected):
            fix = (
                f"NumPy would broadcast the two to {broadcast} and compare every prediction "
                f"with every target."
            )
        fix += _shape_hint(y.shape, expected, y_hat.shape, pred)
        raise refusal(loss, "y", what, f"shape {y.shape}", fix=fix)
    if y.size == 0:
        raise refusal(loss, "y", "a non-empty array of targets", f"shape {y.shape}")
    # A sum is finite when every term is (a NaN or an infinity spreads): one cheap reduction
    # for the usual case, and the elementwise search only when it is not.
    if y.dtype.kind == "f" and not math.isfinite(np.add.reduce(y, axis=None)):
        bad = ~np.isfinite(y)
        if bad.any():
            first = _index(bad)
            got = f"{int(bad.sum())} NaN or infinite value(s), the first at index {first}"
            raise refusal(loss, "y", "finite", f"{got}: {y[first]}")
    return y


def _check_labels(loss: str, y: np.ndarray, allowed: tuple, fix: str) -> None:
    """Every target in `allowed`, or an error naming the first that is not and how to fix it."""
    bad = ~np.isin(y, allowed)
    if bad.any():
        first = _index(bad)
        names = " and ".join(f"{a:+d}" if -1 in allowed else str(a) for a in allowed)
        got = f"{y[first]} at index {first} ({int(bad.sum())} such value(s))"
        raise refusal(loss, "y", f"labels {names}", got, fix=fix)


def _prepare(loss: str, y_hat, y, reduction, pred: str = "y_hat") -> tuple[Tensor, np.ndarray]:
    """The common start: a float Tensor ŷ and checked targets y in its dtype."""
    _check_reduction(loss, reduction)
    y_hat = _as_prediction(loss, y_hat, pred)
    y = _check_targets(loss, y_hat, y, pred=pred)
    return y_hat, y.astype(y_hat.dtype, copy=False)


def _reduce(per_element: Tensor, reduction: str) -> Tensor:
    if reduction == "sum":
        return ops.sum(per_element)
    if reduction == "mean":
        return ops.mean(per_element)
    return per_element


# ------------------------------------------------------------------------------ the lecture's four
def l1(y_hat, y, reduction="mean"):
    """L1 loss: ℓ(ŷ, y) = |ŷ - y| (PyTorch's L1Loss).

    Its gradient is sign(ŷ - y); at ŷ = y, where |·| has a kink, it is 0 (abs's subgradient,
    as in PyTorch).
    """
    y_hat, y = _prepare("l1", y_hat, y, reduction)
    return _reduce(ops.abs(y_hat - y), reduction)


def l2(y_hat, y, reduction="mean"):
    """L2 loss as the lecture's gradient-descent slides write it: ℓ(ŷ, y) = ½ (ŷ - y)².

    The ½ is there so that dℓ/dŷ = ŷ - y, and the lecture's update is w = w + η (y - ŷ) x with
    no stray factor 2. (The slide that lists the losses writes (ŷ - y)² without it.) `mse` is
    the version without the ½, as PyTorch's MSELoss: l2 = mse / 2, for every reduction.
    """
    y_hat, y = _prepare("l2", y_hat, y, reduction)
    return _reduce(0.5 * (y_hat - y) ** 2, reduction)


def zero_one(y_hat, y, reduction="mean"):
    """Zero-one loss, a metric: ℓ(ŷ, y) = 1[ŷ ≠ y], 1 for a mistake and 0 for a hit.

    "mean" gives the error rate, "sum" the number of mistakes, "none" the 0/1 per sample
    (as floats). The lecture's slide writes 1[ŷ = y]: that is a typo, it would count the
    correct answers (the accuracy), not the loss.

    What is compared depends on ŷ's dtype, never on its values:
    - integer or bool ŷ (class labels, e.g. model.predict, argmax): ŷ == y, any labels;
    - floating ŷ (real-valued scores of a ±1 classifier): sign(ŷ) == y, with y in {-1, +1}.
      A score of exactly 0 counts as a mistake (it picks no side: the perceptron's y·ŷ ≤ 0).
    Float predictions that are labels (0., 1., 2.) should be passed as integers, ŷ.astype(int).

    It is piecewise constant, so it has no useful gradient: backward() through it (or wg.grad)
    raises an error that says so; train with hinge or logistic instead.
    """
    loss = "zero_one"
    _check_reduction(loss, reduction)
    y_hat = _as_prediction(loss, y_hat, real=False)
    y = _check_targets(loss, y_hat, y)
    scores = y_hat.dtype.kind == "f"
    if scores:
        _check_labels(
            loss,
            y,
            (-1, 1),
            "For real-valued scores y_hat, use labels -1/+1, e.g. 2*y - 1 for 0/1 labels; to "
            "compare class labels by equality, pass integer predictions, e.g. y_hat.astype(int).",
        )
    return _reduce(apply(ops.zero_one_p, y_hat, y, scores=scores), reduction)


def hinge(y_hat, y, margin=1.0, reduction="mean"):
    """Hinge loss for labels y in {-1, +1}: ℓ(ŷ, y) = max(0, m - y·ŷ), m = `margin`.

    The lecture's "SVMs vs. perceptrons" in one loss: with m = 1 (the default, the slide's and
    scikit-learn's hinge_loss) a sample is penalised until it lies beyond the margin, y·ŷ ≥ 1,
    which is what makes the SVM maximise the margin; with m = 0 it is the perceptron criterion,
    max(0, -y·ŷ), which stops caring as soon as the sample is on the right side.

    Its gradient is -y where y·ŷ < m and 0 where y·ŷ > m. At the kink, y·ŷ = m, this takes 0
    (it is built on relu, whose derivative at 0 is 0, as in PyTorch; the engine's maximum
    would give 1/2 there). scikit-learn's SGD takes -y at the kink instead (y·ŷ ≤ m). One
    consequence: with m = 0 a model whose scores are all exactly 0 (zero-initialised weights)
    gets a zero gradient and does not move; initialise randomly, or use m > 0.
    """
    loss = "hinge"
    y_hat, y = _prepare(loss, y_hat, y, reduction)
    margin = _check_scale(loss, "margin", margin, allow_zero=True)
    _check_labels(loss, y, (-1, 1), "Use labels -1/+1, e.g. 2*y - 1 for 0/1 labels.")
    return _reduce(ops.relu(margin - y * y_hat), reduction)


# ------------------------------------------------------------------------------ the usual others
def squared_hinge(y_hat, y, margin=1.0, reduction="mean"):
    """Squared hinge loss for labels y in {-1, +1}: ℓ(ŷ, y) = max(0, m - y·ŷ)².

    scikit-learn's squared_hinge (LinearSVC's default loss). Unlike the hinge its gradient,
    -2y·max(0, m - y·ŷ), is continuous: 0 at the kink, with no choice to make.
    """
    loss = "squared_hinge"
    y_hat, y = _prepare(loss, y_hat, y, reduction)
    margin = _check_scale(loss, "margin", margin, allow_zero=True)
    _check_labels(loss, y, (-1, 1), "Use labels -1/+1, e.g. 2*y - 1 for 0/1 labels.")
    return _reduce(ops.relu(margin - y * y_hat) ** 2, reduction)


def mse(y_hat, y, reduction="mean"):
    """Mean squared error: ℓ(ŷ, y) = (ŷ - y)², PyTorch's MSELoss; its gradient is 2(ŷ - y).

    `l2` is the lecture's ½(ŷ - y)², whose gradient is ŷ - y.
    """
    y_hat, y = _prepare("mse", y_hat, y, reduction)
    return _reduce((y_hat - y) ** 2, reduction)


def huber(y_hat, y, delta=1.0, reduction="mean"):
    """Huber loss, PyTorch's HuberLoss: with r = ŷ - y and δ = `delta` > 0,

        ℓ(ŷ, y) = ½ r²           where |r| ≤ δ,
                  δ (|r| - ½ δ)   elsewhere.

    Quadratic near the target, linear (robust to outliers) far from it; the gradient r inside
    and δ·sign(r) outside meet at |r| = δ. PyTorch's SmoothL1Loss(beta) is huber / beta; at
    δ = 1 the two agree.
    """
    loss = "huber"
    y_hat, y = _prepare(loss, y_hat, y, reduction)
    delta = _check_scale(loss, "delta", delta, allow_zero=False)
    r = y_hat - y
    inside = np.abs(r.data) <= delta
    per_element = ops.where(inside, 0.5 * r**2, delta * (ops.abs(r) - 0.5 * delta))
    return _reduce(per_element, reduction)


def logistic(logits, y, reduction="mean"):
    """Logistic loss (binary cross-entropy from logits z) for labels y in {0, 1}:

        ℓ(z, y) = -[y log σ(z) + (1 - y) log(1 - σ(z))] = softplus(z) - y·z,

    PyTorch's BCEWithLogitsLoss and scikit-learn's log_loss of σ(z). The second form is the one
    computed: it never takes the log of a rounded-off probability, so logits of ±1000 give
    finite values, and its gradient is σ(z) - y.

    Labels are 0/1, as in PyTorch and scikit-learn; -1/+1 labels are refused (an all-ones y
    would mean a different thing under each): convert them with (y + 1) / 2. Soft targets
    (0 < y < 1) are refused too; for those use cross_entropy with class probabilities.
    """
    loss = "logistic"
    z, y = _prepare(loss, logits, y, reduction, pred="logits")
    _check_labels(loss, y, (0, 1), "For -1/+1 labels use (y + 1) / 2.")
    return _reduce(ops.softplus(z) - y * z, reduction)


def cross_entropy(logits, y, reduction="mean"):
    """Softmax cross-entropy from logits z of shape (N, C) (or (..., C)):

        ℓ(z, y) = -log softmax(z)[y] = logsumexp(z) - z[y]     for integer class labels y (N,),
        ℓ(z, p) = -Σ_c p_c log softmax(z)_c                     for class probabilities p (N, C).

    PyTorch's CrossEntropyLoss, with both kinds of target (which one is meant is read from y's
    shape). The mean is over the N samples, not the N·C entries. Computed through logsumexp
    (the fused primitive for labels, log_softmax for probabilities), so logits of ±1000 give
    finite values; the gradient is softmax(z) - onehot(y) (or softmax(z) - p), divided by N for
    the mean. Labels may be integers or integral floats; probability rows must be ≥ 0 and sum
    to 1.
    """
    loss = "cross_entropy"
    _check_reduction(loss, reduction)
    z = _as_prediction(loss, logits, "logits")
    if z.ndim == 0:
        raise refusal(loss, "logits", "an array with a class axis, shape (N, C)", "a scalar")
    shape = np.shape(y.data if isinstance(y, Tensor) else y)
    probabilities = shape == z.shape
    expected = z.shape if probabilities else z.shape[:-1]
    what = None  # the message's wording, formatted only for a shape that fails (a step saved)
    if shape != expected:
        what = f"class labels of shape {z.shape[:-1]} or probabilities of shape {z.shape}"
    y = _check_targets(loss, z, y, pred="logits", expected=expected, what=what)
    if probabilities:
        p = _check_probabilities(loss, y).astype(z.dtype, copy=False)
        return _reduce(-ops.sum(p * ops.log_softmax(z, axis=-1), axis=-1), reduction)
    labels = _check_class_labels(loss, y, z.shape[-1])
    # The fused primitive itself: ops.cross_entropy would check the labels a second time.
    return _reduce(apply(ops.cross_entropy_p, z, labels), reduction)


def _check_class_labels(loss: str, y: np.ndarray, classes: int) -> np.ndarray:
    """y as integer class indices in [0, classes)."""
    if y.dtype.kind == "f":
        fractional = y != np.round(y)
        if fractional.any():
            first = _index(fractional)
            raise refusal(
                loss, "y", "integer class labels", f"{y[first]} at index {first}",
                fix="For class probabilities pass y of the logits' shape (N, C).",
            )  # fmt: skip
    bad = (y < 0) | (y >= classes)  # on y itself: a huge float would wrap round as an int
    if bad.any():
        first = _index(bad)
        raise refusal(
            loss, "y", f"class labels in [0, {classes}) for {classes} classes",
            f"{y[first]} at index {first}",
        )  # fmt: skip
    return y.astype(np.intp, copy=False)


def _check_probabilities(loss: str, p: np.ndarray) -> np.ndarray:
    """p as rows of class probabilities: entries ≥ 0, each row summing to 1."""
    negative = p < 0
    if negative.any():
        first = _index(negative)
        raise refusal(loss, "y (class probabilities)", ">= 0", f"{p[first]} at index {first}")
    sums = np.sum(p, axis=-1, dtype=np.float64)
    eps = np.finfo(p.dtype).eps if p.dtype.kind == "f" else 0.0
    off = np.abs(sums - 1) > max(1e-6, 4 * p.shape[-1] * eps)
    if off.any():
        first = _index(off)
        raise refusal(
            loss, "each row of y (class probabilities)", "a sum of 1",
            f"row {first} summing to {sums[first]:.6g}",
            fix="For class labels pass y of shape (N,).",
        )  # fmt: skip
    return p
