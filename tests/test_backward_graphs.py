"""Tensor.backward() over whole graphs: the same program gives bit-identical gradients, and deep
chains differentiate without recursion and are freed when done.
"""

import gc
import weakref

import numpy as np
import pytest
from tensor_helpers import leaf

import wengert as wg
from wengert.autodiff.backward import toposort


# ----------------------------------------------------------------------------- determinism
def _program(seed=5):
    rng = np.random.default_rng(seed)
    w1 = leaf(rng.normal(size=(4, 3)))
    w2 = leaf(rng.normal(size=4))
    x = rng.normal(size=(8, 3))
    h = wg.tanh(x @ w1.T)
    z = h @ w2
    loss = (wg.logsumexp(z) - z.mean()) + (h * h).sum() * 0.01 + (w1 * w1).sum()
    return loss, (w1, w2)


def test_two_identical_programs_give_bit_identical_gradients():
    loss_a, params_a = _program()
    loss_b, params_b = _program()
    loss_a.backward()
    loss_b.backward()
    for pa, pb in zip(params_a, params_b, strict=True):
        assert pa.grad.tobytes() == pb.grad.tobytes()


def test_toposort_gives_the_same_order_twice():
    loss, _ = _program()
    first_order, first_leaves = toposort(loss)
    second_order, second_leaves = toposort(loss)
    assert [id(t) for t in first_order] == [id(t) for t in second_order]
    assert [id(t) for t in first_leaves] == [id(t) for t in second_leaves]
    assert first_order[0] is loss
    # every node comes before its inputs
    position = {id(t): i for i, t in enumerate(first_order)}
    for t in first_order:
        for a in t._inputs:
            if id(a) in position:
                assert position[id(a)] > position[id(t)]
    # and an identical program gives the same sequence of primitives
    other, _ = _program()
    assert [t._prim.name for t in toposort(other)[0]] == [t._prim.name for t in first_order]


# ----------------------------------------------------------------------------- deep graphs
def _chain(x, n, factor):
    for _ in range(n):
        x = x * factor
    return x


def _check_deep_chain(n):
    factor = 1.0000001
    x = leaf(1.0)
    y = _chain(x, n, factor)
    y.backward()
    expected = factor**n  # d/dx (x factor^n)
    assert abs(float(x.grad) / expected - 1) < 1e-9
    assert abs(y.item() / expected - 1) < 1e-9


def test_a_deep_chain_differentiates_without_recursion():
    _check_deep_chain(200_000)


@pytest.mark.slow
def test_a_million_op_chain_differentiates_without_recursion():
    _check_deep_chain(1_000_000)


def test_a_deep_chain_of_alternating_ops():
    c, d, a = 1.0000003, 1.0000001, 0.25
    cycles = 25_000
    x = leaf(2.0)
    y = x
    for _ in range(cycles):
        y = (y * c + a) / d - a
    y.backward()
    expected = (c / d) ** cycles  # d/dx of each cycle (x c + a) / d - a is c / d
    assert abs(float(x.grad) / expected - 1) < 1e-9


def test_a_long_chain_that_is_never_backpropagated_is_collected():
    x = leaf(1.0)
    first = x * 1.0
    ref = weakref.ref(first)
    y = first
    del first
    for _ in range(200_000):
        y = y * 1.0000001
    del y
    gc.collect()
    assert ref() is None


def test_a_long_retained_chain_is_collected_after_backward():
    x = leaf(1.0)
    first = x * 1.0
    ref = weakref.ref(first)
    y = _chain(first, 100_000, 1.0)
    del first
    y.backward(retain_graph=True)
    assert ref() is not None
    del y
    gc.collect()
    assert ref() is None


def test_create_graph_honours_an_explicit_retain_graph_false():
    x = wg.tensor(2.0, requires_grad=True)
    y = x**3
    y.backward(create_graph=True, retain_graph=False)
    assert float(x.grad.data) == 12.0  # 3 x^2
    with pytest.raises(wg.GraphFreedError, match="retain_graph=True"):
        y.backward()


def test_leaf_gradients_never_share_memory():
    # backward() hands a rule's result to a leaf without a copy when nothing else holds it; a
    # cotangent passed on unchanged (add), a view (reshape, transpose) or the caller's seed must
    # still be copied, or an in-place update of one .grad would change another.
    a = wg.tensor(np.ones(3), requires_grad=True)
    b = wg.tensor(np.ones(3), requires_grad=True)
    m = wg.tensor(np.ones((2, 3)), requires_grad=True)
    seed = np.arange(3.0)
    (a + b + m.T.reshape(6)[:3]).backward(seed)
    grads = [a.grad, b.grad, m.grad]
    for i, g in enumerate(grads):
        assert g.flags.writeable
        assert not np.shares_memory(g, seed)
        for h in grads[i + 1 :]:
            assert not np.shares_memory(g, h)
    a.grad += 100.0
    np.testing.assert_array_equal(b.grad, [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(seed, [0.0, 1.0, 2.0])
