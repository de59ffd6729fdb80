"""Arrays a node saved for backward(): writing one in place between the forward pass and
backward() is refused naming the node, never a silently wrong gradient.
"""

import gc
import math
import re

import numpy as np
import pytest
from tensor_helpers import leaf

import wengert as wg
from wengert.autodiff.saved import COPY_LIMIT

# ----------------------------------------------------------------------------- saved arrays
# A rule reads the arrays its node saved when backward() runs. Changing one in place between the
# forward pass and backward() must never give a silently wrong gradient. A result's memory is
# compared with its bytes when first handed out; a small array the caller holds is saved as a
# copy; a large one is held read-only while the graph lives; a parameter's in-place update moves
# it to a copy.
READ_ONLY = "read-only"
BIG = COPY_LIMIT + 1  # elements: an array the caller holds that is locked, not copied


def unlocked(what: str, prim: str, node: int, how: str = "") -> str:
    how = how or "was made writeable and may have been changed"
    return (
        f"backward: {what} of {prim} (node {node} of the Wengert list) {how} after the "
        f"forward pass; its gradient would be wrong. Recompute the forward pass."
    )


def changed(what: str, prim: str, node: int) -> str:
    return unlocked(what, prim, node, "was changed in place")


@pytest.mark.parametrize(
    ("build", "derivative"),
    [
        (wg.sigmoid, lambda x: math.exp(-x) / (1 + math.exp(-x)) ** 2),
        (wg.exp, math.exp),
    ],
    ids=["sigmoid", "exp"],
)
@pytest.mark.parametrize("via", ["numpy", "detach"])
def test_writing_a_saved_result_in_place_is_refused_at_backward(build, derivative, via):
    x = leaf([0.5, -1.5])
    y = build(x)
    target = y.numpy() if via == "numpy" else y.detach().numpy()
    target[0] = 5.0
    with pytest.raises(RuntimeError) as caught:
        y.sum().backward()
    assert str(caught.value) == changed("the result", build.__name__, 1)
    assert x.grad is None
    y = build(x)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [derivative(0.5), derivative(-1.5)], rtol=1e-14)
    y.numpy()[...] = 5.0  # the graph is freed: the array is the caller's
    np.testing.assert_array_equal(y.numpy(), [5.0, 5.0])


def test_a_saved_result_read_but_left_unchanged_gives_the_gradient():
    x = leaf([0.5, -1.5])
    y = wg.exp(x)
    np.testing.assert_array_equal(y.numpy(), np.exp([0.5, -1.5]))
    y.numpy()[0] = y.numpy()[0]  # written back with the same bytes: nothing changed
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, np.exp([0.5, -1.5]))


def test_a_view_of_a_saved_result_written_in_place_names_the_node_that_saved_it():
    x = leaf([[0.0, 1.0], [2.0, 3.0]])
    flat = wg.exp(x).reshape(-1)  # exp is node 1: its result's memory is shared with flat
    flat.numpy()[3] = 0.0
    with pytest.raises(RuntimeError) as caught:
        flat.sum().backward()
    assert str(caught.value) == changed("the result", "exp", 1)


def test_an_intermediate_that_relu_saved_and_that_was_written_is_refused_naming_relu():
    x = leaf([1.0, -2.0])
    h = x * 3.0  # mul is node 1
    y = wg.relu(h)  # node 2, which saved h
    h.numpy()[1] = 5.0
    with pytest.raises(RuntimeError) as caught:
        y.sum().backward()
    assert str(caught.value) == changed("argument 0", "relu", 2)
    assert x.grad is None


def test_an_intermediate_handed_out_before_relu_saved_it_keeps_the_forwards_gradient():
    # relu saved h = (3, -6) as a copy, since its array was handed out: d/dx = 3 (3 > 0, -6 < 0).
    x = leaf([1.0, -2.0])
    h = x * 3.0
    held = h.numpy()
    y = wg.relu(h)
    held[1] = 5.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0])


def test_a_result_written_after_it_was_handed_out_and_before_use_is_just_its_value():
    # d/dw sum(y * w) = y: the y that the product read, after the write.
    x = leaf([1.0, 2.0])
    w = leaf([3.0, 4.0])
    y = x * 2.0
    y.numpy()[...] = [7.0, 9.0]
    (y * w).sum().backward()
    np.testing.assert_array_equal(w.grad, [7.0, 9.0])


def test_a_handed_out_result_that_a_later_node_saves_is_locked_while_it_lives():
    x = leaf(np.linspace(0.0, 1.0, BIG))
    w = leaf(np.full(BIG, 2.0))
    y = x * 3.0
    held = y.numpy()
    loss = (y * w).sum()
    with pytest.raises(ValueError, match=READ_ONLY):
        held[0] = -1.0
    loss.backward()
    np.testing.assert_allclose(w.grad, 3.0 * np.linspace(0.0, 1.0, BIG), rtol=1e-15)
    held[0] = -1.0


@pytest.mark.parametrize("via", ["data", "numpy"])
def test_a_parameter_changed_between_forward_and_backward_keeps_the_forwards_gradient(via):
    # d/dx sum(x * x) = 2 x at the x the forward pass used (1, 2): the loss it returned. Before
    # the fix, mul's rule read the new x and gave 2 * 5 = 10.
    x = leaf([1.0, 2.0])
    loss = (x * x).sum()
    if via == "data":
        x.data[...] = 5.0
    else:
        x.numpy()[...] = 5.0
    loss.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])
    np.testing.assert_array_equal(x.data, [5.0, 5.0])
    assert x.data.flags.writeable


def test_a_callers_small_numpy_array_changed_after_the_forward_leaves_its_gradient():
    # d/dw sum(w * c) = c as the forward read it, (3, 4): the graph keeps a copy of a small c.
    w = leaf([1.0, 2.0])
    c = np.array([3.0, 4.0])
    loss = (w * c).sum()
    c[0] = 10.0
    loss.backward()
    np.testing.assert_array_equal(w.grad, [3.0, 4.0])


def test_a_second_order_sweep_refuses_a_callers_array_changed_after_the_forward():
    w = leaf([1.0, 2.0])
    c = np.array([3.0, 4.0])
    loss = (w * w * c).sum()
    c[1] = 0.0  # the rules of a create_graph sweep read the arguments themselves
    with pytest.raises(RuntimeError, match="argument 1 of the primitive 'mul' was changed"):
        loss.backward(create_graph=True)


def test_a_callers_numpy_array_is_read_only_while_a_graph_reads_it():
    w = leaf(np.ones(BIG))
    c = np.arange(BIG, dtype=np.float64)
    loss = (w * c).sum()
    with pytest.raises(ValueError, match=READ_ONLY):
        c[0] = 10.0
    loss.backward()
    np.testing.assert_array_equal(w.grad, np.arange(BIG))
    c[0] = 10.0  # writeable again after backward()
    assert c[0] == 10.0


def test_a_view_locks_the_memory_it_views_and_both_are_given_back():
    w = leaf(np.ones(BIG))
    table = np.arange(2.0 * BIG).reshape(2, BIG).copy()  # an array that owns its memory
    row = table[1]
    loss = (w * row).sum()
    for target in (table, row):
        with pytest.raises(ValueError, match=READ_ONLY):
            target[0] = -1.0
    loss.backward()
    np.testing.assert_array_equal(w.grad, np.arange(BIG, 2.0 * BIG))
    table[0, 0] = -1.0
    row[0] = -1.0
    assert table[1, 0] == -1.0


def test_memory_two_graphs_hold_is_given_back_only_when_both_are_done():
    w = leaf(np.ones(BIG))
    c = np.full(BIG, 3.0)
    first = (w * c).sum()
    second = (w * c * 2.0).sum()
    first.backward()
    with pytest.raises(ValueError, match=READ_ONLY):
        c[0] = 0.0  # the second graph still reads c
    w.grad = None
    second.backward()
    np.testing.assert_array_equal(w.grad, np.full(BIG, 6.0))
    c[0] = 0.0


def test_a_graph_collected_without_backward_gives_its_arrays_back():
    w = leaf(np.ones(BIG))
    c = np.full(BIG, 3.0)
    loss = wg.exp(w * c).sum()
    result = loss.numpy()
    del loss
    gc.collect()
    c[0] = 0.0
    result[...] = 0.0
    assert c[0] == 0.0


def test_an_array_read_only_before_stays_read_only_after():
    w = leaf([1.0, 2.0])
    c = np.array([3.0, 4.0])
    c.setflags(write=False)
    (w * c).sum().backward()
    assert not c.flags.writeable
    np.testing.assert_array_equal(w.grad, [3.0, 4.0])


def test_training_steps_in_place_raise_nothing_and_follow_the_formula():
    # The ordinary loop: forward, backward, the optimizer's in-place step; with retain_graph=True
    # and a second backward as well. f(w) = sum((w - t)^2), gradient 2 (w - t).
    target = np.array([1.0, -1.0])
    w = leaf([0.0, 0.0])
    opt = wg.optim.SGD([w], lr=0.25)
    expected = np.zeros(2)
    for retain in (False, True, False):
        opt.zero_grad()
        loss = ((w - target) * (w - target)).sum()
        loss.backward(retain_graph=retain)
        if retain:
            loss.backward()  # accumulates: twice the gradient
        opt.step()
        expected -= 0.25 * 2 * (expected - target) * (2 if retain else 1)
        np.testing.assert_allclose(w.data, expected, rtol=1e-15)


def test_an_optimizer_step_while_a_retained_graph_lives_keeps_that_graphs_gradient():
    w = leaf([1.0, 2.0])
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    opt = wg.optim.SGD([w], lr=0.5)
    opt.step()  # writes w in place while the graph that read it is alive: allowed
    np.testing.assert_array_equal(w.data, [0.0, 0.0])
    opt.zero_grad()
    loss.backward()  # the gradient of the loss that was computed, at w = (1, 2)
    np.testing.assert_array_equal(w.grad, [2.0, 4.0])


@pytest.mark.parametrize("n", [2, BIG], ids=["copied", "locked"])
def test_in_place_update_of_a_held_parameter_under_no_grad_keeps_the_forwards_gradient(n):
    start = np.arange(1.0, n + 1.0)
    w = leaf(start)
    loss = (w * w).sum()
    with wg.no_grad():
        w -= 1.0
    loss.backward()
    np.testing.assert_array_equal(w.grad, 2 * start)
    np.testing.assert_array_equal(w.data, start - 1.0)


def test_in_place_update_of_a_held_constant_is_refused_with_the_reason():
    w = leaf(np.ones(BIG))
    c = wg.tensor(np.full(BIG, 3.0))
    loss = (w * c).sum()
    with (
        wg.no_grad(),
        pytest.raises(RuntimeError, match="saved for backward\\(\\); call backward\\(\\) first"),
    ):
        c += 1.0
    np.testing.assert_array_equal(c.data, np.full(BIG, 3.0))
    loss.backward()
    c += 1.0
    np.testing.assert_array_equal(c.data, np.full(BIG, 4.0))


def test_in_place_update_of_a_small_held_constant_leaves_the_gradient():
    w = leaf([1.0, 2.0])
    c = wg.tensor([3.0, 4.0])
    loss = (w * c).sum()
    with wg.no_grad():
        c += 1.0  # the graph saved a copy of c
    loss.backward()
    np.testing.assert_array_equal(w.grad, [3.0, 4.0])
    np.testing.assert_array_equal(c.data, [4.0, 5.0])


def test_a_second_order_sweep_through_a_changed_parameter_names_the_primitive():
    w = leaf([1.0, 2.0])
    loss = (w * w * w).sum()
    loss.backward(create_graph=True)
    g = w.grad
    w.grad = None
    w.data[...] = 5.0
    # A first-order sweep reads the saved arrays: the second derivative 6 w at w = (1, 2).
    g.sum().backward(retain_graph=True)
    np.testing.assert_array_equal(w.grad, [6.0, 12.0])
    # A second-order one runs the rules on the Tensors, which no longer match: refused.
    with pytest.raises(RuntimeError, match="argument 1 of the primitive 'mul' was changed"):
        g.sum().backward(create_graph=True)


def test_a_deep_copy_of_a_graph_node_holds_nothing_and_the_original_still_works():
    import copy

    w = leaf([1.0, 2.0])
    y = wg.exp(w)
    twin = copy.deepcopy(y)
    twin.numpy()[...] = 0.0  # the copy's array is its own
    np.testing.assert_array_equal(y.numpy(), np.exp([1.0, 2.0]))
    y.sum().backward()
    np.testing.assert_allclose(w.grad, np.exp([1.0, 2.0]), rtol=1e-15)


@pytest.mark.parametrize("n", [3, BIG])
def test_a_saved_result_changed_in_place_is_refused_before_its_rule_reads_it(n):
    # The rule of exp would read y = 0 and give x.grad = 0 where e^1 is right. Nothing reaches
    # .grad.
    x = leaf(np.ones(n))
    y = wg.exp(x)
    y.data[:] = 0
    with pytest.raises(RuntimeError) as caught:
        y.sum().backward()
    assert str(caught.value) == changed("the result", "exp", 1)
    assert x.grad is None


@pytest.mark.parametrize("create_graph", [False, True])
def test_a_saved_argument_made_writeable_is_refused_and_named_with_its_node(create_graph):
    w = leaf(np.ones(BIG))
    c = np.full(BIG, 3.0)  # large: locked, not copied
    h = wg.tanh(wg.exp(w) * c)  # exp is node 1, mul node 2, tanh node 3
    c.setflags(write=True)  # even unchanged: nothing can tell, so it is refused
    with pytest.raises(RuntimeError) as caught:
        h.sum().backward(create_graph=create_graph)
    assert str(caught.value) == unlocked("argument 1", "mul", 2)
    assert w.grad is None


def test_a_trace_sweep_refuses_a_saved_value_changed_in_place_naming_its_line():
    trace = wg.trace(lambda x: wg.sum(wg.tanh(wg.exp(x))), np.ones(2))
    trace.nodes[1].data[0] = 0.0  # t2 = tanh(t1), which saves its result
    with pytest.raises(RuntimeError) as caught:
        trace.backward()
    assert str(caught.value) == changed("the result", "tanh", 2)


def test_saved_values_left_read_only_pass_the_check_with_the_right_gradient():
    w = leaf([1.0, 2.0])
    y = wg.exp(w)
    y.data.flags.writeable = False  # setting it read-only again is harmless
    y.sum().backward(retain_graph=True)
    y.sum().backward()
    np.testing.assert_allclose(w.grad, 2 * np.exp([1.0, 2.0]), rtol=1e-15)


# ----------------------------------------------------------------------------- reads
# Primitive.reads: a node saves only what the rules of its arguments that require grad read.
PRODUCTS = {  # (w, x) -> the product, w first; and x's place among the node's arguments
    "mul": (lambda w, x: w * x, 1),
    "matmul": (lambda w, x: wg.matmul(x.reshape(1, -1), w.reshape(-1, 1)), 0),
    "linear": (lambda w, x: wg.autodiff.ops.linear(x.reshape(1, -1), w), 0),
}


@pytest.mark.parametrize("op", PRODUCTS)
@pytest.mark.parametrize("size", [3, BIG])
def test_a_product_with_a_constant_guards_the_constant_alone(size, op):
    product, at = PRODUCTS[op]
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=size), leaf(rng.normal(size=size))
    y = product(w, x).sum()
    (node,) = y._inputs
    assert node._prim.name == op
    assert node._raw[1 - at] is w._data or node._raw[1 - at].base is w._data  # not saved
    x_before = x.copy()
    if size == BIG:  # held read-only while the graph lives
        with pytest.raises(ValueError, match=READ_ONLY):
            x[0] = 100.0
    else:  # saved as a copy: a change in place after the forward pass does not reach it
        x[0] = 100.0
    y.backward()
    np.testing.assert_array_equal(w.grad.reshape(-1), x_before)
    assert x.flags.writeable


def test_a_product_of_two_leaves_guards_both():
    a, b = leaf(np.array([2.0, 3.0])), leaf(np.array([5.0, 7.0]))
    y = (a * b).sum()
    (node,) = y._inputs
    assert node._raw[0] is not a._data and node._raw[1] is not b._data  # copies, both
    with wg.no_grad():
        a.data[...] = 0.0  # an optimizer's step between forward and backward
    y.backward()
    np.testing.assert_array_equal(a.grad, [5.0, 7.0])
    np.testing.assert_array_equal(b.grad, [2.0, 3.0])


def test_reads_outside_saves_are_refused_by_name():
    rule = lambda g, ans, a, b: g
    with pytest.raises(
        ValueError,
        match=re.escape(
            "Primitive 'bad': reads must name values within saves; got reads=((1,), (0,)) and "
            "saves=(0,)."
        ),
    ):
        wg.autodiff.primitive.Primitive(
            "bad", np.add, (rule, rule), saves=(0,), reads=((1,), (0,)), register=False
        )
