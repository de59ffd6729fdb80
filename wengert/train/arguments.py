"""fit()'s arguments: their constraint table, and the data turned into a loader and arrays."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from wengert import _checks
from wengert._checks import (
    PATH,
    Boolean,
    InstanceOf,
    Interval,
    Options,
    check_params,
    refusal,
    what_came,
)
from wengert.autodiff.tensor import Tensor
from wengert.data import DataLoader
from wengert.data.validation import check_X_y
from wengert.nn.module import Module
from wengert.train.progress import PROGRESS

FIT_CONSTRAINTS = {
    "model": [InstanceOf(Module, "a wengert.nn.Module")],
    "loss": [_checks.Callable("a function (y_hat, y) -> scalar Tensor")],
    "epochs": [Interval(Integral, 1, None)],
    # Checked here as well as by DataLoader, so that a refusal names fit, which was called.
    "batch_size": [Interval(Integral, 1, None), None],
    "shuffle": [Boolean()],
    "seed": [Interval(Integral, 0, None), None],
    "tol": [Interval(Real, 0, None), None],
    "n_iter_no_change": [Interval(Integral, 1, None)],
    "on_nonfinite": [Options(["stop", "raise"])],
    "clip_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
    "progress": PROGRESS,
    "checkpoint_dir": [PATH, None],
    "checkpoint_every": [Interval(Integral, 1, None)],
    "resume": [Boolean()],
    "resume_other_data": [Boolean()],
}


def check_fit_arguments(values: dict) -> None:
    """Refuse, by name, a fit() argument (of `values`, fit's locals) that breaks its constraint,
    and a clip_grad_norm for an optimizer whose line search chooses each step."""
    check_params("fit", values, FIT_CONSTRAINTS)
    clip, optimizer = values["clip_grad_norm"], values["optimizer"]
    if clip is not None and getattr(optimizer, "needs_closure", False):
        raise refusal(
            "fit",
            "clip_grad_norm",
            f"None with {type(optimizer).__name__}, whose line search chooses each step",
            repr(clip),
            fix="Leave it None.",
        )


def as_loader(
    data: DataLoader | tuple, model: Module, batch_size: int | None, shuffle: bool, seed: int | None
) -> DataLoader:
    """`data` itself if it is a DataLoader, else a DataLoader over its checked (X, y)."""
    if isinstance(data, DataLoader):
        return data
    X, y = as_arrays(data, model, "data")
    return DataLoader(X, y, batch_size=batch_size, shuffle=shuffle, seed=seed)


def as_arrays(data: tuple | list, model: Module, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The pair `data` (fit's argument `name`) as checked arrays, X in the model's dtype."""
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        expected = "a DataLoader or a pair (X, y)" if name == "data" else "a pair (X, y)"
        raise refusal("fit", name, expected, what_came(data), TypeError)
    X, y = (d.data if isinstance(d, Tensor) else d for d in data)
    x_name = "X" if name == "data" else f"{name} X"
    return check_X_y(X, y, owner="fit", dtype=model.dtype, x_name=x_name)


__all__ = ["FIT_CONSTRAINTS", "as_arrays", "as_loader", "check_fit_arguments"]
