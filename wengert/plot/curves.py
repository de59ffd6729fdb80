"""Curves: the four losses of the lecture, a training run's loss and learning rate, and the
error of finite differences against the step."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

import wengert as wg
from wengert import data, losses, nn, optim
from wengert._checks import as_float_array, refusal, what_came
from wengert.derivatives import step_size_sweep
from wengert.plot._figure import check_save, finish, new_figure

if TYPE_CHECKING:  # matplotlib is imported only when a picture is drawn
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from wengert.autodiff.tensor import Tensor
    from wengert.derivatives.lecture import StepSizeSweep
    from wengert.train import History

__all__ = ["plot_loss_curve", "plot_losses", "plot_step_size_error"]


def plot_losses(y_hat: ArrayLike | None = None, *, save: str | os.PathLike | None = None) -> Figure:
    """The lecture's four losses against the prediction ŷ, for the target y = 1.

    L1 |ŷ - y|, L2 ½ (ŷ - y)² (wengert's l2 keeps the ½ that makes its gradient ŷ - y),
    zero-one 1[sign ŷ ≠ y] (a score of exactly 0 counts as a mistake) and hinge max(0, 1 - y ŷ),
    each computed by wengert.losses with reduction="none" at the ŷ plotted (default 601 points
    in [-2, 3]). fig.wengert_data: {"y_hat", "y", "l1", "l2", "zero_one", "hinge"}.
    """
    path = check_save(save, "plot_losses")
    y_hat = np.linspace(-2.0, 3.0, 601) if y_hat is None else _check_y_hat(y_hat)
    y = np.ones_like(y_hat)
    labels = {
        "l1": "L1  |ŷ − y|",
        "l2": "L2  ½(ŷ − y)²",
        "zero_one": "zero-one  1[sign ŷ ≠ y]",
        "hinge": "hinge  max(0, 1 − yŷ)",
    }
    curves = {  # by name, from wengert.losses' registry
        name: losses.LOSSES[name].function(y_hat, y, reduction="none").data for name in labels
    }
    fig = new_figure((6.4, 4.2))
    ax = fig.add_subplot()
    # L1 equals hinge for ŷ < 1 when y = 1: dashed on top, so both stay visible there
    styles = {"l1": {"ls": "--", "zorder": 3, "lw": 2}, "hinge": {"lw": 4, "alpha": 0.8}}
    for name, values in curves.items():
        ax.plot(y_hat, values, label=labels[name], **({"lw": 2} | styles.get(name, {})))
    ax.axvline(1.0, color="0.6", ls=":", lw=1)
    ax.annotate("target y = 1", (1.0, 1.2), xytext=(4, 0), textcoords="offset points", color="0.4")
    ax.set(xlabel="prediction ŷ", ylabel="loss ℓ(ŷ, y)", title="Four losses for the target y = 1")
    ax.set_ylim(-0.1, min(4.0, float(max(np.max(v) for v in curves.values()))) + 0.1)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center")
    return finish(fig, {"y_hat": y_hat, "y": 1.0, **curves}, path)


def _check_y_hat(y_hat: ArrayLike) -> np.ndarray:
    expected = "a 1-D array of at least 2 finite values"
    array = as_float_array("plot_losses", "y_hat", y_hat, expected)
    if array.ndim != 1 or array.size < 2 or not np.all(np.isfinite(array)):
        raise refusal("plot_losses", "y_hat", expected, what_came(array.tolist()))
    return array


def _history_field(history: History | dict, name: str) -> np.ndarray:
    value = getattr(history, name, None)
    if value is None:
        raise refusal(
            "plot_loss_curve",
            "history",
            "a wengert History (or its as_dict())",
            f"{what_came(history)}, without {name!r}",
            TypeError,
        )
    return np.asarray(value, dtype=np.float64)


def example_history() -> History:
    """A short run to draw when no history is given: a 2-8-2 MLP on blobs, SGD with momentum
    and a step-decay learning rate (halved every 10 steps), 10 epochs of 4 batches."""
    X, y = data.blobs(n=200, spread=1.2, seed=0)
    model = nn.MLP([2, 8, 2], activation="tanh", seed=0)
    opt = optim.SGD(model.parameters(), lr=optim.schedules.step_decay(0.1, 10, 0.5), momentum=0.9)
    return wg.fit(
        model, losses.cross_entropy, opt, (X, y), epochs=10, batch_size=50, seed=0, progress=False
    )


def plot_loss_curve(
    history: History | dict | None = None,
    *,
    title: str | None = None,
    save: str | os.PathLike | None = None,
) -> Figure:
    """A training run's loss per step (and per epoch), with the learning rate of each step below.

    history: a wengert History (or its as_dict()) with step_loss and lr recorded; None trains
    `example_history()`. A History of epochs alone (no step losses, as a run's history.csv
    holds) is drawn against the epoch, without the learning-rate panel. The epoch losses sit at
    each epoch's last step, assuming equal epochs. The loss axis is logarithmic when every loss
    is positive. A run that diverged (a non-finite loss, or its nonfinite or stop_reason saying
    so) is drawn up to where it diverged, and the picture says where.
    fig.wengert_data: {"steps", "step_loss", "lr", "epoch_end", "epoch_loss", "val_loss",
    "diverged"} (steps count from 1; "diverged" is the message, or None).
    """
    path = check_save(save, "plot_loss_curve")
    history = example_history() if history is None else history
    record = _loss_record(history)
    record["diverged"] = _divergence(history, record)
    fig = new_figure((6.4, 4.8))
    if not record["lr"].size:
        top = fig.add_subplot()
        _draw_losses(top, record, title or "Loss curve")
        top.set_xlabel("epoch")
        return finish(fig, record, path)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1.3))
    _draw_losses(top, record, title or "Loss curve")
    steps, lr = record["steps"], record["lr"]
    bottom.plot(steps, lr, color="C3", lw=2, drawstyle="steps-post")
    bottom.set(xlabel="step", ylabel="learning rate η")
    bottom.set_ylim(0, float(np.max(lr)) * 1.15 if np.max(lr) > 0 else 1.0)
    bottom.grid(alpha=0.3)
    return finish(fig, record, path)


def _loss_record(history: History | dict) -> dict[str, np.ndarray]:
    """The arrays plot_loss_curve draws, read from `history` and checked; inf and NaN (a run
    that diverged) become NaN, so that only the finite part is drawn."""
    if isinstance(history, dict) and ("step_loss" in history or "history" in history):
        history = wg.History.from_dict(history)  # as_dict()'s shape, or the one before history
    step_loss, lr = _history_field(history, "step_loss"), _history_field(history, "lr")
    series = getattr(history, "history", {})
    epoch_loss, val_loss = (np.asarray(series.get(k, []), np.float64) for k in ("loss", "val_loss"))
    if lr.size != step_loss.size:
        expected = "a record of one loss and one lr per step"
        got = f"{step_loss.size} losses and {lr.size} learning rates"
        raise refusal("plot_loss_curve", "history", expected, got)
    if step_loss.size == 0 and epoch_loss.size == 0:
        expected = "a record of one loss and one lr per step, or of one loss per epoch"
        raise refusal("plot_loss_curve", "history", expected, "an empty History")
    steps = np.arange(1, step_loss.size + 1)
    step_loss, epoch_loss, val_loss = (
        np.where(np.isfinite(v), v, np.nan) for v in (step_loss, epoch_loss, val_loss)
    )
    per_epoch = step_loss.size / max(epoch_loss.size, 1) if step_loss.size else 1
    epoch_end = np.round(np.arange(1, epoch_loss.size + 1) * per_epoch)
    result = {"steps": steps, "step_loss": step_loss, "lr": lr, "epoch_end": epoch_end}
    return result | {"epoch_loss": epoch_loss, "val_loss": val_loss}


def _divergence(history: History | dict, record: dict[str, np.ndarray]) -> str | None:
    """Where the run diverged, in words, or None for a run that stayed finite."""
    if isinstance(history, dict):
        history = wg.History.from_dict(history)
    bad = getattr(history, "nonfinite", None)
    reason = str(getattr(history, "stop_reason", "") or "")
    if bad:
        where = f"the {bad['quantity']} became {bad['value']} at epoch {bad['epoch']}, step "
        return f"diverged: {where}{bad['step']}"
    if reason.startswith("non-finite"):
        return f"diverged: {reason}"
    for name, values in (("step", record["step_loss"]), ("epoch", record["epoch_loss"])):
        first = np.flatnonzero(np.isnan(values))
        if first.size:
            return f"diverged: the loss is not finite from {name} {first[0] + 1} on"
    return None


def _draw_losses(ax: Axes, record: dict[str, np.ndarray], title: str) -> None:
    """Draw the step, epoch and validation losses of `record` on `ax`, and where it diverged."""
    steps, step_loss, epoch_end = record["steps"], record["step_loss"], record["epoch_end"]
    epoch_loss, val_loss = record["epoch_loss"], record["val_loss"]
    few = epoch_loss.size <= 40  # markers for each epoch only while they stay apart
    if step_loss.size > epoch_loss.size:  # full batch: the step losses are the epoch losses
        ax.plot(steps, step_loss, lw=1, alpha=0.6, label="batch loss (each step)")
    if epoch_loss.size:
        style = "o-" if few else "-"
        ax.plot(epoch_end, epoch_loss, style, lw=2, label="training loss (epoch mean)")
    if val_loss.size == epoch_loss.size and val_loss.size:
        ax.plot(epoch_end, val_loss, "s--" if few else "--", lw=2, label="validation loss")
    shown = np.concatenate([step_loss, epoch_loss, val_loss])
    finite = shown[np.isfinite(shown)]
    # matplotlib's log ticks step past the largest float above about 1e250 (OverflowError): a
    # diverging run's curve is drawn on a linear axis there
    if finite.size and np.all(finite > 0) and finite.max() < 1e250:
        ax.set_yscale("log")
    if record.get("diverged"):  # said under the title, where no curve runs
        title = "\n".join([title, *textwrap.wrap(f"{record['diverged']}; finite part shown", 72)])
    ax.set(ylabel="loss", title=title)
    ax.grid(alpha=0.3, which="both")
    ax.legend()


def plot_step_size_error(
    f: Callable[[Tensor], Tensor] | None = None,
    x: ArrayLike = 1.0,
    *,
    steps: ArrayLike | None = None,
    save: str | os.PathLike | None = None,
) -> Figure:
    """The V of finite differences: error against the step h, log-log, best steps marked.

    From wengert.derivatives.step_size_sweep(f, x, steps) (default f = exp at x = 1): forward
    differences (error ~ h/2 f'' + eps|f|/h, best near sqrt(eps)) and central differences
    (~ h²/6 f''' + eps|f|/h, best near eps^(1/3)); the reference is reverse mode.
    fig.wengert_data: {"sweep": the StepSizeSweep}.
    """
    path = check_save(save, "plot_step_size_error")
    sweep = step_size_sweep(wg.exp if f is None else f, x, steps=steps)
    fig = new_figure((6.4, 4.4))
    ax = fig.add_subplot()
    _draw_sweep(ax, sweep)
    ax.set(
        xlabel="step h",
        ylabel="max |numerical − reverse-mode derivative|",
        title="Finite differences: truncation (right) against round-off (left)",
    )
    ax.grid(alpha=0.3, which="major")
    ax.legend(fontsize="small")
    return finish(fig, {"sweep": sweep}, path)


def _draw_sweep(ax: Axes, sweep: StepSizeSweep) -> None:
    """Each method's error against h, its best step starred and the theory's step dotted."""
    rows = (
        ("forward", sweep.forward_errors, sweep.best_forward, sweep.theory_forward, "C0"),
        ("central", sweep.central_errors, sweep.best_central, sweep.theory_central, "C1"),
    )
    for name, errors, best, theory, colour in rows:
        shown = np.where(errors > 0, errors, np.nan)  # an exact 0 has no place on a log axis
        ax.loglog(sweep.steps, shown, "o-", ms=3, color=colour, label=f"{name} difference")
        best_error = float(errors[np.flatnonzero(sweep.steps == best)[0]])
        label = f"best {name} step h = {best:.0e}"
        ax.plot(best, best_error, "*", ms=16, color=colour, mec="k", label=label)
        ax.axvline(theory, color=colour, ls=":", lw=1, label=f"theory: h = {theory:.0e}")
