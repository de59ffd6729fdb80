"""Every primitive against central differences in float64, to first and second order, and its
tangent rule (forward mode) against its reverse rule and central differences.

One table: each row names the primitive it exercises, a function of the inputs, the inputs'
shapes and the domain they are drawn from. A registered primitive without a row, or without a
tangent rule for each differentiable argument, fails tests/test_primitive_registry.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

import wengert as wg
from wengert.autodiff.mode import recording
from wengert.autodiff.ops import cross_entropy, expm1, linear, scatter_add_p, squared_error_p
from wengert.autodiff.primitive import apply
from wengert.derivatives import gradcheck
from wengert.losses import zero_one


def _real(rng, shape):
    return rng.normal(size=shape)


def _positive(rng, shape):
    return rng.uniform(0.5, 2.0, size=shape)


def _nonzero(rng, shape):
    """Away from 0, where abs, sign, relu and leaky_relu have their kink."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.3, 2.0, size=shape)


def _distinct(rng, shape):
    """Values at least 0.1 apart, so that max, min, maximum and minimum have no ties."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.25 - n * 0.1 + rng.uniform(0, 0.1, size=n)).reshape(shape)


def _clip_domain(rng, shape):
    """Away from the clip bounds -0.5 and 0.5: below, inside and above."""
    return rng.choice([-1.2, 0.0, 1.2], size=shape) + rng.uniform(-0.3, 0.3, size=shape)


DOMAINS = {
    "real": _real,
    "positive": _positive,
    "nonzero": _nonzero,
    "distinct": _distinct,
    "clip": _clip_domain,
}


@dataclass(frozen=True)
class Case:
    primitive: str
    fn: Callable
    shapes: tuple
    domain: str | tuple = "real"
    order: int = 2
    label: str = ""
    refuses: str = ""  # a rule that refuses on purpose (a step function): the message it gives

    def inputs(self, seed: int):
        rng = np.random.default_rng(seed)
        domains = (
            self.domain if isinstance(self.domain, tuple) else (self.domain,) * len(self.shapes)
        )
        return [DOMAINS[d](rng, s) for d, s in zip(domains, self.shapes, strict=True)]

    def __str__(self) -> str:
        return f"{self.primitive}-{self.label or 'x'.join(map(str, self.shapes))}"


BINARY_SHAPES = [
    ((), ()),
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3, 1), (1, 4)),
    ((2, 3), ()),
    ((), (2, 2)),
]
MASK = np.array([[True, False, True], [False, False, True]])
LABELS = np.array([2, 0, 0, 1])
TARGETS = np.array([[0.5, -1.0, 2.0], [0.0, 1.5, -0.5]])


def _binary(name, fn, domain=("real", "real")):
    return [
        Case(name, fn, shapes, domain, label=f"{shapes[0]}{shapes[1]}") for shapes in BINARY_SHAPES
    ]


def _squared(y, scale, reduction):
    return lambda a: apply(squared_error_p, a, y, scale=scale, reduction=reduction)


def _unary(name, fn, domain="real", shapes=((), (4,), (2, 3))):
    return [Case(name, fn, (s,), domain) for s in shapes]


CASES = [
    *_binary("add", lambda a, b: a + b),
    *_binary("sub", lambda a, b: a - b),
    *_binary("mul", lambda a, b: a * b),
    *_binary("div", lambda a, b: a / b, ("real", "positive")),
    *_binary("pow", lambda a, b: a**b, ("positive", "real")),
    Case("pow", lambda a: a**2, ((2, 3),), label="square"),
    Case("pow", lambda a: a**3, ((2, 3),), label="cube"),
    Case("pow", lambda a: a**0.5, ((4,),), "positive", label="sqrt"),
    Case("pow", lambda b: 2.0**b, ((4,),), label="base-constant"),
    *_binary("maximum", wg.maximum, ("distinct", "distinct")),
    *_binary("minimum", wg.minimum, ("distinct", "distinct")),
    *_unary("neg", lambda a: -a),
    *_unary("exp", wg.exp),
    *_unary("expm1", expm1),
    *_unary("log", wg.log, "positive"),
    *_unary("sqrt", wg.sqrt, "positive"),
    *_unary("abs", wg.abs, "nonzero"),
    *_unary("sign", lambda a: wg.sign(a) * a, "nonzero"),
    *_unary("sigmoid", wg.sigmoid),
    *_unary("tanh", wg.tanh),
    *_unary("relu", wg.relu, "nonzero"),
    *_unary("leaky_relu", lambda a: wg.leaky_relu(a, 0.1), "nonzero"),
    *_unary("softplus", wg.softplus),
    Case("clip", lambda a: wg.clip(a, -0.5, 0.5), ((3, 4),), "clip"),
    Case("clip", lambda a: wg.clip(a, lo=-0.5), ((6,),), "clip", label="lo-only"),
    Case("where", lambda a, b: wg.where(MASK, a, b), ((2, 3), (2, 3))),
    Case("where", lambda a, b: wg.where(MASK, a, b), ((2, 1), (3,)), label="broadcast"),
    Case("matmul", lambda a, b: a @ b, ((3,), (3,)), label="dot"),
    Case("matmul", lambda a, b: a @ b, ((2, 3), (3, 4))),
    Case("matmul", lambda a, b: a @ b, ((3,), (3, 4)), label="vector-matrix"),
    Case("matmul", lambda a, b: a @ b, ((2, 3), (3,)), label="matrix-vector"),
    Case("matmul", lambda a, b: a @ b, ((5, 2, 3), (3, 4)), label="batched-broadcast"),
    Case("matmul", lambda a, b: a @ b, ((5, 2, 3), (5, 3, 4)), label="batched"),
    Case("matmul", lambda a, b: a @ b, ((1, 2, 3), (4, 3, 2)), label="batch-of-one"),
    Case("matmul", lambda a, b: a @ b, ((3,), (4, 3, 2)), label="vector-batched"),
    Case("matmul", lambda a, b: a @ b, ((4, 2, 3), (3,)), label="batched-vector"),
    Case("sum", lambda a: wg.sum(a), ((2, 3),), label="all"),
    Case("sum", lambda a: wg.sum(a, axis=0), ((2, 3),), label="axis0"),
    Case("sum", lambda a: wg.sum(a, axis=-1, keepdims=True), ((2, 3),), label="keepdims"),
    Case("sum", lambda a: wg.sum(a, axis=(0, 2)), ((2, 3, 4),), label="axes02"),
    Case("sum", lambda a: wg.sum(a), ((),), label="scalar"),
    Case("mean", lambda a: wg.mean(a, axis=1), ((3, 4),), label="axis1"),
    Case("mean", lambda a: wg.mean(a, keepdims=True), ((3, 4),), label="keepdims"),
    Case("mean", lambda a: wg.mean(a), ((5,),), label="all"),
    Case("mean", lambda a: wg.mean(a, axis=(0, 2)), ((2, 3, 2),), label="axes02"),
    Case("max", lambda a: wg.max(a), ((3, 4),), "distinct", label="all"),
    Case("max", lambda a: wg.max(a, axis=1), ((3, 4),), "distinct", label="axis1"),
    Case(
        "max", lambda a: wg.max(a, axis=0, keepdims=True), ((3, 4),), "distinct", label="keepdims"
    ),
    Case("min", lambda a: wg.min(a), ((3, 4),), "distinct", label="all"),
    Case("min", lambda a: wg.min(a, axis=(0, 1)), ((2, 3, 2),), "distinct", label="axes01"),
    Case("reshape", lambda a: wg.reshape(a, (3, 2)), ((2, 3),)),
    Case("reshape", lambda a: a.reshape(2, -1), ((6,),), label="minus-one"),
    Case("transpose", lambda a: a.T, ((2, 3),)),
    Case("transpose", lambda a: wg.transpose(a, (1, 2, 0)), ((2, 3, 4),), label="perm"),
    Case("broadcast_to", lambda a: wg.broadcast_to(a, (2, 3, 4)), ((3, 1),)),
    Case("getitem", lambda a: a[1], ((3, 4),), label="int"),
    Case("getitem", lambda a: a[1:, ::2], ((3, 4),), label="slices"),
    Case("getitem", lambda a: a[None, ..., 0], ((3, 4),), label="none-ellipsis"),
    Case("getitem", lambda a: a[np.array([0, 0, 2])], ((3, 4),), label="repeated-ints"),
    Case("getitem", lambda a: a[[0, 2], [1, 1]], ((3, 4),), label="paired-ints"),
    Case("getitem", lambda a: a[MASK], ((2, 3),), label="bool-mask"),
    Case(
        "scatter_add",
        lambda a: apply(scatter_add_p, a, index=(np.array([0, 0, 2]),), shape=(4, 2)),
        ((3, 2),),
        label="repeated",
    ),
    Case(
        "scatter_add",
        lambda a: apply(scatter_add_p, a, index=(slice(1, 3),), shape=(4,)),
        ((2,),),
        label="slice",
    ),
    Case("concatenate", lambda a, b: wg.concatenate([a, b]), ((2, 3), (1, 3))),
    Case(
        "concatenate",
        lambda a, b: wg.concatenate([a, b, a], axis=1),
        ((2, 3), (2, 1)),
        label="axis1-repeat",
    ),
    Case("stack", lambda a, b: wg.stack([a, b]), ((2, 3), (2, 3))),
    Case("stack", lambda a, b: wg.stack([a, b, a], axis=-1), ((4,), (4,)), label="last-axis"),
    Case("softmax", lambda a: wg.softmax(a), ((3, 4),)),
    Case("softmax", lambda a: wg.softmax(a, axis=0), ((3, 4),), label="axis0"),
    Case("log_softmax", lambda a: wg.log_softmax(a), ((3, 4),)),
    Case("log_softmax", lambda a: wg.log_softmax(a, axis=0), ((5,),), label="vector"),
    Case("logsumexp", lambda a: wg.logsumexp(a), ((3, 4),), label="all"),
    Case("logsumexp", lambda a: wg.logsumexp(a, axis=1), ((3, 4),), label="axis1"),
    Case(
        "logsumexp", lambda a: wg.logsumexp(a, axis=0, keepdims=True), ((3, 4),), label="keepdims"
    ),
    Case("astype", lambda a: wg.astype(a * 1.0, np.float64), ((3,),)),
    Case("linear", lambda x, w, b: linear(x, w, b), ((4, 3), (3, 2), (2,))),
    Case("linear", lambda x, w: linear(x, w), ((4, 3), (3, 2)), label="no-bias"),
    Case("linear", lambda x, w, b: linear(x, w, b), ((3,), (3, 2), (2,)), label="one-sample"),
    Case("linear", lambda x, w, b: linear(x, w, b), ((5, 4, 3), (3, 2), (2,)), label="batched"),
    Case("cross_entropy", lambda z: cross_entropy(z, LABELS), ((4, 3),)),
    Case("cross_entropy", lambda z: cross_entropy(z, 2), ((5,),), label="one-sample"),
    *[
        Case("squared_error", _squared(TARGETS, scale, reduction), ((2, 3),), label=label)
        for scale, reduction, label in [(0.5, "mean", "l2"), (1.0, "sum", "mse-sum")]
    ],
    Case("squared_error", _squared(TARGETS, 0.5, "none"), ((2, 3),), label="none"),
    Case(
        "squared_error",
        lambda a, b: apply(squared_error_p, a, b, scale=0.5, reduction="mean"),
        ((4,), (4,)),
        label="both-arguments",
    ),
    Case(
        "zero_one",
        lambda s: zero_one(s, np.array([1.0, -1.0, 1.0, -1.0])),
        ((4,),),
        "nonzero",
        refuses="piecewise constant",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_first_and_second_derivatives_match_central_differences(case):
    args = case.inputs(seed=len(str(case)))
    if case.refuses:
        with pytest.raises(RuntimeError, match=case.refuses):
            gradcheck(case.fn, *args, order=case.order)
        return
    report = gradcheck(case.fn, *args, order=case.order)
    assert report.passed


@pytest.mark.parametrize("case", CASES, ids=str)
def test_each_row_runs_its_primitive(case):
    tensors = [wg.tensor(a, requires_grad=True) for a in case.inputs(seed=0)]
    nodes = []
    with recording(nodes):
        case.fn(*tensors)
    assert case.primitive in {n._prim.name for n in nodes}


# ----------------------------------------------------------------------------- forward mode
def _value(out) -> np.ndarray:
    return out.data if isinstance(out, wg.Tensor) else np.asarray(out)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_jvp_matches_reverse_mode_and_central_differences(case):
    args = case.inputs(seed=len(str(case)))
    rng = np.random.default_rng(len(str(case)) + 1)
    tangents = [rng.normal(size=np.shape(a)) for a in args]
    if case.refuses:
        with pytest.raises(RuntimeError, match=case.refuses):
            wg.jvp(case.fn, tuple(args), tuple(tangents))
        return
    value, jv = wg.jvp(case.fn, tuple(args), tuple(tangents))
    np.testing.assert_array_equal(value, _value(case.fn(*args)))
    # Reverse mode: J v = sum over the arguments of J_i v_i, each J_i by wg.jacobian.
    reverse = sum(
        np.tensordot(wg.jacobian(case.fn, argnums=i)(*args), v, axes=np.ndim(v))
        for i, v in enumerate(tangents)
    )
    np.testing.assert_allclose(jv, reverse, rtol=1e-12, atol=1e-12)
    h = 1e-6
    ahead = case.fn(*(a + h * v for a, v in zip(args, tangents, strict=True)))
    behind = case.fn(*(a - h * v for a, v in zip(args, tangents, strict=True)))
    central = (_value(ahead) - _value(behind)) / (2 * h)
    np.testing.assert_allclose(jv, central, rtol=1e-7, atol=1e-7)
