"""The usual call of a loss (ŷ a float Tensor, y a float array of its shape and dtype) passes a
few cheap tests; every refusal of the full checks still happens, with its message."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import wengert as wg
from wengert import losses
from wengert.autodiff.ops import linear

VALUE_LOSSES = [losses.l1, losses.l2, losses.mse]


def _prediction(values, dtype=np.float32):
    return wg.tensor(np.array(values, dtype), requires_grad=True)


@pytest.mark.parametrize("loss", VALUE_LOSSES)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("size", [1, 3])
def test_a_non_finite_target_of_the_usual_kind_is_refused(loss, bad, size):
    y = np.ones(size, np.float32)
    y[-1] = bad
    message = (
        f"{loss.__name__}: y must be finite; got 1 NaN or infinite value(s), the first at "
        f"index ({size - 1},): {y[-1]}."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        loss(_prediction(np.zeros(size)), y)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_the_usual_call_gives_the_value_and_gradient_of_the_formula(reduction):
    y_hat = _prediction([1.0, 2.0, 4.0])
    y = np.array([1.5, 2.0, 3.0], np.float32)
    loss = losses.l2(y_hat, y, reduction=reduction)
    per_element = 0.5 * (y_hat.data - y) ** 2  # 0.125, 0, 0.5
    expected = {"mean": per_element.mean(), "sum": per_element.sum(), "none": per_element}
    np.testing.assert_allclose(loss.data, expected[reduction], rtol=1e-6)
    assert loss.dtype == np.float32
    loss.sum().backward()
    scale = 1 / 3 if reduction == "mean" else 1.0
    np.testing.assert_allclose(y_hat.grad, scale * np.array([-0.5, 0.0, 1.0]), rtol=1e-6)


def test_float32_targets_whose_sum_overflows_float32_pass_without_a_warning():
    big = np.full(4, 3e38, np.float32)  # each finite; their float32 sum is inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = losses.l2(_prediction(big), big, reduction="sum")
    assert loss.item() == 0.0


def test_targets_of_another_dtype_or_kind_take_the_full_path():
    y_hat = _prediction([1.0, 3.0])
    as_float64 = losses.l2(y_hat, np.array([0.0, 1.0]), reduction="none")
    assert as_float64.dtype == np.float32  # converted to ŷ's dtype
    np.testing.assert_array_equal(as_float64.data, [0.5, 2.0])
    as_ints = losses.l2(y_hat, np.array([0, 1]), reduction="none")
    np.testing.assert_array_equal(as_ints.data, [0.5, 2.0])


def test_a_target_of_another_shape_or_empty_is_refused_with_its_message():
    with pytest.raises(ValueError, match=re.escape("l2: y must be of shape (2,), the shape of")):
        losses.l2(_prediction([1.0, 3.0]), np.zeros((2, 1), np.float32))
    with pytest.raises(ValueError, match=re.escape("l2: y must be a non-empty array of targets;")):
        losses.l2(_prediction(np.zeros(0)), np.zeros(0, np.float32))


def test_an_unknown_reduction_is_refused_before_the_fast_path():
    y = np.zeros(2, np.float32)
    with pytest.raises(ValueError, match=r"^l2: reduction must be one of"):
        losses.l2(_prediction([1.0, 3.0]), y, reduction="avg")
    with pytest.raises(TypeError, match=r"^mse: reduction must be one of .*; got None\.$"):
        losses.mse(_prediction([1.0, 3.0]), y, reduction=None)


def test_an_empty_per_element_loss_under_mean_is_refused_by_mean():
    from wengert.losses._inputs import reduced

    with pytest.raises(ValueError, match=r"^mean: x must be non-empty"):
        reduced(wg.tensor(np.zeros(0, np.float32)), "mean")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(("loss", "scale"), [(losses.l2, 0.5), (losses.mse, 1.0)])
@pytest.mark.parametrize("shape", [(1,), (1, 1), (7,), (3, 5)])
def test_the_one_node_squared_error_equals_its_chain(loss, scale, reduction, dtype, shape):
    rng = np.random.default_rng(3)
    y = rng.normal(size=shape).astype(dtype)
    fused = _prediction(rng.normal(size=shape), dtype)
    chain = wg.tensor(fused.data.copy(), requires_grad=True)
    value = loss(fused, y, reduction=reduction)
    per_element = scale * (chain - y) ** 2
    expected = {"mean": per_element.mean(), "sum": per_element.sum(), "none": per_element}
    expected = expected[reduction]
    assert value.dtype == dtype and value.shape == expected.shape
    np.testing.assert_array_max_ulp(value.data, expected.data, maxulp=2)
    seed = rng.normal(size=value.shape).astype(dtype)
    value.backward(seed)
    expected.backward(seed)
    assert fused.grad.dtype == dtype
    np.testing.assert_array_max_ulp(fused.grad, chain.grad, maxulp=2)


def test_training_records_one_node_and_a_trace_shows_the_chain():
    w = wg.tensor(np.array([0.5]), requires_grad=True)
    x, y = np.array([[2.0]]), np.array([1.9])
    loss = losses.l2(linear(x, w), y)
    assert loss._prim.name == "squared_error"
    assert [t._prim.name for t in loss._inputs if isinstance(t, wg.Tensor)] == ["linear"]
    traced = wg.trace(lambda w: losses.l2(linear(x, w), y), np.array([0.5]))
    assert [n._prim.name for n in traced.nodes] == ["linear", "sub", "pow", "mul", "mean"]
    assert float(traced.output.data) == loss.item() == pytest.approx(0.5 * 0.9**2)
