"""Behaviour of Tensor.backward(): seeds, accumulation, graph lifetime, no_grad and detach, errors.

Every expected number comes from an analytic formula written out in the test (or from plain
NumPy evaluating that formula), never from the engine's own output. Broadcasting and dtypes are
in test_backward_shapes.py, deep graphs in test_backward_graphs.py, saved arrays in
test_backward_saved.py.
"""

import gc
import weakref

import numpy as np
import pytest
from tensor_helpers import leaf

import wengert as wg


# ----------------------------------------------------------------------------- seeds
def test_backward_on_a_scalar():
    x = leaf(1.5)
    y = x * x * x - 2.0 * x  # y' = 3x^2 - 2
    y.backward()
    assert isinstance(x.grad, np.ndarray)
    assert x.grad.shape == ()
    np.testing.assert_allclose(x.grad, 3 * 1.5**2 - 2, rtol=1e-15)


def test_backward_on_a_one_element_non_scalar_needs_no_gradient():
    x = leaf([2.0])
    (x * 3.0).backward()
    np.testing.assert_array_equal(x.grad, [3.0])


def test_backward_with_a_gradient_gives_the_transposed_jacobian_times_g():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 4))
    x0 = rng.normal(size=4)
    g = rng.normal(size=3)
    x = leaf(x0)
    y = wg.tanh(wg.tensor(a) @ x)  # J = diag(1 - tanh(a x)^2) a
    y.backward(g)
    expected = a.T @ (g * (1 - np.tanh(a @ x0) ** 2))
    np.testing.assert_allclose(x.grad, expected, rtol=1e-13, atol=1e-15)


def test_backward_with_a_tensor_gradient():
    x = leaf([1.0, 2.0, 3.0])
    (x * x).backward(wg.tensor([1.0, 0.0, -1.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, -6.0])


# ----------------------------------------------------------------------------- accumulation
def test_gradients_accumulate_across_backward_calls_and_none_resets():
    x0 = np.array([1.0, -2.0, 0.5])
    x = leaf(x0)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * x0)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, 4 * x0)
    x.grad = None
    (x * x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 3 * x0**2, rtol=1e-15)


def test_accumulation_does_not_write_into_an_earlier_grad_array():
    x = leaf([1.0, 2.0])
    (x * 1.0).sum().backward()
    first = x.grad
    (x * 1.0).sum().backward()
    np.testing.assert_array_equal(first, [1.0, 1.0])
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


@pytest.mark.parametrize(
    ("build", "derivative"),
    [
        (lambda x: x * x, lambda x0: 2 * x0),
        (lambda x: x + x, lambda x0: np.full_like(x0, 2.0)),
        (lambda x: x - x * x, lambda x0: 1 - 2 * x0),
        (lambda x: x / (x + 1.0), lambda x0: 1 / (x0 + 1) ** 2),
        # a diamond: h is used by two consumers, each of which is used again
        (lambda x: (lambda h: h * h + h)(x * 2.0), lambda x0: (2 * (2 * x0) + 1) * 2),
    ],
    ids=["x*x", "x+x", "x-x*x", "x/(x+1)", "diamond"],
)
def test_an_input_used_twice_receives_both_contributions(build, derivative):
    x0 = np.array([0.5, -1.5, 3.0])
    x = leaf(x0)
    build(x).sum().backward()
    np.testing.assert_allclose(x.grad, derivative(x0), rtol=1e-14)


# ----------------------------------------------------------------------------- graph lifetime
def test_retain_graph_allows_a_second_backward_which_accumulates():
    x0 = np.array([1.0, 2.0])
    x = leaf(x0)
    loss = (x * x * x).sum()
    loss.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad, 3 * x0**2)
    loss.backward()
    np.testing.assert_allclose(x.grad, 6 * x0**2)


def test_a_second_backward_without_retain_graph_raises_and_changes_nothing():
    x = leaf([1.0, 2.0])
    w = leaf(3.0)
    loss = (x * w).sum()
    loss.backward()
    x_grad, w_grad = x.grad.copy(), w.grad.copy()
    with pytest.raises(wg.GraphFreedError, match="retain_graph"):
        loss.backward()
    np.testing.assert_array_equal(x.grad, x_grad)
    np.testing.assert_array_equal(w.grad, w_grad)
    assert issubclass(wg.GraphFreedError, RuntimeError)


def test_a_second_loss_over_a_freed_shared_subgraph_raises_and_changes_nothing():
    x = leaf([1.0, 2.0])
    shared = x * 2.0
    first = shared.sum()
    second = (shared * shared).sum() + (x * 5.0).sum()
    first.backward()
    before = x.grad.copy()
    with pytest.raises(wg.GraphFreedError, match="retain_graph"):
        second.backward()
    np.testing.assert_array_equal(x.grad, before)


def test_the_graph_is_freed_after_backward():
    x = leaf(np.linspace(-1.0, 1.0, 5))
    hidden = wg.tanh(x * 3.0)
    ref = weakref.ref(hidden)
    loss = (hidden * hidden).sum()
    del hidden
    loss.backward()
    del loss
    gc.collect()
    assert ref() is None


def test_retain_graph_keeps_the_intermediates_alive_while_the_loss_lives():
    x = leaf(np.linspace(-1.0, 1.0, 5))
    hidden = wg.tanh(x * 3.0)
    ref = weakref.ref(hidden)
    loss = (hidden * hidden).sum()
    del hidden
    loss.backward(retain_graph=True)
    gc.collect()
    assert ref() is not None
    loss.backward()  # still usable
    del loss
    gc.collect()
    assert ref() is None


# ----------------------------------------------------------------------------- no_grad, detach
def test_no_grad_records_nothing():
    x = leaf([1.0, 2.0])
    with wg.no_grad():
        assert not wg.is_grad_enabled()
        y = x * 2.0 + 1.0
    assert wg.is_grad_enabled()
    assert not y.requires_grad
    assert y.is_leaf
    np.testing.assert_array_equal(y.numpy(), [3.0, 5.0])


def test_no_grad_as_a_decorator():
    @wg.no_grad()
    def step(w):
        return w - 0.1 * w

    w = leaf([1.0])
    out = step(w)
    assert not out.requires_grad and out.is_leaf
    out = step(w)  # the same decorator object is re-entered
    assert not out.requires_grad
    assert wg.is_grad_enabled()


def test_no_grad_nests_and_restores_on_exit_and_on_error():
    x = leaf(1.0)
    with wg.no_grad():
        with wg.no_grad():
            assert not (x * 2.0).requires_grad
        assert not wg.is_grad_enabled()
        assert not (x * 2.0).requires_grad
        with wg.enable_grad():
            assert (x * 2.0).requires_grad
        assert not wg.is_grad_enabled()
    assert wg.is_grad_enabled()
    with pytest.raises(KeyError), wg.no_grad():
        raise KeyError("boom")
    assert wg.is_grad_enabled()
    assert (x * 2.0).requires_grad


def test_detach_stops_the_gradient():
    x0 = np.array([1.0, -2.0, 4.0])
    x = leaf(x0)
    c = x.detach()
    assert not c.requires_grad and c.is_leaf
    (c * x).sum().backward()  # d/dx (c x) with c constant = c = x0
    np.testing.assert_array_equal(x.grad, x0)
    x.grad = None
    (x.detach() * 5.0 + x).sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones(3))


# ----------------------------------------------------------------------------- errors
def test_backward_on_a_tensor_without_grad_raises():
    t = wg.tensor([1.0, 2.0]).sum() * 3.0
    with pytest.raises(RuntimeError, match="requires grad"):
        t.backward()
    x = leaf(1.0)
    with wg.no_grad():
        y = x * 2.0
    with pytest.raises(RuntimeError, match="requires grad"):
        y.backward()


def test_backward_on_a_non_scalar_without_gradient_names_the_shape_and_suggests_sum():
    x = leaf(np.ones((2, 3)))
    y = x * 2.0
    with pytest.raises(RuntimeError, match=r"\(2, 3\)") as info:
        y.backward()
    assert ".sum()" in str(info.value)
    assert x.grad is None


def test_backward_with_a_wrong_shaped_gradient_names_both_shapes():
    x = leaf(np.ones((2, 3)))
    y = x * 2.0
    with pytest.raises(ValueError, match=r"\(2, 3\)") as info:
        y.backward(np.ones((3, 2)))
    assert "(3, 2)" in str(info.value)
    with pytest.raises(ValueError, match=r"\(6,\)"):
        y.backward(np.ones(6))
    assert x.grad is None
    y.backward(np.ones((2, 3)))  # the refused calls freed nothing
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 2.0))
