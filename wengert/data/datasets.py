"""Datasets: the lecture's table, 2-D toy sets, four small real sets, CSV files; and the split.

Every function returns ``(X, y)`` with X float64 of shape (n_samples, n_features):

    seed_table()                       the lecture's four (x, y) pairs, y float64 (regression)
    blobs, xor, circles, moons, spirals   2-D point sets from a seed, y int64 (wengert.data.toy)
    digits, iris, breast_cancer, wine  scikit-learn's bundled sets, y int64 (needs the
                                       'datasets' extra: pip install 'wengert[datasets]')
    from_csv(path, target)             a CSV file (wengert.data.csv)

and ``train_test_split`` / ``standardize`` prepare them for training, in NumPy alone.
"""

from __future__ import annotations

import math
import numbers
from numbers import Integral, Real

import numpy as np
from numpy.typing import ArrayLike

from wengert._checks import Boolean, Interval, Options, as_generator, check, refusal
from wengert.data.csv import from_csv
from wengert.data.toy import LABELS, blobs, circles, moons, spirals, xor
from wengert.data.validation import check_X_y

__all__ = [
    "blobs",
    "breast_cancer",
    "circles",
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


def seed_table() -> tuple[np.ndarray, np.ndarray]:
    """The lecture's training data for the perceptron y = w x: four (x, y) pairs.

        x    10    2     3.5   1
        y    10.1  1.9   3.4   1.1

    Returns X of shape (4, 1) and y of shape (4,), both float64. (Least squares gives
    w = Σ x_i y_i / Σ x_i² = 118.8 / 117.25 ≈ 1.0132.)
    """
    X = np.array([[10.0], [2.0], [3.5], [1.0]])
    y = np.array([10.1, 1.9, 3.4, 1.1])
    return X, y


def digits() -> tuple[np.ndarray, np.ndarray]:
    """8×8 images of handwritten digits: X (1797, 64) in 0 .. 16, y (1797,) in 0 .. 9."""
    return _load_sklearn("digits")


def iris() -> tuple[np.ndarray, np.ndarray]:
    """Fisher's iris flowers: X (150, 4) in cm, y (150,) in 0 .. 2 (50 of each species)."""
    return _load_sklearn("iris")


def breast_cancer(labels: str = "01") -> tuple[np.ndarray, np.ndarray]:
    """Wisconsin diagnostic breast cancer: X (569, 30), y (569,): 212 malignant (0 or -1 with
    labels='pm1'), 357 benign (1)."""
    check("breast_cancer", "labels", labels, Options(LABELS))
    X, y = _load_sklearn("breast_cancer")
    return X, (2 * y - 1 if labels == "pm1" else y)


def wine() -> tuple[np.ndarray, np.ndarray]:
    """Wines from three cultivars: X (178, 13) chemical measurements, y (178,) in 0 .. 2."""
    return _load_sklearn("wine")


def _load_sklearn(name: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn import datasets as sklearn_datasets
    except ImportError as exc:
        raise ImportError(f"{name}() needs scikit-learn: pip install 'wengert[datasets]'") from exc
    load = {
        "digits": sklearn_datasets.load_digits,
        "iris": sklearn_datasets.load_iris,
        "breast_cancer": sklearn_datasets.load_breast_cancer,
        "wine": sklearn_datasets.load_wine,
    }[name]
    X, y = load(return_X_y=True)
    return np.ascontiguousarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64)


def train_test_split(
    X: ArrayLike,
    y: ArrayLike,
    test_size: float | int = 0.25,
    stratify: bool = True,
    seed: int | np.random.Generator = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split (X, y) at random into X_train, X_test, y_train, y_test (scikit-learn's order).

    test_size: a float in (0, 1), the test share, n_test = ceil(test_size · n) (scikit-learn's
    rounding); or an int, the number of test samples. Both parts get at least one sample.

    stratify=True keeps each class's share in both parts: class c, with n_c samples, gets
    floor(n_test · n_c / n) test samples, and the test samples still missing go one each to the
    classes with the largest remainders (ties to the smaller class label). It needs y to hold
    class labels (whole numbers) with at least 2 samples per class; pass stratify=False for
    regression targets. The rows of each part come in random order. `seed` is an int or a
    numpy.random.Generator.
    """
    owner = "train_test_split"
    X, y = check_X_y(X, y, owner=owner)
    n = len(y)
    n_test = _test_count(test_size, n, owner)
    check(owner, "stratify", stratify, Boolean())
    rng = as_generator(seed, owner, allow_none=False)
    test = _stratified_test_rows(y, n_test, rng, owner) if stratify else rng.permutation(n)[:n_test]
    is_test = np.zeros(n, dtype=bool)
    is_test[test] = True
    train = rng.permutation(np.flatnonzero(~is_test))
    test = rng.permutation(np.flatnonzero(is_test))
    return X[train], X[test], y[train], y[test]


def _test_count(test_size, n: int, owner: str) -> int:
    samples = Interval(Integral, 1, n - 1, closed="both")
    check(owner, "test_size", test_size, Interval(Real, 0, 1, closed="neither"), samples)
    is_count = isinstance(test_size, numbers.Integral)
    n_test = int(test_size) if is_count else math.ceil(test_size * n)
    if not 1 <= n_test <= n - 1:
        raise refusal(
            owner, f"test_size={test_size!r}", f"a share that leaves both parts of the {n} "
            "samples at least 1", f"{n_test} test samples",
        )  # fmt: skip
    return n_test


def _stratified_test_rows(y, n_test: int, rng, owner: str) -> np.ndarray:
    if y.ndim != 1 or (y.dtype.kind == "f" and not np.array_equal(y, np.round(y))):
        raise refusal(
            owner, "y, with stratify=True,", "a vector of class labels (whole numbers)",
            f"shape {y.shape} and dtype {y.dtype}",
            fix="Pass stratify=False for regression targets.",
        )  # fmt: skip
    classes, class_of, counts = np.unique(y, return_inverse=True, return_counts=True)
    if counts.min() < 2:
        c = classes[np.argmin(counts)]
        raise refusal(
            owner, "each class, with stratify=True,", "at least 2 samples", f"1 of class {c}",
            fix="Pass stratify=False, or drop that class.",
        )  # fmt: skip
    share = n_test * counts / len(y)
    per_class = np.floor(share).astype(np.int64)
    missing = n_test - int(per_class.sum())
    per_class[np.argsort(-(share - per_class), kind="stable")[:missing]] += 1
    rows = [rng.permutation(np.flatnonzero(class_of == k))[:m] for k, m in enumerate(per_class)]
    return np.concatenate(rows)


def standardize(
    X_train: ArrayLike, X_test: ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Scale each feature to mean 0 and standard deviation 1 on the training part:

        x'_ij = (x_ij - μ_j) / σ_j,   μ_j, σ_j the mean and population standard deviation
        (ddof=0, as scikit-learn's StandardScaler) of column j of X_train.

    A constant column (σ_j = 0) is only centred (divided by 1). X_test, when given, is scaled
    with the training part's μ and σ, so nothing about the test part leaks into training.
    Returns (X_train_scaled, X_test_scaled), the second None when X_test is None; to scale
    other points (a plotting grid, say) the same way, pass them as X_test.
    """
    X_train, _ = check_X_y(X_train, owner="standardize", x_name="X_train")
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    scaled_test = None
    if X_test is not None:
        X_test, _ = check_X_y(
            X_test, owner="standardize", n_features=X_train.shape[1], x_name="X_test"
        )
        scaled_test = (X_test - mean) / std
    return (X_train - mean) / std, scaled_test
