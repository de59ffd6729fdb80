"""The functional API: grad, value_and_grad, jacobian, hessian, hvp, and create_graph.

Expected values are analytic formulas, or central differences computed here in float64.
"""

import math

import numpy as np
import pytest

import wengert as wg


def central_jacobian(fn, x, h=1e-5):
    """d fn / d x by central differences in float64: shape fn(x).shape + x.shape."""
    x = np.asarray(x, dtype=np.float64)
    out_shape = np.shape(fn(x.copy()))
    jac = np.zeros(out_shape + x.shape)
    for index in np.ndindex(*x.shape):
        step = np.zeros_like(x)
        step[index] = h
        diff = (np.asarray(fn(x + step)) - np.asarray(fn(x - step))) / (2 * h)
        jac[(Ellipsis, *index)] = diff
    return jac


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


# ----------------------------------------------------------------------------- grad
def test_grad_of_a_python_float_is_a_python_float():
    g = wg.grad(lambda x: x**3 - 2 * x)(1.5)
    assert type(g) is float
    assert g == pytest.approx(3 * 1.5**2 - 2, rel=1e-15)


def test_grad_of_an_int_argument_is_taken_in_float64():
    g = wg.grad(lambda x: x * x)(3)
    assert type(g) is float
    assert g == 6.0


def test_grad_of_a_0d_array_is_a_python_float():
    g = wg.grad(lambda x: wg.exp(x))(np.array(0.5))
    assert type(g) is float
    assert g == pytest.approx(math.exp(0.5), rel=1e-15)


def test_grad_of_an_array_is_an_ndarray():
    x0 = np.array([0.5, -1.0, 2.0])
    g = wg.grad(lambda x: (x**2).sum() + wg.sigmoid(x).sum())(x0)
    assert type(g) is np.ndarray
    assert g.shape == (3,)
    s = sigmoid(x0)
    np.testing.assert_allclose(g, 2 * x0 + s * (1 - s), rtol=1e-14)


def test_grad_of_a_one_element_array_stays_an_ndarray():
    g = wg.grad(lambda x: (x * x).sum())(np.array([3.0]))
    assert type(g) is np.ndarray and g.shape == (1,)
    np.testing.assert_array_equal(g, [6.0])


def test_grad_does_not_change_its_argument_and_keeps_float32():
    x0 = np.array([1.0, 2.0], dtype=np.float32)
    g = wg.grad(lambda x: (x * x).sum())(x0)
    assert g.dtype == np.float32
    np.testing.assert_array_equal(x0, [1.0, 2.0])


def test_grad_with_an_argnums_int():
    rng = np.random.default_rng(0)
    a0, x0 = rng.normal(size=(2, 3)), rng.normal(size=3)

    def f(a, x):
        return ((a @ x) ** 2).sum()

    ga = wg.grad(f, argnums=0)(a0, x0)
    gx = wg.grad(f, argnums=1)(a0, x0)
    gx_negative = wg.grad(f, argnums=-1)(a0, x0)
    y = a0 @ x0
    np.testing.assert_allclose(ga, 2 * np.outer(y, x0), rtol=1e-13)
    np.testing.assert_allclose(gx, 2 * a0.T @ y, rtol=1e-13)
    np.testing.assert_array_equal(gx, gx_negative)


def test_value_and_grad_with_an_argnums_tuple():
    x0 = np.array([1.0, 2.0, 3.0])

    def f(x, w, b):
        return ((x * w + b) ** 2).sum()

    value, grads = wg.value_and_grad(f, argnums=(1, 2))(x0, 0.5, 1.0)
    r = x0 * 0.5 + 1.0
    assert type(value) is float
    assert value == pytest.approx(np.sum(r**2), rel=1e-15)
    assert isinstance(grads, tuple) and len(grads) == 2
    gw, gb = grads
    assert type(gw) is float and type(gb) is float
    assert gw == pytest.approx(np.sum(2 * r * x0), rel=1e-15)
    assert gb == pytest.approx(np.sum(2 * r), rel=1e-15)


def test_grad_with_a_one_element_argnums_tuple_returns_a_tuple():
    grads = wg.grad(lambda x, y: x * y, argnums=(0,))(2.0, 5.0)
    assert grads == (5.0,)


def test_value_and_grad_with_an_int_returns_a_bare_gradient():
    value, g = wg.value_and_grad(lambda x: (x**2).sum())(np.array([1.0, 2.0]))
    assert type(value) is float and value == 5.0
    assert type(g) is np.ndarray
    np.testing.assert_array_equal(g, [2.0, 4.0])


def test_keyword_arguments_pass_through_undifferentiated():
    g = wg.grad(lambda x, scale=1.0: scale * x * x)(3.0, scale=2.0)
    assert g == 12.0


@pytest.mark.parametrize("argnums", [2, -3, (0, 2)])
def test_argnums_out_of_range(argnums):
    with pytest.raises(ValueError, match="argnums"):
        wg.grad(lambda x, y: x * y, argnums=argnums)(1.0, 2.0)


@pytest.mark.parametrize("argnums", ["0", 1.0, [0, 1], (), True, (0, "1")])
def test_argnums_of_a_wrong_type(argnums):
    with pytest.raises(TypeError, match="argnums"):
        wg.grad(lambda x, y: x * y, argnums=argnums)(1.0, 2.0)
    with pytest.raises(TypeError, match="argnums"):
        wg.value_and_grad(lambda x, y: x * y, argnums=argnums)(1.0, 2.0)


def test_jacobian_takes_a_single_argnum():
    with pytest.raises(TypeError, match="argnums"):
        wg.jacobian(lambda x, y: x * y, argnums=(0, 1))(1.0, 2.0)


def test_grad_of_a_non_scalar_function_says_to_use_jacobian():
    with pytest.raises(ValueError, match="jacobian") as info:
        wg.grad(lambda x: x * 2.0)(np.ones(3))
    assert "(3,)" in str(info.value)


def test_a_function_that_ignores_its_argument_has_a_zero_gradient():
    gx, gy = wg.grad(lambda x, y: (y * y).sum(), argnums=(0, 1))(np.ones((2, 2)), np.ones(3))
    assert gx.shape == (2, 2)
    np.testing.assert_array_equal(gx, np.zeros((2, 2)))
    np.testing.assert_array_equal(gy, np.full(3, 2.0))
    assert wg.grad(lambda x: 5.0)(1.0) == 0.0
    np.testing.assert_array_equal(wg.grad(lambda x: wg.tensor(1.0))(np.ones(2)), np.zeros(2))


# ----------------------------------------------------------------------------- nested
SECOND_DERIVATIVES = [
    ("x**3", lambda x: x**3, lambda x: 6 * x),
    ("exp(x)*x", lambda x: wg.exp(x) * x, lambda x: (x + 2) * math.exp(x)),
    ("tanh", wg.tanh, lambda x: -2 * math.tanh(x) * (1 - math.tanh(x) ** 2)),
    ("sigmoid", wg.sigmoid, lambda x: sigmoid(x) * (1 - sigmoid(x)) * (1 - 2 * sigmoid(x))),
    ("1/x", lambda x: 1 / x, lambda x: 2 / x**3),
    ("log", wg.log, lambda x: -1 / x**2),
    ("sqrt", wg.sqrt, lambda x: -0.25 * x**-1.5),
    ("softplus", wg.softplus, lambda x: sigmoid(x) * (1 - sigmoid(x))),
    ("x**x", lambda x: x**x, lambda x: x**x * ((math.log(x) + 1) ** 2 + 1 / x)),
]


@pytest.mark.parametrize(
    ("f", "second"),
    [(c[1], c[2]) for c in SECOND_DERIVATIVES],
    ids=[c[0] for c in SECOND_DERIVATIVES],
)
@pytest.mark.parametrize("x0", [0.3, 1.7])
def test_grad_of_grad(f, second, x0):
    value = wg.grad(wg.grad(f))(x0)
    assert type(value) is float
    assert value == pytest.approx(second(x0), rel=1e-12)


def test_third_derivative():
    # d^3/dx^3 of x^4 = 24 x
    assert wg.grad(wg.grad(wg.grad(lambda x: x**4)))(1.5) == pytest.approx(36.0, rel=1e-14)


def test_grad_of_grad_on_arrays():
    x0 = np.array([0.5, -1.0, 2.0])
    # f = sum(x^3), grad = 3 x^2, sum of grad differentiated = 6 x
    g2 = wg.grad(lambda x: wg.grad(lambda y: (y**3).sum())(x).sum())(x0)
    np.testing.assert_allclose(g2, 6 * x0, rtol=1e-15)


def test_no_perturbation_confusion():
    assert wg.grad(lambda x: wg.grad(lambda y: x * y)(x))(3.0) == 1.0
    # the inner gradient is x; the outer function is x * x
    assert wg.grad(lambda x: x * wg.grad(lambda y: x * y)(2.0))(3.0) == 6.0


def test_nested_value_and_grad_over_two_arguments():
    # d/db (a^2 b^3) = 3 a^2 b^2; at a = b = x that is 3 x^4, whose derivative is 12 x^3
    def inner(x):
        return wg.grad(lambda a, b: a * a * b**3, argnums=1)(x, x)

    assert wg.grad(inner)(2.0) == pytest.approx(12 * 2.0**3, rel=1e-15)


# ----------------------------------------------------------------------------- jacobian
def test_jacobian_of_softmax():
    x0 = np.array([0.2, -1.0, 3.0, 0.5])
    jac = wg.jacobian(wg.softmax)(x0)
    s = np.exp(x0) / np.exp(x0).sum()
    assert type(jac) is np.ndarray
    assert jac.shape == (4, 4)
    np.testing.assert_allclose(jac, np.diag(s) - np.outer(s, s), atol=1e-15)


def test_jacobian_of_a_matrix_product_is_the_matrix():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(3, 5))
    jac = wg.jacobian(lambda x: a @ x)(rng.normal(size=5))
    assert jac.shape == (3, 5)
    np.testing.assert_allclose(jac, a, rtol=1e-15)


def test_jacobian_shape_is_output_shape_plus_input_shape():
    rng = np.random.default_rng(2)
    b = rng.normal(size=(3, 4))
    x0 = rng.normal(size=(2, 3))
    jac = wg.jacobian(lambda x: x @ b)(x0)
    assert jac.shape == (2, 4, 2, 3)
    # (x b)[i, j] = sum_k x[i, k] b[k, j]:  d/dx[p, q] = delta_ip b[q, j]
    expected = np.einsum("ip,qj->ijpq", np.eye(2), b)
    np.testing.assert_allclose(jac, expected, rtol=1e-15)


def test_jacobian_of_an_elementwise_function_vs_central_differences():
    x0 = np.array([[0.1, -0.4], [1.2, 0.7]])
    jac = wg.jacobian(lambda x: wg.tanh(x) * x)(x0)
    expected = central_jacobian(lambda x: np.tanh(x) * x, x0)
    assert jac.shape == (2, 2, 2, 2)
    np.testing.assert_allclose(jac, expected, atol=1e-9)


def test_jacobian_of_a_scalar_function_is_its_gradient():
    x0 = np.array([1.0, 2.0])
    jac = wg.jacobian(lambda x: (x**2).sum())(x0)
    assert jac.shape == (2,)
    np.testing.assert_array_equal(jac, 2 * x0)


def test_jacobian_of_a_constant_function_is_zero():
    jac = wg.jacobian(lambda x: wg.tensor(np.ones(3)))(np.ones(2))
    assert jac.shape == (3, 2)
    np.testing.assert_array_equal(jac, np.zeros((3, 2)))


# ----------------------------------------------------------------------------- hessian, hvp
def test_hessian_of_a_quadratic():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(4, 4))  # not symmetric
    b = rng.normal(size=4)

    def f(x):
        return 0.5 * x @ (a @ x) + b @ x

    x0 = rng.normal(size=4)
    np.testing.assert_allclose(wg.hessian(f)(x0), (a + a.T) / 2, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(wg.grad(f)(x0), (a + a.T) / 2 @ x0 + b, rtol=1e-13)


def test_hessian_of_logsumexp():
    x0 = np.array([0.5, -1.0, 2.0, 0.0])
    p = np.exp(x0) / np.exp(x0).sum()
    hess = wg.hessian(wg.logsumexp)(x0)
    assert hess.shape == (4, 4)
    np.testing.assert_allclose(hess, np.diag(p) - np.outer(p, p), atol=1e-15)


def _mlp_parts():
    rng = np.random.default_rng(4)
    w1, b1 = rng.normal(size=(5, 3)), rng.normal(size=5)
    w2 = rng.normal(size=5)

    def f(x):
        h = wg.tanh(w1 @ x + b1)
        return wg.sigmoid(h @ w2) + wg.logsumexp(h) + (x * x).sum() * 0.1

    return f, rng.normal(size=3)


def test_hessian_of_a_small_mlp_vs_central_differences_of_grad():
    f, x0 = _mlp_parts()
    hess = wg.hessian(f)(x0)
    expected = central_jacobian(wg.grad(f), x0)
    assert hess.shape == (3, 3)
    np.testing.assert_allclose(hess, expected, atol=1e-8)
    np.testing.assert_allclose(hess, hess.T, atol=1e-14)


def test_hessian_with_argnums():
    # f(a, x) = a x^3: d^2f/dx^2 = 6 a x
    assert wg.hessian(lambda a, x: a * x**3, argnums=1)(2.0, 1.5) == pytest.approx(18.0)


@pytest.mark.parametrize(
    "f",
    [lambda x: np.array([1.0, 2.0]) @ x, lambda x: x.sum(), lambda x: 3.0],
    ids=["dot", "sum", "constant"],
)
def test_hessian_of_a_linear_or_constant_function_is_zero(f):
    np.testing.assert_array_equal(wg.hessian(f)(np.ones(2)), np.zeros((2, 2)))


def test_hessian_of_a_scalar_is_a_python_float():
    hess = wg.hessian(lambda x: x**3)(2.0)
    assert type(hess) is float and hess == 12.0


@pytest.mark.parametrize("which", ["quadratic", "logsumexp", "mlp"])
def test_hvp_equals_hessian_times_v(which):
    rng = np.random.default_rng(5)
    if which == "mlp":
        f, x0 = _mlp_parts()
    elif which == "logsumexp":
        f, x0 = wg.logsumexp, rng.normal(size=4)
    else:
        a = rng.normal(size=(4, 4))
        f, x0 = (lambda x: 0.5 * x @ (a @ x)), rng.normal(size=4)
    v = rng.normal(size=x0.shape)
    hv = wg.hvp(f, x0, v)
    assert type(hv) is np.ndarray and hv.shape == x0.shape
    np.testing.assert_allclose(hv, wg.hessian(f)(x0) @ v, rtol=1e-12, atol=1e-14)
    expected = central_jacobian(wg.grad(f), x0) @ v
    np.testing.assert_allclose(hv, expected, atol=1e-8)


def test_hvp_with_extra_arguments():
    # f(x, c) = c sum(x^3): H = diag(6 c x)
    x0, v = np.array([1.0, 2.0]), np.array([1.0, -1.0])
    hv = wg.hvp(lambda x, c: c * (x**3).sum(), x0, v, 2.0)
    np.testing.assert_allclose(hv, 12 * x0 * v)


@pytest.mark.parametrize("v", [np.ones(3), np.ones((2, 1)), 1.0])
def test_hvp_with_a_mismatched_v_raises(v):
    with pytest.raises(ValueError, match="shape"):
        wg.hvp(lambda x: (x**2).sum(), np.ones(2), v)


# ----------------------------------------------------------------------------- create_graph
def test_backward_create_graph_gives_a_differentiable_grad():
    x = wg.tensor(2.0, requires_grad=True)
    y = x**3
    y.backward(create_graph=True)
    g = x.grad
    assert isinstance(g, wg.Tensor)
    assert g.requires_grad
    assert g.item() == 12.0  # 3 x^2
    x.grad = None
    g.backward()
    assert isinstance(x.grad, np.ndarray)
    assert x.grad == 12.0  # 6 x


def test_create_graph_on_arrays_through_several_primitives():
    x0 = np.array([0.3, -0.8, 1.1])
    x = wg.tensor(x0, requires_grad=True)
    (wg.exp(x) * x).sum().backward(create_graph=True)
    g = x.grad  # (x + 1) e^x
    np.testing.assert_allclose(g.numpy(), (x0 + 1) * np.exp(x0), rtol=1e-15)
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(x.grad, (x0 + 2) * np.exp(x0), rtol=1e-14)


def test_create_graph_retains_the_graph():
    x = wg.tensor(1.5, requires_grad=True)
    y = x * x
    y.backward(create_graph=True)
    y.backward()  # allowed: create_graph implies retain_graph
    assert float(x.grad) == 6.0  # 2x from each of the two sweeps


def test_the_transforms_hand_on_the_signature_and_name_of_f():
    import inspect

    def loss(w, x, y=1.0):
        return (w * x - y) ** 2

    for transform, prefix in [
        (wg.grad, "grad"),
        (wg.value_and_grad, "value_and_grad"),
        (wg.jacobian, "jacobian"),
        (wg.jacfwd, "jacfwd"),
    ]:
        wrapped = transform(loss)
        assert str(inspect.signature(wrapped)) == "(w, x, y=1.0)"
        assert wrapped.__name__ == f"{prefix}_loss"
    compiled = wg.compile(wg.value_and_grad(loss))
    assert compiled(np.array(0.5), np.array(2.0), np.array(1.5)) == (0.25, -2.0)
    assert compiled.source.splitlines()[0] == "def value_and_grad_loss(w, x, y):"
    assert "    w_bar = t1_bar * x" in compiled.source.splitlines()
