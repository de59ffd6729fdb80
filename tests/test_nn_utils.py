"""Gradient clipping against numbers worked out by hand, and its bad inputs."""

import math
import re

import numpy as np
import pytest

import wengert as wg
from wengert import nn
from wengert.nn.utils import clip_grad_norm_, clip_grad_value_


def params_with_grads(*grads, dtype=np.float64):
    """Parameters of the grads' shapes whose .grad are the given arrays (None for no grad)."""
    out = []
    for g in grads:
        p = nn.Parameter(np.zeros(np.shape(g) if g is not None else 2), dtype=dtype)
        p.grad = None if g is None else np.array(g, dtype=dtype)
        out.append(p)
    return out


# |[3, 4]|² + |[[0, 12]]|² = 9 + 16 + 144 = 169: the total 2-norm is 13.
@pytest.mark.parametrize(
    ("norm_type", "total"),
    [
        (2.0, 13.0),
        (1.0, 19.0),
        (math.inf, 12.0),
        (3.0, (27 + 64 + 1728) ** (1 / 3)),
        (0.5, (math.sqrt(3) + 2 + math.sqrt(12)) ** 2),
    ],
)
def test_total_norm_is_the_norm_of_all_gradients_concatenated(norm_type, total):
    ps = params_with_grads([3.0, 4.0], [[0.0, 12.0]])
    returned = clip_grad_norm_(ps, max_norm=1.0, norm_type=norm_type)
    assert type(returned) is float
    assert returned == pytest.approx(total, rel=1e-14)
    coef = 1.0 / (total + 1e-6)
    np.testing.assert_allclose(ps[0].grad, [3.0 * coef, 4.0 * coef], rtol=1e-14)
    np.testing.assert_allclose(ps[1].grad, [[0.0, 12.0 * coef]], rtol=1e-14)


def test_clipped_norm_is_just_under_max_norm():
    ps = params_with_grads([3.0, 4.0], [[0.0, 12.0]])
    clip_grad_norm_(ps, 6.5)
    after = math.sqrt(sum(float(np.sum(p.grad**2)) for p in ps))
    assert after == pytest.approx(6.5 * 13.0 / (13.0 + 1e-6), rel=1e-14)
    assert after < 6.5


def test_gradients_under_max_norm_are_left_exactly_as_they_were():
    ps = params_with_grads([3.0, 4.0])
    before = ps[0].grad
    assert clip_grad_norm_(ps, 5.0) == 5.0  # scaled by 5 / (5 + 1e-6), a hair under 1
    np.testing.assert_allclose(ps[0].grad, [3.0, 4.0], rtol=2e-7)
    assert ps[0].grad is before  # in place
    ps = params_with_grads([3.0, 4.0])
    clip_grad_norm_(ps, 5.1)
    np.testing.assert_array_equal(ps[0].grad, [3.0, 4.0])


def test_none_grads_are_skipped_and_a_single_tensor_or_a_generator_is_accepted():
    ps = params_with_grads(None, [0.0, -8.0], None)
    assert clip_grad_norm_(iter(ps), 2.0) == 8.0
    assert ps[0].grad is None and ps[2].grad is None
    np.testing.assert_allclose(ps[1].grad, [0.0, -16.0 / (8.0 + 1e-6)], rtol=1e-14)
    single = params_with_grads([[6.0], [-8.0]])[0]
    assert clip_grad_norm_(single, 1.0, norm_type=math.inf) == 8.0
    np.testing.assert_allclose(single.grad, [[6 / (8 + 1e-6)], [-8 / (8 + 1e-6)]], rtol=1e-14)
    assert clip_grad_norm_([], 1.0) == 0.0
    assert clip_grad_norm_(params_with_grads(None), 1.0) == 0.0


def test_float32_gradients_stay_float32_and_the_norm_is_summed_in_float64():
    ps = params_with_grads(np.full(1000, 0.1), dtype=np.float32)
    total = clip_grad_norm_(ps, 1.0)
    assert total == pytest.approx(math.sqrt(1000) * float(np.float32(0.1)), rel=1e-12)
    assert ps[0].grad.dtype == np.float32


def test_a_model_after_backward_is_clipped_to_max_norm():
    model = nn.Linear(3, 1, seed=0, dtype=np.float64)
    loss = (model(np.array([[10.0, -20.0, 30.0]])) ** 2).sum()
    loss.backward()
    grads = [p.grad.copy() for p in model.parameters()]
    total = clip_grad_norm_(model.parameters(), 0.5)
    assert total == pytest.approx(math.sqrt(sum(float(np.sum(g**2)) for g in grads)), rel=1e-14)
    for p, g in zip(model.parameters(), grads, strict=True):
        np.testing.assert_allclose(p.grad, g * 0.5 / (total + 1e-6), rtol=1e-14)


def test_a_tensor_gradient_from_create_graph_is_rescaled():
    x = wg.tensor([1.0, 2.0], requires_grad=True)
    (x**3).sum().backward(create_graph=True)  # grad 3x² = [3, 12]
    assert isinstance(x.grad, wg.Tensor)
    assert clip_grad_norm_(x, 1.0, norm_type=1.0) == 15.0
    np.testing.assert_allclose(x.grad.data, [3 / (15 + 1e-6), 12 / (15 + 1e-6)], rtol=1e-14)


def test_non_finite_norm_raises_only_when_asked_and_then_changes_nothing():
    ps = params_with_grads([1.0, np.nan], [2.0])
    with pytest.raises(RuntimeError, match=r"clip_grad_norm_: the total 2-norm .* got nan"):
        clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(ps[1].grad, [2.0])
    assert math.isnan(clip_grad_norm_(ps, 1.0))
    assert np.isnan(ps[1].grad).all()  # PyTorch's behaviour: the NaN factor spreads
    ps = params_with_grads([np.inf, 1.0])
    assert clip_grad_norm_(ps, 1.0, norm_type=math.inf) == math.inf
    np.testing.assert_array_equal(ps[0].grad, [np.nan, 0.0])  # inf * 0 and 1 * 0


def test_clip_grad_value_clamps_every_entry_in_place():
    ps = params_with_grads([-3.0, 0.5, 7.0], None, [[np.nan, -0.25]])
    before = ps[0].grad
    assert clip_grad_value_(ps, 1) is None
    assert ps[0].grad is before
    np.testing.assert_array_equal(ps[0].grad, [-1.0, 0.5, 1.0])
    assert ps[1].grad is None
    np.testing.assert_array_equal(ps[2].grad, [[np.nan, -0.25]])
    single = params_with_grads([5.0, -5.0])[0]
    clip_grad_value_(single, 0.0)
    np.testing.assert_array_equal(single.grad, [0.0, 0.0])


def test_a_grad_set_by_hand_as_a_list_becomes_an_array():
    p = nn.Parameter(np.zeros(2), dtype=np.float64)
    p.grad = [6.0, 8.0]
    assert clip_grad_norm_([p], 5.0) == 10.0
    np.testing.assert_allclose(p.grad, [3.0 * 10 / (10 + 1e-6), 4.0 * 10 / (10 + 1e-6)])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda ps: clip_grad_norm_(ps, -1.0), ValueError,
         "clip_grad_norm_: max_norm must be a float in [0, inf]; got -1.0."),
        (lambda ps: clip_grad_norm_(ps, True), TypeError,
         "clip_grad_norm_: max_norm must be a float in [0, inf]; got True (bool)."),
        (lambda ps: clip_grad_norm_(ps, "1"), TypeError,
         "clip_grad_norm_: max_norm must be a float in [0, inf]; got '1'."),
        (lambda ps: clip_grad_norm_(ps, math.nan), ValueError,
         "clip_grad_norm_: max_norm must be a float in [0, inf]; got nan."),
        (lambda ps: clip_grad_norm_(ps, 1.0, 0), ValueError,
         "clip_grad_norm_: norm_type must be a float in (0, inf]; got 0."),
        (lambda ps: clip_grad_norm_(ps, 1.0, -2), ValueError,
         "clip_grad_norm_: norm_type must be a float in (0, inf]; got -2."),
        (lambda ps: clip_grad_norm_(ps, 1, error_if_nonfinite=1), TypeError,
         "clip_grad_norm_: error_if_nonfinite must be a bool (True or False); got 1. "
         "Pass True (a bool)."),
        (lambda ps: clip_grad_norm_(3.0, 1.0), TypeError,
         "clip_grad_norm_: parameters must be a Tensor or an iterable of Tensors; got a float. "
         "Pass model.parameters()."),
        (lambda ps: clip_grad_norm_([np.ones(2)], 1.0), TypeError,
         "clip_grad_norm_: parameters must be a Tensor or an iterable of Tensors; got an item "
         "of type ndarray. Pass model.parameters()."),
        (lambda ps: clip_grad_value_(ps, -0.5), ValueError,
         "clip_grad_value_: clip_value must be a float >= 0; got -0.5."),
        (lambda ps: clip_grad_value_(ps, None), TypeError,
         "clip_grad_value_: clip_value must be a float >= 0; got None."),
    ],
)  # fmt: skip
def test_bad_arguments_are_refused_and_change_nothing(call, error, message):
    ps = params_with_grads([30.0, 40.0])
    with pytest.raises(error, match=re.escape(message) + "$"):
        call(ps)
    np.testing.assert_array_equal(ps[0].grad, [30.0, 40.0])


def test_clipping_is_reachable_as_wg_nn_utils():
    assert wg.nn.utils.clip_grad_norm_ is clip_grad_norm_
    assert wg.nn.utils.clip_grad_value_ is clip_grad_value_
