"""wengert.data: DataLoader and the shared validator check_X_y.

Expected values come from the definitions (a permutation drawn from default_rng(seed), rows
named by their index). The datasets are in test_datasets.py, the split and standardize in
test_data_split.py, from_csv in test_data_csv.py.
"""

import re

import numpy as np
import pytest

from wengert.data import (
    DataLoader,
    check_X_y,
)


def _indexed_data(n=23, d=3):
    """X whose first column is the row index, and y = the row index: batches name their rows."""
    X = np.arange(n * d, dtype=np.float64).reshape(n, d)
    X[:, 0] = np.arange(n)
    return X, np.arange(n)


def _pass_rows(loader):
    return [yb.copy() for _, yb in loader]


# --- DataLoader ---------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [1, 4, 7, 23, 100, None])
@pytest.mark.parametrize("shuffle", [True, False])
def test_each_pass_covers_every_sample_once(batch_size, shuffle):
    X, y = _indexed_data()
    loader = DataLoader(X, y, batch_size=batch_size, shuffle=shuffle, seed=3)
    for _ in range(3):
        batches = list(loader)
        assert len(batches) == len(loader)
        rows = np.concatenate([yb for _, yb in batches])
        np.testing.assert_array_equal(np.sort(rows), np.arange(23))
        for xb, yb in batches:
            np.testing.assert_array_equal(xb, X[yb])


def test_shuffle_uses_the_kth_permutation_of_default_rng_seed():
    X, y = _indexed_data()
    loader = DataLoader(X, y, batch_size=5, seed=11)
    rng = np.random.default_rng(11)
    for epoch in range(4):
        assert loader.epoch == epoch
        np.testing.assert_array_equal(np.concatenate(_pass_rows(loader)), rng.permutation(23))
    assert loader.epoch == 4


def test_same_seed_same_orders_and_new_order_each_pass():
    X, y = _indexed_data()
    a = DataLoader(X, y, batch_size=4, seed=5)
    b = DataLoader(X, y, batch_size=4, seed=5)
    passes_a = [np.concatenate(_pass_rows(a)) for _ in range(3)]
    passes_b = [np.concatenate(_pass_rows(b)) for _ in range(3)]
    for pa, pb in zip(passes_a, passes_b, strict=True):
        np.testing.assert_array_equal(pa, pb)
    assert not np.array_equal(passes_a[0], passes_a[1])
    assert not np.array_equal(passes_a[1], passes_a[2])
    other = np.concatenate(_pass_rows(DataLoader(X, y, batch_size=4, seed=6)))
    assert not np.array_equal(passes_a[0], other)


def test_set_epoch_positions_the_next_pass():
    X, y = _indexed_data()
    reference = DataLoader(X, y, batch_size=6, seed=2)
    passes = [np.concatenate(_pass_rows(reference)) for _ in range(5)]
    resumed = DataLoader(X, y, batch_size=6, seed=2)
    resumed.set_epoch(3)
    assert resumed.epoch == 3
    np.testing.assert_array_equal(np.concatenate(_pass_rows(resumed)), passes[3])
    np.testing.assert_array_equal(np.concatenate(_pass_rows(resumed)), passes[4])
    resumed.set_epoch(0)
    np.testing.assert_array_equal(np.concatenate(_pass_rows(resumed)), passes[0])


def test_epoch_moves_when_the_pass_starts():
    X, y = _indexed_data()
    loader = DataLoader(X, y, batch_size=6, seed=2)
    iterator = iter(loader)
    assert loader.epoch == 1
    next(iterator)
    assert loader.epoch == 1


def test_seed_none_draws_a_seed_that_reproduces_the_run():
    X, y = _indexed_data()
    loader = DataLoader(X, y, batch_size=6)
    assert isinstance(loader.seed, int)
    again = DataLoader(X, y, batch_size=6, seed=loader.seed)
    np.testing.assert_array_equal(
        np.concatenate(_pass_rows(loader)), np.concatenate(_pass_rows(again))
    )


def test_batch_indices_are_the_rows_iteration_uses():
    X, y = _indexed_data()
    first = DataLoader(X, y, batch_size=5, seed=9).batch_indices()
    rows = _pass_rows(DataLoader(X, y, batch_size=5, seed=9))
    assert [len(r) for r in first] == [5, 5, 5, 5, 3]
    for idx, yb in zip(first, rows, strict=True):
        np.testing.assert_array_equal(idx, yb)


def test_no_shuffle_runs_in_row_order():
    X, y = _indexed_data()
    loader = DataLoader(X, y, batch_size=10, shuffle=False)
    for _ in range(2):
        np.testing.assert_array_equal(np.concatenate(_pass_rows(loader)), np.arange(23))


def test_drop_last():
    X, y = _indexed_data(n=10)
    kept = DataLoader(X, y, batch_size=3, seed=0)
    dropped = DataLoader(X, y, batch_size=3, seed=0, drop_last=True)
    assert len(kept) == 4 and [len(yb) for yb in _pass_rows(kept)] == [3, 3, 3, 1]
    assert len(dropped) == 3 and [len(yb) for yb in _pass_rows(dropped)] == [3, 3, 3]
    # The dropped samples are the last ones of that pass's permutation, different each pass.
    first = np.random.default_rng(0).permutation(10)
    np.testing.assert_array_equal(
        np.concatenate(_pass_rows(DataLoader(X, y, batch_size=3, seed=0, drop_last=True))),
        first[:9],
    )
    assert len(DataLoader(X, y, batch_size=5, drop_last=True)) == 2
    assert len(DataLoader(X, y, batch_size=50, drop_last=True)) == 1


@pytest.mark.parametrize("batch_size", [None, 10, 11, 1000])
def test_full_batch_is_one_batch_of_everything(batch_size):
    X, y = _indexed_data(n=10)
    loader = DataLoader(X, y, batch_size=batch_size, shuffle=False)
    assert len(loader) == 1 and loader.batch_size == 10
    (xb, yb), *rest = list(loader)
    assert rest == []
    np.testing.assert_array_equal(xb, X)
    np.testing.assert_array_equal(yb, y)


def test_batch_size_one_is_one_random_sample_per_step():
    X, y = _indexed_data(n=6)
    loader = DataLoader(X, y, batch_size=1, seed=4)
    batches = list(loader)
    assert len(loader) == 6 and len(batches) == 6
    assert all(xb.shape == (1, 3) and yb.shape == (1,) for xb, yb in batches)
    order = np.concatenate([yb for _, yb in batches])
    np.testing.assert_array_equal(order, np.random.default_rng(4).permutation(6))


def test_dtype_converts_X_and_real_y_once_not_integer_labels():
    X, labels = _indexed_data()
    loader = DataLoader(X, labels, dtype=np.float32, seed=0)
    xb, yb = next(iter(loader))
    assert loader.X.dtype == np.float32 and xb.dtype == np.float32
    assert yb.dtype == np.int64
    assert X.dtype == np.float64
    targets = np.linspace(0.0, 1.0, 23)
    _, tb = next(iter(DataLoader(X, targets, dtype="float32")))
    assert tb.dtype == np.float32
    # Without dtype a float32 X stays float32, and an integer X becomes float64.
    assert DataLoader(X.astype(np.float32)).X.dtype == np.float32
    assert DataLoader(np.arange(6).reshape(3, 2)).X.dtype == np.float64


def test_loader_neither_copies_nor_reorders_X():
    X, y = _indexed_data()
    X_before, y_before = X.copy(), y.copy()
    loader = DataLoader(X, y, batch_size=4, seed=1)
    assert loader.X is X and loader.y is y
    for _ in range(2):
        for xb, yb in loader:
            np.testing.assert_array_equal(xb, X[yb])
            xb += 1000.0  # a shuffled batch is gathered, so writing into it leaves X alone
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


def test_unshuffled_batches_are_read_only_views():
    X, y = _indexed_data()
    xb, yb = next(iter(DataLoader(X, y, batch_size=4, shuffle=False)))
    assert np.shares_memory(xb, X)
    with pytest.raises(ValueError, match="read-only"):
        xb[0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        yb[0] = 1
    assert X.flags.writeable


def test_loader_without_y_yields_X_batches():
    X, _ = _indexed_data()
    batches = list(DataLoader(X, batch_size=10, shuffle=False))
    assert [b.shape for b in batches] == [(10, 3), (10, 3), (3, 3)]


def test_loader_attributes_and_repr():
    X, y = _indexed_data()
    loader = DataLoader(X, y, batch_size=8, seed=7)
    assert (loader.n_samples, loader.n_features, loader.batch_size) == (23, 3, 8)
    assert repr(loader) == (
        "DataLoader(n_samples=23, n_features=3, batch_size=8, batches=3, shuffle=True, "
        "drop_last=False, seed=7, epoch=0)"
    )


def _nan_X():
    X = np.zeros((10, 4))
    X[7, 2] = np.nan
    X[8, 0] = np.inf
    X[9, 3] = -np.inf
    return X


def _inf_y():
    y = np.zeros(6)
    y[4] = np.inf
    return y


LOADER_BAD_INPUTS = [
    (dict(X=np.arange(4.0)), ValueError,
     "X must be 2-D, of shape (n_samples, n_features); got a 1-D array of shape (4,). "
     "Use X.reshape(-1, 1) if it holds one feature, or X.reshape(1, -1) if it holds "
     "one sample."),
    (dict(X=np.zeros((2, 3, 4))), ValueError,
     "X must be 2-D, of shape (n_samples, n_features); got a 3-D array of shape (2, "
     "3, 4)."),
    (dict(X=np.zeros((4, 2)), y=np.zeros(3)), ValueError,
     "y must be an array with one entry per row of X (4); got 3 entries."),
    (dict(X=np.zeros((0, 2))), ValueError,
     "X must be an array of at least 1 sample and 1 feature; got shape (0, 2)."),
    (dict(X=np.zeros((3, 0))), ValueError,
     "X must be an array of at least 1 sample and 1 feature; got shape (3, 0)."),
    (dict(X=_nan_X()), ValueError,
     "X must be finite; got 3 NaN or infinite value(s), the first at index (7, 2). "
     "Remove or impute them."),
    (dict(X=np.zeros((6, 1)), y=_inf_y()), ValueError,
     "y must be finite; got 1 NaN or infinite value(s), the first at index 4. Remove "
     "or impute them."),
    (dict(X=[["a", "b"]]), TypeError,
     "X must be an array of real numbers; got an array of dtype <U1."),
    (dict(X=[[1.0, 2.0], [3.0]]), ValueError,
     "X must be an array of numbers with one row per sample; got something NumPy "
     "cannot make an array of"),
    (dict(X=np.zeros((2, 1)), y=["a", "b"]), TypeError,
     "y must be an array of real numbers; got an array of dtype <U1. Encode text "
     "labels as integers first: np.unique(y, return_inverse=True)[1]."),
    (dict(X=np.zeros((2, 1)), y=np.zeros((2, 1, 1))), ValueError,
     "y must be of shape (n_samples,) or (n_samples, n_outputs); got shape (2, 1, 1)."),
    (dict(batch_size=0), ValueError,
     "batch_size must be an int >= 1 or None; got 0."),
    (dict(batch_size=-3), ValueError,
     "batch_size must be an int >= 1 or None; got -3."),
    (dict(batch_size=2.5), TypeError,
     "batch_size must be an int >= 1 or None; got 2.5."),
    (dict(batch_size="32"), TypeError,
     "batch_size must be an int >= 1 or None; got '32'."),
    (dict(batch_size=True), TypeError,
     "batch_size must be an int >= 1 or None; got True (bool)."),
    (dict(dtype=np.int32), TypeError,
     "dtype must be a floating dtype such as numpy.float32 or numpy.float64, or None; "
     "got <class 'numpy.int32'> (type)."),
    (dict(dtype="str"), TypeError,
     "dtype must be a floating dtype such as numpy.float32 or numpy.float64, or None; "
     "got 'str'."),
    (dict(dtype="no such type"), TypeError,
     "dtype must be a floating dtype such as numpy.float32 or numpy.float64, or None; "
     "got 'no such type'."),
    (dict(shuffle="yes"), TypeError,
     "shuffle must be a bool (True or False); got 'yes'."),
    (dict(drop_last=1), TypeError,
     "drop_last must be a bool (True or False); got 1. Pass True (a bool)."),
    (dict(seed=-1), ValueError,
     "seed must be an int >= 0 or None; got -1."),
    (dict(seed=1.5), TypeError,
     "seed must be an int >= 0 or None; got 1.5."),
]  # fmt: skip


@pytest.mark.parametrize(("kwargs", "error", "message"), LOADER_BAD_INPUTS)
def test_loader_refuses_bad_input(kwargs, error, message):
    args = {"X": np.zeros((4, 2))} | kwargs
    before = args["X"].copy() if isinstance(args["X"], np.ndarray) else None
    with pytest.raises(error, match="^" + re.escape(f"DataLoader: {message}")):
        DataLoader(**args)
    if before is not None:  # nothing was changed in the caller's array
        np.testing.assert_array_equal(args["X"], before)


def test_set_epoch_refuses_bad_epochs():
    loader = DataLoader(np.zeros((4, 1)), seed=0)
    for bad, error in ((-1, ValueError), (1.0, TypeError), ("2", TypeError), (True, TypeError)):
        with pytest.raises(error, match=re.escape(f"epoch must be an int >= 0; got {bad!r}")):
            loader.set_epoch(bad)


# --- check_X_y --------------------------------------------------------------------------


def test_check_X_y_conversions():
    X, y = check_X_y([[1, 2], [3, 4]], [True, False])
    assert X.dtype == np.float64 and y.dtype == np.int64
    X32 = np.ones((2, 2), dtype=np.float32)
    X, y = check_X_y(X32, [0.5, 1.5])
    assert X is X32 and y.dtype == np.float32
    X, y = check_X_y(X32, [1.0, 0.0], dtype=np.float64, y_kind="labels")
    assert X.dtype == np.float64 and y.dtype == np.int64
    _, y = check_X_y(X32, [1, 0], y_kind="float")
    assert y.dtype == np.float32
    _, y = check_X_y(X32, np.ones((2, 3)))
    assert y.shape == (2, 3)
    X, y = check_X_y(np.array([[1.0], [2.0]], dtype=object))
    assert X.dtype == np.float64 and y is None


CHECK_BAD_INPUTS = [
    (dict(y=[0.0, 0.5], y_kind="labels"), ValueError,
     "y must be class labels (whole numbers); got 0.5 at row 1."),
    (dict(y=[[0], [1]], y_kind="labels"), ValueError,
     "y must be of shape (n_samples,); got shape (2, 1). Use y.ravel() for a single "
     "column."),
    (dict(y_kind="classes"), ValueError,
     "y_kind must be one of 'any', 'float', 'labels'; got 'classes'."),
    (dict(n_features=3), ValueError,
     "X must be an array of 3 features (columns), as the data it was fit on; got 2 "
     "features."),
    (dict(X=np.zeros(3), x_name="X_test"), ValueError,
     "X_test must be 2-D, of shape (n_samples, n_features); got a 1-D array of shape "
     "(3,). Use X_test.reshape(-1, 1) if it holds one feature, or X_test.reshape(1, "
     "-1) if it holds one sample."),
    (dict(X=np.ones((2, 2)) * 1j), TypeError,
     "X must be an array of real numbers; got an array of dtype complex128."),
]  # fmt: skip


@pytest.mark.parametrize(("kwargs", "error", "message"), CHECK_BAD_INPUTS)
def test_check_X_y_refuses_bad_input(kwargs, error, message):
    args = {"X": np.zeros((2, 2)), "owner": "fit"} | kwargs
    with pytest.raises(error, match="^" + re.escape(f"fit: {message}")):
        check_X_y(**args)


@pytest.mark.parametrize(
    ("y", "got"),
    [
        (np.array([0, 2**63], dtype=np.uint64), "9223372036854775808"),
        (np.array([0.0, 2.0**63]), "9.223372036854776e+18"),
        (np.array([1.0, -1e300]), "-1e+300"),
    ],
)
def test_labels_beyond_int64_are_refused_not_wrapped(y, got):
    message = (
        "check_X_y: y must be class labels within int64's range [-2**63, 2**63 - 1]; "
        f"got {got} at row 1."
    )
    with pytest.raises(ValueError, match=re.escape(message) + "$"):
        check_X_y(np.ones((2, 1)), y, y_kind="labels")
    # the edges of the range itself pass, exactly
    edge = check_X_y(np.ones((2, 1)), np.array([-(2**63), 2**63 - 1]), y_kind="labels")[1]
    assert edge.tolist() == [-(2**63), 2**63 - 1]
