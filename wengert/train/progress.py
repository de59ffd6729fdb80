"""What fit() shows while it trains, on stderr: a live bar during each epoch, and a line per
epoch that stays, with the epoch's metrics (as Keras prints them):

    epoch  3/20  loss 0.4121  accuracy 0.8750  val_loss 0.4410  val_accuracy 0.8600  (412 ms)

fit's `progress` chooses: None (the default) shows both on a terminal or in a notebook and
nothing elsewhere (a pipe, a log file, a test); True shows the lines wherever stderr goes, and
the bar too on a terminal or in a notebook; "epochs" shows the lines alone (logs, where a live
bar is noise); False shows nothing. The bar is never drawn into a file, where it would only
leave carriage returns. In a notebook (a Jupyter kernel) the bar is tqdm's notebook widget
where ipywidgets is installed, else an HTML bar of its own, updated in place.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from html import escape
from importlib.util import find_spec
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
        notebook = not terminal and in_notebook()
        self.stream, self.epochs = stream, epochs
        self.lines = stream is not None and (
            progress in (True, "epochs") or (progress is None and (terminal or notebook))
        )
        self.live = (terminal or notebook) and progress in (True, None)
        self.bar = None
        self.started = 0.0
        if self.live:  # imported here, not in the first epoch's time
            self.new_bar = notebook_bar() if notebook else _terminal_bar(stream)

    def start_epoch(self, epoch: int, steps: int) -> None:
        """Start the epoch's clock, and its bar of `steps` steps when one is shown."""
        self.started = perf_counter()
        if self.live:
            width = len(str(self.epochs))
            desc = f"epoch {epoch:>{width}}/{self.epochs}"
            self.bar = self.new_bar(
                total=steps, desc=desc, unit="step", leave=False, mininterval=self.redraw_s
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


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (IPython's kernel app), where stderr is no
    terminal but a notebook shows a live bar; tqdm.autonotebook asks the same."""
    ipython = sys.modules.get("IPython")  # never imported here: a kernel has done it
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
        return shell is not None and "IPKernelApp" in shell.config
    except Exception:  # an IPython without get_ipython or config is no kernel
        return False


def have_ipywidgets() -> bool:
    """Whether ipywidgets is installed, which tqdm's notebook bar draws with."""
    return find_spec("ipywidgets") is not None


def notebook_bar() -> Callable[..., object]:
    """The bar for a notebook: tqdm's widget where ipywidgets is installed, else HTMLBar."""
    if have_ipywidgets():
        from tqdm.notebook import tqdm

        return tqdm
    return HTMLBar


def _terminal_bar(stream) -> Callable[..., object]:
    from tqdm import tqdm

    return lambda **kwargs: tqdm(file=stream, **kwargs)


class HTMLBar:
    """A progress bar drawn as HTML in a notebook and updated in place (IPython's display with
    a display_id); tqdm's interface as Progress uses it: update, set_postfix_str, close.
    `display` is IPython.display.display unless given."""

    def __init__(
        self,
        total: int,
        desc: str = "",
        unit: str = "step",
        leave: bool = False,
        mininterval: float = 0.1,
        display: Callable[..., object] | None = None,
    ) -> None:
        if display is None:
            from IPython.display import display
        self.total, self.desc, self.unit, self.leave = total, desc, unit, leave
        self.mininterval, self.n, self.postfix = mininterval, 0, ""
        self.drawn = perf_counter()
        self.handle = display(_HTML(self.html()), display_id=True)

    def html(self) -> str:
        """The bar as it stands: its description, a <progress> element, the count, the postfix."""
        return (
            f'<div class="wengert-progress"><code>{escape(self.desc)}</code> '
            f'<progress value="{self.n}" max="{self.total}"></progress> '
            f"{self.n}/{self.total} {escape(self.unit)}s <code>{escape(self.postfix)}</code></div>"
        )

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        """The text after the count (the running loss); drawn at once when `refresh`."""
        self.postfix = text
        if refresh:
            self._draw()

    def update(self, n: int = 1) -> None:
        """Advance by n; redraw at most every `mininterval` seconds, and at the last step."""
        self.n += n
        if self.n >= self.total or perf_counter() - self.drawn >= self.mininterval:
            self._draw()

    def close(self) -> None:
        """Draw the last state, or, unless `leave`, clear the bar from the output."""
        if self.handle is not None:
            self.handle.update(_HTML(self.html() if self.leave else ""))
        self.handle = None

    def _draw(self) -> None:
        if self.handle is not None:
            self.handle.update(_HTML(self.html()))
        self.drawn = perf_counter()


class _HTML:
    """Text that IPython's display shows as HTML."""

    def __init__(self, text: str) -> None:
        self.text = text

    def _repr_html_(self) -> str:
        return self.text

    def __repr__(self) -> str:  # the plain-text form a notebook keeps beside the HTML
        return ""


__all__ = [
    "PROGRESS",
    "HTMLBar",
    "Progress",
    "epoch_line",
    "format_value",
    "have_ipywidgets",
    "in_notebook",
    "notebook_bar",
]
