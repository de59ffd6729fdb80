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

Bad input is refused before anything is computed, by the shared checkers of _inputs.py: y of
another shape than ŷ (no silent broadcasting: (N, 1) against (N,) would compare every
prediction with every target), NaN or infinite targets, labels that do not fit the loss, an
unknown reduction, a negative margin or delta. Predictions are not checked for NaN: they come
from the model, and a diverging run is the training loop's business (it stops with a message).

LOSSES maps each loss's name to its LossSpec: the function and the targets it takes, which is
all the command line needs to offer it (`wengert train --loss NAME`). A loss declares them once,
with the decorator over its definition; the order of definition is the command line's order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from wengert._checks import refusal
from wengert.autodiff import ops
from wengert.autodiff.primitive import apply
from wengert.autodiff.tensor import Tensor
from wengert.losses._inputs import (
    REDUCTIONS,
    as_prediction,
    check_class_labels,
    check_labels,
    check_probabilities,
    check_reduction,
    check_scale,
    check_targets,
    prepare,
    reduced,
    squared,
)

__all__ = [
    "LOSSES",
    "REDUCTIONS",
    "TARGETS",
    "LossSpec",
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

Prediction = Tensor | ArrayLike  # ŷ or logits: gradients flow back to a Tensor
Targets = Tensor | ArrayLike  # y: data, no gradient

# The kinds of target a loss takes, by the names the command line encodes them under (and
# predict decodes them from): real values, or class labels in one of three codes.
TARGETS = {
    "value": "real-valued targets, as they are (regression)",
    "sign": "class labels -1/+1, one output",
    "logit": "class labels 0/1, one output (a logit)",
    "argmax": "class indices 0 .. C-1, one output per class",
}


# ------------------------------------------------------------------------------ the registry
@dataclass(frozen=True)
class LossSpec:
    """A loss as the command line chooses it by name: `function` and the targets it takes.

    `targets` are kinds of TARGETS: "value" if it takes real-valued targets (regression), and
    the one code in which it takes class labels ("sign", "logit" or "argmax") if it takes
    labels. `trainable` is False for a loss without a useful gradient (zero_one, a metric):
    the command line does not offer it.
    """

    name: str
    function: Callable[..., Tensor]
    targets: tuple[str, ...]
    trainable: bool = True

    def __post_init__(self) -> None:
        codes = [kind for kind in self.targets if kind != "value"]
        if not set(self.targets) <= set(TARGETS) or not self.targets or len(codes) > 1:
            expected = f"'value' and/or one of {', '.join(map(repr, list(TARGETS)[1:]))}"
            raise refusal(f"LossSpec {self.name!r}", "targets", expected, repr(self.targets))

    @property
    def labels(self) -> str | None:
        """The code in which it takes class labels; None for a loss of real values only."""
        return next((kind for kind in self.targets if kind != "value"), None)

    @property
    def several_outputs(self) -> bool:
        """Whether the model needs one output per class (class indices, read by argmax)."""
        return self.labels == "argmax"


# The losses by name, in the command line's order (of definition below): each declares itself.
LOSSES: dict[str, LossSpec] = {}


def _loss(*targets: str, trainable: bool = True) -> Callable[[Callable], Callable]:
    """Register the decorated function in LOSSES under its name, taking `targets`."""

    def register(function: Callable) -> Callable:
        LOSSES[function.__name__] = LossSpec(function.__name__, function, targets, trainable)
        return function

    return register


# ------------------------------------------------------------------------------ losses of values
@_loss("value", "sign")
def l1(y_hat: Prediction, y: Targets, reduction: str = "mean") -> Tensor:
    """L1 loss: ℓ(ŷ, y) = |ŷ - y| (PyTorch's L1Loss).

    Its gradient is sign(ŷ - y); at ŷ = y, where |·| has a kink, it is 0 (abs's subgradient,
    as in PyTorch).
    """
    y_hat, y = prepare("l1", y_hat, y, reduction)
    return reduced(ops.abs(y_hat - y), reduction)


@_loss("value", "sign")
def l2(y_hat: Prediction, y: Targets, reduction: str = "mean") -> Tensor:
    """L2 loss as the lecture's gradient-descent slides write it: ℓ(ŷ, y) = ½ (ŷ - y)².

    The ½ is there so that dℓ/dŷ = ŷ - y, and the lecture's update is w = w + η (y - ŷ) x with
    no stray factor 2. (The slide that lists the losses writes (ŷ - y)² without it.) `mse` is
    the version without the ½, as PyTorch's MSELoss: l2 = mse / 2, for every reduction.
    """
    y_hat, y = prepare("l2", y_hat, y, reduction)
    return squared(y_hat, y, 0.5, reduction)


@_loss("value", "sign")
def mse(y_hat: Prediction, y: Targets, reduction: str = "mean") -> Tensor:
    """Mean squared error: ℓ(ŷ, y) = (ŷ - y)², PyTorch's MSELoss; its gradient is 2(ŷ - y).

    `l2` is the lecture's ½(ŷ - y)², whose gradient is ŷ - y.
    """
    y_hat, y = prepare("mse", y_hat, y, reduction)
    return squared(y_hat, y, 1.0, reduction)


@_loss("value", "sign")
def huber(y_hat: Prediction, y: Targets, delta: float = 1.0, reduction: str = "mean") -> Tensor:
    """Huber loss, PyTorch's HuberLoss: with r = ŷ - y and δ = `delta` > 0,

        ℓ(ŷ, y) = ½ r²           where |r| ≤ δ,
                  δ (|r| - ½ δ)   elsewhere.

    Quadratic near the target, linear (robust to outliers) far from it; the gradient r inside
    and δ·sign(r) outside meet at |r| = δ. PyTorch's SmoothL1Loss(beta) is huber / beta; at
    δ = 1 the two agree.
    """
    owner = "huber"
    y_hat, y = prepare(owner, y_hat, y, reduction)
    delta = check_scale(owner, "delta", delta, allow_zero=False)
    r = y_hat - y
    a = ops.clip(r, -delta, delta)
    return reduced(a * r - 0.5 * a**2, reduction)


# ------------------------------------------------------------------------------ losses of labels
@_loss("sign", trainable=False)
def zero_one(y_hat: Prediction, y: Targets, reduction: str = "mean") -> Tensor:
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
    owner = "zero_one"
    check_reduction(owner, reduction)
    y_hat = as_prediction(owner, y_hat, real=False)
    y = check_targets(owner, y_hat, y)
    scores = y_hat.dtype.kind == "f"
    if scores:
        check_labels(
            owner,
            y,
            (-1, 1),
            "For real-valued scores y_hat, use labels -1/+1, e.g. 2*y - 1 for 0/1 labels; to "
            "compare class labels by equality, pass integer predictions, e.g. y_hat.astype(int).",
        )
    return reduced(apply(ops.zero_one_p, y_hat, y, scores=scores), reduction)


@_loss("sign")
def hinge(y_hat: Prediction, y: Targets, margin: float = 1.0, reduction: str = "mean") -> Tensor:
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
    owner = "hinge"
    y_hat, y = prepare(owner, y_hat, y, reduction)
    margin = check_scale(owner, "margin", margin, allow_zero=True)
    check_labels(owner, y, (-1, 1), "Use labels -1/+1, e.g. 2*y - 1 for 0/1 labels.")
    return reduced(ops.relu(margin - y * y_hat), reduction)


@_loss("sign")
def squared_hinge(
    y_hat: Prediction, y: Targets, margin: float = 1.0, reduction: str = "mean"
) -> Tensor:
    """Squared hinge loss for labels y in {-1, +1}: ℓ(ŷ, y) = max(0, m - y·ŷ)².

    scikit-learn's squared_hinge (LinearSVC's default loss). Unlike the hinge its gradient,
    -2y·max(0, m - y·ŷ), is continuous: 0 at the kink, with no choice to make.
    """
    owner = "squared_hinge"
    y_hat, y = prepare(owner, y_hat, y, reduction)
    margin = check_scale(owner, "margin", margin, allow_zero=True)
    check_labels(owner, y, (-1, 1), "Use labels -1/+1, e.g. 2*y - 1 for 0/1 labels.")
    return reduced(ops.relu(margin - y * y_hat) ** 2, reduction)


@_loss("logit")
def logistic(logits: Prediction, y: Targets, reduction: str = "mean") -> Tensor:
    """Logistic loss (binary cross-entropy from logits z) for labels y in {0, 1}:

        ℓ(z, y) = -[y log σ(z) + (1 - y) log(1 - σ(z))] = softplus(z) - y·z,

    PyTorch's BCEWithLogitsLoss and scikit-learn's log_loss of σ(z). The second form is the one
    computed: it never takes the log of a rounded-off probability, so logits of ±1000 give
    finite values, and its gradient is σ(z) - y.

    Labels are 0/1, as in PyTorch and scikit-learn; -1/+1 labels are refused (an all-ones y
    would mean a different thing under each): convert them with (y + 1) / 2. Soft targets
    (0 < y < 1) are refused too; for those use cross_entropy with class probabilities.
    """
    owner = "logistic"
    z, y = prepare(owner, logits, y, reduction, pred="logits")
    check_labels(owner, y, (0, 1), "For -1/+1 labels use (y + 1) / 2.")
    return reduced(ops.softplus(z) - y * z, reduction)


@_loss("argmax")
def cross_entropy(logits: Prediction, y: Targets, reduction: str = "mean") -> Tensor:
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
    owner = "cross_entropy"
    check_reduction(owner, reduction)
    z = as_prediction(owner, logits, "logits")
    if z.ndim == 0:
        raise refusal(owner, "logits", "an array with a class axis, shape (N, C)", "a scalar")
    shape = np.shape(y.data if isinstance(y, Tensor) else y)
    probabilities = shape == z.shape
    expected = z.shape if probabilities else z.shape[:-1]
    what = None  # the message's wording, formatted only for a shape that fails (a step saved)
    if shape != expected:
        what = f"class labels of shape {z.shape[:-1]} or probabilities of shape {z.shape}"
    y = check_targets(owner, z, y, pred="logits", expected=expected, what=what)
    if probabilities:
        p = check_probabilities(owner, y).astype(z.dtype, copy=False)
        return reduced(-ops.sum(p * ops.log_softmax(z, axis=-1), axis=-1), reduction)
    labels = check_class_labels(owner, y, z.shape[-1])
    # The fused primitive itself: ops.cross_entropy would check the labels a second time.
    return reduced(apply(ops.cross_entropy_p, z, labels), reduction)
