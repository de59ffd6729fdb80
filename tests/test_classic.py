"""wengert.classic: Rosenblatt's perceptron, the LMS rule and the Pegasos SVM.

The expected numbers come from hand computation (the first epochs written out), closed forms
(least squares, the fixed cycle of constant-step LMS, the 1-D SVM optimum), theorems (Novikoff's
mistake bound; the maximum margin equals the distance between the classes' convex hulls) and,
in the slow test, scikit-learn's accuracies recorded in tests/fixtures/classic.json by
scripts/make_classic_fixtures.py. No peer runs here. The estimator contract and refused input
are in test_classic_contract.py.
"""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from classic_helpers import AND_X, AND_Y, TABLE_X, TABLE_Y

from wengert.classic import (
    LMS,
    ConvergenceWarning,
    DivergenceWarning,
    LinearSVM,
    Perceptron,
)

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "classic.json"

# The least-squares weight of the lecture's table.
W_LEAST_SQUARES = float(np.sum(TABLE_X[:, 0] * TABLE_Y) / np.sum(TABLE_X**2))  # 1.004690...


def blobs(seed: int, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian clusters, centred at (-1.5, -1.5) (label -1) and (1.5, 1.5) (label +1)."""
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(-1.5, 0.5, (n, 2)), rng.normal(1.5, 0.5, (n, 2))])
    return X, np.r_[-np.ones(n), np.ones(n)]


def hull_distance(P: np.ndarray, Q: np.ndarray) -> float:
    """The distance between the convex hulls of two 2-D point sets, by brute force.

    For disjoint convex polygons it is reached between a vertex of one and an edge of the other,
    so the minimum over every point of one set and every segment between two points of the other
    (segments inside a hull lie in it, so they change nothing) is the distance.
    """

    def point_to_segments(points, A, B):
        AB, AP = B - A, points[:, None, :] - A[None]
        s = np.clip((AP * AB).sum(-1) / (AB * AB).sum(-1), 0.0, 1.0)
        return np.linalg.norm(AP - s[..., None] * AB, axis=-1).min()

    i, j = np.triu_indices(len(Q), 1)
    k, m = np.triu_indices(len(P), 1)
    return min(point_to_segments(P, Q[i], Q[j]), point_to_segments(Q, P[k], P[m]))


# ============================================================================ Perceptron
def test_perceptron_and_gate_epoch_by_epoch():
    # Written out by hand, in the order of the rows, lr = 1, labels 0 -> -1 and 1 -> +1:
    # epoch 1: (0,0) a=0 mistake -> b=-1; (1,1) a=-1 mistake -> w=(1,1), b=0
    # epoch 2: (0,0) a=0 -> b=-1; (0,1) a=0 -> w=(1,0), b=-2; (1,1) a=-1 -> w=(2,1), b=-1
    # epoch 3: (0,1) a=0 -> w=(2,0), b=-2; (1,0) a=0 -> w=(1,0), b=-3; (1,1) -> w=(2,1), b=-2
    # epoch 4: (1,0) a=0 -> w=(1,1), b=-3; (1,1) a=-1 -> w=(2,2), b=-2
    # epoch 5: (0,1) a=0 -> w=(2,1), b=-3; (1,1) a=0 -> w=(3,2), b=-2
    # epoch 6: (0,1) a=0 -> w=(3,1), b=-3; (1,0) a=0 -> w=(2,1), b=-4; (1,1) -> w=(3,2), b=-3
    # epoch 7: (1,0) a=0 -> w=(2,2), b=-4; (1,1) a=0 -> w=(3,3), b=-3
    # epoch 8: (0,1) a=0 -> w=(3,2), b=-4
    # epoch 9: a = -4, -2, -1, 1: no mistake, stop.
    clf = Perceptron(shuffle=False).fit(AND_X, AND_Y)
    assert clf.mistakes_.tolist() == [2, 3, 3, 2, 2, 3, 2, 1, 0]
    np.testing.assert_array_equal(clf.w_, [3.0, 2.0])
    assert clf.b_ == -4.0
    assert clf.converged_ and clf.n_epochs_ == 9
    assert clf.history_ == {"epoch": list(range(1, 10)), "mistakes": [2, 3, 3, 2, 2, 3, 2, 1, 0]}
    assert clf.classes_.tolist() == [0, 1]
    assert clf.predict(AND_X).tolist() == [0, 0, 0, 1]
    np.testing.assert_array_equal(clf.decision_function(AND_X), [-4.0, -2.0, -1.0, 1.0])
    assert clf.score(AND_X, AND_Y) == 1.0


def test_perceptron_lr_scales_weights_not_predictions():
    # From w = 0 every step is a multiple of lr; a power of two keeps the arithmetic exact.
    X, y = blobs(3)
    one = Perceptron(lr=1.0, seed=5).fit(X, y)
    quarter = Perceptron(lr=0.25, seed=5).fit(X, y)
    np.testing.assert_array_equal(quarter.w_, 0.25 * one.w_)
    assert quarter.b_ == 0.25 * one.b_
    assert quarter.mistakes_.tolist() == one.mistakes_.tolist()


@pytest.mark.parametrize("seed", range(6))
def test_perceptron_mistakes_within_novikoff_bound(seed):
    # Separable by construction with margin >= 0.1 around a known unit vector u in (x, 1) space;
    # the theorem bounds the total mistakes by (R / gamma)^2 in any order.
    rng = np.random.default_rng(seed)
    angle, offset = rng.uniform(0, 2 * np.pi), rng.uniform(-0.3, 0.3)
    u = np.array([np.cos(angle), np.sin(angle), offset]) / np.hypot(1.0, offset)
    X = rng.uniform(-1, 1, (400, 2))
    Xa = np.c_[X, np.ones(len(X))]
    keep = np.abs(Xa @ u) > 0.1
    X, Xa = X[keep], Xa[keep]
    y = np.sign(Xa @ u)
    gamma = np.min(y * (Xa @ u))
    R = np.max(np.linalg.norm(Xa, axis=1))
    clf = Perceptron(seed=seed).fit(X, y)
    assert clf.converged_
    assert clf.mistakes_.sum() <= (R / gamma) ** 2
    assert clf.score(X, y) == 1.0
    assert np.all(y * clf.decision_function(X) > 0)


def test_perceptron_warns_on_xor_and_keeps_last_weights():
    X = AND_X
    y = np.array([0, 1, 1, 0])  # XOR: no line separates it
    with pytest.warns(ConvergenceWarning, match=r"did not converge: epoch 50 of max_epochs=50"):
        clf = Perceptron(max_epochs=50).fit(X, y)
    assert not clf.converged_
    assert clf.n_epochs_ == 50 and len(clf.mistakes_) == 50
    assert np.all(clf.mistakes_ > 0)


def test_perceptron_any_two_labels_and_tie_goes_to_first_class():
    y = np.array(["no", "no", "no", "yes"])
    clf = Perceptron(shuffle=False).fit(AND_X, y)
    assert clf.classes_.tolist() == ["no", "yes"]
    assert clf.predict(AND_X).tolist() == y.tolist()
    pm = Perceptron(shuffle=False).fit(AND_X, 2 * AND_Y - 1)  # {-1, +1} keep their meaning
    np.testing.assert_array_equal(pm.w_, [3.0, 2.0])
    # At a = 0 exactly the prediction is classes_[0].
    at_zero = np.array([[1.0, 0.5]])  # 3 * 1 + 2 * 0.5 - 4 = 0
    assert clf.decision_function(at_zero)[0] == 0.0
    assert clf.predict(at_zero).tolist() == ["no"]


def test_perceptron_without_intercept_and_seeds():
    X, y = blobs(1)
    clf = Perceptron(fit_intercept=False, seed=2).fit(X, y)
    assert clf.b_ == 0.0 and clf.converged_
    a = Perceptron(seed=7).fit(X, y)
    b = Perceptron(seed=7).fit(X, y)
    np.testing.assert_array_equal(a.w_, b.w_)
    # A Generator is used as given and advances: two fits shuffle differently.
    rng = np.random.default_rng(0)
    first = rng.permutation(len(y))
    rng = np.random.default_rng(0)
    model = Perceptron(seed=rng, max_epochs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    assert not np.array_equal(rng.permutation(len(y)), first)


# ============================================================================ LMS
def test_lms_first_epoch_by_hand():
    # lr = 0.01, rows in order, w = 0: each step w <- w + 0.01 (y - w x) x.
    w1 = 0.0 + 0.01 * (10.1 - 0.0 * 10) * 10  # 1.01
    w2 = w1 + 0.01 * (1.9 - w1 * 2) * 2
    w3 = w2 + 0.01 * (3.4 - w2 * 3.5) * 3.5
    w4 = w3 + 0.01 * (1.1 - w3 * 1) * 1
    model = LMS(lr=0.01, epochs=1).fit(TABLE_X, TABLE_Y)
    assert model.w_history_.shape == (2, 1)
    assert model.w_history_[0, 0] == 0.0
    assert model.w_[0] == pytest.approx(w4, abs=1e-15)
    assert w4 == pytest.approx(1.0041373, abs=1e-7)
    assert model.history_["loss"][0] == pytest.approx(
        0.5 * np.mean((TABLE_Y - w4 * TABLE_X[:, 0]) ** 2)
    )


def test_lms_inverse_sqrt_reaches_least_squares_on_the_lecture_table():
    # eta_t = 0.01 / sqrt(t), 30 epochs in the table's order: w = 1.004682.
    model = LMS(lr=0.01, epochs=30, schedule="inverse_sqrt").fit(TABLE_X, TABLE_Y)
    assert pytest.approx(1.0046908, abs=1e-7) == W_LEAST_SQUARES
    assert abs(model.w_[0] - W_LEAST_SQUARES) < 1e-4
    assert model.w_history_.shape == (31, 1)
    assert model.n_epochs_ == 30 and not model.diverged_
    assert model.history_["lr"][-1] == pytest.approx(0.01 / np.sqrt(120))
    assert model.b_ == 0.0


def constant_step_cycle(eta: float) -> float:
    """Where constant-step LMS ends every epoch, in the table's order: the fixed point of one pass.

    Each step is the affine map w -> (1 - eta x^2) w + eta x y; one pass composes them into
    w -> A w + c, whose fixed point is c / (1 - A).
    """
    A, c = 1.0, 0.0
    for x, y in zip(TABLE_X[:, 0], TABLE_Y, strict=True):
        A, c = (1 - eta * x * x) * A, (1 - eta * x * x) * c + eta * x * y
    return c / (1 - A)


def test_lms_constant_step_leaves_a_bias_of_order_eta():
    biases = {}
    for eta in (0.01, 0.005, 0.0025):
        model = LMS(lr=eta, epochs=400).fit(TABLE_X, TABLE_Y)
        cycle = constant_step_cycle(eta)
        assert model.w_[0] == pytest.approx(cycle, abs=1e-12)
        biases[eta] = cycle - W_LEAST_SQUARES
    assert constant_step_cycle(0.01) == pytest.approx(1.004137, abs=1e-6)  # the docstring's
    assert abs(biases[0.01]) > 5e-4  # visibly off the least-squares answer
    # O(eta): halving eta roughly halves the bias.
    assert biases[0.005] / biases[0.01] == pytest.approx(0.5, abs=0.05)
    assert biases[0.0025] / biases[0.005] == pytest.approx(0.5, abs=0.05)


def test_lms_with_intercept_recovers_exact_linear_data():
    # No noise: the least-squares fit has zero residual, so a constant step has no bias.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = X @ np.array([3.0, -2.0, 0.5]) + 1.5
    model = LMS(lr=0.05, epochs=200, fit_intercept=True, shuffle=True, seed=1).fit(X, y)
    np.testing.assert_allclose(model.w_, [3.0, -2.0, 0.5], atol=1e-8)
    assert model.b_ == pytest.approx(1.5, abs=1e-8)
    assert model.score(X, y) == pytest.approx(1.0)
    np.testing.assert_allclose(model.predict(X), y, atol=1e-7)


def test_lms_score_is_r_squared():
    model = LMS(lr=0.01, epochs=1).fit(TABLE_X, TABLE_Y)  # w = 1.0041373
    y_hat = 1.0041373 * TABLE_X[:, 0]
    expected = 1 - np.sum((TABLE_Y - y_hat) ** 2) / np.sum((TABLE_Y - TABLE_Y.mean()) ** 2)
    assert model.score(TABLE_X, TABLE_Y) == pytest.approx(expected, abs=1e-6)
    assert model.score(TABLE_X[:1], [10.0]) == 0.0  # constant y, inexact fit
    model.w_ = np.array([1.0])
    assert model.score(TABLE_X[:2], [10.0, 2.0]) == pytest.approx(1.0)


def test_lms_divergence_stops_and_keeps_finite_weights():
    # lr = 0.5: one pass multiplies the error by (1-50)(1-2)(1-6.125)(1-0.5), about -125.6.
    with pytest.warns(DivergenceWarning, match=r"LMS diverged.*Try a smaller lr.*lr < 0\.02"):
        model = LMS(lr=0.5, epochs=1000).fit(TABLE_X, TABLE_Y)
    # The loss overflows when (10 w)^2 passes 1.8e308, |w| ~ 1.3e153: after about
    # log(1.3e153) / log(125.6) = 73 epochs; the weights of the epoch before are kept.
    assert model.diverged_
    assert 65 < model.n_epochs_ < 80
    assert np.abs(model.w_history_[-1, 0]) > 1e140
    assert np.all(np.isfinite(model.w_history_)) and np.isfinite(model.w_).all()
    assert model.w_history_.shape == (model.n_epochs_ + 1, 1)
    assert len(model.history_["loss"]) == model.n_epochs_


def test_lms_shuffle_is_reproducible():
    a = LMS(shuffle=True, seed=3).fit(TABLE_X, TABLE_Y)
    b = LMS(shuffle=True, seed=3).fit(TABLE_X, TABLE_Y)
    c = LMS(shuffle=True, seed=4).fit(TABLE_X, TABLE_Y)
    np.testing.assert_array_equal(a.w_history_, b.w_history_)
    assert not np.array_equal(a.w_history_, c.w_history_)


# ============================================================================ LinearSVM
def test_svm_one_dimensional_optimum():
    # x = -1, +1 and y = -1, +1, n = 2, C = 1: lambda = 1/2 and
    # F(w, b) = w^2/4 + (max(0, 1 - w - b) + max(0, 1 - w + b)) / 2, least at w = 1, b = 0
    # (F = 1/4), where both points sit on the hyperplanes a = -1 and a = +1.
    X, y = np.array([[-1.0], [1.0]]), np.array([-1, 1])
    svm = LinearSVM(C=1.0, epochs=2000).fit(X, y)
    assert svm.lam_ == 0.5
    assert svm.w_[0] == pytest.approx(1.0, abs=2e-3)
    assert svm.b_ == pytest.approx(0.0, abs=2e-3)
    assert svm.objective_ == pytest.approx(0.25, abs=1e-3)
    assert svm.margin_ == pytest.approx(2.0, rel=2e-3)
    assert svm.geometric_margin(X, y) == pytest.approx(2.0, rel=5e-3)


def test_svm_soft_margin_in_one_dimension():
    # C = 1/4: lambda = 2. For |b| <= 1 - w both points are inside the margin and
    # F = w^2 + 1 - w, least at w = 1/2 (F = 3/4) for any b in [-1/2, 1/2]: b is not unique.
    X, y = np.array([[-1.0], [1.0]]), np.array([-1, 1])
    svm = LinearSVM(C=0.25, epochs=2000).fit(X, y)
    assert svm.w_[0] == pytest.approx(0.5, abs=2e-3)
    assert abs(svm.b_) <= 0.5
    assert svm.objective_ == pytest.approx(0.75, abs=1e-3)
    # margin_ = 2/|w| = 4, twice the distance between the points: both lie inside the band,
    # and the geometric margin 2 (w - |b|)/w is at most 2.
    assert svm.margin_ == pytest.approx(4.0, rel=5e-3)
    assert svm.geometric_margin(X, y) <= 2.0 + 1e-9


@pytest.mark.parametrize("seed", range(5))
def test_svm_margin_beats_the_perceptron(seed):
    # The lecture's question, in numbers: both separate the blobs, the SVM with the widest band.
    X, y = blobs(seed)
    widest = hull_distance(X[y > 0], X[y < 0])
    svm = LinearSVM(seed=seed).fit(X, y)
    perceptron = Perceptron(seed=seed).fit(X, y)
    svm_margin = svm.geometric_margin(X, y)
    perceptron_margin = perceptron.geometric_margin(X, y)
    assert svm.score(X, y) == 1.0 and perceptron.score(X, y) == 1.0
    assert perceptron_margin > 0
    assert svm_margin > perceptron_margin
    assert 0.98 * widest <= svm_margin <= widest * (1 + 1e-9)
    assert svm.margin_ == pytest.approx(widest, rel=0.03)


def test_svm_history_and_options():
    X, y = blobs(2)
    svm = LinearSVM(epochs=40, seed=1).fit(X, y)
    h = svm.history_
    assert h["epoch"] == list(range(1, 41)) and h["errors"][-1] == 0
    assert h["objective"][-1] == svm.objective_ <= h["objective"][0]
    a = X @ svm.w_ + svm.b_
    expected = 0.5 * svm.lam_ * svm.w_ @ svm.w_ + np.mean(np.maximum(0, 1 - y * a))
    assert svm.objective_ == pytest.approx(expected)
    # Without the projection the first steps (eta_1 = C n) leave w and b large: slower.
    free = LinearSVM(project=False, seed=1, epochs=1000).fit(X, y)
    assert free.score(X, y) == 1.0
    assert free.objective_ > svm.objective_
    origin = LinearSVM(fit_intercept=False).fit(X, y)
    assert origin.b_ == 0.0 and origin.score(X, y) == 1.0
    # Labels 0/1 and "a"/"b" fit the same model as -1/+1.
    as01 = LinearSVM(epochs=40, seed=1).fit(X, (y > 0).astype(int))
    np.testing.assert_array_equal(as01.w_, svm.w_)
    assert as01.predict(X[:3]).tolist() == [0, 0, 0]


# ============================================================================ accuracy vs peers
def _load_script():
    path = ROOT / "scripts" / "make_classic_fixtures.py"
    spec = importlib.util.spec_from_file_location("make_classic_fixtures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fixture_splits_are_the_scripts_stratified_splits():
    fixture = json.loads(FIXTURE.read_text())
    script = _load_script()
    y = np.array(fixture["dataset"]["y"])
    assert len(y) == fixture["dataset"]["shape"][0]
    for split in fixture["splits"]:
        train, test = script.stratified_split(y, split["seed"])
        assert train.tolist() == split["train"] and test.tolist() == split["test"]
        assert sorted(split["train"] + split["test"]) == list(range(len(y)))
        for c in (0, 1):
            assert np.sum(y[test] == c) == round(0.25 * np.sum(y == c))


def _standardise(X, train):
    return (X - X[train].mean(axis=0)) / X[train].std(axis=0)


@pytest.mark.slow
def test_accuracy_against_scikit_learn_on_breast_cancer():
    """Mean test accuracy over the fixture's 5 splits, within 1 point of scikit-learn's."""
    datasets = pytest.importorskip("sklearn.datasets")  # the data only; no peer runs here
    fixture = json.loads(FIXTURE.read_text())
    data = datasets.load_breast_cancer()
    X, y = data.data.astype(np.float64), data.target
    assert list(X.shape) == fixture["dataset"]["shape"]
    assert y.tolist() == fixture["dataset"]["y"]
    assert X.sum() == pytest.approx(fixture["dataset"]["X_sum"], rel=1e-12)
    ours = {"Perceptron": [], "LinearSVM": []}
    for split in fixture["splits"]:
        train, test, seed = np.array(split["train"]), np.array(split["test"]), split["seed"]
        Xs = _standardise(X, train)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # not separable on some splits
            perceptron = Perceptron(seed=seed).fit(Xs[train], y[train])
        svm = LinearSVM(C=fixture["C"], seed=seed).fit(Xs[train], y[train])
        ours["Perceptron"].append(perceptron.score(Xs[test], y[test]))
        ours["LinearSVM"].append(svm.score(Xs[test], y[test]))
        # Pegasos' 100 epochs come within 10% of the optimum that SVC finds for F(w, b).
        assert split["svc_objective"] * (1 - 1e-3) <= svm.objective_
        assert svm.objective_ <= 1.10 * split["svc_objective"]
    peers = fixture["mean_accuracy"]
    mean = {name: float(np.mean(values)) for name, values in ours.items()}
    assert abs(mean["Perceptron"] - peers["Perceptron"]) <= 0.01
    assert abs(mean["LinearSVM"] - peers["LinearSVC"]) <= 0.01
    assert abs(mean["LinearSVM"] - peers["LinearSVC_hinge"]) <= 0.01
