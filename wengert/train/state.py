"""What a fit() run records (History), what a callback sees (Run), and its warnings."""

from __future__ import annotations

from dataclasses import dataclass, field

from wengert._checks import ConvergenceWarning
from wengert.nn.module import Module


class NonFiniteLossWarning(RuntimeWarning):
    """The loss, a gradient or a weight became NaN or infinite: training stopped there."""


class NonFiniteError(FloatingPointError):
    """fit(..., on_nonfinite="raise"): the loss, a gradient or a weight became NaN or infinite.

    epoch and step: where (both count from 1; step over the whole run); quantity: the first
    non-finite one, "loss", "gradient of <name>" or, after the update, "parameter <name>" (the
    names of model.named_parameters()); value: its first non-finite value.
    """

    def __init__(self, message: str, *, epoch: int, step: int, quantity: str, value: float):
        super().__init__(message)
        self.epoch, self.step, self.quantity, self.value = epoch, step, quantity, value


@dataclass
class History:
    """What a fit() run recorded.

    step_loss: the loss of each step's batch; lr: the learning rate of each step (of the first
    parameter group); epoch_loss: the training loss of each epoch, the mean of its batch losses
    weighted by batch size; val_loss: the loss on val_data after each epoch; metrics: for each
    metric name, one value per epoch (train metrics over the epoch's batches, and "val_" ones).
    stop_reason: why training ended early ("" when it ran its epochs); nonfinite: when it ended
    at a non-finite quantity, {"epoch", "step", "quantity", "value"} as NonFiniteError has them
    (not in as_dict(): a checkpoint is never written after a non-finite step, and files keep
    the stop_reason, which says the same).
    """

    step_loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    epoch_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    stop_reason: str = ""
    best_epoch: int | None = None
    nonfinite: dict | None = None

    @property
    def epochs(self) -> int:
        return len(self.epoch_loss)

    @property
    def steps(self) -> int:
        return len(self.step_loss)

    def as_dict(self) -> dict:
        return {
            "step_loss": list(self.step_loss),
            "lr": list(self.lr),
            "epoch_loss": list(self.epoch_loss),
            "val_loss": list(self.val_loss),
            "metrics": {k: list(v) for k, v in self.metrics.items()},
            "stop_reason": self.stop_reason,
            "best_epoch": self.best_epoch,
        }

    @classmethod
    def from_dict(cls, saved: dict) -> History:
        """The History that `as_dict()` gave `saved` (as a checkpoint stores it)."""
        return cls(**saved)

    def __repr__(self) -> str:
        last = f", loss {self.epoch_loss[-1]:.6g}" if self.epoch_loss else ""
        reason = f", stopped: {self.stop_reason}" if self.stop_reason else ""
        return f"History({self.epochs} epochs, {self.steps} steps{last}{reason})"


@dataclass
class Run:
    """The state a callback sees: set `stop = True` (and `stop_reason`) to end training."""

    model: Module
    optimizer: object
    history: History
    val_data: tuple | None = None
    epoch: int = 0
    step: int = 0
    stop: bool = False
    stop_reason: str = ""


__all__ = ["ConvergenceWarning", "History", "NonFiniteError", "NonFiniteLossWarning", "Run"]
