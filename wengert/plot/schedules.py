"""A learning-rate schedule drawn over a run's steps, beside the rates a History recorded."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from numbers import Real
from typing import TYPE_CHECKING

import numpy as np

from wengert._checks import COUNT, as_float_array, check, refusal, what_came
from wengert.plot._figure import check_save, finish, new_figure

if TYPE_CHECKING:  # matplotlib is imported only when a picture is drawn
    from matplotlib.figure import Figure

__all__ = ["plot_schedule"]


def plot_schedule(
    schedule: float | Callable[[int], float],
    steps: int,
    *,
    recorded: Sequence[float] | None = None,
    steps_per_epoch: int | None = None,
    title: str | None = None,
    save: str | os.PathLike | None = None,
) -> Figure:
    """A learning-rate schedule η_t for the steps t = 1..steps, as an optimizer calls it.

    schedule: a wengert.optim.schedules Schedule, any function of the step t, or a number (a
    constant rate). recorded: the rates a run used (History.lr), drawn over it to compare.
    steps_per_epoch: when given, each epoch's end is marked. fig.wengert_data: {"steps",
    "lr" (the schedule's value at each step), "recorded" (an array, or None)}.
    """
    owner = "plot_schedule"
    path = check_save(save, owner)
    check(owner, "steps", steps, COUNT)
    check(owner, "steps_per_epoch", steps_per_epoch, COUNT, None)
    rate = _rate(schedule)
    t = np.arange(1, int(steps) + 1)
    lr = np.array([rate(int(step)) for step in t], dtype=np.float64)
    shown = None if recorded is None else _recorded(recorded)
    fig = new_figure((6.4, 4.0))
    ax = fig.add_subplot()
    ax.plot(t, lr, color="C0", lw=2, drawstyle="steps-post", label=f"schedule {_name(schedule)}")
    if shown is not None:
        mark = "o" if shown.size <= 60 else ""
        ax.plot(np.arange(1, shown.size + 1), shown, mark + "--", color="C3", ms=3, lw=1,
                label="recorded by the run (History.lr)")  # fmt: skip
    if steps_per_epoch is not None:
        for end in range(int(steps_per_epoch), int(steps), int(steps_per_epoch)):
            ax.axvline(end + 0.5, color="0.8", lw=0.8, zorder=0)
    top = max(float(np.max(lr)), float(np.max(shown)) if shown is not None and shown.size else 0)
    ax.set_ylim(0, top * 1.15 if top > 0 else 1.0)
    ax.set(xlabel="step t", ylabel="learning rate η_t", title=title or "Learning-rate schedule")
    ax.grid(alpha=0.3)
    ax.legend()
    return finish(fig, {"steps": t, "lr": lr, "recorded": shown}, path)


def _rate(schedule: object) -> Callable[[int], float]:
    """The function t ↦ η_t of `schedule`: itself, or a constant for a number."""
    if isinstance(schedule, Real) and not isinstance(schedule, bool):
        return lambda t: float(schedule)
    if callable(schedule):
        return schedule
    raise refusal(
        "plot_schedule",
        "schedule",
        "a schedule (a function of the step t) or a number",
        what_came(schedule),
        TypeError,
    )


def _name(schedule: object) -> str:
    if callable(schedule) and not hasattr(schedule, "params"):
        return getattr(schedule, "__name__", "")
    return repr(schedule)


def _recorded(recorded: Sequence[float]) -> np.ndarray:
    expected = "a 1-D sequence of learning rates, one per step"
    array = as_float_array("plot_schedule", "recorded", recorded, expected)
    if array.ndim != 1:
        raise refusal("plot_schedule", "recorded", expected, f"shape {array.shape}")
    return array
