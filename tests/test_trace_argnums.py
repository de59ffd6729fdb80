"""wg.trace(f, *args, argnums=...): only the named arguments are differentiated; the data and
the targets of a loss are passed as they are, listed as constants and named in the list."""

import numpy as np
import pytest

import wengert as wg

RNG = np.random.default_rng(7)
X = RNG.normal(size=(6, 3))
W1 = RNG.normal(size=(3, 4))
W2_CLASSES = RNG.normal(size=(4, 3))
W2_BINARY = RNG.normal(size=(4,))
LABELS = np.array([0, 2, 1, 1, 0, 2])
BINARY = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0])


def softmax_loss(W1, W2, X, y):
    h = wg.tanh(X @ W1)
    z = h @ W2
    return wg.losses.cross_entropy(z, y)


def logistic_loss(W1, W2, X, y):
    h = wg.tanh(X @ W1)
    z = h @ W2
    return wg.losses.logistic(z, y)


CASES = [(softmax_loss, W2_CLASSES, LABELS), (logistic_loss, W2_BINARY, BINARY)]


@pytest.mark.parametrize(("loss", "W2", "y"), CASES, ids=["cross_entropy", "logistic"])
def test_two_layer_loss_gradients_equal_grad_exactly(loss, W2, y):
    sweep = wg.trace(loss, W1, W2, X, y, argnums=(0, 1)).backward()
    want = wg.grad(loss, argnums=(0, 1))(W1, W2, X, y)
    assert list(sweep.grads) == ["W1", "W2"]
    np.testing.assert_array_equal(sweep.grads["W1"], want[0])
    np.testing.assert_array_equal(sweep.grads["W2"], want[1])


def test_the_list_names_every_argument_and_marks_the_constants():
    trace = wg.trace(logistic_loss, W1, W2_BINARY, X, BINARY, argnums=(0, 1))
    text = str(trace).splitlines()
    assert text[0] == "Wengert list of logistic_loss(W1, W2, X, y): 7 primitives"
    assert text[1] == "  input  W1 = <float64 3x4>"
    assert text[3] == "  const  X = <float64 6x3>   # not differentiated"
    assert text[4] == "  const  y = [0, 1, 1, 0, 1, 0]   # not differentiated"
    lines = [f"{s.name} = {s.expression}" for s in trace.steps]
    assert lines[:3] == ["t1 = X @ W1", "h = tanh(t1)", "z = h @ W2"]
    assert "t5 = y * z" in lines
    assert [trace.name_of(t) for t in trace.inputs] == ["W1", "W2"]


def test_the_backward_sweep_has_adjoints_only_for_the_differentiated_arguments():
    sweep = wg.trace(softmax_loss, W1, W2_CLASSES, X, LABELS, argnums=(0, 1)).backward()
    written = {a.name for a in sweep.lines}
    assert {"W1\u0304", "W2\u0304"} <= written
    assert not written & {"X\u0304", "y\u0304"}
    text = str(sweep)
    assert "Gradient: dt" in text and "/dW1 = " in text
    assert "/dX = " not in text and "/dy = " not in text


def test_an_int_argnums_and_a_negative_one_pick_one_argument():
    def f(w, x, b, t):
        return (w * x + b - t) ** 2

    sweep = wg.trace(f, 0.5, 2.0, 0.1, 1.0, argnums=-2).backward()
    assert sweep.grads == {"b": pytest.approx(2 * (0.5 * 2.0 + 0.1 - 1.0), rel=1e-15)}
    # w * x of two numbers is computed before b enters: a constant, written by its value.
    assert [f"{s.name} = {s.expression}" for s in sweep.trace.steps][:2] == [
        "t1 = 1 + b",
        "t2 = t1 - 1",
    ]


def test_a_target_that_requires_grad_is_passed_as_a_constant():
    y = wg.tensor(BINARY, requires_grad=True)
    trace = wg.trace(logistic_loss, W1, W2_BINARY, X, y, argnums=(0, 1))
    want = wg.grad(logistic_loss, argnums=(0, 1))(W1, W2_BINARY, X, BINARY)
    np.testing.assert_array_equal(trace.backward().grads["W2"], want[1])
    assert y.requires_grad


def test_argnums_none_differentiates_every_argument_as_before():
    def f(w, x):
        return w * x

    assert str(wg.trace(f, 2.0, 3.0, argnums=None)) == str(wg.trace(f, 2.0, 3.0))
    assert wg.trace(f, 2.0, 3.0).backward().grads == {"w": 3.0, "x": 2.0}


@pytest.mark.parametrize(
    ("argnums", "kind", "message"),
    [
        (4, ValueError, "trace: argnums must be in [-4, 4) for a call with 4 positional "
         "arguments; got 4."),
        ((0, -4), ValueError, "trace: argnums must be distinct arguments; got (0, -4), which "
         "names argument 0 twice."),
        ([0, 1], TypeError, "trace: argnums must be an int or a non-empty tuple of ints; got "
         "[0, 1]."),
        ((), TypeError, "trace: argnums must be an int or a non-empty tuple of ints; got ()."),
        (True, TypeError, "trace: argnums must be an int or a non-empty tuple of ints; got True "
         "(bool)."),
    ],
)  # fmt: skip
def test_a_bad_argnums_is_refused_before_f_runs(argnums, kind, message):
    calls = []

    def f(w, x, b, t):
        calls.append(1)
        return w * x

    with pytest.raises(kind) as caught:
        wg.trace(f, 0.5, 2.0, 0.1, 1.0, argnums=argnums)
    assert str(caught.value) == message
    assert calls == []
