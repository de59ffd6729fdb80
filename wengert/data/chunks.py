"""Reading rows of arrays that are not in memory, one block of rows at a time.

Three kinds of array are read here without being loaded whole:

    numpy.memmap, and an .npy file opened with numpy.load(path, mmap_mode="r")   (mapped)
    a Dask array, computed one block of rows at a time                           (dask)
    Columns(array, columns): some columns of either, e.g. a file's features without its target

`read_rows(array, start, stop)` returns rows start..stop-1 as a new ndarray in the array's own
dtype. A mapped file's pages that a read touched count in the process's resident memory until
the kernel reclaims them; after copying a block, read_rows tells the kernel it may drop them
(madvise MADV_DONTNEED; the data stays in the file and the page cache), so reading a file
larger than memory keeps the resident set at about one block. A copy-on-write mapping
(mmap_mode="c") keeps its pages: dropping them would undo writes into it.

Dask is imported by the Dask array itself, never here: `import wengert` does not import it.
"""

from __future__ import annotations

import contextlib
import ctypes
import mmap
from collections.abc import Iterator, Sequence

import numpy as np

from wengert._checks import refusal, what_came

__all__ = ["Columns", "is_out_of_core", "read_rows", "row_blocks"]

# A mapped block is copied this many bytes at a time, its pages dropped after each.
_COPY_BYTES = 8 * 2**20


class Columns:
    """Some columns of a 2-D array that is not in memory, read without the others in memory.

    `array` is a memory-mapped or Dask array of shape (n_rows, n_cols); `columns` the indices
    kept, in their order (an int keeps one column and makes the selection 1-D, as ``a[:, j]``).
    Reading rows reads them whole (one contiguous block of the file) and keeps the columns.

    >>> import numpy as np
    >>> Columns(np.zeros((4, 3)), [0, 2]).shape
    (4, 2)
    """

    def __init__(self, array: object, columns: int | Sequence[int]) -> None:
        if len(getattr(array, "shape", ())) != 2:
            raise refusal(
                "Columns", "array", "a 2-D array of shape (n_rows, n_cols)", what_came(array)
            )
        n_rows, n_cols = array.shape
        one = _is_index(columns)
        picked = np.arange(n_cols)[_indices(columns, n_cols)]
        self.array = array
        self.columns = int(picked[0]) if one else _as_slice(picked)
        self.shape = (n_rows,) if one else (n_rows, len(picked))
        self.dtype = np.dtype(array.dtype)
        self.ndim = len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """All rows of the selected columns, read block by block into one array in memory
        (numpy.asarray(columns); e.g. a target column's labels)."""
        rows = max(1, _COPY_BYTES // max(1, self.array.shape[1] * self.dtype.itemsize))
        whole = np.concatenate(list(row_blocks(self, rows))) if len(self) else np.empty(self.shape)
        return whole if dtype is None else whole.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return f"Columns({type(self.array).__name__} of shape {self.array.shape}, {self.columns})"


def _is_index(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _indices(columns: object, n_cols: int) -> np.ndarray:
    """`columns` (an index, or a sequence of them) as an array of indices, each checked to be
    a whole number in [-n_cols, n_cols) (counted from the end when negative)."""
    many = isinstance(columns, (Sequence, np.ndarray)) and not isinstance(columns, (str, bytes))
    items = list(columns) if many else [columns]
    expected = f"a column index or a list of them, each an int in [{-n_cols}, {n_cols - 1}]"
    if not items or not all(_is_index(item) for item in items):
        error = TypeError if items else ValueError
        raise refusal("Columns", "columns", expected, what_came(columns), error)
    if not all(-n_cols <= item < n_cols for item in items):
        raise refusal("Columns", "columns", expected, what_came(columns))
    return np.asarray(items, dtype=np.intp)


def _as_slice(picked: np.ndarray) -> np.ndarray | slice:
    """A run of consecutive columns as a slice, which selects them without a copy."""
    if len(picked) and np.array_equal(picked, np.arange(picked[0], picked[0] + len(picked))):
        return slice(int(picked[0]), int(picked[0]) + len(picked))
    return picked


def is_out_of_core(array: object) -> bool:
    """Whether `array` is read by blocks here: a memory-mapped ndarray (or a view of one), a
    Dask array, or Columns of either."""
    if isinstance(array, Columns):
        return True
    if isinstance(array, np.ndarray):
        return _mapping(array) is not None
    return _is_dask(array)


def read_rows(array: object, start: int, stop: int) -> np.ndarray:
    """Rows start..stop-1 of `array` as a new ndarray of its dtype (any array is_out_of_core
    accepts, or an ndarray in memory, whose rows come back as a view)."""
    if isinstance(array, Columns):
        block = read_rows(array.array, start, stop)
        return np.ascontiguousarray(block[:, array.columns])
    if _is_dask(array):
        return np.asarray(array[start:stop].compute())
    if not isinstance(array, np.ndarray):
        raise refusal("read_rows", "array", "an ndarray, a Dask array or Columns", what_came(array))
    view = array[start:stop]
    memmap = _mapping(array)
    if memmap is None:
        return view
    block = np.empty(view.shape, dtype=view.dtype)
    step = max(1, _COPY_BYTES // max(view[:1].nbytes, 1))
    for first in range(0, len(view), step):  # a few MB at a time, each dropped once copied
        block[first : first + step] = view[first : first + step]
        if memmap.mode != "c":
            release(view[first : first + step])
    return block


def row_blocks(array: object, rows: int) -> Iterator[np.ndarray]:
    """`array`'s rows in order, `rows` at a time (the last block may be shorter)."""
    for start in range(0, len(array), rows):
        yield read_rows(array, start, min(start + rows, len(array)))


def dask_row_chunks(array: object) -> list[int] | None:
    """The row counts of a Dask array's chunks along axis 0 (of Columns' array for Columns), or
    None for an array that is not a Dask array."""
    inner = array.array if isinstance(array, Columns) else array
    return [int(n) for n in inner.chunks[0]] if _is_dask(inner) else None


def release(view: np.ndarray) -> None:
    """Tell the kernel that the mapped pages under `view` may be dropped from this process's
    resident set (the file keeps the data: a later read maps them again). A no-op where the
    system offers no madvise."""
    advice = getattr(mmap, "MADV_DONTNEED", None)
    if advice is None or view.size == 0:
        return
    low, high = np.lib.array_utils.byte_bounds(view)
    page = mmap.PAGESIZE
    first = low - low % page
    last = -(-high // page) * page
    with contextlib.suppress(OSError, AttributeError):
        _libc().madvise(ctypes.c_void_p(first), ctypes.c_size_t(last - first), advice)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _mapping(array: np.ndarray) -> np.memmap | None:
    """The numpy.memmap that `array`'s memory belongs to, or None for memory of its own."""
    seen = array
    while isinstance(seen, np.ndarray):
        if isinstance(seen, np.memmap) and getattr(seen, "_mmap", None) is not None:
            return seen
        seen = seen.base
    return None


def _is_dask(array: object) -> bool:
    # By the class's module, so that Dask is never imported to ask.
    return type(array).__module__.split(".")[0] == "dask" and hasattr(array, "compute")
