"""The first-order rules of the eager MLP step (linear, relu) on ndarrays, against their forms
written with primitives, for every shape linear takes, and relu's selecting semantics."""

import warnings

import numpy as np
import pytest

import wengert as wg
from wengert.autodiff.ops import cross_entropy, linear

RNG = np.random.default_rng(11)

# (x shape, w shape, b shape or None): a batch of rows, the perceptron's 1-D w, one sample,
# a batch of batches, and the biases that the sweep still sums back (shape (1,) and ()).
LINEAR_SHAPES = [
    ((6, 4), (4, 3), (3,)),
    ((6, 4), (4, 3), None),
    ((5, 1), (1,), ()),
    ((5, 3), (3,), (1,)),
    ((4,), (4, 3), (3,)),
    ((2, 5, 4), (4, 3), (3,)),
    ((6, 4), (4, 3), (1,)),
]


@pytest.mark.parametrize(("xs", "ws", "bs"), LINEAR_SHAPES)
def test_linear_gradients_equal_those_of_matmul_plus_bias(xs, ws, bs):
    args = [np.asarray(RNG.normal(size=s)) for s in (xs, ws) + ((bs,) if bs is not None else ())]
    weights = RNG.normal(size=np.shape(np.matmul(args[0], args[1])))  # not all ones: g varies
    argnums = tuple(range(len(args)))

    def fused(*a):
        return wg.sum(linear(*a) * weights)

    def plain(*a):
        out = a[0] @ a[1]
        return wg.sum((out + a[2] if len(a) == 3 else out) * weights)

    (v1, g1), (v2, g2) = (
        wg.value_and_grad(fused, argnums)(*args),
        wg.value_and_grad(plain, argnums)(*args),
    )
    assert v1 == pytest.approx(v2, rel=1e-14)
    for a, got, want in zip(args, g1, g2, strict=True):
        assert np.shape(got) == a.shape
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-14)


def test_linear_gradients_stay_float32_and_the_bias_gets_the_batch_sum():
    x = wg.tensor(RNG.normal(size=(8, 5)).astype(np.float32), requires_grad=True)
    w = wg.tensor(RNG.normal(size=(5, 3)).astype(np.float32), requires_grad=True)
    b = wg.tensor(np.zeros(3, np.float32), requires_grad=True)
    g = RNG.normal(size=(8, 3)).astype(np.float32)
    linear(x, w, b).backward(g)
    assert (x.grad.dtype, w.grad.dtype, b.grad.dtype) == (np.float32,) * 3
    np.testing.assert_array_equal(b.grad, g.sum(axis=0))
    np.testing.assert_array_equal(w.grad, x.data.T @ g)
    np.testing.assert_array_equal(x.grad, g @ w.data.T)


def test_linear_differentiates_twice_through_its_rules():
    # create_graph=True sends Tensors through the rules: matmul's path, written with primitives.
    x, w, b = RNG.normal(size=(3, 4)), RNG.normal(size=(4, 2)), RNG.normal(size=2)

    def loss(w):
        return wg.sum(wg.tanh(linear(x, w, b)) ** 2)

    def plain(w):
        return wg.sum(wg.tanh(x @ w + b) ** 2)

    np.testing.assert_allclose(wg.hessian(loss)(w), wg.hessian(plain)(w), rtol=1e-12, atol=1e-14)

    def by_bias(b):
        return wg.sum(wg.tanh(linear(x, w, b)) ** 2)

    def plain_by_bias(b):
        return wg.sum(wg.tanh(x @ w + b) ** 2)

    np.testing.assert_allclose(
        wg.hessian(by_bias)(b), wg.hessian(plain_by_bias)(b), rtol=1e-12, atol=1e-14
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_passes_an_infinite_or_nan_gradient_only_where_x_is_positive(dtype):
    # PyTorch's and JAX's semantics: g where x > 0, 0 elsewhere (g * mask would give NaN).
    x = wg.tensor(np.array([-1.0, 0.0, 2.0, -3.0, 4.0], dtype), requires_grad=True)
    g = np.array([np.inf, np.nan, 3.0, -np.inf, np.inf], dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "invalid value" warning either
        wg.relu(x).backward(g)
    assert x.grad.dtype == dtype
    np.testing.assert_array_equal(x.grad, np.array([0.0, 0.0, 3.0, 0.0, np.inf], dtype))


def test_relu_selects_also_on_tensors_and_in_forward_mode():
    x = np.array([-1.0, 0.0, 2.0])
    _, tangent = wg.jvp(wg.relu, (x,), (np.array([np.inf, np.nan, 5.0]),))
    np.testing.assert_array_equal(tangent, [0.0, 0.0, 5.0])
    # create_graph=True: the cotangent is a Tensor; an infinite one still gives 0 where x <= 0
    xt = wg.tensor(x, requires_grad=True)
    wg.relu(xt).backward(np.array([np.inf, -np.inf, 7.0]), create_graph=True)
    np.testing.assert_array_equal(np.asarray(xt.grad.data), [0.0, 0.0, 7.0])


def test_relu_gradient_of_finite_cotangents_is_the_masked_product():
    x = RNG.normal(size=(16, 32)).astype(np.float32)
    g = RNG.normal(size=(16, 32)).astype(np.float32)
    xt = wg.tensor(x, requires_grad=True)
    wg.relu(xt).backward(g)
    np.testing.assert_array_equal(xt.grad, np.where(x > 0, g, 0))
    assert xt.grad.dtype == np.float32


def test_cross_entropy_gradient_on_float32_arrays_is_softmax_minus_onehot_times_g():
    z = (RNG.normal(size=(16, 10)) * 4).astype(np.float32)
    labels = RNG.integers(0, 10, 16)
    g = RNG.normal(size=16).astype(np.float32)
    zt = wg.tensor(z, requires_grad=True)
    cross_entropy(zt, labels).backward(g)
    assert zt.grad.dtype == np.float32
    z64 = z.astype(np.float64)
    softmax = np.exp(z64 - z64.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    expected = (softmax - np.eye(10)[labels]) * g[:, None]
    np.testing.assert_allclose(zt.grad, expected, rtol=2e-5, atol=1e-6)
