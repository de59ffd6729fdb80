"""Gradient descent drawn: steps on a 1-D curve, three learning rates, and the paths of the
optimizers on 2-D loss surfaces (a long narrow valley, a saddle)."""

from __future__ import annotations

import os
from collections.abc import Callable
from numbers import Real
from typing import TYPE_CHECKING

import numpy as np

import wengert as wg
from wengert._checks import COUNT, Interval, TupleOf, check
from wengert.autodiff.tensor import Tensor
from wengert.plot._figure import check_save, finish, new_figure

if TYPE_CHECKING:  # matplotlib is imported only when a picture is drawn
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# A 1-D loss: a function of one scalar Tensor w that returns a scalar Tensor.
Loss1D = Callable[[Tensor], Tensor]

__all__ = ["descend_1d", "parabola", "plot_descent", "plot_learning_rates"]


def parabola(w: Tensor) -> Tensor:
    """The default 1-D loss, f(w) = w²: gradient descent multiplies w by (1 - 2η) each step."""
    return w * w


# A start or a learning rate of ±inf or NaN draws nothing: Interval(Real) refuses them.
REAL = Interval(Real)


def descend_1d(f: Loss1D, w0: float, lr: float, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Plain gradient descent w ← w − η f'(w) from w0, the gradient by wengert's reverse mode.

    Returns (w, f(w)) for t = 0..steps; stops early (shorter arrays) once w is not finite.
    """
    value_and_grad = wg.value_and_grad(f)
    ws, fs = [float(w0)], []
    for _ in range(steps):
        value, g = value_and_grad(ws[-1])
        fs.append(float(value))
        w = ws[-1] - lr * float(g)
        if not np.isfinite(w):
            break
        ws.append(w)
    if len(fs) < len(ws):
        fs.append(float(value_and_grad(ws[-1])[0]))
    return np.array(ws), np.array(fs)


def _curve(ax: Axes, f: Loss1D, ws: np.ndarray) -> None:
    """f over the span of the path, widened a little, in grey."""
    reach = max(float(np.max(np.abs(ws))), 1.0) * 1.15
    grid = (
        np.linspace(-reach, reach, 400)
        if f is parabola
        else np.linspace(ws.min() - 0.15 * reach, ws.max() + 0.15 * reach, 400)
    )
    with wg.no_grad():
        values = f(wg.tensor(grid)).data
    ax.plot(grid, values, color="0.55", lw=2, zorder=1)


def _draw_steps(ax: Axes, ws: np.ndarray, fs: np.ndarray, colour: str) -> None:
    for t in range(len(ws) - 1):
        ax.annotate(
            "",
            xy=(ws[t + 1], fs[t + 1]),
            xytext=(ws[t], fs[t]),
            arrowprops={"arrowstyle": "->", "color": colour, "lw": 1.5, "shrinkA": 3, "shrinkB": 3},
        )
    ax.scatter(ws, fs, color=colour, s=28, zorder=3)
    ax.scatter(ws[:1], fs[:1], color="k", s=40, zorder=4, label="start")


def plot_descent(
    f: Loss1D | None = None,
    w0: float = -4.0,
    lr: float = 0.1,
    steps: int = 10,
    *,
    save: str | os.PathLike | None = None,
) -> Figure:
    """Gradient descent on a 1-D function, each step drawn as an arrow along the curve.

    f maps a wengert Tensor to a scalar Tensor (default f(w) = w²), w0 the start, lr the
    constant η, steps the number of updates. fig.wengert_data: {"w", "loss", "lr"}, the
    points w_0..w_steps and f at them.
    """
    owner = "plot_descent"
    path = check_save(save, owner)
    check(owner, "w0", w0, REAL)
    check(owner, "lr", lr, REAL)
    check(owner, "steps", steps, COUNT)
    w0, lr, steps = float(w0), float(lr), int(steps)
    f = parabola if f is None else f
    ws, fs = descend_1d(f, w0, lr, steps)
    fig = new_figure((6.4, 4.2))
    ax = fig.add_subplot()
    _curve(ax, f, ws)
    _draw_steps(ax, ws, fs, "C0")
    ax.set(
        xlabel="weight w",
        ylabel="loss f(w)",
        title=f"Gradient descent w ← w − η f′(w), η = {lr:g}, {len(ws) - 1} steps",
    )
    ax.grid(alpha=0.3)
    ax.legend()
    return finish(fig, {"w": ws, "loss": fs, "lr": lr}, path)


def plot_learning_rates(
    f: Loss1D | None = None,
    w0: float = -4.0,
    lrs: tuple[float, ...] = (0.05, 0.4, 1.05),
    steps: int = 8,
    *,
    save: str | os.PathLike | None = None,
) -> Figure:
    """ "Learning rate too small / right / too big" side by side, on the same 1-D function.

    The lecture's slide: too small converges slowly, too big misses the minimum (on f = w²,
    η > 1 makes |1 − 2η| > 1 and every step overshoots further). fig.wengert_data: {"lrs",
    "w": [path per lr], "loss": [f along it]}.
    """
    owner = "plot_learning_rates"
    path = check_save(save, owner)
    lrs = lrs.tolist() if isinstance(lrs, np.ndarray) else lrs
    check(owner, "w0", w0, REAL)
    check(owner, "lrs", lrs, TupleOf(REAL, 3), fix="Pass three: too small, about right, too big.")
    check(owner, "steps", steps, COUNT)
    w0, lrs, steps = float(w0), [float(lr) for lr in lrs], int(steps)
    f = parabola if f is None else f
    fig = new_figure((11.5, 3.8))
    axes = fig.subplots(1, 3)
    paths = [descend_1d(f, w0, lr, steps) for lr in lrs]
    for ax, lr, (ws, fs), word, colour in zip(
        axes, lrs, paths, ("too small", "about right", "too big"), ("C0", "C2", "C3"), strict=True
    ):
        _curve(ax, f, ws)
        _draw_steps(ax, ws, fs, colour)
        ax.set(
            xlabel="weight w",
            title=f"{word}: η = {lr:g}\nf = {fs[-1]:.3g} after {len(ws) - 1} steps",
        )
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("loss f(w)")
    fig.suptitle("Step size (learning rate): too small is slow, too big misses the minimum")
    data = {"lrs": lrs, "w": [p[0] for p in paths], "loss": [p[1] for p in paths]}
    return finish(fig, data, path)
