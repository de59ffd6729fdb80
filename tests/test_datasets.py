"""wengert.data's datasets: the seed table, the toy sets' shapes, labels and geometry, the real
sets, and refused input. Expected values come from the sets' construction formulas and the
lecture's table; scikit-learn only loads its bundled sets, never as a reference.
"""

import re
import sys

import numpy as np
import pytest

from wengert.data import (
    blobs,
    breast_cancer,
    circles,
    datasets,
    digits,
    iris,
    moons,
    seed_table,
    spirals,
    wine,
    xor,
)


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
