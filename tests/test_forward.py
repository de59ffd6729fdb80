"""Forward mode: wg.jvp and wg.jacfwd against analytic derivatives and reverse mode, their
conventions (ties, kinks, no_grad), their bad inputs, their cost, and how they compose.

Every primitive's tangent rule is also checked, row by row, in tests/test_primitives.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import wengert as wg
from wengert.autodiff.mode import MODE
from wengert.autodiff.primitive import REGISTRY, Primitive, Without, apply

RNG = np.random.default_rng(7)
A = RNG.normal(size=(3, 4))
B = RNG.normal(size=(4, 2))


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


# ----------------------------------------------------------------------------- analytic JVPs
def test_the_docstring_example_gives_python_floats():
    value, tangent = wg.jvp(lambda x: x**3, 2.0, 1.0)
    assert (value, tangent) == (8.0, 12.0)
    assert type(value) is float and type(tangent) is float


def test_sigmoid_tangent_is_s_times_one_minus_s():
    x, v = RNG.normal(size=5), RNG.normal(size=5)
    value, tangent = wg.jvp(wg.sigmoid, x, v)
    s = _sigmoid(x)
    np.testing.assert_allclose(value, s, rtol=1e-14)
    np.testing.assert_allclose(tangent, s * (1 - s) * v, rtol=1e-13)


def test_softmax_tangent_is_s_times_v_minus_s_dot_v():
    x, v = RNG.normal(size=(2, 4)), RNG.normal(size=(2, 4))
    _, tangent = wg.jvp(wg.softmax, x, v)
    s = np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(tangent, s * (v - (s * v).sum(axis=-1, keepdims=True)), atol=1e-14)


def test_matmul_tangent_is_product_rule_over_a_tuple_of_arguments():
    va, vb = RNG.normal(size=A.shape), RNG.normal(size=B.shape)
    value, tangent = wg.jvp(lambda a, b: a @ b, (A, B), (va, vb))
    np.testing.assert_allclose(value, A @ B, rtol=1e-14)
    np.testing.assert_allclose(tangent, va @ B + A @ vb, rtol=1e-12)
    _, only_a = wg.jvp(lambda a: a @ B, A, va)
    np.testing.assert_allclose(only_a, va @ B, rtol=1e-12)


def lecture(w, x, b, t):
    """The lecture's program: z = w x + b, y = sigmoid(z), L = (y - t)^2 / 2."""
    z = w * x + b
    y = wg.sigmoid(z)
    return (y - t) ** 2 / 2


def test_the_lectures_program_by_hand():
    w, x, b, t = 0.5, 2.0, 0.1, 1.0
    y = 1 / (1 + math.exp(-(w * x + b)))
    dL_dz = (y - t) * y * (1 - y)
    value, dL_dw = wg.jvp(lambda w_: lecture(w_, x, b, t), w, 1.0)
    assert value == pytest.approx((y - t) ** 2 / 2, rel=1e-14)
    assert dL_dw == pytest.approx(dL_dz * x, rel=1e-13)
    # Both parameters at once, along (w_dot, b_dot) = (0.3, -2): L_dot = dL/dz (x w_dot + b_dot).
    _, l_dot = wg.jvp(lambda w_, b_: lecture(w_, x, b_, t), (w, b), (0.3, -2.0))
    assert l_dot == pytest.approx(dL_dz * (x * 0.3 - 2.0), rel=1e-13)
    assert dL_dw == pytest.approx(wg.grad(lecture)(w, x, b, t), rel=1e-14)


def test_tangent_keeps_the_dtype_of_the_result():
    x = np.array([0.5, -1.0], dtype=np.float32)
    value, tangent = wg.jvp(wg.tanh, x, np.ones(2))
    assert value.dtype == tangent.dtype == np.float32


# ----------------------------------------------------------------------------- jacfwd == jacobian
JACOBIAN_CASES = {
    "non-square 3->5": (lambda x: wg.tanh(wg.concatenate([x, x[:2] * x[1:]])), (3,)),
    "non-square 6->2": (lambda x: wg.sum(wg.reshape(x, (2, 3)) ** 2, axis=1), (6,)),
    "broadcast (3,1)+(4,)": (lambda x: x * np.arange(4.0) + wg.exp(x), (3, 1)),
    "matrix in, vector out": (lambda m: wg.log_softmax(m @ B[:3], axis=0)[:, 1], (2, 3)),
    "scalar in": (lambda s: wg.stack([s, s**2, wg.sigmoid(s)]) * A[0, 0], ()),
    "scalar out": (lambda x: wg.logsumexp(x), (2, 3)),
    "max and where": (lambda x: wg.where(x > 0, x, 0.1 * x) + wg.max(x), (5,)),
}


@pytest.mark.parametrize("name", JACOBIAN_CASES)
def test_jacfwd_equals_reverse_mode_jacobian(name):
    f, shape = JACOBIAN_CASES[name]
    x = RNG.normal(size=shape)
    forward = wg.jacfwd(f)(x)
    reverse = wg.jacobian(f)(x)
    assert forward.shape == reverse.shape == np.shape(f(x).data) + shape
    np.testing.assert_allclose(forward, reverse, rtol=1e-12, atol=1e-14)


def test_jacfwd_argnums_passes_the_other_arguments_through():
    x, y = RNG.normal(size=3), RNG.normal(size=2)

    def outer(x, y, scale=1.0):
        return scale * x[:, None] * wg.exp(y)

    for argnums in (0, 1, -1):
        forward = wg.jacfwd(outer, argnums)(x, y, scale=2.0)
        reverse = wg.jacobian(outer, argnums)(x, y, scale=2.0)
        np.testing.assert_allclose(forward, reverse, rtol=1e-12)


def test_jacfwd_converts_integers_as_jacobian_does_and_handles_empty_inputs():
    np.testing.assert_array_equal(wg.jacfwd(lambda x: x**2)(np.arange(3)), np.diag([0.0, 2, 4]))
    assert wg.jacfwd(lambda x: x * 2.0)(np.zeros((0, 2))).shape == (0, 2, 0, 2)


# ----------------------------------------------------------------------------- conventions
def test_indexing_with_repeated_indices_repeats_the_tangent():
    x, v = np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0, 30.0])
    _, picked = wg.jvp(lambda x: x[[0, 0, 2]] * 2.0, x, v)
    np.testing.assert_array_equal(picked, [20.0, 20.0, 60.0])
    _, total = wg.jvp(lambda x: wg.sum(x[np.array([0, 0, 2])]), x, v)
    assert total == 2 * 10.0 + 30.0
    assert total == pytest.approx(wg.grad(lambda x: wg.sum(x[[0, 0, 2]]))(x) @ v)


def test_tied_maxima_share_the_tangent_equally_as_reverse_mode_does():
    """The documented tie rule: the tangent of max is the mean of the tied tangents."""
    x, v = np.array([1.0, 3.0, 3.0, 0.0]), np.array([5.0, 1.0, 2.0, 7.0])
    _, tangent = wg.jvp(wg.max, x, v)
    assert tangent == 1.5  # (1 + 2) / 2
    assert tangent == pytest.approx(wg.grad(wg.max)(x) @ v)
    _, row_min = wg.jvp(lambda m: wg.min(m, axis=1), np.array([[2.0, 2.0], [1.0, 4.0]]), np.eye(2))
    np.testing.assert_array_equal(row_min, [0.5, 0.0])
    _, elementwise = wg.jvp(wg.maximum, (2.0, 2.0), (4.0, 1.0))
    assert elementwise == 2.5  # at a tie each argument gets half, in both modes
    assert elementwise == pytest.approx(
        sum(np.array(wg.grad(wg.maximum, (0, 1))(2.0, 2.0)) * [4, 1])
    )


def test_kinks_take_the_reverse_rules_derivative():
    _, relu = wg.jvp(wg.relu, np.array([0.0, 1.0]), np.array([1.0, 1.0]))
    _, absolute = wg.jvp(wg.abs, 0.0, 1.0)
    np.testing.assert_array_equal(relu, [0.0, 1.0])
    assert absolute == 0.0


def test_tangent_stops_at_no_grad_and_detach():
    def f(x):
        with wg.no_grad():
            frozen = x * 2.0  # a constant, 2 x, with no tangent
        return frozen * x + x.detach() * x

    value, tangent = wg.jvp(f, 3.0, 1.0)
    assert (value, tangent) == (27.0, 9.0)  # d/dx (c x + d x) with c = 6, d = 3


def test_outputs_that_do_not_depend_on_x_have_zero_tangent():
    assert wg.jvp(lambda x: np.ones(2), 1.0, 1.0)[1].tolist() == [0.0, 0.0]
    assert wg.jvp(lambda x: 5, 1.0, 1.0) == (5, 0.0)
    value, tangent = wg.jvp(lambda x: x > 0, np.array([1.0, -1.0]), np.ones(2))
    assert value.tolist() == [True, False] and tangent.tolist() == [0.0, 0.0]
    assert wg.jvp(lambda x: x, 2.0, 3.0) == (2.0, 3.0)


# ----------------------------------------------------------------------------- bad inputs
def _square(x):
    return x * x


STRING_FIX = "Convert it first, e.g. np.asarray(x, dtype=float)."
FLOAT_FIX = "Pass float data, e.g. 2.0 rather than 2, or np.asarray(x, dtype=float)."
FLOAT_X = (
    "jvp: x must be floating-point (a tangent is a direction in a real space); got dtype int64."
)
STACK_FIX = (
    "For several outputs return one Tensor, e.g. wg.stack([a, b]) or wg.concatenate([a, b])."
)
# (jvp's arguments, exception type, the exact message)
BAD_INPUTS = [
    ((_square, np.zeros(3), np.zeros(2)), ValueError,
     "jvp: v must be of the shape of x, (3,); got shape (2,)."),
    ((_square, np.arange(3), np.ones(3)), TypeError, f"{FLOAT_X} {FLOAT_FIX}"),
    ((_square, 2, 1.0), TypeError, f"{FLOAT_X} {FLOAT_FIX}"),
    ((_square, "abc", 1.0), TypeError,
     f"jvp: x must be numbers; got an array of dtype <U3 (string). {STRING_FIX}"),
    ((_square, 1.0, "abc"), TypeError,
     f"jvp: v must be numbers; got an array of dtype <U3 (string). {STRING_FIX}"),
    ((lambda x: None, 1.0, 1.0), TypeError,
     "jvp: the result of f (<lambda>) must be a Tensor, an array or a number; got None. "
     + STACK_FIX),
    ((lambda x: [x, x], 1.0, 1.0), TypeError,
     "jvp: the result of f (<lambda>) must be a Tensor, an array or a number; got a list. "
     + STACK_FIX),
    ((_square, np.zeros(2), (1.0, 2.0)), TypeError,
     "jvp: v must be one array of x's shape (x is one argument); got a tuple of 2. For several "
     "arguments make x a tuple too: jvp(f, (x1, x2), (v1, v2))."),
    ((_square, (1.0, 2.0), np.zeros(2)), TypeError,
     "jvp: v must be a tuple of 2 tangents, one per argument (x is a tuple of 2); got an array "
     "of shape (2,) and dtype float64."),
    ((_square, (1.0, 2.0), (1.0,)), TypeError,
     "jvp: v must be a tuple of 2 tangents, one per argument (x is a tuple of 2); got a tuple "
     "of 1."),
    ((_square, (), ()), ValueError,
     "jvp: x must be an argument or a non-empty tuple of them; got (). Pass at least one "
     "argument to differentiate."),
    ((_square, (1.0, np.ones(2)), (1.0, np.ones(3))), ValueError,
     "jvp: v[1] must be of the shape of x[1], (2,); got shape (3,)."),
]  # fmt: skip


@pytest.mark.parametrize(("call", "error", "message"), BAD_INPUTS)
def test_bad_inputs_are_refused_with_a_message(call, error, message):
    with pytest.raises(error) as caught:
        wg.jvp(*call)
    assert type(caught.value) is error
    assert str(caught.value) == message
    assert MODE.forward is None  # the tangent tables are gone, also after an error


def test_jacfwd_bad_argnums():
    with pytest.raises(TypeError) as caught:
        wg.jacfwd(_square, (0, 1))(1.0, 2.0)
    assert str(caught.value) == "jacfwd: argnums must be an int; got (0, 1)."
    with pytest.raises(ValueError) as caught:
        wg.jacfwd(_square, 2)(1.0)
    expected = "jacfwd: argnums must be in [-1, 1) for a call with 1 positional argument; got 2."
    assert str(caught.value) == expected


def test_a_primitive_without_a_tangent_rule_is_named():
    prim = Primitive("test_no_tangent", np.negative, (lambda g, ans, x: -g,), register=False)
    with pytest.raises(NotImplementedError, match="'test_no_tangent', which has no tangent rule:"):
        wg.jvp(lambda x: apply(prim, x), 1.0, 1.0)
    assert MODE.forward is None and MODE.depth == 0


def test_a_primitive_marked_without_forward_mode_gives_its_reason():
    prim = Primitive(
        "test_marked",
        np.negative,
        (lambda g, ans, x: -g,),
        Without("a test's primitive"),
        register=False,
    )
    with pytest.raises(NotImplementedError) as caught:
        wg.jvp(lambda x: apply(prim, x), 1.0, 1.0)
    assert str(caught.value) == (
        "forward mode reached the primitive 'test_marked', which has no tangent rule (a test's "
        "primitive): give its Primitive(...) record jvps=..., or use reverse mode (wg.jacobian)"
    )


# ----------------------------------------------------------------------------- cost
@pytest.fixture
def count_primitives():
    """Count every evaluation of a primitive's NumPy forward, through apply or a direct call."""
    counter = {"calls": 0}
    originals = {name: prim.forward for name, prim in REGISTRY.items()}

    def counting(forward):
        def counted(*args, **params):
            counter["calls"] += 1
            return forward(*args, **params)

        return counted

    # Primitive is a frozen record: its fields are set around the dataclass's guard, and put back.
    try:
        for name, forward in originals.items():
            object.__setattr__(REGISTRY[name], "forward", counting(forward))
        yield counter
    finally:
        for name, forward in originals.items():
            object.__setattr__(REGISTRY[name], "forward", forward)


def _mlp(depth):
    weights = [RNG.normal(size=(3, 3)) for _ in range(depth)]

    def f(x):
        for w in weights:
            x = wg.tanh(x @ w + 0.1)
        return x

    return f


def _count(counter, function, *args):
    before = counter["calls"]
    function(*args)
    return counter["calls"] - before


def test_a_jvp_costs_a_few_forward_passes(count_primitives):
    x, v = RNG.normal(size=3), RNG.normal(size=3)
    for depth in (2, 4, 8):
        f = _mlp(depth)
        forward = _count(count_primitives, f, wg.tensor(x))
        assert forward == 3 * depth
        # With x a Tensor that requires grad every operation of the tangent rules is a
        # primitive (the rules run on Tensors); on plain arrays some are NumPy operators.
        on_tensors = _count(count_primitives, wg.jvp, f, wg.tensor(x, requires_grad=True), v)
        on_arrays = _count(count_primitives, wg.jvp, f, x, v)
        assert 2 * forward <= on_tensors <= 3 * forward
        assert forward <= on_arrays <= on_tensors


def test_jacfwd_costs_one_jvp_per_input(count_primitives):
    f, x = _mlp(2), RNG.normal(size=3)
    one_pass = _count(count_primitives, wg.jvp, f, x, np.ones(3))
    assert _count(count_primitives, wg.jacfwd(f), x) == 3 * one_pass


# ----------------------------------------------------------------------------- composition
def _energy(x):
    return wg.sum(wg.tanh(x @ A[:, :3]) ** 2) + wg.sum(wg.exp(x) * x)


def test_forward_over_reverse_is_the_hessian_vector_product():
    x, v = RNG.normal(size=3), RNG.normal(size=3)
    hv = wg.hvp(_energy, x, v)
    np.testing.assert_allclose(wg.jvp(wg.grad(_energy), x, v)[1], hv, rtol=1e-12)
    # ... and reverse over forward: the gradient of the directional derivative.
    reverse_over_forward = wg.grad(lambda y: wg.jvp(_energy, y, v)[1])(x)
    np.testing.assert_allclose(reverse_over_forward, hv, rtol=1e-12)


def test_nested_forward_modes_give_the_hessian():
    x = RNG.normal(size=3)
    hessian = wg.hessian(_energy)(x)
    np.testing.assert_allclose(wg.jacfwd(wg.jacfwd(_energy))(x), hessian, rtol=1e-12)
    np.testing.assert_allclose(wg.jacfwd(wg.grad(_energy))(x), hessian, rtol=1e-12)
    np.testing.assert_allclose(wg.jacobian(wg.jacfwd(_energy))(x), hessian, rtol=1e-12)


def test_nested_jvps_do_not_confuse_their_tangents():
    """d/dx [x * d/dy (x y)] = d/dx x^2 = 2x, not 3x (Siskind and Pearlmutter's example)."""

    def f(x):
        return x * wg.jvp(lambda y: x * y, 1.0, 1.0)[1]

    assert wg.jvp(f, 1.5, 1.0) == (2.25, 3.0)


def test_inside_a_transform_jvp_returns_connected_tensors():
    x = wg.tensor([0.5, -1.0], requires_grad=True)
    value, tangent = wg.jvp(wg.sigmoid, x, np.ones(2))
    assert isinstance(value, wg.Tensor) and isinstance(tangent, wg.Tensor)
    wg.sum(tangent).backward()  # d/dx s'(x) = s'(x) (1 - 2 s(x))
    s = _sigmoid(x.data)
    np.testing.assert_allclose(x.grad, s * (1 - s) * (1 - 2 * s), rtol=1e-12)
