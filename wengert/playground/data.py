"""A playground run's data: the toy set or the lecture's table, its split and its features."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wengert.data import datasets, toy
from wengert.losses import LOSSES

__all__ = ["Data", "feature_matrix", "make_data"]

_TOY_SETS = {
    "xor": toy.xor,
    "circles": toy.circles,
    "moons": toy.moons,
    "spirals": toy.spirals,
}

_FEATURES = {
    "x1": lambda X: X[:, 0],
    "x2": lambda X: X[:, 1],
    "x1_sq": lambda X: X[:, 0] ** 2,
    "x2_sq": lambda X: X[:, 1] ** 2,
    "x1_x2": lambda X: X[:, 0] * X[:, 1],
    "sin_x1": lambda X: np.sin(X[:, 0]),
    "sin_x2": lambda X: np.sin(X[:, 1]),
}


@dataclass
class Data:
    """The points as drawn (`points_*`: x1, x2, or x for the table), their labels as the page
    shows them (`labels_*`: class 0/1, or y for the table), and the targets as the loss takes
    them (`targets_*`: -1/+1, 0/1, class indices or real values)."""

    points_train: np.ndarray
    points_val: np.ndarray
    labels_train: np.ndarray
    labels_val: np.ndarray
    targets_train: np.ndarray
    targets_val: np.ndarray
    regression: bool


def feature_matrix(points: np.ndarray, names: list[str]) -> np.ndarray:
    """The model's inputs: one column per feature name, computed from the raw points."""
    return np.column_stack([_FEATURES[name](points) for name in names]).astype(np.float64)


def make_data(config: dict) -> Data:
    """The run's points and targets, split into training and validation as `config` says."""
    X, y = _draw(config)
    regression = config["dataset"] == "seed_table"
    split = config["val_split"]
    if split > 0:
        X_tr, X_va, y_tr, y_va = datasets.train_test_split(
            X, y, test_size=split, stratify=not regression, seed=config["seed"]
        )
    else:
        X_tr, X_va, y_tr, y_va = X, X[:0], y, y[:0]
    code = "value" if regression else LOSSES[config["loss"]].labels
    return Data(X_tr, X_va, y_tr, y_va, _encode(y_tr, code), _encode(y_va, code), regression)


def _draw(config: dict) -> tuple[np.ndarray, np.ndarray]:
    name, n, noise, seed = (config[k] for k in ("dataset", "n_samples", "noise", "seed"))
    if name == "seed_table":
        return datasets.seed_table()
    if name == "blobs":  # noise 0.1 gives blobs' own spread, 0.5
        return toy.blobs(n, spread=5.0 * noise, seed=seed)
    return _TOY_SETS[name](n, noise=noise, seed=seed)


def _encode(y: np.ndarray, code: str) -> np.ndarray:
    """Class labels 0/1 as the loss takes them: -1/+1 for "sign", else as they are."""
    if code == "sign":
        return (2.0 * y - 1.0).astype(np.float64)
    if code == "value":
        return y.astype(np.float64)
    return y.astype(np.int64)
