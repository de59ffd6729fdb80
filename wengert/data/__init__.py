"""Data: minibatches for gradient descent, and datasets to train on.

    DataLoader(X, y, batch_size=32, shuffle=True, seed=None)   minibatches of (X, y), one pass
                                                               per `for` loop (wengert.data.loader)
    datasets: seed_table, blobs, xor, circles, moons, spirals, digits, iris, breast_cancer,
              wine, from_csv, train_test_split, standardize   (wengert.data.datasets)
    ChunkedLoader, Columns                                     the same over a numpy.memmap, an
                                                               .npy opened with mmap_mode or a
                                                               Dask array, chunk by chunk
                                                               (wengert.data.outofcore, .chunks)
    check_X_y(X, y, owner=...)                                 the shared input checker
                                                               (wengert.data.validation)

Everything here needs NumPy alone, except the four real sets, which load scikit-learn's bundled
copies (pip install 'wengert[datasets]').

Layer: data, below the optimizers; it imports only the layers above it (checks through
optimizers).
"""

from wengert.data import datasets
from wengert.data.chunks import Columns
from wengert.data.datasets import (
    blobs,
    breast_cancer,
    circles,
    digits,
    from_csv,
    iris,
    moons,
    seed_table,
    spirals,
    standardize,
    train_test_split,
    wine,
    xor,
)
from wengert.data.loader import DataLoader
from wengert.data.outofcore import ChunkedLoader
from wengert.data.validation import check_X_y

__all__ = [
    "ChunkedLoader",
    "Columns",
    "DataLoader",
    "blobs",
    "breast_cancer",
    "check_X_y",
    "circles",
    "datasets",
    "digits",
    "from_csv",
    "iris",
    "moons",
    "seed_table",
    "spirals",
    "standardize",
    "train_test_split",
    "wine",
    "xor",
]
