"""What a recorded node keeps for the sweep, and the sweep that reads it: the arrays the forward
got, the inputs that require grad, the order of recording, cotangents kept on the Tensors (none
left behind, also when a rule raises), and a cotangent summed back only when it must be.
"""

import gc
import importlib

import numpy as np
import pytest
from tensor_helpers import leaf

import wengert as wg
from wengert.autodiff.backward import GraphFreedError, toposort, unbroadcast
from wengert.autodiff.primitive import Primitive, apply
from wengert.autodiff.saved import EXPOSED, memory
from wengert.autodiff.tensor import Tensor


def _cotangent_slots(*tensors):
    return [t._g for t in tensors]


# ----------------------------------------------------------------------------- the node
@pytest.mark.parametrize(
    ("make", "wanted"),
    [
        (lambda x, c: c * x, (1,)),  # a Tensor without grad is a constant
        (lambda x, c: x * c, (0,)),
        (lambda x, c: x * x, (0, 1)),
        (lambda x, c: x.tanh(), (0,)),
        (lambda x, c: wg.where(c._data > 1, c, x), (2,)),  # three arguments: the general loop
    ],
    ids=["constant-first", "constant-second", "both", "unary", "three"],
)
def test_a_node_keeps_its_arrays_and_the_inputs_that_require_grad(make, wanted):
    x = leaf([1.0, 2.0, 3.0])
    c = wg.tensor([0.5, 1.5, 2.5])
    out = make(x, c)
    assert out._wanted == wanted
    assert type(out._raw) is tuple
    assert len(out._raw) == len(out._inputs)
    for a, raw in zip(out._inputs, out._raw, strict=True):
        expected = a._data if isinstance(a, Tensor) else a
        np.testing.assert_array_equal(raw, expected)


def test_a_node_whose_rules_read_shapes_alone_keeps_no_arrays_and_still_differentiates():
    x = leaf([[1.0], [2.0]])
    c = np.array([10.0, 20.0, 30.0])
    out = (x + c).sum(axis=1)  # add and sum: their rules read shapes alone
    assert out._raw is None and out._inputs[0]._raw is None
    assert out._wanted == (0,) and out._inputs[0]._wanted == (0,)
    out.backward(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(x.grad, [[3.0], [6.0]])


def test_nodes_are_numbered_in_the_order_they_were_recorded():
    x = leaf(2.0)
    a = x * 3.0
    b = x + 1.0
    c = a * b
    assert a._seq < b._seq < c._seq
    order, leaves = toposort(c)
    assert order == [c, b, a]
    assert leaves == [x]


def test_the_sweep_runs_a_node_after_all_its_consumers_also_when_its_inputs_say_otherwise():
    # d reads b before a, and b reads a: the walk meets b first, the order runs b before a.
    x = leaf(1.5)
    a = x.exp()
    b = a * x
    d = b + a
    order, _ = toposort(d)
    assert order == [d, b, a]
    d.backward()
    e = np.exp(1.5)
    assert x.grad == pytest.approx(e * 1.5 + e + e, rel=1e-15)  # d = x e^x + e^x


def test_a_node_made_outside_apply_gets_what_the_sweep_reads():
    x = leaf([1.0, -2.0])
    y = wg.tensor([3.0, 4.0])
    before = x * 1.0
    node = Tensor._make(x._data * y._data, True, wg.autodiff.ops.mul_p, (x, y), {})
    after = x * 1.0
    assert node._wanted == (0,)
    assert before._seq < node._seq < after._seq
    np.testing.assert_array_equal(node._raw[1], [3.0, 4.0])
    node.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_the_arrays_a_node_keeps_are_tuples_the_cyclic_collector_stops_following():
    x = leaf(np.linspace(0.0, 1.0, 4))
    out = (x * 2.0).sigmoid()
    gc.collect()
    gc.collect()  # a tuple is let go once the tuples inside it were
    assert not gc.is_tracked(out._raw)
    assert not gc.is_tracked(out._hold)


# ----------------------------------------------------------------------------- cotangents
def test_no_cotangent_stays_on_a_tensor_after_backward():
    x = leaf([1.0, 2.0])
    h = x * x
    out = (h + x).sum()
    out.backward(retain_graph=True)
    assert _cotangent_slots(x, h, out) == [None, None, None]
    np.testing.assert_array_equal(x.grad, [3.0, 5.0])
    out.backward()
    np.testing.assert_array_equal(x.grad, [6.0, 10.0])


def _raising_primitive():
    def rule(g, ans, x):
        raise ArithmeticError("the rule failed")

    return Primitive("test_raises", np.negative, (rule,), saves=(), register=False)


def test_a_rule_that_raises_leaves_no_cotangent_and_the_graph_works_again():
    x = leaf([1.0, 2.0])
    bad = apply(_raising_primitive(), x * 2.0)
    h = x * 2.0
    out = (bad.sum() + h.sum()) * 3.0
    with pytest.raises(ArithmeticError, match="the rule failed"):
        out.backward(retain_graph=True)
    assert _cotangent_slots(x, h, bad, out) == [None, None, None, None]
    assert x.grad is None
    (h * h).sum().backward()  # a new sweep over the same leaf is not confused by the first
    np.testing.assert_array_equal(x.grad, [8.0, 16.0])


def test_a_freed_graph_is_refused_and_leaves_its_leaves_usable():
    x = leaf(3.0)
    y = x * x
    y.backward()
    with pytest.raises(GraphFreedError, match="retain_graph=True"):
        (y + x).backward()
    assert x._g is None
    x.grad = None
    (x * 4.0).backward()
    assert x.grad == 4.0


def test_functional_grad_reads_the_cotangent_of_every_input():
    def f(a, b):
        return (a * b + a).sum()

    da, db = wg.grad(f, argnums=(0, 1))(np.array([1.0, 2.0]), np.array([3.0, 5.0]))
    np.testing.assert_array_equal(da, [4.0, 6.0])
    np.testing.assert_array_equal(db, [1.0, 2.0])


# ----------------------------------------------------------------------------- unbroadcast
def test_a_cotangent_of_the_input_shape_and_dtype_reaches_the_leaf_as_the_rule_made_it():
    made = []

    def rule(g, ans, x):
        made.append(np.full(x.shape, 7.0))
        return made[-1]

    prim = Primitive("test_identity_rule", np.positive, (rule,), saves=(), register=False)
    x = leaf([1.0, 2.0])
    apply(prim, x).backward(np.ones(2))
    assert x.grad is made[0]  # neither summed, reshaped, cast nor copied


@pytest.mark.parametrize(
    ("g_shape", "x_shape", "expected"),
    [((4, 3), (3,), [4.0] * 3), ((2, 4, 3), (4, 1), [[6.0]] * 4), ((3,), (1,), [3.0])],
)
def test_unbroadcast_sums_back_leading_and_size_one_axes(g_shape, x_shape, expected):
    g = unbroadcast(np.ones(g_shape), np.zeros(x_shape))
    assert g.shape == x_shape
    np.testing.assert_array_equal(g, expected)


def test_a_float32_input_gets_a_float32_gradient_from_a_float64_cotangent():
    x = leaf(np.ones(3, np.float32), dtype=np.float32)
    (x * np.float64(2.0)).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])


def test_the_seed_is_an_array_of_ones_the_leaf_owns():
    x = leaf(np.array([[5.0]], np.float32), dtype=np.float32)
    x.backward()
    assert x.grad.dtype == np.float32 and x.grad.shape == (1, 1)
    assert x.grad[0, 0] == 1.0
    assert x.grad.flags.owndata and x.grad.flags.writeable


# ----------------------------------------------------------------------------- layers
def test_a_layer_forward_hands_out_no_intermediate_result():
    model = wg.nn.MLP([2, 4, 1], activation="sigmoid", seed=0, dtype=np.float64)
    x = np.array([[0.5, -1.0]])
    out = model(x)
    nodes = []
    t = out
    while t._prim is not None:  # down the first input of each node
        nodes.append(t)
        t = next(a for a in t._inputs if isinstance(a, Tensor))
    assert [n._prim.name for n in nodes] == ["linear", "sigmoid", "linear"]
    assert all(id(memory(n._data)) not in EXPOSED for n in nodes)


def test_a_training_step_hands_out_no_result_of_the_graph(monkeypatch):
    from wengert.train.step import Step

    tensor_module = importlib.import_module("wengert.autodiff.tensor")

    handed_out = []
    monkeypatch.setattr(tensor_module, "expose", handed_out.append)
    model = wg.nn.MLP([2, 4, 1], activation="sigmoid", seed=0, dtype=np.float64)
    step = Step(model, wg.losses.l2, wg.optim.SGD(model.parameters(), lr=0.1))
    value, out = step(np.array([[0.5, -1.0]]), np.array([[1.0]]))
    assert handed_out == []
    assert value == pytest.approx(float(wg.losses.l2(out, np.array([[1.0]])).item()))
