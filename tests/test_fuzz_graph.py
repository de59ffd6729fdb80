"""Random graphs against central differences: a hypothesis state machine drives the engine.

The machine grows a set of nodes: leaves (float64, requiring grad), and results of about twenty
primitives applied to earlier nodes — a node reused (x * x), arguments that broadcast, a
`detach()`ed copy, a node whose graph an earlier backward() freed. Beside each Tensor it keeps
a reference: a plain NumPy function of perturbations of the leaves, which evaluates each leaf
at the value that operation read. Its rules:

- backward() from a node (seeded with fixed weights), with or without retain_graph: every
  leaf's gradient must match central differences of the reference; a graph that an earlier
  backward() freed must raise GraphFreedError instead, and a node that requires no grad must be
  refused;
- an optimizer-like step that changes a leaf in place under no_grad: nodes made before it keep
  the values their forward pass read (their gradients are checked against the old values), and
  nodes made after it read the new ones.

The default suite runs a short, derandomized profile; `make test-slow` runs 200 examples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

import wengert as wg
from wengert.autodiff.backward import GraphFreedError

SHAPES = [(), (3,), (2, 3), (1, 3), (2, 1)]
STEP = 1e-6
BIG = 50.0  # an operation that could overflow (exp) or grow without bound is skipped above this


@dataclass(frozen=True)
class Node:
    """A Tensor, its reference function, and the bookkeeping the checks need."""

    t: wg.Tensor
    ref: object  # ref(deltas: dict[int, ndarray]) -> ndarray, the value with leaves moved
    leaf: int | None  # the leaf's number, for a leaf (ref None, as for a detached node)
    interior: frozenset  # ids of the recorded nodes backward() walks from here


def _value(node: Node, leaves: dict) -> object:
    """The reference of `node` as an operation reading it now sees it.

    A leaf is read at its current value: the function closes over a copy, so that a later
    in-place step does not change what this operation read. A detached node is a constant that
    shares its array with the node it came from (as PyTorch's detach does); it is read as it
    is now.
    """
    if node.ref is None and node.leaf is None:
        now = np.array(node.t.numpy(), copy=True)
        return lambda d: now
    if node.leaf is None:
        return node.ref
    k, now = node.leaf, leaves[node.leaf].copy()
    return lambda d: now + d.get(k, 0.0)


def _softplus(x):
    return np.logaddexp(0.0, x)


def _log_softmax(x):
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def _logsumexp(x):
    m = x.max()
    return m + np.log(np.exp(x - m).sum())


# name: (engine function, NumPy reference, applies to values of this shape)
UNARY = {
    "tanh": (wg.tanh, np.tanh, lambda v: True),
    "sigmoid": (wg.sigmoid, lambda x: 1 / (1 + np.exp(-x)), lambda v: True),
    "exp": (wg.exp, np.exp, lambda v: np.abs(v).max(initial=0) < 5),
    "softplus": (wg.softplus, _softplus, lambda v: True),
    "neg": (lambda x: -x, np.negative, lambda v: True),
    "square": (lambda x: x * x, lambda x: x * x, lambda v: True),  # one node used twice
    "sum0": (lambda x: wg.sum(x, axis=0), lambda x: x.sum(axis=0), lambda v: v.ndim >= 1),
    "mean": (wg.mean, lambda x: np.asarray(x.mean()), lambda v: v.size > 0),
    "transpose": (lambda x: x.T, lambda x: x.T, lambda v: v.ndim == 2),
    "flatten": (lambda x: x.reshape(-1), lambda x: x.reshape(-1), lambda v: v.ndim >= 1),
    "first": (lambda x: x[0], lambda x: x[0], lambda v: v.ndim >= 1),
    "log_softmax": (wg.log_softmax, _log_softmax, lambda v: v.ndim >= 1),
    "logsumexp": (wg.logsumexp, _logsumexp, lambda v: v.size > 0),
}
BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / (1.0 + b * b), lambda a, b: a / (1.0 + b * b)),
}


class GraphMachine(RuleBasedStateMachine):
    """Grows a random graph and checks every backward() it runs against the reference."""

    nodes = Bundle("nodes")

    def __init__(self) -> None:
        super().__init__()
        self.leaves: dict[int, np.ndarray] = {}  # the model's current value of each leaf
        self.leaf_tensors: dict[int, wg.Tensor] = {}
        self.freed: set[int] = set()
        self.keep: list = []  # every Tensor made, so that no id is reused while we track it

    def _make(self, t: wg.Tensor, ref, inputs: list[Node]) -> Node:
        interior = frozenset().union(*(n.interior for n in inputs if n.t.requires_grad))
        if t.requires_grad and not t.is_leaf:
            interior |= {id(t)}
        self.keep.append(t)
        return Node(t, ref, None, interior)

    @rule(
        target=nodes,
        values=st.sampled_from(SHAPES).flatmap(
            lambda s: arrays(np.float64, s, elements=st.floats(-1.5, 1.5, width=64))
        ),
    )
    def leaf(self, values):
        k = len(self.leaves)
        self.leaves[k] = values.copy()
        t = wg.tensor(values, requires_grad=True)
        self.leaf_tensors[k] = t
        self.keep.append(t)
        return Node(t, None, k, frozenset())

    @rule(target=nodes, node=nodes, name=st.sampled_from(sorted(UNARY)))
    def unary(self, node, name):
        fn, reference, applies = UNARY[name]
        value = np.asarray(node.t.data)
        if not applies(value) or np.abs(value).max(initial=0) > BIG:
            return multiple()
        ref = _value(node, self.leaves)
        return self._make(fn(node.t), lambda d: reference(ref(d)), [node])

    @rule(target=nodes, a=nodes, b=nodes, name=st.sampled_from(sorted(BINARY)))
    def binary(self, a, b, name):
        try:
            np.broadcast_shapes(a.t.shape, b.t.shape)
        except ValueError:
            return multiple()
        if max(np.abs(a.t.data).max(initial=0), np.abs(b.t.data).max(initial=0)) > BIG:
            return multiple()
        fn, reference = BINARY[name]
        ra, rb = _value(a, self.leaves), _value(b, self.leaves)
        return self._make(fn(a.t, b.t), lambda d: reference(ra(d), rb(d)), [a, b])

    @rule(target=nodes, a=nodes, b=nodes)
    def matmul(self, a, b):
        if a.t.ndim != 2 or b.t.ndim not in (1, 2) or a.t.shape[1] != b.t.shape[0]:
            return multiple()
        ra, rb = _value(a, self.leaves), _value(b, self.leaves)
        return self._make(a.t @ b.t, lambda d: ra(d) @ rb(d), [a, b])

    @rule(target=nodes, node=nodes)
    def detach(self, node):
        t = node.t.detach()
        self.keep.append(t)
        return Node(t, None, None, frozenset())

    @rule(node=nodes, retain=st.booleans(), seed=st.integers(0, 2**16))
    def backward(self, node, retain, seed):
        weights = np.random.default_rng(seed).uniform(-1.0, 1.0, size=node.t.shape)
        for t in self.leaf_tensors.values():
            t.grad = None
        if not node.t.requires_grad:
            with pytest.raises(RuntimeError, match="requires grad"):
                (node.t * weights).sum().backward()
            return
        if node.interior & self.freed:
            with pytest.raises(GraphFreedError):
                (node.t * weights).sum().backward()
            assert all(t.grad is None for t in self.leaf_tensors.values())
            return
        (node.t * weights).sum().backward(retain_graph=retain)
        if not retain:
            self.freed |= node.interior
        self._check_gradients(node, weights)

    def _check_gradients(self, node: Node, weights: np.ndarray) -> None:
        ref = _value(node, self.leaves)

        def f(d):
            return float(np.sum(weights * ref(d)))

        for k, t in self.leaf_tensors.items():
            expected = np.zeros(t.shape)
            for i in np.ndindex(t.shape):
                e = np.zeros(t.shape)
                e[i] = STEP
                expected[i] = (f({k: e}) - f({k: -e})) / (2 * STEP)
            got = np.zeros(t.shape) if t.grad is None else t.grad
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=f"leaf {k}")

    def _has_views(self, t: wg.Tensor) -> bool:
        """Whether another recorded Tensor shares t's memory: x.detach(), x[0], x.T and
        x.reshape(-1) are NumPy views, which an in-place step of t changes too (as NumPy and
        PyTorch views are), while the reference holds a node made from one afterwards at the
        value the view had when the reference read it."""
        return any(n is not t and np.shares_memory(n.data, t.data) for n in self.keep)

    @precondition(lambda self: self.leaves)
    @rule(data=st.data())
    def step(self, data):
        k = data.draw(st.sampled_from(sorted(self.leaves)), label="leaf")
        t = self.leaf_tensors[k]
        if self._has_views(t):
            return
        with wg.no_grad():
            t -= 0.125  # as an optimizer does, in place, while graphs that read t may live
        self.leaves[k] = self.leaves[k] - 0.125
        np.testing.assert_array_equal(t.data, self.leaves[k])


FAST = settings(
    max_examples=150,
    stateful_step_count=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
MANY = settings(
    max_examples=200,
    stateful_step_count=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def test_random_graphs_match_central_differences():
    run_state_machine_as_test(GraphMachine, settings=FAST)


@pytest.mark.slow
def test_two_hundred_random_graphs_match_central_differences():
    run_state_machine_as_test(GraphMachine, settings=MANY)


def test_a_view_of_a_leaf_follows_an_in_place_step_as_numpy_views_do():
    # What the machine leaves out of its steps: x[0] shares x's memory, so it moves with x, and
    # a node made from it afterwards reads, and is differentiated at, the moved values.
    x = wg.tensor(np.zeros((2, 3)), requires_grad=True)
    first = x[0]
    with wg.no_grad():
        x -= 0.125
    np.testing.assert_array_equal(first.numpy(), np.full(3, -0.125))
    (first / (1.0 + first * first)).sum().backward()
    v = -0.125
    np.testing.assert_allclose(x.grad[0], np.full(3, (1 - v * v) / (1 + v * v) ** 2), rtol=1e-15)
    np.testing.assert_array_equal(x.grad[1], np.zeros(3))
