"""wengert.data: DataLoader, the shared validator, datasets, the split, standardize, from_csv.

Expected values come from the definitions (a permutation drawn from default_rng(seed), the
lecture's table, the sets' construction formulas, hand-counted class shares); scikit-learn is
only used to load its bundled sets, never as a reference.
"""

import re
import sys

import numpy as np
import pytest

from wengert.data import (
    DataLoader,
    blobs,
    breast_cancer,
    check_X_y,
    circles,
    datasets,
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


# --- datasets -----------------------------------------------------------------------------


def test_seed_table_is_the_lectures_table():
    X, y = seed_table()
    assert X.shape == (4, 1) and y.shape == (4,)
    assert X.dtype == np.float64 and y.dtype == np.float64
    np.testing.assert_array_equal(X[:, 0], [10.0, 2.0, 3.5, 1.0])
    np.testing.assert_array_equal(y, [10.1, 1.9, 3.4, 1.1])


TOY_SETS = [blobs, xor, circles, moons, spirals]


@pytest.mark.parametrize("make", TOY_SETS)
def test_toy_set_shapes_labels_and_reproducibility(make):
    X, y = make(n=101, seed=3)
    assert X.shape == (101, 2) and X.dtype == np.float64 and X.flags.c_contiguous
    assert y.shape == (101,) and y.dtype == np.int64
    assert set(np.unique(y)) == {0, 1}
    X_again, y_again = make(n=101, seed=3)
    np.testing.assert_array_equal(X, X_again)
    np.testing.assert_array_equal(y, y_again)
    X_other, _ = make(n=101, seed=4)
    assert not np.allclose(X, X_other)
    X_gen, _ = make(n=101, seed=np.random.default_rng(3))
    np.testing.assert_array_equal(X, X_gen)
    _, y_pm = make(n=101, labels="pm1", seed=3)
    np.testing.assert_array_equal(y_pm, 2 * y - 1)
    # Classes interleave: the rows are shuffled.
    assert 0 < y[:20].sum() < 20


@pytest.mark.parametrize("make", [circles, moons, spirals])
def test_two_class_sets_split_n_in_halves(make):
    _, y = make(n=101)
    np.testing.assert_array_equal(np.bincount(y), [50, 51])


def _perceptron_separates(X, y_pm1, passes=100):
    """Rosenblatt's rule on augmented inputs; True once a pass makes no mistake."""
    Xa = np.hstack([X, np.ones((len(X), 1))])
    w = np.zeros(Xa.shape[1])
    for _ in range(passes):
        mistakes = 0
        for xi, yi in zip(Xa, y_pm1, strict=True):
            if yi * (xi @ w) <= 0:
                w += yi * xi
                mistakes += 1
        if mistakes == 0:
            return True
    return False


@pytest.mark.parametrize("seed", range(5))
def test_default_blobs_are_linearly_separable(seed):
    X, y = blobs(seed=seed, labels="pm1")
    assert _perceptron_separates(X, y)


def test_blobs_counts_centers_and_dimensions():
    _, y = blobs(n=7, centers=3)
    np.testing.assert_array_equal(np.bincount(y), [3, 2, 2])
    X, y = blobs(n=300, centers=3, spread=0.0)
    angles = np.pi / 4 + 2 * np.pi * np.arange(3) / 3
    expected = 2.5 * np.column_stack([np.cos(angles), np.sin(angles)])
    np.testing.assert_allclose(X, expected[y])
    centers = [[0.0, 0.0, 0.0], [5.0, 5.0, 5.0]]
    X, y = blobs(n=50, centers=centers, spread=0.0, n_features=3)
    np.testing.assert_allclose(X, np.asarray(centers)[y])
    X, y = blobs(n=4000, spread=0.5, seed=1)
    np.testing.assert_allclose(X[y == 1].std(axis=0), 0.5, rtol=0.1)


def test_xor_labels_are_the_exclusive_or_of_the_signs():
    X, y = xor(n=500, noise=0.0)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] < 0).astype(int))
    assert np.abs(X).max() <= 1.0


def test_circles_radii():
    X, y = circles(n=100, noise=0.0, factor=0.3)
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius, np.where(y == 0, 1.0, 0.3))


def test_moons_lie_on_their_half_circles():
    X, y = moons(n=100, noise=0.0)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0)
    assert (upper[:, 1] >= -1e-12).all() and (lower[:, 1] <= 0.5 + 1e-12).all()


def test_spirals_are_point_reflections_of_each_other():
    X, y = spirals(n=100, noise=0.0)
    radius = np.hypot(X[:, 0], X[:, 1])
    assert radius.min() == pytest.approx(0.15) and radius.max() == pytest.approx(1.0)
    arm0 = X[y == 0][np.argsort(np.hypot(*X[y == 0].T))]
    arm1 = X[y == 1][np.argsort(np.hypot(*X[y == 1].T))]
    np.testing.assert_allclose(arm1, -arm0, atol=1e-12)


DATASET_BAD_INPUTS = [
    (blobs, dict(n=1), ValueError,
     "blobs: n must be an int >= 2; got 1."),
    (blobs, dict(centers=1), ValueError,
     "blobs: centers must be an int >= 2; got 1."),
    (blobs, dict(centers=[[0, 0, 0], [1, 1, 1]]), ValueError,
     "blobs: centers must be an int >= 2 or an array of shape (k >= 2, n_features=2); "
     "got shape (2, 3)."),
    (blobs, dict(centers=3, labels="pm1"), ValueError,
     "blobs: the number of classes, with labels='pm1', must be 2; got 3. Use "
     "labels='01' (classes 0 .. k-1)."),
    (blobs, dict(spread=-0.1), ValueError,
     "blobs: spread must be a float >= 0; got -0.1."),
    (blobs, dict(n_features=1), ValueError,
     "blobs: n_features must be an int >= 2; got 1."),
    (xor, dict(noise=float("nan")), ValueError,
     "xor: noise must be a float >= 0; got nan."),
    (xor, dict(n=0), ValueError,
     "xor: n must be an int >= 1; got 0."),
    (circles, dict(factor=1.0), ValueError,
     "circles: factor must be a float in (0, 1); got 1.0."),
    (moons, dict(labels="+-1"), ValueError,
     "moons: labels must be one of '01', 'pm1'; got '+-1'."),
    (spirals, dict(turns=0), ValueError,
     "spirals: turns must be a float > 0; got 0."),
    (spirals, dict(seed=-1), ValueError,
     "spirals: seed must be an int >= 0 or a numpy.random.Generator; got -1."),
    (moons, dict(seed=None), TypeError,
     "moons: seed must be an int >= 0 or a numpy.random.Generator; got None."),
    (breast_cancer, dict(labels="pm"), ValueError,
     "breast_cancer: labels must be one of '01', 'pm1'; got 'pm'."),
]  # fmt: skip


@pytest.mark.parametrize(("make", "kwargs", "error", "message"), DATASET_BAD_INPUTS)
def test_datasets_refuse_bad_input(make, kwargs, error, message):
    with pytest.raises(error, match="^" + re.escape(message)):
        make(**kwargs)


REAL_SETS = [
    (digits, (1797, 64), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]),
    (iris, (150, 4), [50, 50, 50]),
    (breast_cancer, (569, 30), [212, 357]),
    (wine, (178, 13), [59, 71, 48]),
]


@pytest.mark.parametrize(("load", "shape", "counts"), REAL_SETS)
def test_real_sets_shapes_and_classes(load, shape, counts):
    pytest.importorskip("sklearn")
    X, y = load()
    assert X.shape == shape and X.dtype == np.float64
    assert y.shape == (shape[0],) and y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y), counts)
    assert np.isfinite(X).all()


def test_breast_cancer_pm1_labels():
    pytest.importorskip("sklearn")
    _, y01 = breast_cancer()
    _, ypm = breast_cancer(labels="pm1")
    np.testing.assert_array_equal(ypm, 2 * y01 - 1)


@pytest.mark.parametrize("load", [digits, iris, breast_cancer, wine])
def test_real_sets_without_scikit_learn_say_what_to_install(load, monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    message = f"{load.__name__}() needs scikit-learn: pip install 'wengert[datasets]'"
    with pytest.raises(ImportError, match=re.escape(message)):
        load()


def test_datasets_module_lists_every_set():
    for name in ("seed_table", "blobs", "xor", "circles", "moons", "spirals", "digits", "iris"):
        assert name in datasets.__all__ and callable(getattr(datasets, name))


# --- train_test_split and standardize -----------------------------------------------------


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


# --- from_csv -----------------------------------------------------------------------------


def _write(tmp_path, text, name="data.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def test_from_csv_reads_features_and_target(tmp_path):
    path = _write(tmp_path, "x1,label,x2\n1,0,2.5\n\n 3 , 1 , -4e-1 \n5,1,6\n")
    X, y = from_csv(path, target="label")
    np.testing.assert_array_equal(X, [[1.0, 2.5], [3.0, -0.4], [5.0, 6.0]])
    np.testing.assert_array_equal(y, [0.0, 1.0, 1.0])
    assert X.dtype == np.float64 and y.dtype == np.float64
    X_idx, y_idx = from_csv(str(path), target=1, y_dtype=int)
    np.testing.assert_array_equal(X_idx, X)
    assert y_idx.dtype == np.int64
    X_last, y_last = from_csv(path)
    np.testing.assert_array_equal(y_last, [2.5, -0.4, 6.0])
    np.testing.assert_array_equal(X_last, [[1.0, 0.0], [3.0, 1.0], [5.0, 1.0]])


def test_from_csv_without_header_other_delimiter_and_bom(tmp_path):
    path = _write(tmp_path, "1;2;3\n4;5;6\n")
    X, y = from_csv(path, target=0, delimiter=";", header=False)
    np.testing.assert_array_equal(X, [[2.0, 3.0], [5.0, 6.0]])
    np.testing.assert_array_equal(y, [1.0, 4.0])
    bom = _write(tmp_path, "a,b\n1,2\n", name="bom.csv", encoding="utf-8-sig")
    X, y = from_csv(bom, target="a")
    np.testing.assert_array_equal(X, [[2.0]])


CSV_BAD_FILES = [
    ("", {}, "data.csv is empty"),
    ("\n  \n", {}, "data.csv is empty"),
    ("a,b\n", {}, "data.csv has a header line but no data rows"),
    ("a\n1\n", {}, "data.csv needs at least 2 columns \\(features and the target\\); got 1"),
    (
        "a,b\n1,2\n3,abc\n",
        {},
        "data.csv line 3, column 2 \\('b'\\): 'abc' is not a number; encode class names",
    ),
    (
        "a,b,c\n1,2,3\n\n4,,6\n",
        {"target": "c"},
        "data.csv line 4, column 2 \\('b'\\): an empty cell is not a number$",
    ),
    (
        "a,b\n1,nan\n",
        {"target": 0},
        "data.csv line 2, column 2 \\('b'\\): 'nan' is not a finite number",
    ),
    ("a,b\n1,2\n3,4,5\n", {}, "data.csv line 3 has 3 cells; expected 2, as the header has"),
    (
        "1,2\n3\n",
        {"header": False},
        "data.csv line 2 has 1 cells; expected 2, as the first row has",
    ),
    (
        "x1,x2,y\n1,2,3\n",
        {"target": "label"},
        "data.csv has no column named 'label'; the columns are 'x1', 'x2', 'y'",
    ),
    ("y,x,y\n1,2,3\n", {"target": "y"}, "data.csv has 2 columns named 'y' \\(at \\[0, 2\\]\\)"),
    (
        "a,b\n1,2\n",
        {"target": 2},
        "target=2 is out of range for 2 columns \\(0 .. 1, or -2 .. -1\\)",
    ),
    ("1,2\n", {"target": "a", "header": False}, "target='a' is a column name, but header=False"),
    (
        "a,b\n1,2\n",
        {"target": 1.0},
        "target must be a column name \\(str\\) or index \\(int\\); got target=1.0",
    ),
    (
        "a,b\n1,2.5\n",
        {"y_dtype": int},
        "data.csv line 2, column 2 \\('b'\\): 2.5 is not a whole number, as y_dtype=int64 needs",
    ),
    ("a,b\n1,2\n", {"y_dtype": str}, "y_dtype must be a numeric dtype.*got y_dtype=<class 'str'>"),
    ("a,b\n1,2\n", {"delimiter": ", "}, "delimiter must be one character; got delimiter=', '"),
    ("a,b\n1,2\n", {"header": "yes"}, "header must be True or False; got header='yes'"),
]


@pytest.mark.parametrize(("text", "kwargs", "message"), CSV_BAD_FILES)
def test_from_csv_refuses_bad_files(tmp_path, text, kwargs, message):
    path = _write(tmp_path, text)
    with pytest.raises((ValueError, TypeError), match=f"^from_csv: (.*/)?{message}"):
        from_csv(path, **kwargs)


def test_from_csv_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nothing\.csv"):
        from_csv(tmp_path / "nothing.csv")


def test_read_table_returns_every_column(tmp_path):
    from wengert.data.csv import read_table

    path = tmp_path / "points.csv"
    path.write_text("a,b\n1,2.5\n-3,4e-1\n")
    names, table = read_table(path)
    assert names == ["a", "b"]
    np.testing.assert_array_equal(table, [[1.0, 2.5], [-3.0, 0.4]])
    path.write_text("a,b\n1,x\n")
    with pytest.raises(ValueError, match=r"line 2, column 'b' \(|line 2, .*'x' is not a number"):
        read_table(path)
