"""The files of a run directory that `wengert train` and `wengert resume` write: config.json
and metrics.json (JSON), history.csv (one row per epoch) and loss.png (the training loss);
each written atomically (wengert.io's atomic_write)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import warnings

import click

from wengert.io import atomic_write

__all__ = ["plot_loss", "remove", "write_history", "write_json"]


def write_json(path: str, value: dict) -> None:
    """Write `value` to `path` as indented JSON, atomically."""
    text = json.dumps(value, indent=2, sort_keys=True, allow_nan=True) + "\n"
    atomic_write(path, text.encode("utf-8"))


def write_history(path: str, history: object) -> None:
    """Write the History's per-epoch series to `path` as CSV, atomically."""
    columns = {"epoch_loss": history.epoch_loss, "val_loss": history.val_loss} | history.metrics
    columns = {k: v for k, v in columns.items() if v}
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(["epoch", *columns])
    for i in range(history.epochs):
        writer.writerow([i + 1, *(repr(float(v[i])) for v in columns.values())])
    atomic_write(path, text.getvalue().encode("utf-8"))


def plot_loss(path: str, history: object) -> None:
    """Draw the training loss into `path` (PNG); without matplotlib, say so on stderr."""
    try:
        from wengert.plot import plot_loss_curve
    except ImportError:  # no matplotlib: the numbers are in history.csv
        click.echo("loss.png not drawn: matplotlib is not installed", err=True)
        return
    if not any(math.isfinite(v) for v in history.step_loss):
        remove(path)  # nothing to draw: the first step diverged
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # matplotlib on losses near 1e300
        figure = plot_loss_curve(history, title="training loss")
        png = io.BytesIO()
        figure.savefig(png, format="png", dpi=120)
    atomic_write(path, png.getvalue())


def remove(path: str) -> None:
    """Remove the file `path` if it exists."""
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)
