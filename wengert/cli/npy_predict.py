"""`wengert predict --data FILE.npy`: predictions for the rows of a 2-D .npy file, read in blocks.

The file holds the model's features in the training order, alone or with the target's column
where training found it (--target's index, or the last column), which is skipped. It is
memory-mapped and read a block of rows at a time; the predictions of every block are made, and
checked, before the first is written, so a refused file writes nothing.
"""

from __future__ import annotations

import numpy as np

from wengert.autodiff.mode import no_grad
from wengert.cli.npy_runs import open_npy
from wengert.cli.runs import predictions
from wengert.data import Columns
from wengert.data.chunks import row_blocks

__all__ = ["npy_predictions"]

# Rows are predicted about this many bytes of inputs at a time.
BLOCK_BYTES = 16 * 2**20


def npy_predictions(model: object, info: dict, path: str) -> list[np.ndarray]:
    """The predictions (labels or values) for the rows of the .npy file `path`, one array per
    block of rows; ValueError naming --data for a file that does not fit the model."""
    array = open_npy(path, min_columns=1)
    features = _feature_columns(array.shape[1], info, path)
    mean, std = np.asarray(info["mean"], dtype=np.float64), np.asarray(info["std"])
    rows = max(1, BLOCK_BYTES // (array.shape[1] * 8))
    done, start = [], 0
    for block in row_blocks(Columns(array, features), rows):
        with no_grad(), np.errstate(over="ignore", invalid="ignore"):
            outputs = model((block.astype(np.float64) - mean) / std).numpy()
        bad = ~np.isfinite(outputs.reshape(len(block), -1)).all(axis=1)
        if bad.any():
            raise ValueError(
                f"--data: {path}: the model's output for row {start + int(np.argmax(bad))} "
                "(counting from 0) is not finite; its values are not finite, or lie too far "
                "outside the range of the training data"
            )
        done.append(predictions(info, outputs))
        start += len(block)
    return done


def _feature_columns(n_cols: int, info: dict, path: str) -> list[int]:
    """The file's columns that hold the model's features: all of them, or all but the
    target's."""
    n = len(info["features"])
    if n_cols == n:
        return list(range(n))
    if n_cols != n + 1:
        raise ValueError(
            f"--data: {path} has {n_cols} columns; the model takes {n} features, so give {n} "
            f"columns (the features, in the training order) or {n + 1} (with the target)"
        )
    target = info.get("target")
    try:
        skip = n if target is None else int(target) % n_cols
    except ValueError:
        skip = n
    return [j for j in range(n_cols) if j != skip]
