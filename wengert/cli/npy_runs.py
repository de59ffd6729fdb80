"""`wengert train --data FILE.npy`: a run over a 2-D .npy file read chunk by chunk, never whole.

The file holds one row per sample: the features and, in the last column (or --target's index),
the target. It is opened memory-mapped (numpy.load(mmap_mode="r")) and read in blocks of rows:

- one pass checks it (numbers, finite) and finds what the run needs: the task (the target's
  values are class labels when they are whole numbers, at most 50 different ones and at most
  one per two rows; real values otherwise, as for the same numbers in a CSV file: a .npy file
  has one dtype for all its columns, so an integer dtype says nothing of the target's kind) and
  each feature's mean and standard deviation over the training rows (Chan's pairwise update of
  per-block sums);
- the validation rows are the LAST ceil(val_split x rows) rows, the only ones held in memory;
  the training rows are all the rows before them, never copied whole;
- training reads them through a ChunkedLoader (wengert.data.outofcore), which standardises each
  chunk as it is read and shuffles chunk, then row within chunk, by --seed.

Bad input (not .npy, not 2-D, not numbers, NaN or infinity, too few rows) is refused, naming
--data (or --target, --val-split), before anything is written.
"""

from __future__ import annotations

import math

import numpy as np

from wengert.cli.boundary import check_file
from wengert.cli.models import build_model, loss_spec
from wengert.cli.runs import (
    MAX_CLASSES,
    Run,
    _loss_fn,
    _optimizer,
    _targets,
    check_memory,
    memory_cap,
    whole_number_classes,
)
from wengert.data import ChunkedLoader, Columns
from wengert.data.chunks import row_blocks

__all__ = ["is_npy", "open_npy", "prepare_npy", "scan_npy"]

# Rows are scanned about this many bytes at a time.
SCAN_BYTES = 32 * 2**20


def is_npy(spec: str) -> bool:
    """Whether --data names a .npy file (by its suffix), which prepare_npy reads."""
    return spec.lower().endswith(".npy")


def open_npy(path: str, min_columns: int = 2) -> np.ndarray:
    """The 2-D array of real numbers in the .npy file `path`, memory-mapped (read-only), of at
    least `min_columns` columns (2: the features and the target)."""
    check_file("--data", path)
    with open(path, "rb") as file:
        if file.read(6) != b"\x93NUMPY":
            raise ValueError(
                f"--data: {path} is not a .npy file (it does not start with NumPy's header); "
                "write it with numpy.save or numpy.lib.format.open_memmap"
            )
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        if "Python objects" in str(exc):
            raise ValueError(
                f"--data: {path} must hold real numbers; its dtype is object"
            ) from None
        raise ValueError(f"--data: {path} is a damaged .npy file ({exc})") from None
    except (OSError, EOFError) as exc:
        raise ValueError(
            f"--data: {path} is not a .npy file that NumPy can map ({exc}); write it with "
            "numpy.save or numpy.lib.format.open_memmap"
        ) from None
    if not isinstance(array, np.ndarray):
        raise ValueError(f"--data: {path} is not a .npy file (an .npz archive?); give one array")
    if array.dtype.kind not in "biuf":
        raise ValueError(f"--data: {path} must hold real numbers; its dtype is {array.dtype}")
    if array.ndim != 2 or array.shape[1] < min_columns:
        columns = "2 columns (the features and the target)" if min_columns == 2 else "1 column"
        raise ValueError(
            f"--data: {path} must hold a 2-D array of at least {columns}, one row per sample; "
            f"got shape {array.shape}"
        )
    return array


def _target_index(target: str | None, n_cols: int, path: str) -> int:
    """--target as a column index of the file, counted from 0 (negative from the end)."""
    if target is None:
        return n_cols - 1
    try:
        index = int(target)
    except ValueError:
        raise ValueError(
            f"--target: the columns of a .npy file have no names; give the target's index "
            f"(0 to {n_cols - 1}, or -1 for the last); got {target!r}"
        ) from None
    if not -n_cols <= index < n_cols:
        raise ValueError(f"--target: {path} has {n_cols} columns (0 to {n_cols - 1}); got {index}")
    return index % n_cols


def _split(n_rows: int, val_split: float, path: str) -> int:
    """The number of training rows: all but the last ceil(val_split x rows)."""
    n_val = math.ceil(val_split * n_rows)
    if n_rows - n_val < 1 or n_rows < 1:
        raise ValueError(
            f"--data: {path} has too few rows ({n_rows}) to train on: --val-split {val_split:g} "
            f"keeps {n_val} for validation; give more rows, or a smaller --val-split"
        )
    return n_rows - n_val


def scan_npy(array: np.ndarray, target: int, n_train: int, path: str) -> dict:
    """One pass over `array`'s rows, block by block: refuse NaN and infinity (naming the first
    one's row and column), collect the target's classes (None for real values), and the
    features' mean and standard deviation over the first `n_train` rows."""
    features = [j for j in range(array.shape[1]) if j != target]
    count, mean, m2 = 0, np.zeros(len(features)), np.zeros(len(features))
    labels: np.ndarray | None = np.empty(0, dtype=array.dtype)
    rows = max(1, SCAN_BYTES // (array.shape[1] * 8))
    start = 0
    for block in row_blocks(array, rows):
        _check_finite(block, start, path)
        labels = _more_labels(labels, block[:, target], array.dtype)
        train = block[: max(0, n_train - start), features].astype(np.float64)
        if len(train):
            count, mean, m2 = _combine(count, mean, m2, train)
        start += len(block)
    std = np.sqrt(m2 / count)
    classes = None if labels is None else whole_number_classes(labels, len(array))
    return {"classes": classes, "mean": mean, "std": np.where(std > 0, std, 1.0)}


def _check_finite(block: np.ndarray, start: int, path: str) -> None:
    if block.dtype.kind != "f" or np.isfinite(block).all():
        return
    row, column = np.argwhere(~np.isfinite(block))[0]
    raise ValueError(
        f"--data: {path} holds NaN or infinite values, the first ({block[row, column]}) at row "
        f"{start + int(row)}, column {int(column)}; remove or impute them"
    )


def _more_labels(labels: np.ndarray | None, column: np.ndarray, dtype: np.dtype):
    """The target's distinct values so far; None once they cannot be class labels (a value
    that is not whole, or more than MAX_CLASSES values: never more are kept)."""
    if labels is None:
        return None
    if dtype.kind == "f" and not np.all(column == np.round(column)):
        return None
    labels = np.union1d(labels, column)
    return None if len(labels) > MAX_CLASSES else labels


def _combine(count: int, mean: np.ndarray, m2: np.ndarray, block: np.ndarray):
    """(count, mean, sum of squared deviations) of the rows so far and `block` together
    (Chan, Golub and LeVeque's pairwise update)."""
    n = len(block)
    block_mean = block.mean(axis=0)
    block_m2 = ((block - block_mean) ** 2).sum(axis=0)
    total = count + n
    delta = block_mean - mean
    mean = mean + delta * (n / total)
    m2 = m2 + block_m2 + delta**2 * (count * n / total)
    return total, mean, m2


def prepare_npy(config: dict, hidden: list[int]) -> Run:
    """The Run of `wengert train --data FILE.npy`: a ChunkedLoader over the training rows, the
    validation rows in memory, standardised and encoded; raises ValueError for bad input."""
    path = config["data"]
    array = open_npy(path)
    n_rows, n_cols = array.shape
    target = _target_index(config["target"], n_cols, path)
    n_train = _split(n_rows, config["val_split"], path)
    found = scan_npy(array, target, n_train, path)
    mean, std = found["mean"], found["std"]
    if not config.get("standardize", True):
        mean, std = np.zeros(n_cols - 1), np.ones(n_cols - 1)
    classes = found["classes"]
    spec = loss_spec(config, classes)
    label_map = "value" if classes is None else _targets(classes, classes, spec)[1]
    features = [j for j in range(n_cols) if j != target]
    n_out = len(classes) if label_map == "argmax" else 1
    val = _validation(array, features, target, n_train, (mean, std, classes, spec))
    if config["model"] == "mlp":
        rows = max(min(config["batch_size"], n_train), 0 if val is None else len(val[1]))
        check_memory(config["hidden"], [n_cols - 1, *hidden, n_out], rows)
    train = ChunkedLoader(
        Columns(array[:n_train], features),
        Columns(array[:n_train], target),
        batch_size=config["batch_size"],
        shuffle=config["shuffle"],
        seed=config["seed"],
        transform=lambda X: (X - mean) / std,
        target_transform=lambda y: _targets(y, classes, spec)[0],
        check_values=False,  # scan_npy has just read and checked every value
    )
    model = build_model(config, hidden, n_cols - 1, n_out)
    opt = _optimizer(config, model.parameters(), len(train) * config["epochs"])
    names = [f"x{k + 1}" for k in range(n_cols - 1)]
    return Run(
        model, _loss_fn(spec), opt, train, val, classes, mean, std, label_map, names,
        f"column {target}",
    )  # fmt: skip


def _validation(array: np.ndarray, features: list, target: int, n_train: int, how: tuple):
    """The last rows, (standardised X, encoded targets), read into memory; None for none."""
    if n_train == len(array):
        return None
    mean, std, classes, spec = how
    need = (len(array) - n_train) * array.shape[1] * 8 * 2
    cap, what = memory_cap()
    if need > cap // 2:
        raise ValueError(
            f"--val-split: the {len(array) - n_train} validation rows are held in memory, "
            f"about {need / 2**30:,.1f} GiB, more than half of {cap / 2**30:,.1f} GiB ({what}); "
            "choose a smaller --val-split"
        )
    rows = array[n_train:]
    X_val = np.concatenate(list(row_blocks(Columns(rows, features), 1 << 16)))
    y_val = np.concatenate(list(row_blocks(Columns(rows, target), 1 << 16)))
    return (X_val - mean) / std, _targets(y_val, classes, spec)[0]
