"""A fingerprint of training data: the SHA-256 of X and y, their dtypes and shapes.

fit()'s checkpoints record it, so that a run resumed on other data (of the same shape, which
every other check would let through) is refused. It is computed once per fit, in chunks of rows,
so that memory-mapped data is read without being copied whole.
"""

from __future__ import annotations

import hashlib

import numpy as np
from numpy.typing import ArrayLike

_CHUNK_BYTES = 1 << 22


def data_fingerprint(X: ArrayLike, y: ArrayLike | None = None) -> str:
    """ "sha256:<hex>" of the arrays X and y (None for no labels): bytes, dtype and shape."""
    digest = hashlib.sha256()
    for array in (X, y):
        if array is None:
            digest.update(b"none;")
            continue
        array = np.asarray(array)
        digest.update(f"{array.dtype.str}{list(array.shape)};".encode())
        if array.ndim == 0 or array.size == 0:
            digest.update(array.tobytes())
            continue
        row_bytes = max(array[0].nbytes, 1)
        rows = max(1, _CHUNK_BYTES // row_bytes)
        for start in range(0, len(array), rows):
            digest.update(np.ascontiguousarray(array[start : start + rows]).tobytes())
    return "sha256:" + digest.hexdigest()


__all__ = ["data_fingerprint"]
