"""The Wengert list of the lecture's program, and its backward sweep, against the slide and
the analytic gradient."""

import sys

import numpy as np
import pytest

import wengert as wg


def lecture(w, x, b, t):
    z = w * x + b
    y = 1 / (1 + wg.exp(-z))
    L = (y - t) ** 2 / 2
    return L


ARGS = (0.5, 2.0, 0.1, 1.0)


def analytic(w, x, b, t):
    """dL/dw, dL/dx, dL/db, dL/dt of L = (sigmoid(w x + b) - t)^2 / 2, by hand."""
    y = 1 / (1 + np.exp(-(w * x + b)))
    dz = (y - t) * y * (1 - y)
    return dz * x, dz * w, dz, -(y - t)


def test_the_lecture_program_prints_as_on_the_slide():
    trace = wg.trace(lecture, *ARGS)
    lines = [f"{s.name} = {s.expression}" for s in trace.steps]
    assert lines == [
        "t1 = w * x",
        "z = t1 + b",
        "t3 = -z",
        "t4 = exp(t3)",
        "t5 = 1 + t4",
        "y = 1 / t5",
        "t7 = y - t",
        "t8 = t7 ** 2",
        "L = t8 / 2",
    ]
    text = str(trace)
    assert "Wengert list of lecture(w, x, b, t): 9 primitives" in text
    assert "t4 = exp(t3)" in text


def test_step_values_follow_the_program():
    trace = wg.trace(lecture, *ARGS)
    w, x, b, t = ARGS
    z = w * x + b
    y = 1 / (1 + np.exp(-z))
    values = {s.name: float(s.value) for s in trace.steps}
    assert values["z"] == pytest.approx(z, rel=1e-15)
    assert values["y"] == pytest.approx(y, rel=1e-15)
    assert values["L"] == pytest.approx((y - t) ** 2 / 2, rel=1e-15)


def test_backward_sweep_gradient_equals_the_analytic_one():
    sweep = wg.trace(lecture, *ARGS).backward()
    expected = analytic(*ARGS)
    for name, want in zip("wxbt", expected, strict=True):
        assert sweep.grads[name] == pytest.approx(want, rel=1e-12, abs=1e-15)
    grads = wg.grad(lecture, argnums=(0, 1, 2, 3))(*ARGS)
    for got, want in zip(grads, expected, strict=True):
        assert got == pytest.approx(want, rel=1e-12, abs=1e-15)


def test_backward_sweep_lists_each_rule_in_reverse_order():
    sweep = wg.trace(lecture, *ARGS).backward()
    lines = [(a.name, a.rule) for a in sweep.lines]
    assert lines[0] == ("t8\u0304", "L\u0304 / 2")
    assert ("t3\u0304", "t4\u0304 * t4") in lines  # exp's rule reuses its output
    assert ("w\u0304", "t1\u0304 * x") in lines
    assert ("x\u0304", "t1\u0304 * w") in lines
    assert lines.index(("z\u0304", "-t3\u0304")) < lines.index(("w\u0304", "t1\u0304 * x"))
    text = str(sweep)
    assert "from t4 = exp(t3)" in text
    assert "Gradient: dL/dw = " in text


def test_a_variable_used_twice_accumulates():
    def square(x):
        y = x * x
        return y

    sweep = wg.trace(square, 3.0).backward()
    assert [a.accumulates for a in sweep.lines] == [False, True]
    assert sweep.grads["x"] == pytest.approx(6.0, rel=1e-15)
    assert "x\u0304 +=" in str(sweep)


def test_matrix_program_sweep_matches_grad():
    rng = np.random.default_rng(0)
    x, w1, w2 = rng.normal(size=(4, 3)), rng.normal(size=(3, 5)), rng.normal(size=(5,))

    def mlp(x, w1, w2):
        h = wg.tanh(x @ w1)
        out = h @ w2
        return wg.mean(wg.softplus(out))

    sweep = wg.trace(mlp, x, w1, w2).backward()
    grads = wg.grad(mlp, argnums=(0, 1, 2))(x, w1, w2)
    for name, want in zip(("x", "w1", "w2"), grads, strict=True):
        np.testing.assert_allclose(sweep.grads[name], want, rtol=1e-13, atol=1e-15)


def test_the_same_program_prints_the_same_list():
    assert str(wg.trace(lecture, *ARGS)) == str(wg.trace(lecture, *ARGS))
    assert str(wg.trace(lecture, *ARGS).backward()) == str(wg.trace(lecture, *ARGS).backward())


def test_non_scalar_output_needs_a_gradient():
    trace = wg.trace(lambda x: x * 2.0, np.array([1.0, 2.0]))
    with pytest.raises(ValueError) as caught:
        trace.backward()
    assert str(caught.value) == (
        "Trace.backward: gradient must be an array of shape (2,) (the cotangent of the output); "
        "got None. It may be left out only when f returns one number."
    )
    sweep = trace.backward(gradient=np.array([1.0, 10.0]))
    np.testing.assert_array_equal(sweep.grads["x"], [2.0, 20.0])


def test_function_returning_a_non_tensor_is_refused():
    with pytest.raises(TypeError) as caught:
        wg.trace(lambda x: 3.0, 1.0)
    expected = "trace: the result of f must be a Tensor computed from its arguments; got 3.0."
    assert str(caught.value) == expected


def test_the_profile_hook_is_removed_also_on_error():
    def boom(x):
        raise RuntimeError("inside f")

    before = sys.getprofile()
    with pytest.raises(RuntimeError, match="inside f"):
        wg.trace(boom, 1.0)
    assert sys.getprofile() is before
    wg.trace(lecture, *ARGS)
    assert sys.getprofile() is before


def test_trace_does_not_record_outside_its_call():
    trace = wg.trace(lecture, *ARGS)
    w = wg.tensor(1.0, requires_grad=True)
    (w * 2.0).backward()
    assert len(trace.steps) == 9
