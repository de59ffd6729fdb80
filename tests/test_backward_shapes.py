"""Tensor.backward() across shapes and kinds of operand: broadcasting, dtypes, and plain
numbers and arrays mixed in as constants.

Every expected number comes from an analytic formula written out in the test (or from plain
NumPy evaluating that formula), never from the engine's own output.
"""

import math

import numpy as np
import pytest
from tensor_helpers import leaf

import wengert as wg
from wengert.autodiff.backward import toposort


# ----------------------------------------------------------------------------- broadcasting
def test_broadcast_column_plus_row():
    a = leaf(np.arange(3.0).reshape(3, 1))
    b = leaf(np.arange(4.0).reshape(1, 4))
    (a + b).sum().backward()
    assert a.grad.shape == (3, 1)
    assert b.grad.shape == (1, 4)
    np.testing.assert_array_equal(a.grad, np.full((3, 1), 4.0))
    np.testing.assert_array_equal(b.grad, np.full((1, 4), 3.0))


def test_broadcast_scalar_times_matrix():
    rng = np.random.default_rng(1)
    m0, w0 = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    s = leaf(2.5)
    m = leaf(m0)
    (s * m * wg.tensor(w0)).sum().backward()
    assert s.grad.shape == ()
    np.testing.assert_allclose(s.grad, np.sum(m0 * w0), rtol=1e-13)
    np.testing.assert_allclose(m.grad, 2.5 * w0, rtol=1e-15)


def test_broadcast_vector_plus_matrix():
    rng = np.random.default_rng(2)
    w0 = rng.normal(size=(3, 4))
    v = leaf(np.arange(4.0))
    m = leaf(np.ones((3, 4)))
    ((v + m) * w0).sum().backward()
    assert v.grad.shape == (4,)
    np.testing.assert_allclose(v.grad, w0.sum(axis=0), rtol=1e-14)
    np.testing.assert_array_equal(m.grad, w0)


def test_broadcast_three_d_times_two_d():
    rng = np.random.default_rng(3)
    a0, b0 = rng.normal(size=(2, 1, 3)), rng.normal(size=(5, 1))
    w0 = rng.normal(size=(2, 5, 3))
    a, b = leaf(a0), leaf(b0)
    out = a * b
    assert out.shape == (2, 5, 3)
    (out * w0).sum().backward()
    # out[i, j, k] = a[i, 0, k] b[j, 0]
    expected_a = np.einsum("jz,ijk->izk", b0, w0)
    expected_b = np.einsum("izk,ijk->jz", a0, w0)
    assert a.grad.shape == (2, 1, 3) and b.grad.shape == (5, 1)
    np.testing.assert_allclose(a.grad, expected_a, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(b.grad, expected_b, rtol=1e-13, atol=1e-15)


def test_broadcast_batch_axes_of_a_matmul():
    rng = np.random.default_rng(6)
    a0, b0 = rng.normal(size=(1, 3, 4)), rng.normal(size=(5, 4, 2))
    w0 = rng.normal(size=(5, 3, 2))
    a, b = leaf(a0), leaf(b0)
    (wg.matmul(a, b) * w0).sum().backward()
    # out[n, i, j] = sum_k a[0, i, k] b[n, k, j]
    np.testing.assert_allclose(a.grad, np.einsum("nij,nkj->ik", w0, b0)[None], rtol=1e-13)
    np.testing.assert_allclose(b.grad, np.einsum("ik,nij->nkj", a0[0], w0), rtol=1e-13)


@pytest.mark.parametrize(("sa", "sb"), [((4,), (2, 4, 3)), ((2, 3, 4), (4,)), ((4,), (4,))])
def test_matmul_with_a_vector_and_a_batch(sa, sb):
    rng = np.random.default_rng(7)
    a0, b0 = rng.normal(size=sa), rng.normal(size=sb)
    w0 = rng.normal(size=np.matmul(a0, b0).shape)
    a, b = leaf(a0), leaf(b0)
    (wg.matmul(a, b) * w0).sum().backward()
    # the loss is linear in each argument: its gradient is the coefficient of each entry
    eye_a = np.eye(a0.size).reshape(a0.size, *sa)
    eye_b = np.eye(b0.size).reshape(b0.size, *sb)
    expected_a = np.array([np.sum(np.matmul(e, b0) * w0) for e in eye_a]).reshape(sa)
    expected_b = np.array([np.sum(np.matmul(a0, e) * w0) for e in eye_b]).reshape(sb)
    np.testing.assert_allclose(a.grad, expected_a, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(b.grad, expected_b, rtol=1e-13, atol=1e-15)


# ----------------------------------------------------------------------------- dtypes
@pytest.mark.parametrize(
    "build",
    [
        lambda x: x * np.arange(3.0),
        lambda x: np.arange(3.0) + x,
        lambda x: x / np.float64(3.0),
        lambda x: x @ np.ones((3, 2)),
        lambda x: (x - np.array(1.0)) ** 2,
        lambda x: wg.exp(x) * 2.0,
    ],
    ids=["mul", "radd", "div-np-scalar", "matmul", "sub-0d-pow", "exp-python-float"],
)
def test_float32_leaves_get_float32_grads(build):
    x = leaf([1.0, 2.0, 3.0], dtype=np.float32)
    build(x).sum().backward()
    assert x.grad.dtype == np.float32
    build(x).sum().backward()
    assert x.grad.dtype == np.float32


def test_python_scalars_keep_float32():
    x = leaf([1.0, 2.0], dtype=np.float32)
    y = (2.0 * x - 1) / 3.0 + x**2
    assert y.dtype == np.float32


def test_seed_gradient_of_another_dtype_is_cast():
    x = leaf([1.0, 2.0], dtype=np.float32)
    (x * 2.0).backward(np.array([1.0, 1.0], dtype=np.float64))
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


# ----------------------------------------------------------------------------- mixing constants
X0 = np.array([0.5, 1.5, 2.0])
C = np.array([2.0, -1.0, 0.5])

# (operation, value from NumPy on the raw data, analytic d/dx elementwise)
MIXED = [
    ("t + 2", lambda t: t + 2, lambda x: x + 2, lambda x: np.ones_like(x)),
    ("2 + t", lambda t: 2 + t, lambda x: 2 + x, lambda x: np.ones_like(x)),
    ("t - 2.5", lambda t: t - 2.5, lambda x: x - 2.5, lambda x: np.ones_like(x)),
    ("2 - t", lambda t: 2 - t, lambda x: 2 - x, lambda x: -np.ones_like(x)),
    ("t * 3", lambda t: t * 3, lambda x: x * 3, lambda x: np.full_like(x, 3.0)),
    ("3 * t", lambda t: 3 * t, lambda x: 3 * x, lambda x: np.full_like(x, 3.0)),
    ("t / 4", lambda t: t / 4, lambda x: x / 4, lambda x: np.full_like(x, 0.25)),
    ("1 / t", lambda t: 1 / t, lambda x: 1 / x, lambda x: -1 / x**2),
    ("t ** 3", lambda t: t**3, lambda x: x**3, lambda x: 3 * x**2),
    ("2 ** t", lambda t: 2**t, lambda x: 2.0**x, lambda x: 2.0**x * math.log(2)),
    ("t + C", lambda t: t + C, lambda x: x + C, lambda x: np.ones_like(x)),
    ("C + t", lambda t: C + t, lambda x: C + x, lambda x: np.ones_like(x)),
    ("t - C", lambda t: t - C, lambda x: x - C, lambda x: np.ones_like(x)),
    ("C - t", lambda t: C - t, lambda x: C - x, lambda x: -np.ones_like(x)),
    ("t * C", lambda t: t * C, lambda x: x * C, lambda x: C),
    ("np.ones * t", lambda t: np.ones(3) * t, lambda x: x, lambda x: np.ones_like(x)),
    ("t / C", lambda t: t / C, lambda x: x / C, lambda x: 1 / C),
    ("C / t", lambda t: C / t, lambda x: C / x, lambda x: -C / x**2),
    ("t ** C", lambda t: t**C, lambda x: x**C, lambda x: C * x ** (C - 1)),
    (
        "C ** t",
        lambda t: np.abs(C) ** t,
        lambda x: np.abs(C) ** x,
        lambda x: np.abs(C) ** x * np.log(np.abs(C)),
    ),
    ("np.float64 * t", lambda t: np.float64(3.0) * t, lambda x: 3.0 * x, lambda x: 3.0 + 0 * x),
]


@pytest.mark.parametrize(
    ("op", "value", "derivative"),
    [(m[1], m[2], m[3]) for m in MIXED],
    ids=[m[0] for m in MIXED],
)
def test_numbers_and_arrays_mix_in_on_either_side(op, value, derivative):
    x = leaf(X0)
    out = op(x)
    assert isinstance(out, wg.Tensor)
    np.testing.assert_allclose(out.numpy(), value(X0), rtol=1e-15)
    order, leaves = toposort(out)
    assert leaves == [x]  # the constant is not a graph node
    assert len(order) == 1
    out.sum().backward()
    np.testing.assert_allclose(x.grad, derivative(X0), rtol=1e-14)


@pytest.mark.parametrize("side", ["left", "right"])
def test_matmul_with_an_ndarray_on_either_side(side):
    rng = np.random.default_rng(4)
    m0 = rng.normal(size=(3, 3))
    g0 = rng.normal(size=3)
    x = leaf(X0)
    out = x @ m0 if side == "right" else m0 @ x
    assert isinstance(out, wg.Tensor)
    np.testing.assert_allclose(out.numpy(), X0 @ m0 if side == "right" else m0 @ X0)
    order, leaves = toposort(out)
    assert leaves == [x] and len(order) == 1
    out.backward(g0)
    np.testing.assert_allclose(x.grad, m0 @ g0 if side == "right" else m0.T @ g0, rtol=1e-14)


def test_a_tensor_without_grad_mixes_in_as_a_constant():
    x = leaf(X0)
    c = wg.tensor(C)
    out = c * x + x / c
    order, leaves = toposort(out)
    assert leaves == [x]
    assert [t._prim.name for t in order] == ["add", "div", "mul"]
    out.sum().backward()
    np.testing.assert_allclose(x.grad, C + 1 / C, rtol=1e-15)
    assert c.grad is None
