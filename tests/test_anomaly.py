"""detect_anomaly(): the first primitive whose forward or backward made a NaN or an infinity."""

import re

import numpy as np
import pytest

import wengert as wg
from wengert.autodiff.mode import MODE


def leaf(data):
    return wg.tensor(np.asarray(data, dtype=np.float64), requires_grad=True)


@pytest.fixture(autouse=True)
def _quiet_numpy():
    with np.errstate(all="ignore"):
        yield


def test_a_forward_nan_names_the_primitive_and_its_place_in_the_list():
    x = leaf([1.0, -1.0])
    with (
        wg.detect_anomaly(),
        pytest.raises(
            FloatingPointError,
            match=re.escape(
                "detect_anomaly: the forward of the primitive 'log' (operation #2 recorded "
                "under detect_anomaly) produced nan; its arguments were finite"
            ),
        ),
    ):
        wg.log(x * 2.0)  # operation #1 is the mul


def test_a_forward_that_reads_a_nan_says_which_argument_held_it():
    x = leaf([1.0, np.nan])
    with (
        wg.detect_anomaly(),
        pytest.raises(FloatingPointError, match=r"'add' .* produced nan; argument 0 already holds"),
    ):
        x + 1.0


def test_a_backward_inf_names_the_rule_and_the_argument():
    # sqrt(0) = 0 is finite; its derivative 1 / (2 sqrt(0)) is not.
    x = leaf([0.0, 4.0])
    with wg.detect_anomaly():
        loss = (wg.sqrt(x) * 3.0).sum()
        with pytest.raises(
            FloatingPointError,
            match=re.escape(
                "detect_anomaly: the backward rule of the primitive 'sqrt' for argument 0 "
                "(operation #1 recorded under detect_anomaly) produced inf; the cotangent it "
                "received was finite"
            ),
        ):
            loss.backward()


def test_the_argument_is_the_one_whose_rule_failed():
    # (-1) ** y is 1 at y = 2, but d/dy = (-1) ** y log(-1) is NaN: argument 1's rule.
    a = leaf(-1.0)
    y = leaf(2.0)
    with wg.detect_anomaly():
        out = a**y
        with pytest.raises(FloatingPointError, match=r"'pow' for argument 1 .* produced nan"):
            out.backward()


def test_second_order_backward_is_checked_too():
    x = leaf([0.0, 4.0])
    with wg.detect_anomaly():
        loss = (wg.sqrt(x) * 3.0).sum()
        with pytest.raises(FloatingPointError, match=r"'sqrt' for argument 0 .* produced inf"):
            loss.backward(create_graph=True)


def test_a_graph_recorded_before_the_block_is_checked_without_a_position():
    x = leaf([0.0])
    loss = wg.sqrt(x).sum()
    with (
        wg.detect_anomaly(),
        pytest.raises(FloatingPointError, match=r"'sqrt' for argument 0 \(recorded before"),
    ):
        loss.backward()


def test_without_the_block_nothing_is_checked_and_mode_is_restored():
    x = leaf([0.0, 4.0])
    (wg.sqrt(x) * 3.0).sum().backward()  # no error: the gradient is silently inf
    assert np.isinf(x.grad[0])
    with pytest.raises(FloatingPointError), wg.detect_anomaly():
        wg.log(leaf(-1.0))
    assert MODE.anomaly is None and MODE.recorder is None


def test_it_is_a_decorator_and_nests():
    @wg.detect_anomaly()
    def f(x):
        with wg.detect_anomaly():
            ok = x * 2.0
        return wg.log(ok - 10.0)

    # the outer block numbers every node, the inner block's too: mul #1, sub #2, log #3
    with pytest.raises(FloatingPointError, match=r"'log' \(operation #3"):
        f(leaf(1.0))
    assert MODE.anomaly is None


def test_a_trace_inside_the_block_still_records_and_is_still_checked():
    with wg.detect_anomaly():
        t = wg.trace(lambda x: wg.tanh(x * 2.0), np.array([0.5]))
        assert [s.primitive for s in t.steps] == ["mul", "tanh"]
        with pytest.raises(FloatingPointError, match="'log'"):
            wg.trace(lambda x: wg.log(x), np.array([-1.0]))


def test_around_fit_it_names_the_primitive_of_the_first_nan():
    model = wg.nn.Linear(2, 1, seed=0)
    x = np.array([[1.0, 2.0], [3.0, -1.0]], dtype=np.float32)
    y = np.array([[1.0], [0.0]], dtype=np.float32)

    def bad_loss(y_hat, target):
        return wg.log(y_hat - 1000.0).mean()  # log of a negative number

    opt = wg.optim.SGD(model.parameters(), lr=0.1)
    with (
        wg.detect_anomaly(),
        pytest.raises(FloatingPointError, match="the forward of the primitive 'log'"),
    ):
        wg.fit(model, bad_loss, opt, (x, y), epochs=1, progress=False)
