"""`wengert predict`: the predictions of a model that `wengert train` wrote, as CSV on stdout.

The model file's metadata (written by `run_info`) says which feature columns the model takes,
by name and in order, how to standardize them and how outputs become labels. The data's
columns are matched by name: a missing one is refused, naming it; the others (the target, an
id) are ignored, and one line on stderr names them. A file without a header (its first row all
numbers) is read as the model's features in the model's order when it has exactly that many
columns, and refused otherwise. The metadata is checked before use: a field of the wrong kind or
length is refused, naming the file and the field.
"""

from __future__ import annotations

import csv
import math
import numbers
import os
import sys
from typing import TYPE_CHECKING

import click
import numpy as np

from wengert import io
from wengert.cli.boundary import boundary, check_file
from wengert.cli.runs import MODEL_FILE, predictions

if TYPE_CHECKING:
    from wengert.nn import Module

__all__ = ["LABEL_MAPS", "check_info", "predict"]

LABEL_MAPS = ("argmax", "logit", "sign", "value")


@click.command(
    epilog="\b\nExample:\n  wengert predict --model runs/xor --data points.csv > predictions.csv",
    help="Predict with a trained model (its run directory or model file) for the rows of a "
    "CSV file whose header names the training features' columns, in any order (other columns, "
    "such as the target, are ignored and named on stderr; a file without a header must hold "
    "the features alone, in the training order); writes CSV to stdout.",
)
@click.option("--model", "model_path", required=True, help="A run directory or model file.")
@click.option(
    "--data",
    required=True,
    help="A CSV file of feature columns (with a header), or a 2-D .npy file of the features in "
    "the training order (with or without the target's column).",
)
@boundary("predict")
def predict(model_path: str, data: str) -> None:
    """`wengert predict`: write a model's predictions for the rows of a CSV file to stdout."""
    if os.path.isdir(model_path):
        model_path = os.path.join(model_path, MODEL_FILE)
    if not os.path.isfile(model_path):
        raise ValueError(f"--model: no such model file: {model_path}")
    info = io.load_metadata(model_path)
    if not isinstance(info, dict) or "label_map" not in info:
        raise ValueError(f"--model: {model_path} was not written by `wengert train`")
    model = io.load(model_path)
    check_info(info, model, model_path)
    if data.lower().endswith(".npy"):  # read in blocks of rows, never whole
        from wengert.cli.npy_predict import npy_predictions

        blocks = npy_predictions(model, info, data)
    else:
        blocks = [predictions(info, _outputs(model, _read_features(data, info), info, data))]
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["prediction"])
    for labels in blocks:
        writer.writerows([value] for value in labels.tolist())


def _read_features(path: str, info: dict) -> np.ndarray:
    from wengert.data.csv import read_table

    check_file("--data", path)
    features = info["features"]
    names, table = read_table(path, header=None, usecols=features)
    if names is None:
        _note(f"{path} has no header: its columns are read as {', '.join(features)}, in order")
        return table
    extra = [_column(n, info) for n in names if n not in features]
    if extra:
        _note(
            f"ignored {len(extra)} column(s) of {path} the model does not use: {', '.join(extra)}"
        )
    return table


def _column(name: str, info: dict) -> str:
    return f"{name!r} (the target)" if name == info.get("target_name") else repr(name)


def _note(message: str) -> None:
    click.echo(f"wengert predict: note: {message}", err=True)


def _outputs(model, X: np.ndarray, info: dict, path: str) -> np.ndarray:
    """The model's outputs for the rows of X, standardized as in training; all finite."""
    from wengert.autodiff.mode import no_grad

    # Inputs far outside the training range may overflow: caught below, row by row.
    with no_grad(), np.errstate(over="ignore", invalid="ignore"):
        Z = (X - np.asarray(info["mean"], dtype=np.float64)) / np.asarray(info["std"])
        outputs = model(Z).numpy()
    finite = np.isfinite(outputs.reshape(len(X), -1)).all(axis=1)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0]) + 1
        raise ValueError(
            f"--data: {path}: the model's output for data row {row} is not finite; its values "
            "lie too far outside the range of the training data"
        )
    return outputs


def check_info(info: dict, model: Module, path: str | os.PathLike) -> None:
    """Refuse predict metadata that cannot be used as it is, with `wengert.io.ModelFileError`
    naming the file and the field: features, mean, std, label_map, classes, target_name, and
    the model's input and output widths against them."""

    def refuse(field: str, expected: str) -> io.ModelFileError:
        got = repr(info[field]) if field in info else "nothing (the field is missing)"
        if len(got) > 80:
            got = got[:80] + "..."
        return io.ModelFileError(
            f"{path}: the field {field!r} must be {expected}; got {got}. Train the model "
            "again with `wengert train`"
        )

    features = info.get("features")
    if not _is_list(features, str) or not features or len(set(features)) != len(features):
        raise refuse("features", "a list of the feature columns' names, distinct")
    n = len(features)
    if not _is_list(info.get("mean"), numbers.Real, n, math.isfinite):
        raise refuse("mean", f"a list of {n} finite numbers, one per feature")
    if not _is_list(info.get("std"), numbers.Real, n, lambda s: math.isfinite(s) and s > 0):
        raise refuse("std", f"a list of {n} positive finite numbers, one per feature")
    if not isinstance(info.get("target_name"), str):
        raise refuse("target_name", "the target column's name (a string)")
    label_map = info.get("label_map")
    if label_map not in LABEL_MAPS:
        raise refuse("label_map", f"one of {', '.join(map(repr, LABEL_MAPS))}")
    _check_classes(info, refuse)
    _check_widths(info, model, refuse)


def _check_classes(info: dict, refuse) -> None:
    classes, label_map = info.get("classes"), info["label_map"]
    if label_map == "value":
        if classes is not None:
            raise refuse("classes", "null for a regression model (label_map 'value')")
        return
    count = 2 if label_map in ("logit", "sign") else None
    kind = str if _is_list(classes, str) else int
    how_many = "2" if count else "2 or more"
    if not _is_list(classes, kind, count) or len(classes) < 2 or len(set(classes)) < len(classes):
        raise refuse(
            "classes", f"a list of {how_many} distinct labels (all strings or all whole numbers)"
        )


def _check_widths(info: dict, model, refuse) -> None:
    from wengert.autodiff.mode import no_grad

    n = len(info["features"])
    try:
        with no_grad():
            width = model(np.zeros((1, n))).numpy().reshape(1, -1).shape[1]
    except (ValueError, TypeError):
        inputs = next((p.data.shape[0] for p in model.parameters() if p.data.ndim), "other")
        raise refuse("features", f"one name per input of the model: {inputs} names") from None
    if info["label_map"] == "argmax" and width != len(info["classes"]):
        raise refuse("classes", f"a list of {width} labels, one per output of the model")
    if info["label_map"] != "argmax" and width != 1:
        raise refuse("label_map", f"'argmax' for a model with {width} outputs")


def _is_list(value, kind, length=None, ok=None) -> bool:
    """Whether `value` is a list of `kind` (bool excluded) of `length`, each passing `ok`."""
    if not isinstance(value, list) or (length is not None and len(value) != length):
        return False
    fits = all(isinstance(v, kind) and not isinstance(v, bool) for v in value)
    return fits and (ok is None or all(ok(v) for v in value))
