"""A fingerprint of training data: the SHA-256 of X and y, their dtypes and shapes.

fit()'s checkpoints record it, so that a run resumed on other data (of the same shape, which
every other check would let through) is refused. It is computed once per fit, in chunks of rows,
so that memory-mapped data is read without being copied whole.
"""

from __future__ import annotations

import hashlib

import numpy as np
from numpy.typing import ArrayLike

from wengert.data.chunks import is_out_of_core, row_blocks

_CHUNK_BYTES = 1 << 22


def data_fingerprint(X: ArrayLike, y: ArrayLike | None = None) -> str:
    """ "sha256:<hex>" of the arrays X and y (None for no labels): bytes, dtype and shape."""
    digest = hashlib.sha256()
    for array in (X, y):
        if array is None:
            digest.update(b"none;")
            continue
        if not is_out_of_core(array):  # mapped and Dask arrays are read by blocks, not whole
            array = np.asarray(array)
        digest.update(f"{np.dtype(array.dtype).str}{list(array.shape)};".encode())
        if array.ndim == 0 or 0 in array.shape:
            digest.update(np.asarray(array).tobytes())
            continue
        row_bytes = max(int(np.prod(array.shape[1:])) * np.dtype(array.dtype).itemsize, 1)
        for block in row_blocks(array, max(1, _CHUNK_BYTES // row_bytes)):
            digest.update(np.ascontiguousarray(block).tobytes())
    return "sha256:" + digest.hexdigest()


__all__ = ["data_fingerprint"]
