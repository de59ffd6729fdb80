"""train_test_split and standardize: stratified shares counted by hand, seeding, regression
targets, refused input, and statistics taken from the training part only.
"""

import re

import numpy as np
import pytest

from wengert.data import (
    blobs,
    moons,
    seed_table,
    standardize,
    train_test_split,
)


def test_stratified_split_keeps_class_shares():
    y = np.repeat([0, 1, 2], [60, 30, 10])
    X = np.column_stack([np.arange(100.0), np.zeros(100)])
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, seed=1)
    # n_test = 25; shares 15, 7.5, 2.5 -> floors 15, 7, 2; the missing one goes to the first
    # of the tied largest remainders (class 1).
    np.testing.assert_array_equal(np.bincount(y_test), [15, 8, 2])
    np.testing.assert_array_equal(np.bincount(y_train), [45, 22, 8])
    rows = np.concatenate([X_train[:, 0], X_test[:, 0]]).astype(int)
    np.testing.assert_array_equal(np.sort(rows), np.arange(100))
    np.testing.assert_array_equal(y[X_train[:, 0].astype(int)], y_train)
    np.testing.assert_array_equal(y[X_test[:, 0].astype(int)], y_test)
    assert not np.array_equal(y_test, np.sort(y_test))  # the rows come shuffled


@pytest.mark.parametrize("seed", range(4))
def test_stratified_split_shares_within_one_sample(seed):
    _, y = blobs(n=97, centers=3, seed=seed)
    _, _, _, y_test = train_test_split(np.zeros((97, 1)), y, test_size=0.3, seed=seed)
    expected = np.ceil(0.3 * 97) * np.bincount(y) / 97
    assert len(y_test) == 30
    assert np.all(np.abs(np.bincount(y_test) - expected) < 1)


def test_split_is_reproducible_and_seeded():
    X, y = moons(n=60)
    a = train_test_split(X, y, seed=5)
    b = train_test_split(X, y, seed=5)
    c = train_test_split(X, y, seed=6)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[1], c[1])


def test_unstratified_split_of_regression_targets():
    X, y = seed_table()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=1, stratify=False)
    assert X_train.shape == (3, 1) and X_test.shape == (1, 1)
    np.testing.assert_array_equal(np.sort(np.concatenate([y_train, y_test])), np.sort(y))
    _, X_test, _, _ = train_test_split(np.zeros((10, 1)), np.zeros(10), stratify=False)
    assert len(X_test) == 3  # ceil(0.25 * 10)


SPLIT_BAD_INPUTS = [
    (dict(test_size=0.0), ValueError,
     "test_size must be a float in (0, 1) or an int in [1, 9]; got 0.0."),
    (dict(test_size=1.5), ValueError,
     "test_size must be a float in (0, 1) or an int in [1, 9]; got 1.5."),
    (dict(test_size=10), ValueError,
     "test_size must be a float in (0, 1) or an int in [1, 9]; got 10."),
    (dict(test_size=0), ValueError,
     "test_size must be a float in (0, 1) or an int in [1, 9]; got 0."),
    (dict(test_size="half"), TypeError,
     "test_size must be a float in (0, 1) or an int in [1, 9]; got 'half'."),
    (dict(stratify="yes"), TypeError,
     "stratify must be a bool (True or False); got 'yes'."),
    (dict(y=np.linspace(0, 1, 10)), ValueError,
     "y, with stratify=True, must be a vector of class labels (whole numbers); got "
     "shape (10,) and dtype float64. Pass stratify=False for regression targets."),
    (dict(y=np.array([0] * 9 + [1])), ValueError,
     "each class, with stratify=True, must be at least 2 samples; got 1 of class 1. "
     "Pass stratify=False, or drop that class."),
    (dict(y=np.zeros(9)), ValueError,
     "y must be an array with one entry per row of X (10); got 9 entries."),
    (dict(seed="zero"), TypeError,
     "seed must be an int >= 0 or a numpy.random.Generator; got 'zero'."),
]  # fmt: skip


@pytest.mark.parametrize(("kwargs", "error", "message"), SPLIT_BAD_INPUTS)
def test_split_refuses_bad_input(kwargs, error, message):
    args = {"X": np.zeros((10, 2)), "y": np.repeat([0, 1], 5)} | kwargs
    with pytest.raises(error, match="^" + re.escape(f"train_test_split: {message}")):
        train_test_split(**args)


def test_standardize_uses_the_training_part_only():
    X_train = np.array([[1.0, 5.0, 2.0], [3.0, 5.0, 4.0], [5.0, 5.0, 9.0]])
    X_test = np.array([[7.0, 6.0, 5.0]])
    train, test = standardize(X_train, X_test)
    # Column 0: mean 3, population std sqrt(8/3); column 1 constant: centred only.
    sigma0 = np.sqrt(8.0 / 3.0)
    np.testing.assert_allclose(train[:, 0], [-2 / sigma0, 0.0, 2 / sigma0])
    np.testing.assert_allclose(train[:, 1], 0.0)
    np.testing.assert_allclose(train.mean(axis=0), 0.0, atol=1e-15)
    np.testing.assert_allclose(train[:, [0, 2]].std(axis=0), 1.0)
    np.testing.assert_allclose(test[0, :2], [4 / sigma0, 1.0])
    np.testing.assert_allclose(test[0, 2], (5.0 - 5.0) / X_train[:, 2].std())
    only, none = standardize(X_train)
    np.testing.assert_array_equal(only, train)
    assert none is None


def test_standardize_refuses_mismatched_columns():
    with pytest.raises(
        ValueError, match=r"^standardize: X_test must be an array of 2 feat.*got 3 f"
    ):
        standardize(np.zeros((3, 2)), np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"^standardize: X_train must be 2-D"):
        standardize(np.zeros(3))
