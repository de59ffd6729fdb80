"""wg.compile on whole programs: the lecture's example as source, an MLP with every loss,
rules that read the data, retracing, and what is refused."""

import re

import numpy as np
import pytest
from test_compile import _program
from test_primitives import CASES

import wengert as wg
from wengert.losses import LOSSES


def lecture(w, x, y):
    def f(w):
        L = (w * x - y) ** 2
        return L

    return wg.value_and_grad(f)(w)


LECTURE_SOURCE = """\
def lecture(w, x, y):
    t1 = w * x
    t2 = t1 - y
    L = t2 ** 2
    L_bar = one
    t2_bar = L_bar * (2 * t2)
    t1_bar = t2_bar
    w_bar = t1_bar * x
    return (float(L), float(w_bar))
"""


def test_the_lecture_example_prints_as_its_wengert_list_and_backward_sweep():
    compiled = wg.compile(lecture, backend="numpy")
    assert compiled(np.asarray(0.5), np.asarray(2.0), np.asarray(1.5)) == (0.25, -2.0)
    assert compiled.source == LECTURE_SOURCE
    # 2 (w x - y) x at w = 3, x = 2, y = 1.5: the same program at another point
    assert compiled(np.asarray(3.0), np.asarray(2.0), np.asarray(1.5)) == (20.25, 18.0)
    assert compiled.cache_size() == 1


def _targets(kind, rng, n):
    if kind == "value":
        return rng.normal(size=n)
    if kind == "sign":
        return rng.choice([-1.0, 1.0], size=n)
    if kind == "logit":
        return rng.choice([0.0, 1.0], size=n)
    return rng.integers(0, 3, size=n)


def _mlp_step(spec):
    classes = 3 if spec.several_outputs else 1

    def step(W1, b1, W2, b2, X, y):
        def loss(W1, b1, W2, b2):
            z = wg.tanh(X @ W1 + b1) @ W2 + b2
            return spec.function(z if classes > 1 else z[:, 0], y)

        if not spec.trainable:
            return loss(W1, b1, W2, b2)
        return wg.value_and_grad(loss, argnums=(0, 1, 2, 3))(W1, b1, W2, b2)

    def arguments(seed):
        rng = np.random.default_rng(seed)
        shapes = [(3, 4), (4,), (4, classes), (classes,), (6, 3)]
        return [rng.normal(size=s) for s in shapes] + [_targets(spec.targets[0], rng, 6)]

    return step, arguments


def _plain(value):
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value.data if isinstance(value, wg.Tensor) else value


@pytest.mark.parametrize("name", list(LOSSES))
def test_an_mlp_with_each_loss_compiles_to_the_eager_value_and_gradients(name):
    step, arguments = _mlp_step(LOSSES[name])
    compiled = wg.compile(step, data_argnums=5, backend="numpy")
    for seed in range(3):
        args = arguments(seed)
        got, want = compiled(*args), _plain(step(*args))
        if not LOSSES[name].trainable:
            assert got == pytest.approx(float(want), rel=1e-12)
            continue
        assert got[0] == pytest.approx(want[0], rel=1e-12)
        for g, w in zip(got[1], want[1], strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)
    assert compiled.cache_size() == 1


def masks(x, y):
    def loss(x, y):
        return (1.5 * wg.relu(x) + wg.maximum(x, y) + wg.clip(x, -0.5, 0.5) + wg.abs(y)).sum()

    return wg.value_and_grad(loss, argnums=(0, 1))(x, y)


def test_rules_that_read_the_data_stay_right_where_the_masks_change():
    compiled = wg.compile(masks, backend="numpy")
    x = np.array([1.0, -1.0, 0.3, -0.2, 2.0])
    y = np.array([0.5, -2.0, 1.0, 0.4, -1.0])
    for point in [(x, y), (-x, -y), (-x, y), (y, x), (x * 0.1, y * 3)]:  # other masks, ties
        value, (gx, gy) = compiled(*point)
        want_value, (want_gx, want_gy) = masks(*point)
        assert value == want_value
        np.testing.assert_array_equal(gx, want_gx)
        np.testing.assert_array_equal(gy, want_gy)
    assert compiled.cache_size() == 1
    source = compiled.source
    for rule in ("relu_vjp0(", "maximum_vjp0(", "maximum_vjp1(", "clip_vjp0(", "abs_vjp0("):
        assert rule in source  # called on the arrays, as the eager sweep does
    assert "    t2 = 1.5 * t1\n" in source
    assert "    t1_bar = " not in source  # mul's rule on the seed: a constant, computed once


def test_results_are_arrays_of_their_own():
    def f(w):
        value, g = wg.value_and_grad(lambda w: w.sum())(w)  # g: the seed, broadcast
        doubled = w * 2.0
        return w, g, g, doubled, [doubled], {"value": value}

    compiled = wg.compile(f, backend="numpy")
    w = np.array([1.0, 2.0])
    first = compiled(w)
    assert first[0] is not w and first[1] is not first[2] and first[3] is not first[4][0]
    for a in (*first[:4], first[4][0]):
        a *= 10  # the caller's to change: the next call is not affected
    w_, g, g2, doubled, listed, named = compiled(w)
    np.testing.assert_array_equal(w_, [1.0, 2.0])
    np.testing.assert_array_equal(g, [1.0, 1.0])
    np.testing.assert_array_equal(g2, [1.0, 1.0])
    np.testing.assert_array_equal(doubled, [2.0, 4.0])
    np.testing.assert_array_equal(listed[0], [2.0, 4.0])
    assert named == {"value": 3.0}
    returned = (
        "return (_out(w), w_bar, _out(w_bar), doubled, [_out(doubled)], {'value': float(value)})"
    )
    assert returned in compiled.source


def test_a_view_of_an_array_the_program_made_is_returned_once_as_it_is():
    def f(w):
        product = w * 3.0
        flat = product.reshape(4)
        return flat, product, w.reshape(4)

    compiled = wg.compile(f, backend="numpy")
    w = np.arange(4.0).reshape(2, 2)
    flat, product, w_flat = compiled(w)
    assert "return (flat, _out(product), _out(t3))" in compiled.source  # one array per memory
    flat *= 10  # the caller's own: neither the other result, nor w, nor the next call changes
    w_flat *= 10
    np.testing.assert_array_equal(product, [[0.0, 3.0], [6.0, 9.0]])
    np.testing.assert_array_equal(w, [[0.0, 1.0], [2.0, 3.0]])
    np.testing.assert_array_equal(compiled(w)[0], [0.0, 3.0, 6.0, 9.0])


def test_the_rules_the_program_calls_are_those_that_read_the_data():
    called = set()
    for case in CASES:
        if not case.refuses:
            compiled = wg.compile(_program(case), backend="numpy")
            compiled(*case.inputs(seed=1))
            called |= set(re.findall(r"(\w+_vjp\d)\(", compiled.source))
    assert called == {
        "abs_vjp0",  # sign(x)
        "clip_vjp0",  # the inside mask
        "cross_entropy_vjp0",  # the labels' one-hot, an array computed in the rule
        "getitem_vjp0",  # an index array, a parameter of the scatter
        "leaky_relu_vjp0",  # where(x > 0, 1, slope)
        "max_vjp0",  # where the maximum is
        "maximum_vjp0",  # the tie shares
        "maximum_vjp1",
        "min_vjp0",
        "minimum_vjp0",
        "minimum_vjp1",
        "pow_vjp1",  # the mask a == 0
        "relu_vjp0",  # x > 0
        "scatter_add_vjp0",  # an index array, a parameter of the gather
    }


def test_underflow_raised_in_an_inline_rule_is_answered_by_the_eager_run():
    def f(x):
        return wg.value_and_grad(lambda x: wg.tanh(x).sum())(x)

    compiled = wg.compile(f, backend="numpy")
    x = np.array([1e-160, 0.5])
    compiled(x)
    assert "x_bar = t1_bar * (1 - t1 * t1)" in compiled.source  # t1 * t1 underflows at 1e-160
    with np.errstate(under="raise"):
        value, grad = compiled(x)
        want_value, want_grad = f(x)  # tanh's eager rule retries with underflow ignored
    assert value == want_value
    np.testing.assert_array_equal(grad, want_grad)


def test_a_new_shape_or_dtype_traces_again():
    def f(w):
        return wg.value_and_grad(lambda w: (wg.tanh(w) * w).sum())(w)

    compiled = wg.compile(f, backend="numpy")
    for w in (np.ones(3), np.ones(4), np.ones(3, np.float32), np.zeros(3), np.ones((1, 3))):
        value, grad = compiled(w)
        want_value, want_grad = f(w)
        assert value == want_value
        assert grad.dtype == want_grad.dtype == w.dtype
        np.testing.assert_array_equal(grad, want_grad)
    assert compiled.cache_size() == 4  # np.zeros(3) reuses the program of np.ones(3)


def test_a_static_argument_is_part_of_the_signature():
    def f(w, power):
        return (w**power).sum()

    compiled = wg.compile(f, backend="numpy")
    assert compiled(np.array([2.0, 3.0]), 2) == 13.0
    assert compiled(np.array([2.0, 3.0]), 3) == 35.0
    assert compiled.cache_size() == 2
    assert "t1 = w ** 3" in compiled.source


def branching(x):
    if x.data > 0:  # NumPy's comparison of the array: no Tensor sees it
        return x * 2.0
    return -x


def test_control_flow_on_a_traced_value_is_refused_with_both_points():
    with pytest.raises(ValueError) as caught:
        wg.compile(branching)(np.asarray(1.5))
    assert str(caught.value) == (
        "compile: f executes different operations at different points (data-dependent "
        "control flow): step 1 is `t1 = x * 2` at x = 1.5 but `t1 = -x` at x = -1.5. A Python "
        "if or while on a Tensor's value (e.g. `if x > 0:`) chooses them, and a compiled "
        "program runs one branch for every value. Write the choice with wg.maximum, "
        "wg.minimum, wg.relu or wg.clip, or call f without compile."
    )


def comparing(x):
    if x > 100:  # a branch that no probe would take: bool() of a traced comparison is refused
        return x * 2.0
    return -x


def test_reading_a_traced_value_into_python_is_refused_where_it_happens():
    line = comparing.__code__.co_firstlineno + 1
    with pytest.raises(ValueError) as caught:
        wg.compile(comparing)(np.asarray(1.5))
    assert str(caught.value) == (
        f"compile: f reads a Tensor computed from its arguments into Python with bool() (at "
        f"{__file__}:{line}); the compiled program would keep the branch or the number it "
        f"gave at the first call, for every value. Write a choice with wg.maximum, "
        f"wg.minimum, wg.relu or wg.clip, return the Tensor instead of the number, or call f "
        f"without compile."
    )
    for read in (float, int, lambda t: t.item(), lambda t: t.sum().tolist()):
        with pytest.raises(ValueError, match="compile: f reads a Tensor computed from its"):
            wg.compile(lambda x, read=read: x * read(x))(np.asarray(1.5))


def test_a_constant_read_from_a_traced_value_is_refused():
    with pytest.raises(ValueError) as caught:
        wg.compile(lambda x: x * x.data.sum())(np.array([1.0, 2.0]))
    assert str(caught.value).startswith(
        "compile: operand 1 of step 1, `t1 = x * 3`, changes with the arguments "
        "(x = [1., 2.] and x = [-1., -2.]) as a constant: f computes it outside wengert's "
        "operations (float(), .item(), .data, .numpy(), a comparison such as x > 0"
    )


def test_a_constant_computed_from_data_outside_the_operations_is_refused():
    def f(w, X):
        return w * X.mean()  # X is data: its mean is computed once, not recorded

    with pytest.raises(ValueError, match=r"compile: operand 1 of step 1, `t1 = w \* "):
        wg.compile(f, data_argnums=1)(np.ones(3), np.array([1.0, 2.0, 4.0]))


def test_a_derivative_of_a_derivative_is_refused():
    def f(w):
        return wg.grad(lambda v: wg.grad(lambda u: (u**3).sum())(v).sum())(w)

    with pytest.raises(NotImplementedError, match="compile: f differentiates a result that"):
        wg.compile(f)(np.ones(2))


def test_backward_inside_f_is_refused():
    def f(w):
        (w * w).sum().backward()
        return w * 1.0

    with pytest.raises(RuntimeError, match=r"compile: f calls backward\(\) on a Tensor"):
        wg.compile(f)(np.ones(2))


def test_bad_arguments_are_refused_by_name():
    with pytest.raises(TypeError) as caught:
        wg.compile(lambda w, ws: w * 2.0)(np.ones(2), [np.ones(2)])
    assert str(caught.value) == (
        "compile: argument 1 must be an array, a number or a hashable value (a string, None); "
        "got a list, which is not hashable. Pass an array as np.asarray(...), or each array as "
        "an argument."
    )
    with pytest.raises(TypeError, match="compile: data_argnums must be an int >= 0 or a tuple"):
        wg.compile(lambda w: w, data_argnums="y")
    with pytest.raises(RuntimeError, match="compile: source exists once the compiled function"):
        _ = wg.compile(lambda w: w).source


def test_a_large_array_is_freed_after_its_last_use_and_the_results_stay():
    def f(w, x):
        def loss(w):
            h = wg.tanh(x @ w)  # (128, 80) float64: 80 KiB, freed after the sweep reads it
            return (h * h).sum()

        return wg.value_and_grad(loss)(w)

    compiled = wg.compile(f, backend="numpy")
    rng = np.random.default_rng(0)
    w, x = rng.normal(size=(4, 80)), rng.normal(size=(128, 4))
    value, w_bar = compiled(w, x)
    want_value, want_w_bar = f(w, x)
    assert value == want_value
    np.testing.assert_array_equal(w_bar, want_w_bar.data)
    lines = compiled.source.splitlines()
    assert "    del t1, t1_bar" in lines and "    del h, h_bar" in lines
    assert lines.index("    del t1, t1_bar") == lines.index("    w_bar = transpose(x) @ t1_bar") + 1
    small = wg.compile(f, backend="numpy")
    small(w[:, :8], x[:8])  # 8 x 8 arrays: kept to the end, where a del costs more than it frees
    assert " del " not in small.source
