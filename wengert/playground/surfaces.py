"""The optimizer-paths picture, live: each optimizer's path on one of the lecture's 2-D loss
surfaces, and the surface's values on a grid for its contours."""

from __future__ import annotations

import numpy as np

from wengert.autodiff.mode import no_grad
from wengert.autodiff.tensor import Tensor
from wengert.playground.config import ConfigError
from wengert.playground.limits import MAX_PATH_STEPS
from wengert.plot.paths import OPTIMIZERS, SURFACES, optimizer_path

__all__ = ["GRID", "paths"]

GRID = 60  # the contour grid is GRID × GRID


def _names(optimizers: str | None) -> list[str]:
    if not optimizers:
        return list(OPTIMIZERS)
    names = [name.strip() for name in optimizers.split(",")]
    for name in names:
        if name not in OPTIMIZERS:
            shown = ", ".join(OPTIMIZERS)
            message = f"playground: optimizers must be names among {shown}; got {name!r}."
            raise ConfigError("optimizers", message)
    return names


def paths(surface: str, optimizers: str | None, lr: float | None, steps: int) -> dict:
    """The paths of `optimizers` (comma-separated labels of plot.paths.OPTIMIZERS; all when
    empty) on `surface` for `steps` steps, each at its own learning rate or at `lr`."""
    if surface not in SURFACES:
        shown = ", ".join(SURFACES)
        raise ConfigError(
            "surface", f"playground: surface must be one of {shown}; got {surface!r}."
        )
    if not 1 <= steps <= MAX_PATH_STEPS:
        message = f"playground: steps must be an int in [1, {MAX_PATH_STEPS}]; got {steps}."
        raise ConfigError("steps", message)
    if lr is not None and not 0 < lr <= 100:
        raise ConfigError("lr", f"playground: lr must be a number in (0, 100]; got {lr}.")
    f, start, x_range, y_range, formula = SURFACES[surface]
    out = {}
    for name in _names(optimizers):
        cls, hyper = OPTIMIZERS[name]
        hyper = hyper if lr is None else {**hyper, "lr": lr}
        points = optimizer_path(f, start, lambda p, c=cls, h=hyper: c(p, **h), steps)
        out[name] = points.tolist()
    xs, ys = np.linspace(*x_range, GRID), np.linspace(*y_range, GRID)
    gx, gy = np.meshgrid(xs, ys)
    with no_grad():
        z = f(Tensor(gx), Tensor(gy)).data
    return {
        "surface": surface,
        "formula": formula,
        "start": list(start),
        "x_range": list(x_range),
        "y_range": list(y_range),
        "grid": {"x": xs.tolist(), "y": ys.tolist(), "z": np.round(z, 6).tolist()},
        "paths": out,
    }
