"""How fit() stops: at a non-finite loss, gradient or weight; on a plateau of the training loss
(scikit-learn's tol rule); and the warning when the epochs run out before that plateau.

fit(on_nonfinite=...): each step checks the loss, then every gradient before the update (a NaN
gradient never reaches the weights), then every weight after it (wengert.train.step). At the
first non-finite one, "stop" ends training with a NonFiniteLossWarning, keeps finite weights
(the last ones, or the epoch's first if the update made a weight non-finite) and records the
epoch, step and quantity in history.stop_reason and history.nonfinite; "raise" does the same,
then raises NonFiniteError (with attributes epoch, step, quantity, value) instead of warning.

fit(tol=...): stop when the training loss has not improved by tol for n_iter_no_change epochs;
with tol set, running out of epochs first warns (ConvergenceWarning) and sets stop_reason to
"epoch limit".
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from wengert.train.state import (
    ConvergenceWarning,
    History,
    NonFiniteError,
    NonFiniteLossWarning,
    Run,
)
from wengert.train.step import NonFinite


def stop_on_non_finite(run: Run, bad: NonFinite, safe: dict, policy: str) -> None:
    """Keep finite weights (those of the epoch's start if the update made any non-finite),
    record what happened, then warn ("stop") or raise NonFiniteError ("raise")."""
    model, step = run.model, run.step + 1
    restored = not all(np.isfinite(p.data).all() for p in model.parameters())
    if restored:
        model.load_state_dict(safe)
    kept = (
        f"the weights from the start of epoch {run.epoch} were restored"
        if restored
        else "the last weights, all finite, were kept"
    )
    where = f"at epoch {run.epoch}, step {step}"
    after = " after the update" if bad.quantity.startswith("parameter") else ""
    became = f"the {bad.quantity} became {bad.value}{after} {where}"
    run.history.stop_reason = f"non-finite {bad.quantity} ({bad.value}) {where}"
    run.history.nonfinite = {
        "epoch": run.epoch,
        "step": step,
        "quantity": bad.quantity,
        "value": bad.value,
    }
    message = (
        f"fit: {became}; training stopped and {kept}. Try a smaller learning rate (or "
        f"standardise the inputs)."
    )
    if policy == "raise":
        raise NonFiniteError(
            message, epoch=run.epoch, step=step, quantity=bad.quantity, value=bad.value
        )
    warnings.warn(message, NonFiniteLossWarning, stacklevel=5)


class Plateau:
    """scikit-learn's stopping rule: no improvement by tol for n_iter_no_change epochs."""

    def __init__(self, tol: float | None, n_iter_no_change: int) -> None:
        self.tol, self.patience = tol, n_iter_no_change
        self.best, self.count, self.reason = math.inf, 0, ""

    def settled(self, loss: float) -> bool:
        """Count `loss`, the epoch's training loss; True once the loss has settled."""
        if self.tol is None:
            return False
        self.count = self.count + 1 if loss > self.best - self.tol else 0
        self.best = min(self.best, loss)
        if self.count >= self.patience:
            self.reason = (
                f"converged: the training loss improved by less than tol={self.tol:g} "
                f"for {self.patience} epochs"
            )
            return True
        return False

    def warn_at_epoch_limit(self, history: History, epochs: int) -> None:
        """With tol set, a run that ran all its epochs without settling warns, and says so in
        its stop_reason."""
        if self.tol is None or history.stop_reason:
            return
        history.stop_reason = "epoch limit"
        warnings.warn(
            f"fit: reached epochs={epochs} before the training loss stopped improving by "
            f"tol={self.tol:g} for {self.patience} epochs; train longer or raise the learning "
            f"rate",
            ConvergenceWarning,
            stacklevel=4,  # warn_at_epoch_limit, _Training.train, fit, its caller
        )


__all__ = ["Plateau", "stop_on_non_finite"]
