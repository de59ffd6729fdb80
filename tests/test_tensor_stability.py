"""Numerical stability of the Tensor's functions: the softmax family at inputs of +-1000 (values and
gradients finite, strictly inside their ranges), and harmless underflow that does not raise under
np.errstate(all="raise") while the real faults still do.
"""

import math
import warnings

import numpy as np
import pytest
from tensor_helpers import leaf

import wengert as wg

# ----------------------------------------------------------------------------- inputs of +-1000
BIG = np.array([1000.0, -1000.0, 0.0])


def _strictly(fn):
    """Run fn with every warning an error and every floating-point fault but underflow raising."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            return fn()


def _value_and_grad(f, x0, weights):
    x = leaf(x0)
    out = f(x)
    (out * weights).sum().backward()
    return out.numpy(), x.grad


def test_sigmoid_at_plus_minus_1000():
    value, grad = _strictly(lambda: _value_and_grad(wg.sigmoid, BIG, 1.0))
    np.testing.assert_array_equal(value, [1.0, 0.0, 0.5])
    np.testing.assert_array_equal(grad, [0.0, 0.0, 0.25])  # s (1 - s)


def test_tanh_at_plus_minus_1000():
    value, grad = _strictly(lambda: _value_and_grad(wg.tanh, BIG, 1.0))
    np.testing.assert_array_equal(value, [1.0, -1.0, 0.0])
    np.testing.assert_array_equal(grad, [0.0, 0.0, 1.0])


def test_softplus_at_plus_minus_1000():
    value, grad = _strictly(lambda: _value_and_grad(wg.softplus, BIG, 1.0))
    # log(1 + e^x) -> x for large x, -> 0 for very negative x; log 2 at 0
    np.testing.assert_allclose(value, [1000.0, 0.0, math.log(2)], rtol=1e-15, atol=0)
    np.testing.assert_array_equal(grad, [1.0, 0.0, 0.5])  # sigmoid


def test_softmax_at_plus_minus_1000():
    weights = np.array([1.0, 2.0, 3.0])
    value, grad = _strictly(lambda: _value_and_grad(wg.softmax, BIG, weights))
    np.testing.assert_array_equal(value, [1.0, 0.0, 0.0])
    # grad of w . softmax(x) = s * (w - s . w); with s = e_0 that is 0
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, [0.0, 0.0, 0.0], atol=1e-300)
    tied, _ = _strictly(lambda: _value_and_grad(wg.softmax, np.array([1000.0, 1000.0]), 1.0))
    np.testing.assert_array_equal(tied, [0.5, 0.5])


def test_log_softmax_at_plus_minus_1000():
    weights = np.array([1.0, 2.0, 3.0])
    value, grad = _strictly(lambda: _value_and_grad(wg.log_softmax, BIG, weights))
    # x - logsumexp(x), and logsumexp(x) = 1000 up to e^-1000
    np.testing.assert_array_equal(value, [0.0, -2000.0, -1000.0])
    # grad of w . log_softmax(x) = w - softmax(x) sum(w) = w - e_0 * 6
    np.testing.assert_array_equal(grad, [1.0 - 6.0, 2.0, 3.0])


@pytest.mark.parametrize(
    ("x0", "expected", "softmax"),
    [
        (BIG, 1000.0, [1.0, 0.0, 0.0]),
        (np.array([1000.0, 1000.0]), 1000.0 + math.log(2), [0.5, 0.5]),
        (np.array([-1000.0, -1000.0]), -1000.0 + math.log(2), [0.5, 0.5]),
        (np.array([-1000.0]), -1000.0, [1.0]),
    ],
    ids=["mixed", "both-large", "both-small", "single"],
)
def test_logsumexp_at_plus_minus_1000(x0, expected, softmax):
    value, grad = _strictly(lambda: _value_and_grad(wg.logsumexp, x0, 1.0))
    assert value.shape == ()
    assert float(value) == pytest.approx(expected, rel=1e-15)
    # the rule is exp(x - logsumexp(x)) (as PyTorch's): x - 1000.69... keeps the rounding of
    # the answer, an ulp of 1000 (1e-13), so the gradient is exact only to about that
    np.testing.assert_allclose(grad, softmax, rtol=1e-12, atol=0)


def test_logsumexp_along_an_axis_at_plus_minus_1000():
    x0 = np.array([[1000.0, -1000.0], [-1000.0, -1000.0]])
    value, grad = _strictly(lambda: _value_and_grad(lambda x: wg.logsumexp(x, axis=1), x0, 1.0))
    np.testing.assert_allclose(value, [1000.0, -1000.0 + math.log(2)], rtol=1e-15)
    np.testing.assert_allclose(grad, [[1.0, 0.0], [0.5, 0.5]], rtol=1e-12, atol=0)


def test_the_naive_formulas_would_have_warned():
    # The check above is meaningful: the textbook forms overflow at these inputs.
    with pytest.raises(FloatingPointError):
        _strictly(lambda: np.log(np.sum(np.exp(BIG))))
    with pytest.warns(RuntimeWarning):
        np.exp(BIG)


# ------------------------------------------------------------------------ errstate(all="raise")
# Users turn every floating-point fault into an error to hunt NaNs; exp(-1000) underflowing to 0
# is the right answer, not a fault, so none of these may raise. References: mpmath at 50 digits,
# rounded to float64.
mpmath = pytest.importorskip("mpmath")
mpmath.mp.dps = 50
ROW = np.array([-1000.0, -720.0, -30.0, -1.0, 0.0, 2.0, 745.0, 1000.0])
WEIGHTS = np.array([0.5, -1.5, 2.0, 0.25, 1.0, -0.75, 3.0, 1.25])
ROWS = np.array([[0.0, -1000.0, -720.0, -1.0], [1000.0, 0.0, -5.0, 3.0]])


def _mp_sigmoid(v):
    return 1 / (1 + mpmath.exp(-mpmath.mpf(v)))


def _mp_softmax_row(row):
    e = [mpmath.exp(mpmath.mpf(v)) for v in row]
    return [v / mpmath.fsum(e) for v in e]


def _floats(values) -> np.ndarray:
    return np.array([float(v) for v in values])


def _reference(name, x, w):
    """(value, gradient of sum(w * value)) of each function, computed in mpmath."""
    if name in ("sigmoid", "softplus"):
        s = [_mp_sigmoid(v) for v in x]
        if name == "sigmoid":
            return _floats(s), _floats(si * (1 - si) * wi for si, wi in zip(s, w, strict=True))
        value = [mpmath.log1p(mpmath.exp(mpmath.mpf(v))) for v in x]
        return _floats(value), _floats(si * wi for si, wi in zip(s, w, strict=True))
    values, grads = [], []
    for row, wrow in zip(x, w, strict=True):
        s = _mp_softmax_row(row)
        lse = mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(v)) for v in row))
        if name == "softmax":
            dot = mpmath.fsum(si * wi for si, wi in zip(s, wrow, strict=True))
            values.append(_floats(s))
            grads.append(_floats(si * (wi - dot) for si, wi in zip(s, wrow, strict=True)))
        elif name == "log_softmax":
            total = mpmath.fsum(wrow)
            values.append(_floats(mpmath.mpf(v) - lse for v in row))
            grads.append(_floats(wi - si * total for si, wi in zip(s, wrow, strict=True)))
        else:  # logsumexp, one weight per row
            values.append(float(lse))
            grads.append(_floats(si * wrow for si in s))
    return np.array(values), np.array(grads)


ERRSTATE_CASES = {
    "sigmoid": (wg.sigmoid, ROW, WEIGHTS),
    "softplus": (wg.softplus, ROW, WEIGHTS),
    "softmax": (wg.softmax, ROWS, np.array([[1.0, -2.0, 0.5, 3.0], [0.25, 1.0, -1.0, 2.0]])),
    "log_softmax": (
        wg.log_softmax,
        ROWS,
        np.array([[1.0, -2.0, 0.5, 3.0], [0.25, 1.0, -1.0, 2.0]]),
    ),
    "logsumexp": (lambda x: wg.logsumexp(x, axis=1), ROWS, np.array([1.5, -0.5])),
}


@pytest.mark.parametrize("name", list(ERRSTATE_CASES))
def test_harmless_underflow_does_not_raise_under_errstate_all_raise(name):
    f, x0, w = ERRSTATE_CASES[name]
    x = leaf(x0)
    with np.errstate(all="raise"):
        value = f(x)
        value.backward(w)  # the seed w itself: the test adds no multiply that could underflow
        # forward mode: J w, which is J^T w where the Jacobian is symmetric
        _, tangent = wg.jvp(f, (x0,), (w,)) if name != "logsumexp" else (None, None)
    expected_value, expected_grad = _reference(name, x0.tolist(), w.tolist())
    np.testing.assert_allclose(value.numpy(), expected_value, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(x.grad, expected_grad, rtol=1e-12, atol=1e-300)
    if name in ("sigmoid", "softplus", "softmax"):
        np.testing.assert_allclose(tangent, expected_grad, rtol=1e-12, atol=1e-300)
    if name != "logsumexp":  # sigmoid(-1000), softmax([0, -1000, ...])[1]: exactly 0 or -1000
        at = x0 == -1000.0
        np.testing.assert_array_equal(value.numpy()[at], expected_value[at])


def test_tanh_rule_does_not_raise_on_underflow_under_errstate_all_raise():
    # tanh(1e-200) is 1e-200, whose square underflows to 0 in the rule 1 - tanh^2.
    x0 = np.array([1e-200, -1000.0, 0.5])
    w = np.array([2.0, -1.0, 0.75])
    x = leaf(x0)
    with np.errstate(all="raise"):
        wg.tanh(x).backward(w)
        _, tangent = wg.jvp(wg.tanh, (x0,), (w,))
    sech2 = [1 / mpmath.cosh(mpmath.mpf(v)) ** 2 for v in x0.tolist()]
    expected = _floats(d * wi for d, wi in zip(sech2, w.tolist(), strict=True))
    np.testing.assert_allclose(x.grad, expected, rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(tangent, expected, rtol=1e-15, atol=1e-300)


def test_cross_entropy_does_not_raise_on_underflow_under_errstate_all_raise():
    labels = np.array([0, 3])
    w = np.array([2.0, -0.5])
    x = leaf(ROWS)
    with np.errstate(all="raise"):
        loss = wg.autodiff.ops.cross_entropy(x, labels)
        loss.backward(w)
    loss, grad = loss.numpy(), x.grad
    s = [_mp_softmax_row(row) for row in ROWS.tolist()]
    expected_loss = [float(-mpmath.log(s[i][k])) for i, k in enumerate(labels)]
    expected_grad = [
        [float((s[i][j] - (j == k)) * w[i]) for j in range(4)] for i, k in enumerate(labels)
    ]
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-13)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-300)


def test_second_order_rules_do_not_raise_on_underflow_either():
    with np.errstate(all="raise"):
        h = wg.hessian(lambda x: wg.sigmoid(x).sum())(np.array([-1000.0, 0.0]))
    # sigmoid'' = s (1 - s) (1 - 2 s): 0 at -1000 (it underflows), 0 at 0
    np.testing.assert_array_equal(h, np.zeros((2, 2)))


def test_errstate_still_raises_the_faults_that_are_real():
    # Underflow alone is ignored: an invalid operation (inf / inf in softmax) still raises.
    with np.errstate(all="raise"), pytest.raises(FloatingPointError, match="invalid"):
        wg.softmax(leaf([np.inf, np.inf]))
