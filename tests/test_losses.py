"""wengert.losses: values against hand formulas and peer fixtures, gradients, stability, errors.

The peer numbers (PyTorch, scikit-learn) come from tests/fixtures/losses.json, written by
scripts/make_loss_fixtures.py; these tests import neither.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import wengert as wg
from wengert import losses
from wengert.derivatives import gradcheck

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "losses.json").read_text())
REDUCTIONS = ("mean", "sum", "none")

Y_HAT = np.array([0.5, -2.0, 3.0, 0.25, -0.75])
Y_REAL = np.array([1.0, -1.5, 0.5, 0.25, 1.0])
Y_SIGN = np.array([1.0, -1.0, -1.0, 1.0, 1.0])
Y_01 = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
LOGITS = np.array([[2.0, -1.0, 0.5], [0.0, 0.3, -0.2], [-1.5, 1.0, 2.5], [0.7, 0.7, -3.0]])
CLASSES = np.array([0, 2, 2, 1])
PROBS = np.array([[0.7, 0.2, 0.1], [0.0, 0.5, 0.5], [1.0, 0.0, 0.0], [0.25, 0.25, 0.5]])


def _ids(table):
    return [row[0] for row in table]


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _log_softmax(z):
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _huber(r, delta):
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * r**2, delta * (a - 0.5 * delta))


def _hinge(y_hat, y, m):
    return np.maximum(0, m - y * y_hat)


# (name, loss, args, kwargs, per-element value by hand)
FORMULAS = [
    ("l1", losses.l1, (Y_HAT, Y_REAL), {}, np.abs(Y_HAT - Y_REAL)),
    ("l2", losses.l2, (Y_HAT, Y_REAL), {}, 0.5 * (Y_HAT - Y_REAL) ** 2),
    ("mse", losses.mse, (Y_HAT, Y_REAL), {}, (Y_HAT - Y_REAL) ** 2),
    ("huber", losses.huber, (Y_HAT, Y_REAL), {}, _huber(Y_HAT - Y_REAL, 1.0)),
    ("huber-0.5", losses.huber, (Y_HAT, Y_REAL), {"delta": 0.5}, _huber(Y_HAT - Y_REAL, 0.5)),
    ("hinge", losses.hinge, (Y_HAT, Y_SIGN), {}, _hinge(Y_HAT, Y_SIGN, 1.0)),
    ("hinge-0", losses.hinge, (Y_HAT, Y_SIGN), {"margin": 0.0}, _hinge(Y_HAT, Y_SIGN, 0.0)),
    ("sq-hinge", losses.squared_hinge, (Y_HAT, Y_SIGN), {}, _hinge(Y_HAT, Y_SIGN, 1.0) ** 2),
    (
        "sq-hinge-2",
        losses.squared_hinge,
        (Y_HAT, Y_SIGN),
        {"margin": 2.0},
        _hinge(Y_HAT, Y_SIGN, 2.0) ** 2,
    ),
    (
        "logistic",
        losses.logistic,
        (Y_HAT, Y_01),
        {},
        -(Y_01 * np.log(_sigmoid(Y_HAT)) + (1 - Y_01) * np.log(1 - _sigmoid(Y_HAT))),
    ),
    (
        "ce-labels",
        losses.cross_entropy,
        (LOGITS, CLASSES),
        {},
        -_log_softmax(LOGITS)[np.arange(4), CLASSES],
    ),
    ("ce-probs", losses.cross_entropy, (LOGITS, PROBS), {}, -(PROBS * _log_softmax(LOGITS)).sum(1)),
    (
        "zero-one-scores",
        losses.zero_one,
        (Y_HAT, Y_SIGN),
        {},
        (np.sign(Y_HAT) != Y_SIGN).astype(float),
    ),
    (
        "zero-one-labels",
        losses.zero_one,
        (np.array([0, 2, 1, 1, 3]), np.array([0, 1, 1, 2, 3])),
        {},
        np.array([0.0, 1, 0, 1, 0]),
    ),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("name", "loss", "args", "kwargs", "per"), FORMULAS, ids=_ids(FORMULAS))
def test_value_matches_the_formula_for_every_reduction(name, loss, args, kwargs, per, reduction):
    out = loss(*args, **kwargs, reduction=reduction)
    assert isinstance(out, wg.Tensor)
    expected = {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-14, atol=1e-15)


def _fixture_ids(case):
    return case["loss"] + "-" + "-".join(f"{k}{v}" for k, v in case["kwargs"].items())


@pytest.mark.parametrize("case", FIXTURE["cases"], ids=_fixture_ids)
def test_values_and_gradients_match_the_peers(case):
    loss = getattr(losses, case["loss"])
    y_hat, y = np.array(case["y_hat"]), np.array(case["y"])
    for reduction, expected in case["values"].items():
        out = loss(y_hat, y, **case["kwargs"], reduction=reduction)
        np.testing.assert_allclose(out.data, expected, rtol=1e-13, atol=1e-15)
    for reduction, expected in case["grads"].items():
        g = wg.grad(lambda x, r=reduction: loss(x, y, **case["kwargs"], reduction=r))(y_hat)
        np.testing.assert_allclose(g, expected, rtol=1e-13, atol=1e-15)


def test_every_peer_checked_loss_has_a_fixture():
    names = {case["loss"] for case in FIXTURE["cases"]}
    assert {"mse", "l1", "huber", "logistic", "cross_entropy", "hinge", "zero_one"} <= names


# ------------------------------------------------------------------------------ gradients
N = len(Y_HAT)
ONEHOT = np.eye(3)[CLASSES]
# (name, loss, args, kwargs, d(mean loss)/d y_hat by hand)
GRADIENTS = [
    ("l1", losses.l1, (Y_HAT, Y_REAL), {}, np.sign(Y_HAT - Y_REAL) / N),
    ("l2", losses.l2, (Y_HAT, Y_REAL), {}, (Y_HAT - Y_REAL) / N),
    ("mse", losses.mse, (Y_HAT, Y_REAL), {}, 2 * (Y_HAT - Y_REAL) / N),
    (
        "huber",
        losses.huber,
        (Y_HAT, Y_REAL),
        {},
        np.clip(Y_HAT - Y_REAL, -1.0, 1.0) / N,  # r inside, delta * sign(r) outside
    ),
    ("hinge", losses.hinge, (Y_HAT, Y_SIGN), {}, np.where(Y_SIGN * Y_HAT < 1, -Y_SIGN, 0) / N),
    (
        "hinge-0",
        losses.hinge,
        (Y_HAT, Y_SIGN),
        {"margin": 0.0},
        np.where(Y_SIGN * Y_HAT < 0, -Y_SIGN, 0) / N,
    ),
    (
        "sq-hinge",
        losses.squared_hinge,
        (Y_HAT, Y_SIGN),
        {},
        -2 * Y_SIGN * _hinge(Y_HAT, Y_SIGN, 1.0) / N,
    ),
    ("logistic", losses.logistic, (Y_HAT, Y_01), {}, (_sigmoid(Y_HAT) - Y_01) / N),
    (
        "ce-labels",
        losses.cross_entropy,
        (LOGITS, CLASSES),
        {},
        (np.exp(_log_softmax(LOGITS)) - ONEHOT) / 4,
    ),
    (
        "ce-probs",
        losses.cross_entropy,
        (LOGITS, PROBS),
        {},
        (np.exp(_log_softmax(LOGITS)) - PROBS) / 4,
    ),
]


@pytest.mark.parametrize(
    ("name", "loss", "args", "kwargs", "expected"), GRADIENTS, ids=_ids(GRADIENTS)
)
def test_gradient_of_the_mean_matches_the_analytic_derivative(name, loss, args, kwargs, expected):
    y_hat, y = args
    x = wg.tensor(y_hat, requires_grad=True)
    loss(x, y, **kwargs).backward()
    np.testing.assert_allclose(x.grad, expected, rtol=1e-14, atol=1e-16)
    y_hat_sum = wg.tensor(y_hat, requires_grad=True)
    loss(y_hat_sum, y, **kwargs, reduction="sum").backward()
    np.testing.assert_allclose(y_hat_sum.grad, expected * len(y_hat), rtol=1e-13, atol=1e-15)


# (name, loss, y_hat, y, kwargs, order): inputs away from every kink; order 2 where the
# second derivative exists there (all of them: hinge's is 0, squared hinge's 2 or 0).
CHECKS = [
    ("l1", losses.l1, Y_HAT, Y_REAL + 0.1, {}, 2),
    ("l2", losses.l2, Y_HAT, Y_REAL, {}, 2),
    ("mse", losses.mse, Y_HAT, Y_REAL, {}, 2),
    ("huber", losses.huber, Y_HAT, Y_REAL, {"delta": 1.2}, 2),
    ("hinge", losses.hinge, Y_HAT, Y_SIGN, {"margin": 0.9}, 2),
    ("sq-hinge", losses.squared_hinge, Y_HAT, Y_SIGN, {"margin": 0.9}, 2),
    ("logistic", losses.logistic, Y_HAT * 3, Y_01, {}, 2),
    ("ce-labels", losses.cross_entropy, LOGITS, CLASSES, {}, 2),
    ("ce-probs", losses.cross_entropy, LOGITS, PROBS, {}, 2),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    ("name", "loss", "y_hat", "y", "kwargs", "order"), CHECKS, ids=_ids(CHECKS)
)
def test_gradcheck(name, loss, y_hat, y, kwargs, order, reduction):
    report = gradcheck(lambda x: loss(x, y, **kwargs, reduction=reduction), y_hat, order=order)
    assert report.passed


def test_l2_gives_the_lectures_update_for_the_smallest_perceptron():
    # L = ½ (y - wx)²: dL/dw = -(y - ŷ) x, so gradient descent is w = w + η (y - ŷ) x.
    x, y, w = 2.0, 3.0, 0.5
    g = wg.grad(lambda w: losses.l2(w * x, y))(w)
    assert g == -(y - w * x) * x
    np.testing.assert_allclose(losses.l2(Y_HAT, Y_REAL).data, losses.mse(Y_HAT, Y_REAL).data / 2)


def test_hinge_kink_takes_subgradient_zero():
    # y·ŷ = m exactly: the documented choice is 0 (relu'(0) = 0), for m = 1 and m = 0.
    for margin, y_hat in ((1.0, np.array([1.0, -1.0])), (0.0, np.array([0.0, 0.0]))):
        g = wg.grad(lambda s, m=margin: losses.hinge(s, np.array([1.0, -1.0]), margin=m))(y_hat)
        np.testing.assert_array_equal(g, [0.0, 0.0])


def test_huber_gradient_is_continuous_at_delta():
    y = np.zeros(4)
    y_hat = np.array([0.5 - 1e-12, 0.5, 0.5 + 1e-12, -0.5])
    g = wg.grad(lambda x: losses.huber(x, y, delta=0.5, reduction="sum"))(y_hat)
    np.testing.assert_allclose(g, [0.5, 0.5, 0.5, -0.5], atol=1e-11)


def test_second_derivative_of_l2_is_one_over_n():
    h = wg.hessian(lambda x: losses.l2(x, Y_REAL))(Y_HAT)
    np.testing.assert_allclose(h, np.eye(N) / N, rtol=1e-15)


# ------------------------------------------------------------------------------ stability
def test_logistic_is_finite_and_exact_at_logits_of_1000():
    z = np.array([1000.0, -1000.0, 1000.0, -1000.0])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    value, g = wg.value_and_grad(lambda z: losses.logistic(z, y, reduction="sum"))(z)
    assert value == 2000.0  # the two wrong signs cost |z| each, the right ones 0
    np.testing.assert_array_equal(g, [0.0, 0.0, 1.0, -1.0])  # sigmoid(z) - y


@pytest.mark.parametrize("target", ["labels", "probabilities"])
def test_cross_entropy_is_finite_and_exact_at_logits_of_1000(target):
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0]])
    y = np.array([1, 2]) if target == "labels" else np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    value, g = wg.value_and_grad(lambda z: losses.cross_entropy(z, y, reduction="sum"))(z)
    assert value == 2000.0  # 1000 - (-1000), then 0
    np.testing.assert_allclose(g, [[1.0, -1.0, 0.0], [0.0, 0.0, 0.0]], atol=1e-300)


# ------------------------------------------------------------------------------ zero-one
def test_zero_one_counts_a_score_of_zero_as_a_mistake():
    y_hat, y = np.array([0.0, 0.0, 2.0, -0.1]), np.array([1.0, -1.0, 1.0, -1.0])
    assert losses.zero_one(y_hat, y).item() == 0.5
    assert losses.zero_one(y_hat, y, reduction="sum").item() == 2.0


@pytest.mark.parametrize("how", ["backward", "grad", "hessian"])
def test_zero_one_refuses_to_be_differentiated(how):
    y = np.array([1.0, -1.0, 1.0])
    y_hat = np.array([0.3, 0.2, -1.0])
    with pytest.raises(
        RuntimeError, match=r"piecewise constant.*no useful gradient.*hinge.*logistic"
    ):
        if how == "backward":
            losses.zero_one(wg.tensor(y_hat, requires_grad=True), y).backward()
        elif how == "grad":
            wg.grad(lambda s: losses.hinge(s, y) + losses.zero_one(s, y))(y_hat)
        else:
            wg.hessian(lambda s: losses.zero_one(s, y, reduction="sum"))(y_hat)


def test_zero_one_is_a_metric_without_a_graph():
    x = wg.tensor(Y_HAT, requires_grad=True)
    with wg.no_grad():
        assert not losses.zero_one(x, Y_SIGN).requires_grad
    assert not losses.zero_one(x.detach(), Y_SIGN).requires_grad
    assert losses.zero_one(np.array([1, 2]), np.array([1, 2])).item() == 0.0


# ------------------------------------------------------------------------------ conventions
def test_dtype_follows_the_predictions():
    x = wg.tensor(Y_HAT.astype(np.float32), requires_grad=True)
    for loss, y in ((losses.mse, Y_REAL), (losses.hinge, Y_SIGN), (losses.logistic, Y_01)):
        out = loss(x, y)
        assert out.dtype == np.float32
        out.backward()
        assert x.grad.dtype == np.float32
        x.grad = None


def test_arrays_and_tensors_mix():
    y_tensor = wg.tensor(Y_REAL)  # a target Tensor without grad is fine
    out = losses.mse(Y_HAT.tolist(), y_tensor)
    assert isinstance(out, wg.Tensor) and not out.requires_grad
    assert losses.mse(np.array([1, 2]), np.array([1, 4])).item() == 2.0  # integer y_hat: float
    assert losses.cross_entropy(LOGITS, CLASSES.astype(float)).item() == pytest.approx(
        losses.cross_entropy(LOGITS, CLASSES).item(), rel=1e-15
    )


def test_scalar_prediction_is_the_lectures_per_sample_loss():
    assert losses.l2(2.0, 3.0).item() == 0.5
    assert losses.hinge(0.25, -1.0).item() == 1.25
    assert losses.cross_entropy(np.zeros(4), 3).item() == pytest.approx(np.log(4), rel=1e-15)


# ------------------------------------------------------------------------------ bad input
X = wg.tensor(Y_HAT, requires_grad=True)
COLUMN = Y_HAT.reshape(-1, 1)
NAN_Y = np.array([1.0, np.nan, 0.0, np.inf, 2.0])
NEGATE_01 = [[1, -1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1]]
BAD_INPUTS = [
    ("column-vs-vector", lambda: losses.mse(COLUMN, Y_REAL), ValueError,
     "mse: y must be of shape (5, 1), the shape of y_hat; got shape (5,). NumPy would "
     "broadcast the two to (5, 5) and compare every prediction with every target. "
     "Make them agree: y.reshape(-1, 1), or y_hat.reshape(-1)."),
    ("vector-vs-column", lambda: losses.l1(X, Y_REAL.reshape(-1, 1)), ValueError,
     "l1: y must be of shape (5,), the shape of y_hat; got shape (5, 1). NumPy would "
     "broadcast the two to (5, 5) and compare every prediction with every target. "
     "Make them agree: y.reshape(-1)."),
    ("other-length", lambda: losses.l2(X, Y_REAL[:3]), ValueError,
     "l2: y must be of shape (5,), the shape of y_hat; got shape (3,)."),
    ("hinge-01", lambda: losses.hinge(X, Y_01), ValueError,
     "hinge: y must be labels -1 and +1; got 0.0 at index (1,) (2 such value(s)). Use "
     "labels -1/+1, e.g. 2*y - 1 for 0/1 labels."),
    ("nan-target", lambda: losses.huber(X, NAN_Y), ValueError,
     "huber: y must be finite; got 2 NaN or infinite value(s), the first at index "
     "(1,): nan."),
    ("squared-hinge-01", lambda: losses.squared_hinge(X, Y_01), ValueError,
     "squared_hinge: y must be labels -1 and +1; got 0.0 at index (1,) (2 such "
     "value(s)). Use labels -1/+1, e.g. 2*y - 1 for 0/1 labels."),
    ("zero-one-scores-01", lambda: losses.zero_one(X, Y_01), ValueError,
     "zero_one: y must be labels -1 and +1; got 0.0 at index (1,) (2 such value(s)). "
     "For real-valued scores y_hat, use labels -1/+1, e.g. 2*y - 1 for 0/1 labels; to "
     "compare class labels by equality, pass integer predictions, e.g. "
     "y_hat.astype(int)."),
    ("logistic-pm1", lambda: losses.logistic(X, Y_SIGN), ValueError,
     "logistic: y must be labels 0 and 1; got -1.0 at index (1,) (2 such value(s)). "
     "For -1/+1 labels use (y + 1) / 2."),
    ("logistic-soft", lambda: losses.logistic(X, np.full(5, 0.5)), ValueError,
     "logistic: y must be labels 0 and 1; got 0.5 at index (0,) (5 such value(s)). "
     "For -1/+1 labels use (y + 1) / 2."),
    ("ce-label-too-big", lambda: losses.cross_entropy(LOGITS, np.array([0, 3, 1, 1])), ValueError,
     "cross_entropy: y must be class labels in [0, 3) for 3 classes; got 3 at index "
     "(1,)."),
    ("ce-label-negative", lambda: losses.cross_entropy(LOGITS, np.array([0, 1, -1, 1])), ValueError,
     "cross_entropy: y must be class labels in [0, 3) for 3 classes; got -1 at index "
     "(2,)."),
    ("ce-label-fraction", lambda: losses.cross_entropy(LOGITS, np.array([0, 1.5, 1, 1])),
     ValueError,
     "cross_entropy: y must be integer class labels; got 1.5 at index (1,). For class "
     "probabilities pass y of the logits' shape (N, C)."),
    ("ce-probs-negative", lambda: losses.cross_entropy(LOGITS, PROBS * NEGATE_01),
     ValueError,
     "cross_entropy: y (class probabilities) must be >= 0; got -0.2 at index (0, 1)."),
    ("ce-probs-row-sum", lambda: losses.cross_entropy(LOGITS, PROBS * 0.9), ValueError,
     "cross_entropy: each row of y (class probabilities) must be a sum of 1; got row "
     "(0,) summing to 0.9. For class labels pass y of shape (N,)."),
    ("ce-column-labels", lambda: losses.cross_entropy(LOGITS, CLASSES.reshape(-1, 1)), ValueError,
     "cross_entropy: y must be class labels of shape (4,) or probabilities of shape "
     "(4, 3); got shape (4, 1). Make them agree: y.reshape(-1)."),
    ("ce-scalar-logits", lambda: losses.cross_entropy(1.0, 0), ValueError,
     "cross_entropy: logits must be an array with a class axis, shape (N, C); got a "
     "scalar."),
    ("reduction", lambda: losses.l1(X, Y_REAL, reduction="avg"), ValueError,
     "l1: reduction must be one of 'mean', 'none', 'sum'; got 'avg'."),
    ("reduction-none-object", lambda: losses.zero_one(X, Y_SIGN, reduction=None), TypeError,
     "zero_one: reduction must be one of 'mean', 'none', 'sum'; got None."),
    ("negative-margin", lambda: losses.hinge(X, Y_SIGN, margin=-1.0), ValueError,
     "hinge: margin must be a float >= 0; got -1.0."),
    ("nan-margin", lambda: losses.squared_hinge(X, Y_SIGN, margin=float("nan")), ValueError,
     "squared_hinge: margin must be a float >= 0; got nan."),
    ("negative-delta", lambda: losses.huber(X, Y_REAL, delta=-0.5), ValueError,
     "huber: delta must be a float > 0; got -0.5."),
    ("zero-delta", lambda: losses.huber(X, Y_REAL, delta=0), ValueError,
     "huber: delta must be a float > 0; got 0."),
    ("target-with-grad", lambda: losses.mse(X, wg.tensor(Y_REAL, requires_grad=True)), ValueError,
     "mse: y (the target, which carries no gradient) must be data without a gradient; "
     "got a Tensor with requires_grad=True. Pass y.detach(), or, to differentiate "
     "through both arguments, write the formula out with wengert's operations."),
    ("empty", lambda: losses.l2(np.zeros(0), np.zeros(0)), ValueError,
     "l2: y must be a non-empty array of targets; got shape (0,)."),
    ("string-targets", lambda: losses.zero_one(np.array([1, 0]), np.array(["a", "b"])), TypeError,
     "zero_one: y must be numbers; got an array of dtype <U1 (string). Convert it "
     "first, e.g. np.asarray(x, dtype=float)."),
    ("string-predictions", lambda: losses.l1(["a", "b"], np.zeros(2)), TypeError,
     "l1: y_hat must be numbers; got an array of dtype <U1 (string). Convert it "
     "first, e.g. np.asarray(x, dtype=float)."),
]  # fmt: skip


@pytest.mark.parametrize(("name", "call", "error", "match"), BAD_INPUTS, ids=_ids(BAD_INPUTS))
def test_bad_input_is_refused_with_its_message(name, call, error, match):
    with pytest.raises(error, match="^" + re.escape(match) + "$"):
        call()
