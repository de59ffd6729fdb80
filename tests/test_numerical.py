"""numerical_grad and numerical_jacobian: each method's accuracy, its step, and its bad inputs."""

import numpy as np
import pytest

import wengert as wg
from wengert.derivatives import numerical_grad, numerical_jacobian

EPS64 = np.finfo(np.float64).eps
EPS32 = np.finfo(np.float32).eps
METHODS = ("forward", "backward", "central", "richardson")

# Smooth functions of one scalar with their derivatives; f(x) is O(1) at the points used.
SCALAR_CASES = [
    ("sin", np.sin, np.cos),
    ("exp", lambda x: wg.exp(x), np.exp),
    ("cubic", lambda x: x**3 - 2 * x + 1, lambda x: 3 * x**2 - 2),
    ("tanh", lambda x: wg.tanh(x), lambda x: 1 - np.tanh(x) ** 2),
]
POINTS = np.linspace(-1.5, 1.5, 13)


def max_error(f, df, method, eps=None):
    """The largest error of numerical_grad over POINTS, one scalar point at a time."""
    return max(abs(numerical_grad(f, x, method=method, eps=eps) - df(x)) for x in POINTS)


# ----------------------------------------------------------------------------- accuracy
@pytest.mark.parametrize(("name", "f", "df"), SCALAR_CASES, ids=[c[0] for c in SCALAR_CASES])
def test_error_matches_each_methods_order(name, f, df):
    errors = {m: max_error(f, df, m) for m in METHODS}
    # forward/backward: ~ sqrt(eps_mach) = 1.5e-8; central ~ eps^(2/3) = 3.7e-11;
    # richardson ~ eps^(4/5) = 3e-13 (with a margin for the constants f'', f''', f^(5)).
    assert errors["forward"] < 20 * np.sqrt(EPS64)
    assert errors["backward"] < 20 * np.sqrt(EPS64)
    assert errors["central"] < 10 * EPS64 ** (2 / 3)
    assert errors["richardson"] < 10 * EPS64 ** (4 / 5)
    assert errors["central"] < errors["forward"]
    assert errors["central"] < errors["backward"]
    assert errors["richardson"] < errors["central"]


def test_forward_error_is_of_order_sqrt_eps():
    # exp at 1: truncation h f''/2 with h = sqrt(eps) is about 2e-8, far from both 0 and 1e-6.
    error = abs(numerical_grad(np.exp, 1.0, method="forward") - np.e)
    assert 1e-2 * np.sqrt(EPS64) < error < 10 * np.sqrt(EPS64)


def test_truncation_error_shrinks_with_the_order_of_the_method():
    # With a large step the truncation error dominates: halving h divides it by 2, 4 and 16.
    def error(method, h):
        return abs(numerical_grad(np.exp, 0.5, method=method, eps=h) - np.exp(0.5))

    for method, ratio in (("forward", 2), ("central", 4), ("richardson", 16)):
        assert error(method, 0.1) / error(method, 0.05) == pytest.approx(ratio, rel=0.1)


def test_vector_argument_with_wengert_ops():
    x = np.array([[0.3, -1.2, 2.0], [0.0, 0.7, -0.4]])
    g = numerical_grad(lambda x: wg.sum(wg.tanh(x) * x), x)
    expected = np.tanh(x) + x * (1 - np.tanh(x) ** 2)
    assert g.shape == x.shape and g.dtype == np.float64
    np.testing.assert_allclose(g, expected, rtol=1e-8, atol=1e-9)


def test_agrees_with_autodiff():
    rng = np.random.default_rng(0)
    w, x = rng.standard_normal((3, 2)), rng.standard_normal((4, 3))

    def loss(w, x):
        return wg.mean(wg.sigmoid(x @ w) ** 2)

    np.testing.assert_allclose(
        numerical_grad(loss, w, x, method="richardson"), wg.grad(loss)(w, x), atol=1e-11
    )


def test_step_is_scaled_to_x_and_exactly_representable():
    seen = []

    def f(x):
        seen.append(x[0])
        return x[0] ** 2

    x = np.array([1e4])
    numerical_grad(f, x, method="forward")
    step = seen[1] - seen[0]
    assert step == pytest.approx(np.sqrt(EPS64) * 1e4, rel=1e-6)
    assert (seen[0] + step) - seen[0] == step  # h = (x + h) - x


# ----------------------------------------------------------------------------- arguments
def test_argnums_int_and_tuple():
    def f(a, b, c):
        return wg.sum(a * b) + c**2

    a, b = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    np.testing.assert_allclose(numerical_grad(f, a, b, 3.0, argnums=1), a, rtol=1e-9)
    ga, gc = numerical_grad(f, a, b, 3.0, argnums=(0, 2))
    np.testing.assert_allclose(ga, b, rtol=1e-9)
    assert gc == pytest.approx(6.0, rel=1e-9)
    assert numerical_grad(f, a, b, 3.0, argnums=-1) == pytest.approx(6.0, rel=1e-9)


def test_python_number_and_0d_args_return_floats():
    g = numerical_grad(lambda x, y: x**2 * y, 3.0, 2)
    assert type(g) is float and g == pytest.approx(12.0, rel=1e-9)
    g_int = numerical_grad(lambda x, y: x**2 * y, 3.0, 2, argnums=1)
    assert type(g_int) is float and g_int == pytest.approx(9.0, rel=1e-9)
    assert type(numerical_grad(lambda x: x**2, np.array(3.0))) is float


def test_tensor_args_are_passed_as_tensors():
    received = []

    def f(x):
        received.append(type(x))
        return x.tanh().sum()

    x = wg.tensor([0.5, -0.5], requires_grad=True)
    g = numerical_grad(f, x)
    assert set(received) == {wg.Tensor}
    np.testing.assert_allclose(g, 1 - np.tanh([0.5, -0.5]) ** 2, rtol=1e-8)
    assert x.grad is None  # nothing was recorded on the caller's Tensor


def test_int_arrays_are_differentiated_in_float64():
    g = numerical_grad(lambda x: np.sum(x**2), np.array([1, 2, 3]))
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, [2.0, 4.0, 6.0], rtol=1e-9)


def test_argument_is_not_modified():
    x = np.array([1.0, 2.0])
    numerical_grad(lambda x: np.sum(x**3), x, method="richardson")
    np.testing.assert_array_equal(x, [1.0, 2.0])


def test_float32_uses_a_float32_step():
    seen = []

    def f(x):
        seen.append(np.array(x))
        return np.sum(x**2)

    x = np.array([0.5, 2.0], dtype=np.float32)
    g = numerical_grad(f, x, method="forward")
    assert seen[1].dtype == np.float32
    step = float(seen[1][0]) - float(seen[0][0])
    assert step == pytest.approx(np.sqrt(EPS32), rel=1e-3)  # max(1, |0.5|) = 1
    assert g.dtype == np.float32
    # A float64-sized step (1.5e-8) would be lost under float32's spacing (6e-8 at 0.5).
    np.testing.assert_allclose(g, 2 * x, rtol=1e-2)
    np.testing.assert_allclose(numerical_grad(f, x), 2 * x, rtol=1e-3)


def test_user_eps_is_the_absolute_step():
    seen = []

    def f(x):
        seen.append(x)
        return x**2

    numerical_grad(f, 100.0, method="forward", eps=1e-3)
    assert seen[1] - seen[0] == pytest.approx(1e-3, rel=1e-9)


# ----------------------------------------------------------------------------- the Jacobian
def test_numerical_jacobian_matches_autodiff():
    a = np.array([[1.0, 2.0, -1.0], [0.5, 0.0, 3.0]])

    def f(x):
        return wg.tanh(a @ x)

    x = np.array([0.2, -0.1, 0.4])
    jac = numerical_jacobian(f, x)
    assert jac.shape == (2, 3)
    np.testing.assert_allclose(jac, wg.jacobian(f)(x), atol=1e-9)


def test_numerical_jacobian_of_identity_and_scalar():
    np.testing.assert_allclose(numerical_jacobian(lambda x: x, np.ones((2, 2))).shape, (2, 2, 2, 2))
    np.testing.assert_allclose(
        numerical_jacobian(lambda x: x, np.ones(3), method="forward"), np.eye(3), atol=1e-7
    )
    assert numerical_jacobian(np.exp, 0.0) == pytest.approx(1.0, rel=1e-9)


# ----------------------------------------------------------------------------- bad inputs
def square_sum(x):
    return np.sum(x**2)


BAD_INPUTS = [
    (
        "unknown method",
        lambda: numerical_grad(square_sum, np.ones(2), method="centered"),
        ValueError,
        r"^numerical_grad: method must be one of 'backward', 'central', 'forward', 'richardson'; "
        r"got 'centered'\.$",
    ),
    (
        "eps zero",
        lambda: numerical_grad(square_sum, np.ones(2), eps=0.0),
        ValueError,
        r"^numerical_grad: eps must be a float > 0 or None; got 0\.0\. eps is the step h",
    ),
    (
        "eps negative",
        lambda: numerical_grad(square_sum, np.ones(2), eps=-1e-6),
        ValueError,
        r"^numerical_grad: eps must be a float > 0 or None; got -1e-06\. eps is the step h",
    ),
    (
        "eps nan",
        lambda: numerical_grad(square_sum, np.ones(2), eps=float("nan")),
        ValueError,
        r"^numerical_grad: eps must be a float > 0 or None; got nan\. eps is the step h",
    ),
    (
        "non-scalar f",
        lambda: numerical_grad(lambda x: x * 2, np.ones((2, 3))),
        ValueError,
        r"^numerical_grad: f's value must be a scalar \(one element\); got an array of shape "
        r"\(2, 3\) from <lambda>\. Reduce it",
    ),
    (
        "argnums out of range",
        lambda: numerical_grad(lambda x, y: x * y, 1.0, 2.0, argnums=2),
        ValueError,
        r"^numerical_grad: argnums must be in \[-2, 2\) for a call with 2 positional arguments; "
        r"got 2\.$",
    ),
    (
        "argnums not an int",
        lambda: numerical_grad(square_sum, np.ones(2), argnums="x"),
        TypeError,
        r"argnums must be an int or a non-empty tuple of ints; got 'x'",
    ),
    (
        "jacobian method",
        lambda: numerical_jacobian(lambda x: x, np.ones(2), method="five-point"),
        ValueError,
        r"numerical_jacobian: method must be one of .* got 'five-point'",
    ),
    (
        "step lost in rounding",
        lambda: numerical_grad(square_sum, np.array([1e10]), eps=1e-10),
        ValueError,
        r"^numerical_grad: eps must be large enough not to be lost in rounding at "
        r"x = 10000000000\.0 \(float64\); got 1e-10\. Pass a larger eps",
    ),
]


@pytest.mark.parametrize(
    ("name", "call", "error", "message"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS]
)
def test_bad_inputs_are_refused_with_a_message(name, call, error, message):
    with pytest.raises(error, match=message):
        call()
