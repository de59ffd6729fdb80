"""Random programs built from the primitives, gradchecked: the rules compose."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wengert as wg
from wengert.derivatives import gradcheck

M = np.random.default_rng(7).normal(size=(3, 3)) / 2

# Steps that keep a vector of 3 finite and of moderate size, so that central differences stay
# accurate: each takes the current value h and the program's input x.
UNARY = {
    "tanh": lambda h, x: wg.tanh(h),
    "sigmoid": lambda h, x: wg.sigmoid(h),
    "softplus": lambda h, x: wg.softplus(h),
    "square": lambda h, x: h * h / 4,
    "exp-tanh": lambda h, x: wg.exp(wg.tanh(h)),
    "log1p-square": lambda h, x: wg.log(1 + h * h),
    "sqrt1p-square": lambda h, x: wg.sqrt(1 + h * h),
    "scale-shift": lambda h, x: 0.7 * h - 0.3,
    "matmul": lambda h, x: M @ h,
    "softmax": lambda h, x: wg.softmax(h) * 3,
    "log_softmax": lambda h, x: wg.log_softmax(h) / 3,
    "minus-logsumexp": lambda h, x: h - wg.logsumexp(h),
    "minus-mean": lambda h, x: h - wg.mean(h, keepdims=True),
    "times-input": lambda h, x: h * x,
    "plus-input": lambda h, x: h + x,
    "div-by-positive": lambda h, x: h / (1 + x * x),
    "reverse": lambda h, x: h[::-1],
    "concat-slice": lambda h, x: wg.concatenate([h[1:], h[:1] * x[:1]]),
    "stack-sum": lambda h, x: wg.sum(wg.stack([h, x]), axis=0),
    "outer-rowsum": lambda h, x: wg.sum(wg.reshape(h, (3, 1)) * x, axis=1) / 3,
    "pow-positive": lambda h, x: (1 + h * h) ** 0.75,
}
REDUCE = {
    "sum": lambda h: wg.sum(h),
    "mean-square": lambda h: wg.mean(h * h),
    "logsumexp": lambda h: wg.logsumexp(h),
    "dot-input": lambda h: h @ np.array([0.3, -1.1, 0.8]),
}


def program(steps, reduce):
    def f(x):
        h = x
        for name in steps:
            h = UNARY[name](h, x)
        return REDUCE[reduce](h)

    return f


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(st.sampled_from(sorted(UNARY)), min_size=1, max_size=6),
    reduce=st.sampled_from(sorted(REDUCE)),
    x=st.lists(st.floats(-2.0, 2.0), min_size=3, max_size=3),
)
def test_random_programs_pass_gradcheck(steps, reduce, x):
    gradcheck(program(steps, reduce), np.array(x), atol=1e-5, rtol=1e-4)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(st.sampled_from(sorted(UNARY)), min_size=1, max_size=4),
    reduce=st.sampled_from(sorted(REDUCE)),
    x=st.lists(st.floats(-2.0, 2.0), min_size=3, max_size=3),
)
def test_random_programs_pass_second_order_gradcheck(steps, reduce, x):
    gradcheck(program(steps, reduce), np.array(x), atol=1e-4, rtol=1e-3, order=2)
