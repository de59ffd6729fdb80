"""Behaviour of Tensor.backward(): seeds, accumulation, graph lifetime, broadcasting, dtypes.

Every expected number comes from an analytic formula written out in the test (or from plain
NumPy evaluating that formula), never from the engine's own output.
"""

import gc
import math
import weakref

import numpy as np
import pytest

import wengert as wg
from wengert.autodiff.backward import toposort
from wengert.autodiff.saved import COPY_LIMIT


def leaf(data, dtype=np.float64):
    return wg.tensor(np.asarray(data, dtype=dtype), requires_grad=True)


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


# ----------------------------------------------------------------------------- saved arrays
# A rule reads the arrays its node saved when backward() runs. Changing one in place between the
# forward pass and backward() must never give a silently wrong gradient. A result's memory is
# compared with its bytes when first handed out; a small array the caller holds is saved as a
# copy; a large one is held read-only while the graph lives; a parameter's in-place update moves
# it to a copy.
READ_ONLY = "read-only"
BIG = COPY_LIMIT + 1  # elements: an array the caller holds that is locked, not copied


def unlocked(what: str, prim: str, node: int, how: str = "") -> str:
    how = how or "was made writeable and may have been changed"
    return (
        f"backward: {what} of {prim} (node {node} of the Wengert list) {how} after the "
        f"forward pass; its gradient would be wrong. Recompute the forward pass."
    )


def changed(what: str, prim: str, node: int) -> str:
    return unlocked(what, prim, node, "was changed in place")


@pytest.mark.parametrize(
    ("build", "derivative"),
    [
        (wg.sigmoid, lambda x: math.exp(-x) / (1 + math.exp(-x)) ** 2),
        (wg.exp, math.exp),
    ],
    ids=["sigmoid", "exp"],
)
@pytest.mark.parametrize("via", ["numpy", "detach"])
def test_writing_a_saved_result_in_place_is_refused_at_backward(build, derivative, via):
    x = leaf([0.5, -1.5])
    y = build(x)
    target = y.numpy() if via == "numpy" else y.detach().numpy()
    target[0] = 5.0
    with pytest.raises(RuntimeError) as caught:
        y.sum().backward()
    assert str(caught.value) == changed("the result", build.__name__, 1)
    assert x.grad is None
    y = build(x)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [derivative(0.5), derivative(-1.5)], rtol=1e-14)
    y.numpy()[...] = 5.0  # the graph is freed: the array is the caller's
    np.testing.assert_array_equal(y.numpy(), [5.0, 5.0])


def test_a_saved_result_read_but_left_unchanged_gives_the_gradient():
    x = leaf([0.5, -1.5])
    y = wg.exp(x)
    np.testing.assert_array_equal(y.numpy(), np.exp([0.5, -1.5]))
    y.numpy()[0] = y.numpy()[0]  # written back with the same bytes: nothing changed
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, np.exp([0.5, -1.5]))


def test_a_view_of_a_saved_result_written_in_place_names_the_node_that_saved_it():
    x = leaf([[0.0, 1.0], [2.0, 3.0]])
    flat = wg.exp(x).reshape(-1)  # exp is node 1: its result's memory is shared with flat
    flat.numpy()[3] = 0.0
    with pytest.raises(RuntimeError) as caught:
        flat.sum().backward()
    assert str(caught.value) == changed("the result", "exp", 1)


def test_an_intermediate_that_relu_saved_and_that_was_written_is_refused_naming_relu():
    x = leaf([1.0, -2.0])
    h = x * 3.0  # mul is node 1
    y = wg.relu(h)  # node 2, which saved h
    h.numpy()[1] = 5.0
    with pytest.raises(RuntimeError) as caught:
        y.sum().backward()
    assert str(caught.value) == changed("argument 0", "relu", 2)
    assert x.grad is None


def test_an_intermediate_handed_out_before_relu_saved_it_keeps_the_forwards_gradient():
    # relu saved h = (3, -6) as a copy, since its array was handed out: d/dx = 3 (3 > 0, -6 < 0).
    x = leaf([1.0, -2.0])
    h = x * 3.0
    held = h.numpy()
    y = wg.relu(h)
    held[1] = 5.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0])


def test_a_result_written_after_it_was_handed_out_and_before_use_is_just_its_value():
    # d/dw sum(y * w) = y: the y that the product read, after the write.
    x = leaf([1.0, 2.0])
    w = leaf([3.0, 4.0])
    y = x * 2.0
    y.numpy()[...] = [7.0, 9.0]
    (y * w).sum().backward()
    np.testing.assert_array_equal(w.grad, [7.0, 9.0])


def test_a_handed_out_result_that_a_later_node_saves_is_locked_while_it_lives():
    x = leaf(np.linspace(0.0, 1.0, BIG))
    w = leaf(np.full(BIG, 2.0))
    y = x * 3.0
    held = y.numpy()
    loss = (y * w).sum()
    with pytest.raises(ValueError, match=READ_ONLY):
        held[0] = -1.0
    loss.backward()
    np.testing.assert_allclose(w.grad, 3.0 * np.linspace(0.0, 1.0, BIG), rtol=1e-15)
    held[0] = -1.0


@pytest.mark.parametrize("via", ["data", "numpy"])
def test_a_parameter_changed_between_forward_and_backward_keeps_the_forwards_gradient(via):
    # d/dx sum(x * x) = 2 x at the x the forward pass used (1, 2): the loss it returned. Before
    # the fix, mul's rule read the new x and gave 2 * 5 = 10.
    x = leaf([1.0, 2.0])
    loss = (x * x).sum()
    if via == "data":
        x.data[...] = 5.0
    else:
        x.numpy()[...] = 5.0
    loss.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])
    np.testing.assert_array_equal(x.data, [5.0, 5.0])
    assert x.data.flags.writeable


def test_a_callers_small_numpy_array_changed_after_the_forward_leaves_its_gradient():
    # d/dw sum(w * c) = c as the forward read it, (3, 4): the graph keeps a copy of a small c.
    w = leaf([1.0, 2.0])
    c = np.array([3.0, 4.0])
    loss = (w * c).sum()
    c[0] = 10.0
    loss.backward()
    np.testing.assert_array_equal(w.grad, [3.0, 4.0])


def test_a_second_order_sweep_refuses_a_callers_array_changed_after_the_forward():
    w = leaf([1.0, 2.0])
    c = np.array([3.0, 4.0])
    loss = (w * w * c).sum()
    c[1] = 0.0  # the rules of a create_graph sweep read the arguments themselves
    with pytest.raises(RuntimeError, match="argument 1 of the primitive 'mul' was changed"):
        loss.backward(create_graph=True)


def test_a_callers_numpy_array_is_read_only_while_a_graph_reads_it():
    w = leaf(np.ones(BIG))
    c = np.arange(BIG, dtype=np.float64)
    loss = (w * c).sum()
    with pytest.raises(ValueError, match=READ_ONLY):
        c[0] = 10.0
    loss.backward()
    np.testing.assert_array_equal(w.grad, np.arange(BIG))
    c[0] = 10.0  # writeable again after backward()
    assert c[0] == 10.0


def test_a_view_locks_the_memory_it_views_and_both_are_given_back():
    w = leaf(np.ones(BIG))
    table = np.arange(2.0 * BIG).reshape(2, BIG).copy()  # an array that owns its memory
    row = table[1]
    loss = (w * row).sum()
    for target in (table, row):
        with pytest.raises(ValueError, match=READ_ONLY):
            target[0] = -1.0
    loss.backward()
    np.testing.assert_array_equal(w.grad, np.arange(BIG, 2.0 * BIG))
    table[0, 0] = -1.0
    row[0] = -1.0
    assert table[1, 0] == -1.0


def test_memory_two_graphs_hold_is_given_back_only_when_both_are_done():
    w = leaf(np.ones(BIG))
    c = np.full(BIG, 3.0)
    first = (w * c).sum()
    second = (w * c * 2.0).sum()
    first.backward()
    with pytest.raises(ValueError, match=READ_ONLY):
        c[0] = 0.0  # the second graph still reads c
    w.grad = None
    second.backward()
    np.testing.assert_array_equal(w.grad, np.full(BIG, 6.0))
    c[0] = 0.0


def test_a_graph_collected_without_backward_gives_its_arrays_back():
    w = leaf(np.ones(BIG))
    c = np.full(BIG, 3.0)
    loss = wg.exp(w * c).sum()
    result = loss.numpy()
    del loss
    gc.collect()
    c[0] = 0.0
    result[...] = 0.0
    assert c[0] == 0.0


def test_an_array_read_only_before_stays_read_only_after():
    w = leaf([1.0, 2.0])
    c = np.array([3.0, 4.0])
    c.setflags(write=False)
    (w * c).sum().backward()
    assert not c.flags.writeable
    np.testing.assert_array_equal(w.grad, [3.0, 4.0])


def test_training_steps_in_place_raise_nothing_and_follow_the_formula():
    # The ordinary loop: forward, backward, the optimizer's in-place step; with retain_graph=True
    # and a second backward as well. f(w) = sum((w - t)^2), gradient 2 (w - t).
    target = np.array([1.0, -1.0])
    w = leaf([0.0, 0.0])
    opt = wg.optim.SGD([w], lr=0.25)
    expected = np.zeros(2)
    for retain in (False, True, False):
        opt.zero_grad()
        loss = ((w - target) * (w - target)).sum()
        loss.backward(retain_graph=retain)
        if retain:
            loss.backward()  # accumulates: twice the gradient
        opt.step()
        expected -= 0.25 * 2 * (expected - target) * (2 if retain else 1)
        np.testing.assert_allclose(w.data, expected, rtol=1e-15)


def test_an_optimizer_step_while_a_retained_graph_lives_keeps_that_graphs_gradient():
    w = leaf([1.0, 2.0])
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    opt = wg.optim.SGD([w], lr=0.5)
    opt.step()  # writes w in place while the graph that read it is alive: allowed
    np.testing.assert_array_equal(w.data, [0.0, 0.0])
    opt.zero_grad()
    loss.backward()  # the gradient of the loss that was computed, at w = (1, 2)
    np.testing.assert_array_equal(w.grad, [2.0, 4.0])


@pytest.mark.parametrize("n", [2, BIG], ids=["copied", "locked"])
def test_in_place_update_of_a_held_parameter_under_no_grad_keeps_the_forwards_gradient(n):
    start = np.arange(1.0, n + 1.0)
    w = leaf(start)
    loss = (w * w).sum()
    with wg.no_grad():
        w -= 1.0
    loss.backward()
    np.testing.assert_array_equal(w.grad, 2 * start)
    np.testing.assert_array_equal(w.data, start - 1.0)


def test_in_place_update_of_a_held_constant_is_refused_with_the_reason():
    w = leaf(np.ones(BIG))
    c = wg.tensor(np.full(BIG, 3.0))
    loss = (w * c).sum()
    with (
        wg.no_grad(),
        pytest.raises(RuntimeError, match="saved for backward\\(\\); call backward\\(\\) first"),
    ):
        c += 1.0
    np.testing.assert_array_equal(c.data, np.full(BIG, 3.0))
    loss.backward()
    c += 1.0
    np.testing.assert_array_equal(c.data, np.full(BIG, 4.0))


def test_in_place_update_of_a_small_held_constant_leaves_the_gradient():
    w = leaf([1.0, 2.0])
    c = wg.tensor([3.0, 4.0])
    loss = (w * c).sum()
    with wg.no_grad():
        c += 1.0  # the graph saved a copy of c
    loss.backward()
    np.testing.assert_array_equal(w.grad, [3.0, 4.0])
    np.testing.assert_array_equal(c.data, [4.0, 5.0])


def test_a_second_order_sweep_through_a_changed_parameter_names_the_primitive():
    w = leaf([1.0, 2.0])
    loss = (w * w * w).sum()
    loss.backward(create_graph=True)
    g = w.grad
    w.grad = None
    w.data[...] = 5.0
    # A first-order sweep reads the saved arrays: the second derivative 6 w at w = (1, 2).
    g.sum().backward(retain_graph=True)
    np.testing.assert_array_equal(w.grad, [6.0, 12.0])
    # A second-order one runs the rules on the Tensors, which no longer match: refused.
    with pytest.raises(RuntimeError, match="argument 1 of the primitive 'mul' was changed"):
        g.sum().backward(create_graph=True)


def test_a_deep_copy_of_a_graph_node_holds_nothing_and_the_original_still_works():
    import copy

    w = leaf([1.0, 2.0])
    y = wg.exp(w)
    twin = copy.deepcopy(y)
    twin.numpy()[...] = 0.0  # the copy's array is its own
    np.testing.assert_array_equal(y.numpy(), np.exp([1.0, 2.0]))
    y.sum().backward()
    np.testing.assert_allclose(w.grad, np.exp([1.0, 2.0]), rtol=1e-15)


@pytest.mark.parametrize("n", [3, BIG])
def test_a_saved_result_changed_in_place_is_refused_before_its_rule_reads_it(n):
    # The rule of exp would read y = 0 and give x.grad = 0 where e^1 is right. Nothing reaches
    # .grad.
    x = leaf(np.ones(n))
    y = wg.exp(x)
    y.data[:] = 0
    with pytest.raises(RuntimeError) as caught:
        y.sum().backward()
    assert str(caught.value) == changed("the result", "exp", 1)
    assert x.grad is None


@pytest.mark.parametrize("create_graph", [False, True])
def test_a_saved_argument_made_writeable_is_refused_and_named_with_its_node(create_graph):
    w = leaf(np.ones(BIG))
    c = np.full(BIG, 3.0)  # large: locked, not copied
    h = wg.tanh(wg.exp(w) * c)  # exp is node 1, mul node 2, tanh node 3
    c.setflags(write=True)  # even unchanged: nothing can tell, so it is refused
    with pytest.raises(RuntimeError) as caught:
        h.sum().backward(create_graph=create_graph)
    assert str(caught.value) == unlocked("argument 1", "mul", 2)
    assert w.grad is None


def test_a_trace_sweep_refuses_a_saved_value_changed_in_place_naming_its_line():
    trace = wg.trace(lambda x: wg.sum(wg.tanh(wg.exp(x))), np.ones(2))
    trace.nodes[1].data[0] = 0.0  # t2 = tanh(t1), which saves its result
    with pytest.raises(RuntimeError) as caught:
        trace.backward()
    assert str(caught.value) == changed("the result", "tanh", 2)


def test_saved_values_left_read_only_pass_the_check_with_the_right_gradient():
    w = leaf([1.0, 2.0])
    y = wg.exp(w)
    y.data.flags.writeable = False  # setting it read-only again is harmless
    y.sum().backward(retain_graph=True)
    y.sum().backward()
    np.testing.assert_allclose(w.grad, 2 * np.exp([1.0, 2.0]), rtol=1e-15)
