"""Plain SGD's group path (no momentum, weight decay or maximize) against the rule, bit for bit."""

import re

import numpy as np
import pytest
from optimizer_helpers import leaf

import wengert as wg
from wengert.optim import SGD
from wengert.optim.optimizer import Optimizer


class RuleSGD(SGD):
    """SGD through the base class's path for every group: the rule, one parameter at a time."""

    def _step_group(self, group: dict, lr: float) -> None:
        Optimizer._step_group(self, group, lr)


def _run(cls, grads, dtype, **kwargs):
    rng = np.random.default_rng(3)
    w, v = leaf(rng.normal(size=(4, 3)), dtype), leaf(rng.normal(size=3), dtype)
    opt = cls([w, v], lr=0.05, **kwargs)
    for g_w, g_v in grads:
        w.grad, v.grad = g_w, g_v
        opt.step()
    return w.data, v.data, opt


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("grad_dtype", [np.float32, np.float64])
def test_plain_sgd_equals_the_rule_bit_for_bit(dtype, grad_dtype):
    rng = np.random.default_rng(5)
    grads = [
        (rng.normal(size=(4, 3)).astype(grad_dtype), rng.normal(size=3).astype(grad_dtype))
        for _ in range(5)
    ]
    grads[2] = (grads[2][0], None)  # v has no gradient in step 3: it stays where it is
    fast = _run(SGD, grads, dtype)
    slow = _run(RuleSGD, grads, dtype)
    for a, b in zip(fast[:2], slow[:2], strict=True):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)
    # the rule by hand: w - lr·Σg, in float64, where v misses step 3's gradient
    rng = np.random.default_rng(3)
    w0, v0 = rng.normal(size=(4, 3)), rng.normal(size=3)
    rtol = 1e-12 if dtype == grad_dtype == np.float64 else 1e-5
    np.testing.assert_allclose(fast[0], w0 - 0.05 * sum(g for g, _ in grads), rtol=rtol)
    np.testing.assert_allclose(
        fast[1], v0 - 0.05 * sum(g for _, g in grads if g is not None), rtol=rtol
    )
    assert [len(s) for s in fast[2].state.values()] == [0, 0]  # an empty state, as the rule's
    assert [g["t"] for g in fast[2].param_groups] == [5]


@pytest.mark.parametrize("shape", [(), (1,), (1, 1), (1, 1, 1, 1)])
@pytest.mark.parametrize(
    ("dtype", "grad_dtype"), [(np.float32,) * 2, (np.float64,) * 2, (np.float32, np.float64)]
)
def test_a_one_element_parameter_moves_as_the_rule_moves_it_bit_for_bit(shape, dtype, grad_dtype):
    # one element: updated as NumPy scalars, which must round as the array operations do
    rng = np.random.default_rng(11)
    grads = [rng.normal(size=shape).astype(grad_dtype) * 10.0**k for k in range(-3, 4)]
    fast, slow = leaf(np.full(shape, 0.3), dtype), leaf(np.full(shape, 0.3), dtype)
    steppers = SGD([fast], lr=0.0123), RuleSGD([slow], lr=0.0123)
    for g in grads:
        for p, opt in zip((fast, slow), steppers, strict=True):
            p.grad = g.copy()
            opt.step()
        assert fast.data.dtype == dtype and fast.data.shape == shape
        assert fast.data.tobytes() == slow.data.tobytes()
    np.testing.assert_allclose(fast.data, 0.3 - 0.0123 * sum(grads), rtol=1e-5)


def test_the_path_follows_the_group_when_its_momentum_changes():
    w = leaf([0.0, 0.0])
    opt = SGD([w], lr=0.1, momentum=0.9)
    for momentum in [0.9, 0.9, 0.0, 0.0]:
        opt.param_groups[0]["momentum"] = momentum
        w.grad = np.array([-1.0, 2.0])
        opt.step()
    # the buffer b is g, then 0.9·g + g = 1.9·g; then d = g twice (the rule ignores b at μ = 0)
    np.testing.assert_allclose(w.data, -0.1 * (1 + 1.9 + 1 + 1) * np.array([-1.0, 2.0]))
    np.testing.assert_allclose(opt.state[w]["momentum_buffer"], [-1.9, 3.8])


@pytest.mark.parametrize(
    "kwargs", [{"weight_decay": 0.1}, {"maximize": True}, {"momentum": 0.5, "nesterov": True}]
)
def test_sgd_with_anything_more_takes_the_rule(kwargs):
    grads = [(np.full((4, 3), 0.25), np.linspace(-1, 1, 3)) for _ in range(3)]
    fast = _run(SGD, grads, np.float64, **kwargs)
    slow = _run(RuleSGD, grads, np.float64, **kwargs)
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_array_equal(fast[1], slow[1])


def test_a_tensor_gradient_from_create_graph_is_read_as_its_array():
    w = wg.tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    (w * w).sum().backward(create_graph=True)  # w.grad is the Tensor 2w
    assert isinstance(w.grad, wg.Tensor)
    SGD([w], lr=0.25).step()
    np.testing.assert_array_equal(w.data, np.array([0.5, 1.0], np.float32))


def test_a_gradient_of_the_wrong_shape_is_still_refused_before_anything_moves():
    w, v = leaf([1.0, 2.0]), leaf([3.0])
    w.grad, v.grad = np.ones(2), np.ones(2)
    opt = SGD([w, v], lr=0.1)
    message = (
        "SGD.step: the .grad of parameter 1 of param group 0 must be of the parameter's shape "
        "(1,); got shape (2,). Nothing was updated."
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        opt.step()
    np.testing.assert_array_equal(w.data, [1.0, 2.0])
    assert opt.param_groups[0]["t"] == 0
