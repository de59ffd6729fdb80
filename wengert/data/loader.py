"""DataLoader: minibatches of (X, y) for stochastic, minibatch and full-batch gradient descent.

The lecture's update θ ← θ − η ∂L/∂θ uses the gradient of the loss over some samples:

    batch_size=1, shuffle=True      one randomly selected sample per step ("select randomly!"):
                                    stochastic gradient descent
    batch_size=B < N                a minibatch of B samples per step
    batch_size=None or B >= N       every sample in one batch: (full-batch) gradient descent
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from numbers import Integral

import numpy as np

from wengert._checks import Boolean, Interval, check
from wengert.data.chunks import is_out_of_core
from wengert.data.validation import check_dtype, check_X_y

COUNT = Interval(Integral, 1, None)

__all__ = ["DataLoader"]


class DataLoader:
    """Iterate over (X_batch, y_batch) minibatches, one pass over the data per `for` loop.

    X: array-like (n_samples, n_features); y: None, or array-like (n_samples,) or
    (n_samples, n_outputs). Iterating yields ``(X_batch, y_batch)`` NumPy arrays, or ``X_batch``
    alone when y is None. ``len(loader)`` is the number of batches per pass.

    batch_size: samples per batch, an int >= 1; None, or any value >= n_samples, gives one batch
    holding the whole set. The last batch of a pass is smaller when batch_size does not divide
    n_samples; ``drop_last=True`` leaves it out (a batch_size >= n_samples still gives one batch).

    shuffle: each pass visits the samples in a new random order. Indices are shuffled, never the
    data: X and y are kept as given (an ndarray already of the dtype asked for is neither
    copied nor reordered) and each batch is gathered as ``X[idx], y[idx]`` for that pass's
    indices ``idx``, a new array. With ``shuffle=False`` every pass runs in row order and
    batches are read-only views of X and y (no copy; a training step cannot write into X).

    seed: an int, or None for a seed drawn once from the operating system's entropy. The order
    is reproducible: pass number k over the loader (k = 0, 1, ...) uses the k-th permutation
    drawn from ``numpy.random.default_rng(seed)``, so two loaders with the same seed give the same
    sequence of orders, and successive passes give different orders. ``loader.epoch`` counts the
    passes started; ``loader.set_epoch(k)`` makes the next pass use permutation k (to resume a
    run exactly). ``loader.seed`` is the seed in use, also when None was passed.

    dtype: a floating dtype that X, and a floating y, are converted to once, here (e.g.
    numpy.float32 for float32 models); integer labels stay int64. None keeps a floating X's
    dtype and makes other X float64.

    chunk_size: for arrays that are not in memory, the rows read at a time (None: a Dask
    array's own chunks, or about 64 MB); ignored for arrays in memory. A numpy.memmap, an .npy
    opened with numpy.load(path, mmap_mode="r") or a Dask array as X makes the loader a
    ChunkedLoader (wengert.data.outofcore), which reads it chunk by chunk and never whole.

    Attributes: X, y (the arrays batches are taken from), n_samples, n_features, batch_size (as
    used: n_samples for a full batch), shuffle, drop_last, seed, epoch.

    >>> loader = DataLoader([[1.0], [2.0], [3.0]], [0, 1, 0], batch_size=2, seed=0)
    >>> len(loader), [xb.shape for xb, yb in loader]
    (2, [(2, 1), (1, 1)])
    """

    def __new__(cls, X=None, *args, **kwargs) -> DataLoader:
        """A ChunkedLoader for an X that is not in memory, a DataLoader for any other."""
        if cls is DataLoader and is_out_of_core(X):
            from wengert.data.outofcore import ChunkedLoader

            cls = ChunkedLoader
        return super().__new__(cls)

    def __init__(
        self,
        X,
        y=None,
        batch_size: int | None = 32,
        shuffle: bool = True,
        seed: int | None = None,
        drop_last: bool = False,
        dtype=None,
        chunk_size: int | None = None,
    ) -> None:
        owner = "DataLoader"
        check(owner, "shuffle", shuffle, Boolean())
        check(owner, "drop_last", drop_last, Boolean())
        check(owner, "batch_size", batch_size, COUNT, None)
        check(owner, "seed", seed, Interval(Integral, 0, None), None)
        check(owner, "chunk_size", chunk_size, COUNT, None)
        # Drawn once, so that the run can be repeated (loader.seed) and positioned (set_epoch);
        # a drawn seed is no choice of the user's: a resumed fit() takes its checkpoint's.
        drawn = seed is None
        seed = int(np.random.SeedSequence().entropy) if drawn else int(seed)
        self._set_data(X, y, check_dtype(dtype, owner=owner), chunk_size)
        self.batch_size = self.n_samples if batch_size is None else min(batch_size, self.n_samples)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        self._seed_drawn = drawn
        self.epoch = 0
        self._rng = np.random.default_rng(seed)

    def _set_data(self, X, y, dtype: np.dtype | None, chunk_size: int | None) -> None:
        """Check X and y and keep them, as arrays in memory (ChunkedLoader: as given)."""
        X, y = check_X_y(X, y, owner="DataLoader", dtype=dtype)
        self.X = X
        self.y = y
        self.n_samples, self.n_features = X.shape

    def __len__(self) -> int:
        if self.drop_last:
            return self.n_samples // self.batch_size
        return math.ceil(self.n_samples / self.batch_size)

    def __iter__(self) -> Iterator:
        return self._batches(self._start_pass())

    def set_epoch(self, epoch: int) -> None:
        """Make the next pass use permutation number `epoch` (0-based) of this seed's sequence.

        The generator is re-seeded and the permutations of passes 0 .. epoch-1 are drawn and
        dropped, so the next pass is exactly the one a fresh loader's pass `epoch` would be.
        """
        check("DataLoader.set_epoch", "epoch", epoch, Interval(Integral, 0, None))
        self._rng = np.random.default_rng(self.seed)
        if self.shuffle:
            for _ in range(epoch):
                self._draw_order()
        self.epoch = int(epoch)

    def batch_indices(self) -> list[np.ndarray]:
        """The row indices of each batch of one pass, as iterating uses them (starts a pass)."""
        order = self._start_pass()
        order = np.arange(self.n_samples) if order is None else order
        return [order[start : start + self.batch_size] for start in self._starts()]

    def _start_pass(self) -> np.ndarray | None:
        # Called when a pass starts (in __iter__, not at the first next()), so that `epoch` and
        # the generator move together however the iterator is consumed.
        order = self._draw_order() if self.shuffle else None
        self.epoch += 1
        return order

    def _draw_order(self) -> np.ndarray:
        """One pass's order, drawn from the generator (the only draw a pass makes)."""
        return self._rng.permutation(self.n_samples)

    def _starts(self) -> range:
        return range(0, len(self) * self.batch_size, self.batch_size)

    def _batches(self, order: np.ndarray | None) -> Iterator:
        for start in self._starts():
            if order is None:
                rows = slice(start, start + self.batch_size)
                X_batch, y_batch = _read_only(self.X[rows]), self._take_y(rows, view=True)
            else:
                rows = order[start : start + self.batch_size]
                X_batch, y_batch = self.X[rows], self._take_y(rows, view=False)
            yield X_batch if self.y is None else (X_batch, y_batch)

    def _take_y(self, rows, view: bool):
        if self.y is None:
            return None
        return _read_only(self.y[rows]) if view else self.y[rows]

    def __repr__(self) -> str:
        return (
            f"DataLoader(n_samples={self.n_samples}, n_features={self.n_features}, "
            f"batch_size={self.batch_size}, batches={len(self)}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last}, seed={self.seed}, epoch={self.epoch})"
        )


def _read_only(view: np.ndarray) -> np.ndarray:
    # A view shares X's memory; making it read-only keeps a training step from writing into X.
    view.flags.writeable = False
    return view
