"""Metrics that fit() computes per epoch: "accuracy", or any function (y_hat, y) -> float."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from wengert import _checks
from wengert._checks import Options, check
from wengert.losses import logistic


def metric_name(metric) -> str:
    return metric if isinstance(metric, str) else getattr(metric, "__name__", "metric")


def metric_keys(metric_fns, val) -> list[str]:
    keys = list(metric_fns)
    return keys + ([f"val_{k}" for k in keys] if val is not None else [])


METRIC = [Options(["accuracy"]), _checks.Callable("a function (y_hat, y) -> float")]


def metric_fn(metric, loss, loader, index: int = 0) -> Callable:
    """The function that computes `metric` (the `index`-th of fit's metrics) per batch."""
    check("fit", f"metrics[{index}]", metric, *METRIC)
    if callable(metric):
        return metric
    labels = np.unique(loader.y) if loader.y is not None else None
    return lambda scores, y: accuracy(scores, y, labels=labels, logits=loss is logistic)


def accuracy(scores: np.ndarray, y: np.ndarray, labels=None, logits: bool = False) -> float:
    """The fraction of predictions equal to y.

    Scores of shape (N, C>1) are classified by argmax (C classes). Otherwise each score is
    taken to the nearest label (of `labels`, by default those of y): the sign for labels
    -1/+1, the threshold 0.5 for 0/1 outputs — except logits (logistic loss), cut at 0.
    """
    scores = np.asarray(scores)
    y = np.asarray(y)
    if scores.ndim == 2 and scores.shape[1] > 1:
        return float(np.mean(scores.argmax(axis=1) == y))
    scores = scores.reshape(y.shape)
    if logits:
        return float(np.mean((scores > 0) == (y > 0)))
    labels = np.unique(y) if labels is None else np.asarray(labels)
    nearest = labels[np.abs(scores[..., None] - labels).argmin(axis=-1)]
    return float(np.mean(nearest == y))


__all__ = ["accuracy", "metric_fn", "metric_keys", "metric_name"]
