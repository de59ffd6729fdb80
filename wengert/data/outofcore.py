"""ChunkedLoader: minibatches from arrays that are not in memory, read one chunk at a time.

X (and y) may be a numpy.memmap, an .npy opened with numpy.load(path, mmap_mode="r"), a Dask
array, or wengert.data.chunks.Columns of one of them; ``DataLoader(X, ...)`` with such an X
builds a ChunkedLoader. Nothing is ever read whole: the checks (2-D, numbers, finite, as many
targets as rows) read X and y chunk by chunk when the loader is built, and each pass reads each
chunk once more.

A chunk is `chunk_size` consecutive rows (by default a Dask array's own chunks, or about
64 MB of rows in the loader's dtype), read as one contiguous block. Shuffling is two-level,
chunk then within chunk: each pass draws, from the loader's generator, a permutation of the
chunks and a key; it reads the chunks in that order, shuffles the rows of chunk c with a
generator seeded by (key, c), and cuts batches from them in that order. A batch that a chunk
leaves unfinished takes its first rows from the next, so every batch but the last has
batch_size rows. The same seed gives the same passes; set_epoch(k) replays the draws of
passes 0..k-1 (two numbers each, no data read); shuffle=False reads the rows in order, and the
batches equal those of a DataLoader over the same rows in memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from itertools import accumulate

import numpy as np

from wengert._checks import Boolean, check, refusal
from wengert._checks import Callable as CallableCheck
from wengert.data.chunks import Columns, dask_row_chunks, read_rows
from wengert.data.loader import DataLoader
from wengert.data.validation import _as_real_array, convert_y

__all__ = ["CHUNK_BYTES", "ChunkedLoader"]

# The default chunk: about this many bytes of rows, in the loader's dtype.
CHUNK_BYTES = 64 * 2**20
_OWNER = "DataLoader"


class ChunkedLoader(DataLoader):
    """A DataLoader over X (and y) that are not in memory; see the module's docstring.

    Arguments as DataLoader's (batch_size, shuffle, seed, drop_last, dtype, chunk_size), and
    by keyword:
    chunk_size: rows per chunk, an int >= 1; None takes a Dask array's chunks, or about
        CHUNK_BYTES (64 MB) of rows.
    transform: None, or a function applied to each chunk of X after its conversion to the
        loader's dtype, before batches are cut (e.g. standardisation); it returns the new chunk,
        2-D with one row per row it was given (its columns may change).
    target_transform: the same for each chunk of y (e.g. labels to class indices), 1-D or 2-D.
    check_values: True reads every chunk once here, to refuse NaN, infinity and numbers beyond
        the dtype's range; False, for a caller that has just checked every value itself (one
        pass over a file, not two), checks the shapes and dtypes alone.

    Attributes, besides DataLoader's: dtype (of X's batches), chunk_bounds (each chunk's
    (start, stop) rows), transform, target_transform. X and y are kept as given.

    Memory: about two chunks at a time (the chunk read, and the batches gathered from it); a
    batch_size of None (one batch of every row) holds the whole set, as it must.
    """

    def __init__(
        self,
        X,
        y=None,
        *args: object,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
        target_transform: Callable[[np.ndarray], np.ndarray] | None = None,
        check_values: bool = True,
        **kwargs: object,
    ) -> None:
        for name, function in (("transform", transform), ("target_transform", target_transform)):
            check(_OWNER, name, function, CallableCheck("a function of an ndarray"), None)
        check(_OWNER, "check_values", check_values, Boolean())
        self.transform, self.target_transform = transform, target_transform
        self._check_values = check_values
        super().__init__(X, y, *args, **kwargs)

    def _set_data(self, X, y, dtype: np.dtype | None, chunk_size: int | None) -> None:
        X = _check_X(X)
        y = None if y is None else _check_y(y, len(X))
        self.X, self.y = X, y
        self.n_samples, self.n_features = X.shape
        self.dtype = dtype if dtype is not None else _float_dtype(X.dtype)
        self.chunk_bounds = self._bounds(chunk_size)
        for index in range(len(self.chunk_bounds)) if self._check_values else ():
            self._check_chunk(index)

    def _bounds(self, chunk_size: int | None) -> list[tuple[int, int]]:
        """Each chunk's (start, stop): chunk_size rows, a Dask array's chunks or CHUNK_BYTES."""
        counts = None if chunk_size is not None else dask_row_chunks(self.X)
        if counts is None:
            if chunk_size is None:
                y_width = 0 if self.y is None else (self.y.shape[1] if self.y.ndim == 2 else 1)
                row_bytes = (self.n_features + y_width) * max(self.dtype.itemsize, 8)
                chunk_size = max(1, CHUNK_BYTES // row_bytes)
            full, rest = divmod(self.n_samples, chunk_size)
            counts = [chunk_size] * full + ([rest] if rest else [])
        stops = list(accumulate(counts))
        return list(zip([0, *stops[:-1]], stops, strict=True))

    def _check_chunk(self, index: int) -> None:
        """Refuse the chunk's X or y if it holds NaN or infinity, saying where (whole rows)."""
        start, _ = self.chunk_bounds[index]
        X_chunk, y_chunk = self._read_pair(index)
        for name, chunk in (("X", X_chunk), ("y", y_chunk)):
            if chunk is None or chunk.dtype.kind != "f":
                continue
            bad = ~np.isfinite(chunk)
            if bad.any():
                self._refuse_value(name, start, tuple(int(i) for i in np.argwhere(bad)[0]))

    def _refuse_value(self, name: str, start: int, first: tuple) -> None:
        """Refuse the value at `first` of a chunk of X or y starting at row `start`: NaN or
        infinite as stored, or a finite number beyond the range of the loader's dtype."""
        row = start + first[0]
        where = f"row {row}" + (f", column {first[1]}" if len(first) == 2 else "")
        stored = read_rows(self.X if name == "X" else self.y, row, row + 1)[(0, *first[1:])]
        if np.isfinite(stored):
            raise refusal(
                _OWNER, name, f"within the range of the loader's dtype, {self.dtype}",
                f"{stored} at {where}", fix="Choose a wider dtype, such as numpy.float64.",
            )  # fmt: skip
        raise refusal(
            _OWNER, name, "finite", f"{stored} at {where}",
            fix="Remove or impute the NaN and infinite values.",
        )  # fmt: skip

    def _read_pair(self, index: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Chunk `index` of X (in the loader's dtype) and of y (int64 or that dtype), as read:
        one read of the rows when X and y are Columns of the same array."""
        start, stop = self.chunk_bounds[index]
        X, y = self.X, self.y
        if isinstance(X, Columns) and isinstance(y, Columns) and X.array is y.array:
            block = read_rows(X.array, start, stop)
            X_chunk, y_chunk = block[:, X.columns], block[:, y.columns]
        else:
            X_chunk = read_rows(X, start, stop)
            y_chunk = None if y is None else read_rows(y, start, stop)
        with np.errstate(over="ignore"):  # a number beyond the dtype: refused by _check_chunk
            X_chunk = X_chunk.astype(self.dtype, copy=False)
        if y_chunk is not None:
            y_chunk = convert_y(np.array(y_chunk), self.dtype, _OWNER)
        return X_chunk, y_chunk

    def _chunk(self, index: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Chunk `index` of X and y as batches are cut from it: read and transformed."""
        X_chunk, y_chunk = self._read_pair(index)
        if self.transform is not None:
            X_chunk = _transformed(self.transform, X_chunk, "transform", (2,))
        if y_chunk is not None and self.target_transform is not None:
            y_chunk = _transformed(self.target_transform, y_chunk, "target_transform", (1, 2))
        return X_chunk, y_chunk

    def _chunk_permutation(self, index: int, key: int) -> np.ndarray:
        start, stop = self.chunk_bounds[index]
        return np.random.default_rng([key, index]).permutation(stop - start)

    def _draw_order(self) -> tuple[np.ndarray, int]:
        """A pass's draws: the order of the chunks and the key of the shuffles within them."""
        order = self._rng.permutation(len(self.chunk_bounds))
        return order, int(self._rng.integers(2**63))

    def batch_indices(self) -> list[np.ndarray]:
        """The row indices of each batch of one pass, as iterating uses them (starts a pass;
        reads no data)."""
        order = self._start_pass()
        if order is None:
            rows = np.arange(self.n_samples)
        else:
            chunks, key = order
            rows = np.concatenate(
                [self.chunk_bounds[c][0] + self._chunk_permutation(c, key) for c in chunks]
            )
        return [rows[start : start + self.batch_size] for start in self._starts()]

    def _batches(self, order: tuple[np.ndarray, int] | None) -> Iterator:
        key = None if order is None else order[1]
        chunks = range(len(self.chunk_bounds)) if order is None else order[0]
        size = self.batch_size
        pending: list[tuple[np.ndarray, np.ndarray | None]] = []
        waiting = 0  # rows in pending, fewer than batch_size
        for index in chunks:
            X_chunk, y_chunk = self._chunk(int(index))
            rows = None if key is None else self._chunk_permutation(int(index), key)
            n, start = len(X_chunk), 0
            if pending:
                start = min(size - waiting, n)
                pending.append(_take(X_chunk, y_chunk, rows, 0, start, True))
                waiting += start
                if waiting < size:
                    continue
                yield self._batch(_joined(pending))
                pending, waiting = [], 0
            stop = start + (n - start) // size * size
            for first in range(start, stop, size):
                # The chunk's last batch has its own memory, so that the chunk can be freed
                # while the caller still holds that batch and asks for the next.
                yield self._batch(
                    _take(X_chunk, y_chunk, rows, first, first + size, first + size == stop)
                )
            if stop < n:
                pending, waiting = [_take(X_chunk, y_chunk, rows, stop, n, True)], n - stop
            X_chunk = y_chunk = rows = None  # freed before the next chunk is read
        if pending and not self.drop_last:
            yield self._batch(_joined(pending))

    def _batch(self, pair: tuple[np.ndarray, np.ndarray | None]):
        X_batch, y_batch = pair
        X_batch.flags.writeable = False
        if y_batch is None:
            return X_batch
        y_batch.flags.writeable = False
        return X_batch, y_batch

    def __repr__(self) -> str:
        return (
            f"ChunkedLoader(n_samples={self.n_samples}, n_features={self.n_features}, "
            f"batch_size={self.batch_size}, batches={len(self)}, chunks={len(self.chunk_bounds)}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed}, "
            f"epoch={self.epoch})"
        )


def _transformed(function: Callable, chunk: np.ndarray, name: str, ndims: tuple) -> np.ndarray:
    """function(chunk) as an ndarray, refused unless it keeps one row per row of the chunk
    (batches are cut, and X matched with y, by row)."""
    result = np.asarray(function(chunk))
    if result.ndim not in ndims or len(result) != len(chunk):
        dims = " or ".join(f"{d}-D" for d in ndims)
        raise refusal(
            _OWNER, name, f"a function that returns a {dims} array of one row per row of its "
            f"chunk ({len(chunk)} rows)", f"an array of shape {result.shape}",
        )  # fmt: skip
    return result


def _take(X, y, rows, first: int, last: int, copy: bool = False):
    """Rows first..last-1 of a chunk's X and y, through the chunk's permutation `rows` (a
    gather: new arrays) or, without one, as views (copies with `copy`)."""
    if rows is not None:
        picked = rows[first:last]
        return X[picked], None if y is None else y[picked]
    X_part, y_part = X[first:last], None if y is None else y[first:last]
    if copy:
        return X_part.copy(), None if y_part is None else y_part.copy()
    return X_part, y_part


def _joined(pieces: list[tuple[np.ndarray, np.ndarray | None]]):
    X_batch = np.concatenate([X for X, _ in pieces])
    if pieces[0][1] is None:
        return X_batch, None
    return X_batch, np.concatenate([y for _, y in pieces])


def _check_X(X):
    """X's shape and dtype, checked without reading it: 2-D, not empty, of real numbers."""
    if not hasattr(X, "shape") or not hasattr(X, "dtype"):
        X = np.asarray(X)
    _check_numbers(X, "X")  # first: a table of named fields is 1-D, yet no bad shape
    got = f"a {X.ndim}-D array of shape {tuple(X.shape)}"
    if X.ndim != 2:
        raise refusal(_OWNER, "X", "2-D, of shape (n_samples, n_features)", got)
    _check_known_shape(X, "X")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise refusal(_OWNER, "X", "an array of at least 1 sample and 1 feature", got)
    return X


def _check_y(y, n_samples: int):
    """y's shape and dtype, checked without reading it: one entry (or row) per row of X."""
    if not hasattr(y, "shape") or not hasattr(y, "dtype"):
        y = _as_real_array(y, "y", _OWNER)  # a list: as a DataLoader in memory takes it
    if y.ndim not in (1, 2):
        raise refusal(
            _OWNER, "y", "of shape (n_samples,) or (n_samples, n_outputs)", f"shape {y.shape}"
        )
    _check_known_shape(y, "y")
    if y.shape[0] != n_samples:
        expected = f"an array with one entry per row of X ({n_samples})"
        raise refusal(_OWNER, "y", expected, f"{y.shape[0]} entries")
    _check_numbers(y, "y")
    return y


def _check_known_shape(array, name: str) -> None:
    """Refuse a Dask array whose chunk sizes are unknown (NaN in its shape), e.g. the result of
    a boolean mask: its rows cannot be counted or cut into batches without computing it."""
    if any(isinstance(n, float) and math.isnan(n) for n in array.shape):
        got = f"a Dask array of shape {tuple(array.shape)}"
        raise refusal(
            _OWNER, name, "an array of known shape", f"{got}, whose chunk sizes are unknown",
            fix=f"Compute them first: {name} = {name}.compute_chunk_sizes().",
        )  # fmt: skip


def _check_numbers(array, name: str) -> None:
    dtype = np.dtype(array.dtype)
    if dtype.kind not in "biuf":
        got = f"an array of dtype {dtype}"
        fix = ""
        if dtype.names:
            fix = "Give its fields as columns: numpy.lib.recfunctions.structured_to_unstructured."
        raise refusal(_OWNER, name, "an array of real numbers", got, TypeError, fix=fix)


def _float_dtype(dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    return dtype if dtype.kind == "f" else np.dtype(np.float64)
