"""`wengert predict`: the predictions of a model that `wengert train` wrote, as CSV on stdout."""

from __future__ import annotations

import csv
import os
import sys

import click
import numpy as np

from wengert.cli.boundary import UserError, boundary
from wengert.cli.runs import predictions

__all__ = ["predict"]

MODEL_FILE = "model.safetensors"


@click.command(
    epilog="\b\nExample:\n  wengert predict --model runs/xor --data points.csv > predictions.csv",
    help="Predict with a trained model (its run directory or model file) for the rows of a "
    "CSV file with a header and the training features' columns (a target column, if there, is "
    "dropped); writes CSV to stdout.",
)
@click.option("--model", "model_path", required=True, help="A run directory or model file.")
@click.option("--data", required=True, help="A CSV file of feature columns (with a header).")
@boundary("predict")
def predict(model_path: str, data: str) -> None:
    io = _io("predict")
    if os.path.isdir(model_path):
        model_path = os.path.join(model_path, MODEL_FILE)
    if not os.path.isfile(model_path):
        raise ValueError(f"--model: no such model file: {model_path}")
    info = io.load_metadata(model_path)
    if "label_map" not in info:
        raise ValueError(f"--model: {model_path} was not written by `wengert train`")
    model = io.load(model_path)
    X = _read_features(data, info)
    from wengert.autodiff.mode import no_grad

    with no_grad():
        outputs = model((X - np.asarray(info["mean"])) / np.asarray(info["std"])).numpy()
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["prediction"])
    for value in predictions(info, outputs).tolist():
        writer.writerow([value])


def _read_features(path: str, info: dict) -> np.ndarray:
    # from_csv's reader, for its messages that name the line and column of a bad cell.
    from wengert.data.csv import read_table

    if not os.path.isfile(path):
        raise ValueError(f"--data: no such file: {path}")
    names, table = read_table(path)
    n = len(info["mean"])
    if len(names) not in (n, n + 1):
        raise ValueError(
            f"--data: the model takes {n} feature columns; {path} has {len(names)} ({names})"
        )
    if len(names) == n + 1:
        target = info.get("target")
        column = names.index(target) if target in names else -1
        table = np.delete(table, column, axis=1)
    return table


def _io(command: str):
    try:
        from wengert import io
    except ImportError:
        raise UserError(command, "model files (wengert.io) are not available yet") from None
    return io
