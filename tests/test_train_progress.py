"""What fit() prints on stderr: a line per epoch that stays, a live bar only on a terminal."""

import io
import itertools
import sys

import numpy as np
import pytest
from train_helpers import fit_table, smallest_perceptron

from wengert import data, losses, nn, optim
from wengert.train import Callback, EarlyStopping, fit
from wengert.train import progress as progress_module
from wengert.train.progress import format_value


class Terminal(io.StringIO):
    """A stderr that says it is a terminal, and keeps what was written to it."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def clock(monkeypatch):
    """Each reading of the clock is 0.25 s after the one before: every epoch takes 250 ms."""
    ticks = itertools.count(0.0, 0.25)
    monkeypatch.setattr(progress_module, "perf_counter", lambda: next(ticks))


def blobs_fit(**kwargs):
    X, y = data.moons(n=64, seed=0)
    model = nn.MLP([2, 4, 2], seed=0, dtype=np.float64)
    opt = optim.SGD(model.parameters(), lr=0.3)
    return fit(
        model, losses.cross_entropy, opt, (X[:48], y[:48]), epochs=3, batch_size=16, seed=0,
        val_data=(X[48:], y[48:]), metrics=["accuracy"], **kwargs,
    )  # fmt: skip


def test_one_line_per_epoch_with_its_metrics_when_asked_off_a_terminal(capsys, clock):
    history = blobs_fit(progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "epoch 1/3  loss 0.4263  accuracy 0.7708  val_loss 0.5968  val_accuracy 0.6875  (250 ms)\n"
        "epoch 2/3  loss 0.3853  accuracy 0.8542  val_loss 0.5951  val_accuracy 0.6875  (250 ms)\n"
        "epoch 3/3  loss 0.3607  accuracy 0.8542  val_loss 0.5978  val_accuracy 0.6875  (250 ms)\n"
    )
    assert round(history.history["val_loss"][1], 4) == 0.5951  # the line shows the History
    names = ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert captured.err.splitlines() == [
        f"epoch {i + 1}/3  "
        + "  ".join(f"{name} {history.history[name][i]:.4f}" for name in names)
        + "  (250 ms)"
        for i in range(3)
    ]
    # accuracy is the share of the 48 training rows classed right: 37, 41, 41 of them
    assert [48 * a for a in history.history["accuracy"]] == pytest.approx([37, 41, 41], abs=1e-9)


def test_the_default_prints_nothing_off_a_terminal_and_false_nothing_on_one(capsys, monkeypatch):
    blobs_fit()
    assert capsys.readouterr().err == ""
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    blobs_fit(progress=False)
    assert terminal.getvalue() == ""


def test_a_terminal_gets_a_live_bar_that_clears_and_lines_that_stay(monkeypatch, clock):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(progress_module.Progress, "redraw_s", 0.0)  # draw at every step
    history = blobs_fit()  # progress=None: a terminal gets both
    written = terminal.getvalue()
    running = history.step_loss[0] * 16, sum(history.step_loss[:2]) * 16
    for loss_sum, step, percent in zip(running, (1, 2), ("33%", "67%"), strict=True):
        shown = format_value(loss_sum / (16 * step))
        assert f"\repoch 1/3:  {percent}|" in written  # the bar, drawn again in place
        assert f"| {step}/3 [" in written and f"step/s, loss {shown}]" in written
    # What stays once the bars are cleared: the lines, each after its epoch's bar.
    kept = [part.split("\r")[-1] for part in written.split("\n")[:-1]]
    assert [line[:10] for line in kept] == ["epoch 1/3 ", "epoch 2/3 ", "epoch 3/3 "]
    assert kept[2].endswith("val_accuracy 0.6875  (250 ms)")


def test_the_bar_is_cleared_before_the_callbacks_run(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)

    class Say(Callback):
        def on_epoch_end(self, run):
            sys.stderr.write(f"callback {run.epoch}\n")

    model = smallest_perceptron()
    fit_table(
        model, optim.SGD(model.parameters(), lr=1e-3), epochs=2, callbacks=[Say()], progress=None
    )
    before, after = terminal.getvalue().split("callback 1\n")
    assert "|" in before and before.endswith("\r")  # a bar was drawn, then cleared
    assert after.startswith("epoch 1/2  loss ")


def test_epochs_mode_writes_the_lines_alone_even_on_a_terminal(monkeypatch, clock):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    blobs_fit(progress="epochs")
    written = terminal.getvalue()
    assert "\r" not in written
    assert written.splitlines()[0] == (
        "epoch 1/3  loss 0.4263  accuracy 0.7708  val_loss 0.5968  val_accuracy 0.6875  (250 ms)"
    )


def test_a_run_that_stops_early_says_why_after_its_last_line(capsys, clock):
    model = smallest_perceptron()
    opt = optim.SGD(model.parameters(), lr=0.021)  # diverges after a few epochs
    stopper = EarlyStopping(patience=2, monitor="loss")
    fit_table(model, opt, epochs=50, batch_size=None, callbacks=[stopper], progress="epochs")
    lines = capsys.readouterr().err.splitlines()
    assert lines[-1].startswith("stopped: early stopping: loss did not improve for 2 epochs;")
    assert lines[-2].startswith(f"epoch {len(lines) - 1:>2}/50  loss ")


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.41211, "0.4121"),
        (0.0, "0.0000"),
        (-2.5, "-2.5000"),
        (1.5e-05, "1.5000e-05"),
        (123456.0, "1.2346e+05"),
        (float("inf"), "inf"),
        (float("nan"), "nan"),
    ],
)
def test_values_show_four_decimals_or_four_digits(value, shown):
    assert format_value(value) == shown


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0.0123, "(12 ms)"), (0.9994, "(999 ms)"), (0.9996, "(1.0 s)"), (75.25, "(75.2 s)")],
)
def test_an_epoch_under_a_second_shows_milliseconds(seconds, shown):
    line = progress_module.epoch_line(2, 10, {"loss": [0.5, 0.25]}, seconds)
    assert line == f"epoch  2/10  loss 0.2500  {shown}"
