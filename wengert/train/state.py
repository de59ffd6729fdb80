"""What a fit() run records (History), what a callback sees (Run), and its warnings."""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass

from wengert._checks import ConvergenceWarning
from wengert.autodiff.render import html_block, html_table
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


def series_names(metric_names: Iterable[str], validation: bool) -> list[str]:
    """The keys of History.history, in the order fit() fills them: "loss", each metric, then
    with validation data "val_loss" and "val_" + each metric (Keras's order and names)."""
    train = ["loss", *metric_names]
    return train + ([f"val_{name}" for name in train] if validation else [])


def _series_of_old_files(epoch_loss: list, val_loss: list, metrics: dict) -> dict:
    """History.history from the fields that files and code before it used: epoch_loss, val_loss
    ([] without validation data) and metrics (train metrics, then the "val_" ones)."""
    train = {k: list(v) for k, v in metrics.items() if not k.startswith("val_")}
    val = {k: list(v) for k, v in metrics.items() if k.startswith("val_")}
    series = {"loss": list(epoch_loss), **train}
    if val_loss or val:
        series["val_loss"] = list(val_loss)
    return series | val


class History:
    """What a fit() run recorded.

    history: every per-epoch series in one dict, as Keras's History.history has them: "loss",
    the training loss of each epoch (the mean of its batch losses weighted by batch size); each
    metric by its name ("accuracy", or a function's __name__), over the epoch's batches; and
    with val_data, "val_loss" and "val_<metric>" on the validation data after each epoch. Each
    list holds one value per epoch, e.g. history.history["val_accuracy"][-1].
    step_loss: the loss of each step's batch; lr: the learning rate of each step (of the first
    parameter group). stop_reason: why training ended early ("" when it ran its epochs);
    best_epoch: EarlyStopping's best epoch; nonfinite: when it ended at a non-finite quantity,
    {"epoch", "step", "quantity", "value"} as NonFiniteError has them (not in as_dict(): a
    checkpoint is never written after a non-finite step, and stop_reason says the same).

    epoch_loss, val_loss and metrics are read-only views for code written before `history`:
    history["loss"], history["val_loss"] ([] without val_data) and the other series. The
    constructor takes them too (History(step_loss=..., epoch_loss=...)), as from_dict() reads
    the files written with them.
    """

    def __init__(
        self,
        history: dict[str, list[float]] | None = None,
        *,
        step_loss: Iterable[float] = (),
        lr: Iterable[float] = (),
        stop_reason: str = "",
        best_epoch: int | None = None,
        nonfinite: dict | None = None,
        epoch_loss: Iterable[float] = (),
        val_loss: Iterable[float] = (),
        metrics: dict[str, list[float]] | None = None,
    ) -> None:
        old = _series_of_old_files(list(epoch_loss), list(val_loss), metrics or {})
        if history is not None and old != {"loss": []}:
            raise TypeError(
                "History: history must be the only record of the epochs; got history and "
                "epoch_loss, val_loss or metrics. Pass history={'loss': [...], ...} alone."
            )
        self.history = old if history is None else {k: list(v) for k, v in history.items()}
        self.history.setdefault("loss", [])
        self.step_loss, self.lr = list(step_loss), list(lr)
        self.stop_reason, self.best_epoch, self.nonfinite = stop_reason, best_epoch, nonfinite

    @classmethod
    def for_series(cls, names: Iterable[str]) -> History:
        """An empty History with one empty series per name (see series_names)."""
        return cls({name: [] for name in names})

    @property
    def epoch_loss(self) -> list[float]:
        """history["loss"]: the training loss of each epoch."""
        return self.history["loss"]

    @property
    def val_loss(self) -> list[float]:
        """history["val_loss"], or [] when the run had no validation data."""
        return self.history.get("val_loss", [])

    @property
    def metrics(self) -> dict[str, list[float]]:
        """The series of history other than "loss" and "val_loss" (the same lists)."""
        return {k: v for k, v in self.history.items() if k not in ("loss", "val_loss")}

    @property
    def epochs(self) -> int:
        """How many epochs were recorded."""
        return len(self.history["loss"])

    @property
    def steps(self) -> int:
        """How many steps were recorded."""
        return len(self.step_loss)

    def as_dict(self) -> dict:
        """The History as JSON data, as a checkpoint stores it: {"history", "step_loss", "lr",
        "stop_reason", "best_epoch"}."""
        return {
            "history": {k: list(v) for k, v in self.history.items()},
            "step_loss": list(self.step_loss),
            "lr": list(self.lr),
            "stop_reason": self.stop_reason,
            "best_epoch": self.best_epoch,
        }

    @classmethod
    def from_dict(cls, saved: dict) -> History:
        """The History that `as_dict()` gave `saved`; also reads the shape written before
        `history` held every series ("epoch_loss", "val_loss" and "metrics" side by side)."""
        other = {
            k: saved[k] for k in ("step_loss", "lr", "stop_reason", "best_epoch") if k in saved
        }
        if "history" in saved:
            return cls(saved["history"], **other, nonfinite=saved.get("nonfinite"))
        series = _series_of_old_files(
            saved.get("epoch_loss", []), saved.get("val_loss", []), saved.get("metrics", {})
        )
        return cls(series, **other, nonfinite=saved.get("nonfinite"))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, History):
            return NotImplemented
        return (self.as_dict(), self.nonfinite) == (other.as_dict(), other.nonfinite)

    __hash__ = None  # mutable, like the dataclass it was

    def __repr__(self) -> str:
        last = f", loss {self.epoch_loss[-1]:.6g}" if self.epoch_loss else ""
        reason = f", stopped: {self.stop_reason}" if self.stop_reason else ""
        return f"History({self.epochs} epochs, {self.steps} steps{last}{reason})"

    def _repr_html_(self) -> str:
        """The run as HTML for Jupyter: each epoch's series as a table, and why it stopped."""
        return history_html(self)


# A long run's table shows its first and last epochs, this many each, and a row of "…" between.
HTML_EPOCHS = 20


def history_html(history: History) -> str:
    """History._repr_html_: its summary line, a table of epoch and each series (at most
    2 * HTML_EPOCHS rows), the stop reason and the best epoch."""
    names = [k for k, v in history.history.items() if v]
    epochs = list(range(history.epochs))
    if len(epochs) > 2 * HTML_EPOCHS:
        epochs = [*epochs[:HTML_EPOCHS], -1, *epochs[-HTML_EPOCHS:]]
    rows = [
        ["…"] * (len(names) + 1)
        if e < 0
        else [str(e + 1)] + [_cell(history.history[k], e) for k in names]
        for e in epochs
    ]
    title = f"History: {history.epochs} epochs, {history.steps} steps"
    notes = []
    if history.stop_reason:
        notes.append(f"stopped: {history.stop_reason}")
    if history.best_epoch is not None:
        notes.append(f"best epoch: {history.best_epoch}")
    parts = [html_table(["epoch", *names], rows)]
    parts += [f"<p>{html.escape(n)}</p>" for n in notes]
    return html_block("history", title, parts)


def _cell(series: list[float], epoch: int) -> str:
    return f"{series[epoch]:.6g}" if epoch < len(series) else ""


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
