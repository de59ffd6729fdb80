"""Rosenblatt's rule as a loss and a stopping rule, so that backpropagation and SGD run it.

`Perceptron` (wengert.classic.perceptron) writes the rule out: on a mistake, y (w·x + b) ≤ 0,
w ← w + η y x and b ← b + η y. The same steps come from gradient descent on
`perceptron_criterion`, whose gradient on one sample is -y x (and -y for b) on a mistake and 0
otherwise: one SGD step of rate η on one sample is the rule's update, float for float (y = ±1
makes every product exact). `NoMistakes` ends training at the first epoch that changed no
weight, where `Perceptron.fit` stops.
"""

from __future__ import annotations

import numpy as np

from wengert.autodiff.tensor import Tensor
from wengert.losses._inputs import check_labels, prepare
from wengert.train.state import Run

__all__ = ["NoMistakes", "perceptron_criterion"]


def perceptron_criterion(y_hat: Tensor, y: np.ndarray) -> Tensor:
    """The mean over the batch of max(0, -y·ŷ), labels y = ±1, ŷ = w·x + b the unit's output.

    Its gradient counts a tie, y·ŷ = 0, as a mistake (Rosenblatt's, and `Perceptron`'s,
    condition y·ŷ ≤ 0): there it is -y ∂ŷ/∂θ although the loss is 0, so that weights starting
    at 0 move on the first sample. (hinge with margin 0 takes 0 at the tie, and would not
    move from zero weights.)
    """
    y_hat, y = prepare("perceptron_criterion", y_hat, y, "mean")
    check_labels(
        "perceptron_criterion", y, (-1, 1), "Use labels -1/+1, e.g. 2*y - 1 for 0/1 labels."
    )
    mistakes = y * y_hat.numpy() <= 0
    weights = np.where(mistakes, -y, 0.0).astype(y_hat.dtype, copy=False)
    return (y_hat * weights).sum() / y.size


class NoMistakes:
    """A fit() callback: stop after the first epoch in which no weight changed, the epoch in
    which Rosenblatt's rule made no mistake (every training point on its side)."""

    def __init__(self) -> None:
        self.last: dict | None = None

    def on_train_begin(self, run: Run) -> None:
        """Remember the weights training starts from."""
        self.last = run.model.state_dict()

    def on_epoch_end(self, run: Run) -> None:
        """Stop when this epoch left every weight where the last one did."""
        now = run.model.state_dict()
        if self.last is not None and all(np.array_equal(now[k], self.last[k]) for k in now):
            run.stop = True
            run.stop_reason = f"no mistake in epoch {run.epoch}: every training point on its side"
        self.last = now
