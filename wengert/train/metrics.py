"""Metrics that fit() computes per epoch: "accuracy", or any function (y_hat, y) -> float."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from wengert import _checks
from wengert._checks import Options, check, refusal
from wengert.data import DataLoader
from wengert.losses import logistic


def metric_name(metric: str | Callable) -> str:
    """The name under which History.history keeps `metric`: the string, or the function's
    __name__."""
    return metric if isinstance(metric, str) else getattr(metric, "__name__", "metric")


METRIC = [Options(["accuracy"]), _checks.Callable("a function (y_hat, y) -> float")]


def metric_fn(
    metric: str | Callable, loss: Callable, loader: DataLoader, index: int = 0
) -> Callable:
    """The function that computes `metric` (the `index`-th of fit's metrics) per batch."""
    check("fit", f"metrics[{index}]", metric, *METRIC)
    if callable(metric):
        return metric
    labels = np.unique(loader.y) if loader.y is not None else None
    return lambda scores, y: accuracy(scores, y, labels=labels, logits=loss is logistic)


def metric_functions(
    metrics: Sequence[str | Callable], loss: Callable, loader: DataLoader
) -> dict[str, Callable]:
    """fit's metrics by name, each the function that computes it per batch; a name that History
    already uses ("loss", or another metric's) is refused, since its series would merge."""
    functions: dict[str, Callable] = {}
    for index, metric in enumerate(metrics):
        function = metric_fn(metric, loss, loader, index)
        name = metric_name(metric)
        if name in functions or name in ("loss", "val_loss") or f"val_{name}" in functions:
            raise refusal(
                "fit",
                f"metrics[{index}]",
                "a metric whose name is not 'loss' nor another metric's",
                f"a second metric named {name!r}",
                fix="Give the function a name of its own (def my_metric(y_hat, y): ...).",
            )
        functions[name] = function
    return functions


def accuracy(
    scores: np.ndarray, y: np.ndarray, labels: np.ndarray | None = None, logits: bool = False
) -> float:
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


__all__ = ["accuracy", "metric_fn", "metric_functions", "metric_name"]
