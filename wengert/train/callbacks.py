"""Callbacks: hooks that fit() calls at the start, after each step and epoch, and at the end."""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real

from wengert._checks import Boolean, Interval, Options, check_params, refusal
from wengert.train.state import Run


class Callback:
    """Hooks fit() calls, each with the Run; a callback may define only the ones it needs
    (any object with such methods will do: this class is for documentation and subclassing)."""

    def on_train_begin(self, run: Run) -> None:
        """Before the first epoch (and before a resume restores anything): may still refuse."""

    def on_step_end(self, run: Run) -> None:
        """After each step's update; run.step counts the steps of the whole run."""

    def on_epoch_end(self, run: Run) -> None:
        """After each epoch's History is recorded; set run.stop to end training there."""

    def on_train_end(self, run: Run) -> None:
        """After the last epoch, or after training stopped early or was interrupted."""


EARLY_STOPPING = {
    "patience": [Interval(Integral, 1, None)],
    "min_delta": [Interval(Real, 0, None)],
    "monitor": [Options(["val_loss", "loss"])],
    "restore_best": [Boolean()],
}


class EarlyStopping(Callback):
    """Stop when `monitor` ("val_loss", or "loss" for the training loss) has not improved by
    more than `min_delta` for `patience` epochs; restore the weights of the best epoch."""

    def __init__(
        self,
        patience: int = 5,
        min_delta: float = 0.0,
        monitor: str = "val_loss",
        restore_best: bool = True,
    ) -> None:
        values = {
            "patience": patience,
            "min_delta": min_delta,
            "monitor": monitor,
            "restore_best": restore_best,
        }
        check_params("EarlyStopping", values, EARLY_STOPPING)
        self.patience, self.min_delta = patience, float(min_delta)
        self.monitor, self.restore_best = monitor, restore_best
        self.best, self.best_state, self.wait = math.inf, None, 0

    def on_train_begin(self, run: Run) -> None:
        """Refuse monitor="val_loss" without validation data; start counting afresh."""
        if self.monitor == "val_loss" and run.val_data is None:
            raise refusal(
                "EarlyStopping(monitor='val_loss')",
                "fit's val_data",
                "a pair (X_val, y_val)",
                "None",
                fix="Pass fit(..., val_data=(X_val, y_val)), or monitor the training loss with "
                "monitor='loss'.",
            )
        self.best, self.best_state, self.wait = math.inf, None, 0

    def on_epoch_end(self, run: Run) -> None:
        """Keep the best epoch's weights; stop after `patience` epochs without improvement."""
        values = run.history.history[self.monitor]
        if values[-1] < self.best - self.min_delta:
            self.best, self.wait = values[-1], 0
            run.history.best_epoch = run.epoch
            if self.restore_best:
                self.best_state = run.model.state_dict()
            return
        self.wait += 1
        if self.wait >= self.patience:
            run.stop = True
            run.stop_reason = (
                f"early stopping: {self.monitor} did not improve for "
                f"{self.patience} epochs; best {self.best:.6g} at epoch "
                f"{run.history.best_epoch}"
            )

    def on_train_end(self, run: Run) -> None:
        """Restore the best epoch's weights (with restore_best)."""
        if self.restore_best and self.best_state is not None:
            run.model.load_state_dict(self.best_state)


def call_hook(callbacks: Sequence[object], hook: str, run: Run) -> None:
    """Call `hook` on each callback that has it (a callback needs only the hooks it uses)."""
    for cb in callbacks:
        method = getattr(cb, hook, None)
        if method is not None:
            method(run)


__all__ = ["Callback", "EarlyStopping", "call_hook"]
