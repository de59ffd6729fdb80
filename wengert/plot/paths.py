"""Optimizer paths on 2-D loss surfaces: contours of the surface and each optimizer's steps."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

import wengert as wg
from wengert import optim
from wengert._checks import COUNT, InstanceOf, Options, check, refusal
from wengert.plot._figure import check_save, finish, new_figure

if TYPE_CHECKING:  # matplotlib is imported only when a picture is drawn
    from matplotlib.figure import Figure

    from wengert.autodiff.tensor import Tensor
    from wengert.optim import Optimizer

__all__ = ["OPTIMIZERS", "SURFACES", "optimizer_path", "plot_optimizer_paths"]


def valley(x: Tensor, y: Tensor) -> Tensor:
    """A long narrow valley, f = 0.05 x² + 2 y²: curvatures 0.1 along it and 4 across (κ = 40)."""
    return 0.05 * x * x + 2.0 * y * y


def saddle(x: Tensor, y: Tensor) -> Tensor:
    """f = ½ x² − ½ y² + ¼ y⁴: a saddle at the origin, minima at (0, ±1) where f = −¼."""
    return 0.5 * x * x - 0.5 * y * y + 0.25 * y**4


# name -> (f(x, y), start, x range, y range, formula for the title)
SURFACES = {
    "valley": (valley, (-4.5, 1.0), (-5.0, 1.5), (-1.6, 1.6), "f = 0.05 θ₁² + 2 θ₂²"),
    "saddle": (saddle, (1.8, 1e-3), (-1.0, 2.0), (-1.7, 1.7), "f = ½θ₁² − ½θ₂² + ¼θ₂⁴"),
}

# label -> (optimizer class, hyperparameters): the lecture's momentum pictures, each optimizer
# at a learning rate that is reasonable for it on these surfaces, as each class declares them
# (its `path_examples`), in the order of wengert.optim.OPTIMIZERS
OPTIMIZERS = {
    label: (cls, hyper)
    for cls in optim.OPTIMIZERS.values()
    for label, hyper in cls.path_examples.items()
}


def optimizer_path(
    f: Callable[[Tensor, Tensor], Tensor],
    start: ArrayLike,
    make_optimizer: Callable[[list[Tensor]], Optimizer],
    steps: int,
) -> np.ndarray:
    """The points θ_0..θ_steps of an optimizer on f(x, y) from `start`, shape (steps + 1, 2).

    make_optimizer(params) builds the optimizer (e.g. lambda p: optim.Adam(p, lr=0.1)); one that
    needs a closure (L-BFGS) takes one iteration (max_iter=1 in OPTIMIZERS) per step(closure).
    Stops early, with a shorter path, once θ is not finite.
    """
    theta = wg.tensor(np.asarray(start, dtype=np.float64), requires_grad=True)
    opt = make_optimizer([theta])

    def closure():
        opt.zero_grad()
        loss = f(theta[0], theta[1])
        loss.backward()
        return loss

    points = [theta.data.copy()]
    for _ in range(steps):
        if getattr(opt, "needs_closure", False):
            opt.step(closure)
        else:
            closure()
            opt.step()
        if not np.all(np.isfinite(theta.data)):
            break
        points.append(theta.data.copy())
    return np.array(points)


NAMES = InstanceOf((list, tuple), "a name or a list of names (of OPTIMIZERS)")


def _check_optimizers(names, owner: str) -> list[str]:
    """The optimizers' names: all of OPTIMIZERS for None, one name, or a non-empty list."""
    if names is None:
        return list(OPTIMIZERS)
    names = [names] if isinstance(names, str) else names
    check(owner, "optimizers", names, NAMES)
    if not names:
        raise refusal(owner, "optimizers", "one name or more", "an empty list")
    for i, name in enumerate(names):
        check(owner, f"optimizers[{i}]", name, Options(OPTIMIZERS))
    return list(names)


def _contours(ax, f, xlim, ylim) -> None:
    """Filled grey contours of f over the box, computed by wengert on a 300 × 200 mesh."""
    xs, ys = np.meshgrid(np.linspace(*xlim, 300), np.linspace(*ylim, 200))
    with wg.no_grad():
        zs = f(wg.tensor(xs), wg.tensor(ys)).data
    ax.contourf(xs, ys, zs, levels=30, cmap="Greys", alpha=0.45)
    ax.contour(xs, ys, zs, levels=15, colors="0.5", linewidths=0.5)


def plot_optimizer_paths(
    surface: str = "valley",
    optimizers: str | Sequence[str] | None = None,
    steps: int = 60,
    *,
    save: str | os.PathLike | None = None,
) -> Figure:
    """The paths of several optimizers from one start on a 2-D loss surface, over its contours.

    surface: "valley" (long and narrow, where plain SGD zigzags across and momentum runs along)
    or "saddle" (where the gradient vanishes at the origin); optimizers: names from OPTIMIZERS
    (default all eight), each at the hyperparameters listed there; steps: optimizer steps.
    fig.wengert_data: {"surface", "start", "paths": {name: (k, 2) array, θ_0 first},
    "losses": {name: f along the path}}; a path's last row is the optimizer's final θ.
    """
    owner = "plot_optimizer_paths"
    path = check_save(save, owner)
    check(owner, "surface", surface, Options(SURFACES))
    names = _check_optimizers(optimizers, owner)
    check(owner, "steps", steps, COUNT)
    f, start = SURFACES[surface][:2]
    paths = {}
    for name in names:
        cls, hyper = OPTIMIZERS[name]
        paths[name] = optimizer_path(f, start, lambda p, c=cls, h=hyper: c(p, **h), int(steps))
    with wg.no_grad():
        losses = {n: f(wg.tensor(p[:, 0]), wg.tensor(p[:, 1])).data for n, p in paths.items()}
    fig = new_figure((10.0, 3.9) if surface == "valley" else (7.6, 5.8))
    _draw(fig.add_subplot(), surface, paths, losses, steps)
    data = {"surface": surface, "start": np.array(start), "paths": paths, "losses": losses}
    return finish(fig, data, path)


def _draw(ax, surface: str, paths: dict, losses: dict, steps: int) -> None:
    """The surface's contours, each path with its final loss in the legend, and the start."""
    f, start, xlim, ylim, formula = SURFACES[surface]
    _contours(ax, f, xlim, ylim)
    for i, (name, p) in enumerate(paths.items()):
        label = f"{name} (f = {losses[name][-1]:.2g})"
        ax.plot(p[:, 0], p[:, 1], "o-", ms=2.5, lw=1.3, color=f"C{i}", label=label)
    ax.plot(*start, "k*", ms=14, label="start")
    words = {"valley": "a long narrow valley", "saddle": "a saddle"}[surface]
    title = f"Optimizer paths on {words}, {formula}, {steps} steps"
    ax.set(xlim=xlim, ylim=ylim, xlabel="θ₁", ylabel="θ₂", aspect="equal", title=title)
    ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))
