"""What fit() shows while it trains, on stderr: a live bar during each epoch, and a line per
epoch that stays, with the epoch's metrics (as Keras prints them):

    epoch  3/20  loss 0.4121  accuracy 0.8750  val_loss 0.4410  val_accuracy 0.8600  (412 ms)

fit's `progress` chooses: None (the default) shows both on a terminal and nothing elsewhere
(a pipe, a log file, a test); True shows the lines wherever stderr goes, and the bar too on a
terminal; "epochs" shows the lines alone (notebooks and logs, where a live bar is noise);
False shows nothing. The bar is never drawn off a terminal, where it would only leave
carriage returns in the file.
"""

from __future__ import annotations

import sys
from time import perf_counter

from wengert._checks import Boolean, Options
from wengert.train.state import History

PROGRESS = [Boolean(), Options(["epochs"]), None]


def format_value(value: float) -> str:
    """Four decimals, or four significant digits in scientific notation for a value too small
    or too large for them to show (Keras's rule, with 0 written 0.0000)."""
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        return f"{value:.4f}"
    return f"{value:.4e}"


def epoch_line(epoch: int, epochs: int, series: dict[str, list[float]], seconds: float) -> str:
    """The line of `epoch` (of `epochs`): the last value of each series, and its time (in
    milliseconds under a second, else in seconds)."""
    values = "  ".join(f"{name} {format_value(v[-1])}" for name, v in series.items() if v)
    took = f"{seconds * 1000:.0f} ms" if seconds < 0.9995 else f"{seconds:.1f} s"
    return f"epoch {epoch:>{len(str(epochs))}}/{epochs}  {values}  ({took})"


class Progress:
    """fit()'s display: `start_epoch`, `step` after each step, `end_epoch` with the History."""

    redraw_s = 0.1  # the least time between two drawings of the bar (tqdm's mininterval)

    def __init__(self, progress: bool | str | None, epochs: int) -> None:
        stream = sys.stderr
        terminal = stream is not None and stream.isatty()
        self.stream, self.epochs = stream, epochs
        self.lines = stream is not None and (
            progress in (True, "epochs") or (progress is None and terminal)
        )
        self.live = terminal and progress in (True, None)
        self.bar = None
        self.started = 0.0
        if self.live:  # imported here, not in the first epoch's time
            from tqdm import tqdm

            self.tqdm = tqdm

    def start_epoch(self, epoch: int, steps: int) -> None:
        """Start the epoch's clock, and its bar of `steps` steps when one is shown."""
        self.started = perf_counter()
        if self.live:
            width = len(str(self.epochs))
            desc = f"epoch {epoch:>{width}}/{self.epochs}"
            self.bar = self.tqdm(
                total=steps,
                desc=desc,
                unit="step",
                leave=False,
                file=self.stream,
                mininterval=self.redraw_s,
            )

    def step(self, loss_sum: float, samples: int) -> None:
        """Advance the bar by one step, showing the epoch's running mean loss."""
        if self.bar is not None:
            self.bar.set_postfix_str(f"loss {format_value(loss_sum / samples)}", refresh=False)
            self.bar.update(1)

    def end_epoch(self, epoch: int, history: History) -> None:
        """Clear the bar; write the epoch's line, and why training stopped if it did."""
        self.close()
        if not self.lines:
            return
        text = epoch_line(epoch, self.epochs, history.history, perf_counter() - self.started)
        if history.stop_reason:
            text += f"\nstopped: {history.stop_reason}"
        self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Clear the bar, if one is shown (at each epoch's end, and when training ends early)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


__all__ = ["PROGRESS", "Progress", "epoch_line", "format_value"]
