"""gradcheck: passes on correct rules, catches wrong ones at first and second order, refuses
inputs it cannot check."""

import dataclasses

import numpy as np
import pytest

import wengert as wg
from wengert.autodiff.ops.arithmetic import _data
from wengert.autodiff.primitive import Primitive, apply
from wengert.derivatives import GradcheckError, GradcheckReport, gradcheck

RNG = np.random.default_rng(42)
X = RNG.standard_normal((3, 4))
Y = RNG.standard_normal((3, 4))


@pytest.fixture
def primitive():
    """Make test-only primitives, kept out of the registry."""

    def make(name, forward, rules):
        return Primitive(name, forward, rules, register=False)

    return make


# ----------------------------------------------------------------------------- correct functions
def tanh_times(x, y):
    return wg.sum(wg.tanh(x) * y)


def test_passes_on_a_correct_function_and_reports_every_argument():
    report = gradcheck(tanh_times, X, Y)
    assert isinstance(report, GradcheckReport) and report.passed
    assert (report.atol, report.rtol) == (1e-6, 1e-5)
    assert [(c.index, c.name, c.order) for c in report.arguments] == [(0, "x", 1), (1, "y", 1)]
    for c in report.arguments:
        assert c.passed
        assert 0 <= c.max_abs_error < 1e-8
        assert 0 <= c.max_rel_error < 1e-6
        assert len(c.worst_index) == 2
        assert c.autodiff == pytest.approx(c.numerical, abs=1e-8)
    dx = report.arguments[0]
    np.testing.assert_allclose(dx.autodiff_grad, (1 - np.tanh(X) ** 2) * Y)
    assert dx.autodiff == dx.autodiff_grad[dx.worst_index]


def test_report_is_frozen_and_prints_a_table():
    report = gradcheck(tanh_times, X, Y, order=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.passed = False  # type: ignore[misc]
    text = str(report)
    assert text.startswith("gradcheck passed")
    assert "atol=1e-06, rtol=1e-05" in text
    lines = text.splitlines()
    assert lines[1].split()[:3] == ["argument", "order", "max"]
    assert len(lines) == 2 + 4  # (x, y) at orders 1 and 2
    assert lines[2].startswith("argument 0 (x)") and lines[-1].rstrip().endswith("yes")


def test_passes_on_matmul_with_a_non_scalar_output_at_both_orders():
    a, b = RNG.standard_normal((3, 4)), RNG.standard_normal((4, 2))
    report = gradcheck(lambda a, b: a @ b, a, b, order=2)
    assert report.passed
    assert [c.order for c in report.arguments] == [1, 1, 2, 2]


def test_tensors_python_floats_and_int_args():
    def f(w, b, k):
        return wg.sum(wg.sigmoid(X @ w + b)) * k

    w = wg.tensor(RNG.standard_normal(4), requires_grad=True)
    report = gradcheck(f, w, 0.3, 2)
    assert [c.name for c in report.arguments] == ["w", "b"]  # k, an int, is not differentiated
    assert report.arguments[1].worst_index == ()
    assert w.grad is None


def test_variadic_arguments_are_named_by_position():
    report = gradcheck(lambda *xs: wg.sum(xs[0] * xs[1]), X, Y)
    assert [c.name for c in report.arguments] == ["xs[0]", "xs[1]"]


# ----------------------------------------------------------------------------- wrong rules
def test_a_wrong_first_derivative_is_caught(primitive):
    # d(x^2)/dx = 2x; this rule forgets the 2.
    bad_square = primitive("test_bad_square", np.square, (lambda g, ans, x: g * x,))

    def f(scale, x):
        return wg.sum(apply(bad_square, x)) * scale

    x = np.array([[0.5, -1.0], [2.0, 0.25]])
    with pytest.raises(GradcheckError) as info:
        gradcheck(f, 1.0, x)
    message = str(info.value)
    assert "argument 1 (x), order 1" in message
    assert "at index (1, 0)" in message  # |x| is largest there, so is the error
    assert "autodiff gives 2 but central differences give 4;" in message
    assert "absolute error 2" in message and "relative error 0.5" in message
    assert "atol + rtol*|numerical| = 1e-06 + 1e-05*4 = 4.1e-05" in message
    assert isinstance(info.value, AssertionError)
    assert info.value.report.passed is False


def test_raise_on_fail_false_returns_the_failed_report(primitive):
    bad_square = primitive("test_bad_square_quiet", np.square, (lambda g, ans, x: g * x,))
    report = gradcheck(lambda x: wg.sum(apply(bad_square, x)), X, raise_on_fail=False)
    assert report.passed is False
    (check,) = report.arguments
    assert not check.passed
    assert check.max_abs_error == pytest.approx(np.max(np.abs(X)), rel=1e-6)
    assert check.max_rel_error == pytest.approx(0.5, rel=1e-6)
    assert "FAILED" in str(report) and "NO" in str(report)


def test_order_2_catches_a_rule_that_is_not_differentiable(primitive):
    # Right values, but built from the constant x.data: its own derivative (2) is lost.
    square = primitive(
        "test_square_constant_rule", np.square, (lambda g, ans, x: g * 2 * _data(x),)
    )

    def f(x):
        return wg.sum(apply(square, x))

    assert gradcheck(f, X).passed
    with pytest.raises(GradcheckError, match=r"argument 0 \(x\), order 2 \(second derivative"):
        gradcheck(f, X, order=2)
    report = gradcheck(f, X, order=2, raise_on_fail=False)
    assert [c.passed for c in report.arguments] == [True, False]
    assert report.arguments[1].autodiff == 0.0


def test_a_wrong_jacobian_is_caught_through_the_projection(primitive):
    bad_double = primitive("test_bad_double", lambda x: 2 * x, (lambda g, ans, x: g,))
    with pytest.raises(GradcheckError, match="argument 0 \\(x\\), order 1"):
        gradcheck(lambda x: apply(bad_double, x), X)


def test_projection_is_fixed_by_the_seed():
    def f(x):
        return wg.tanh(x) * 3.0

    first = gradcheck(f, X, seed=3).arguments[0].autodiff_grad
    np.testing.assert_array_equal(first, gradcheck(f, X, seed=3).arguments[0].autodiff_grad)
    u = np.random.default_rng(3).standard_normal(X.shape)
    np.testing.assert_allclose(first, u * 3.0 * (1 - np.tanh(X) ** 2))


# ----------------------------------------------------------------------------- refused inputs
def test_float32_is_refused_with_the_reason_and_the_fix():
    message = (
        r"^gradcheck: argument 0 \(x\) must be float64, because central differences in lower "
        r"precision have errors around 1e-3 that swamp the comparison; got float32\. Convert "
        r"it, e\.g\. x\.astype\(np\.float64\) or wg\.tensor\(x, dtype='float64'\)\.$"
    )
    with pytest.raises(TypeError, match=message):
        gradcheck(tanh_times, X.astype(np.float32), Y)
    with pytest.raises(TypeError, match=r"argument 1 \(y\) must be float64, .*; got float16\."):
        gradcheck(tanh_times, X, wg.tensor(Y, dtype="float16"))


BAD_INPUTS = [
    ("nan", (tanh_times, np.array([np.nan, 1.0]), 1.0), {}, ValueError, r"argument 0 \(x\) .*NaN"),
    (
        "inf",
        (tanh_times, 1.0, np.inf),
        {},
        ValueError,
        r"^gradcheck: argument 1 \(y\) must be finite; got 1 NaN",
    ),
    (
        "no float",
        (lambda n: n * 2, 3),
        {},
        TypeError,
        r"^gradcheck: one of args must be floating-point \(to be differentiated\); got int\.$",
    ),
    (
        "order",
        (tanh_times, X, Y),
        {"order": 3},
        ValueError,
        r"^gradcheck: order must be one of 1, 2; got 3\.$",
    ),
    (
        "atol",
        (tanh_times, X, Y),
        {"atol": -1.0},
        ValueError,
        r"^gradcheck: atol must be a float >= 0; got -1\.0\.$",
    ),
    (
        "rtol",
        (tanh_times, X, Y),
        {"rtol": np.nan},
        ValueError,
        r"^gradcheck: rtol must be a float >= 0; got nan\.$",
    ),
    (
        "eps",
        (tanh_times, X, Y),
        {"eps": 0},
        ValueError,
        r"^gradcheck: eps must be a float > 0 or None; got 0\.",
    ),
    (
        "float32 output",
        (lambda x: wg.sum(x.astype(np.float32)), X),
        {},
        TypeError,
        r"^gradcheck: f's value must be float64 for float64 arguments; got float32, so its "
        r"derivatives carry float32 round-off\. Compute f in float64",
    ),
]


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "error", "message"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS]
)
def test_bad_inputs_are_refused_with_a_message(name, args, kwargs, error, message):
    with pytest.raises(error, match=message):
        gradcheck(*args, **kwargs)
