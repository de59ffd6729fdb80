"""symbolic_grad: SymPy's derivatives of f's Wengert list against reverse mode, and its refusals."""

import subprocess
import sys

import numpy as np
import pytest

import wengert as wg
from wengert.autodiff.primitive import Primitive, apply
from wengert.derivatives import SymbolicError, symbolic_grad
from wengert.derivatives.lecture import softplus_unit, two_layers
from wengert.losses import zero_one

sp = pytest.importorskip("sympy")


def reverse(f, point):
    return wg.grad(f, tuple(range(len(point))))(*point)


def assert_same_gradient(sg, f, point, tol=1e-12):
    for got, want in zip(sg(*point), reverse(f, point), strict=True):
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


# ----------------------------------------------------------------------------- agreement
X = np.array([[0.3, -1.0], [0.5, 2.0], [1.0, 0.1]])
W = np.array([[0.7, -0.2, 0.4], [0.1, 0.9, -0.6]])
CASES = [
    ("softplus unit", softplus_unit, (0.5, 1.5, -0.3)),
    ("two layers", two_layers, (0.5, -1.2, 1.5, 0.1, 0.3)),
    ("lecture's loss", lambda w, x, b, t: (1 / (1 + wg.exp(-(w * x + b))) - t) ** 2 / 2,
     (0.5, 2.0, 0.1, 1.0)),
    ("arithmetic", lambda a, b: (a - b) / (a * b) + (-a) ** 3 + wg.sqrt(a) + a**b, (1.3, 0.4)),
    ("activations", lambda x: wg.sigmoid(x) * wg.tanh(x) + wg.softplus(-x) + wg.relu(x),
     (0.8,)),
    ("kinked", lambda x, y: wg.maximum(x, y) - wg.minimum(x, 2 * y) + wg.abs(x - y)
     + wg.leaky_relu(-x) + wg.clip(y, -0.1, 0.2), (0.7, 0.3)),
    ("constant mask", lambda x: wg.where(np.array([True, False]), x, x**2).sum(),
     (np.array([0.4, -0.8]),)),
    ("reductions", lambda x: wg.sum(x**2, axis=0).mean() + wg.mean(wg.exp(x), axis=1).sum(),
     (X,)),
    ("matmul", lambda x, w: wg.sum(wg.tanh(x @ w)), (X, W)),
    ("linear", lambda x, w, b: wg.sum(wg.autodiff.ops.linear(x, w, b) ** 2),
     (X, W, np.array([0.1, -0.2, 0.3]))),
    ("shapes", lambda x: wg.sum(wg.concatenate([x.T.reshape(-1), wg.stack([x[0], x[2]])[1]])
     * np.arange(8.0)), (X,)),
    ("softmax family", lambda x: wg.sum(wg.softmax(x) * np.arange(6.0).reshape(3, 2))
     + wg.sum(wg.log_softmax(x, axis=0)[0]) + wg.logsumexp(x) + wg.sum(wg.logsumexp(x, axis=1)),
     (X,)),
    ("extrema", lambda x: wg.sum(wg.max(x, axis=1, keepdims=True) * np.array([[1.0], [-2.0], [3]]))
     + wg.sum(wg.min(x, axis=1) * np.array([1.0, 2.0, 3.0])) + wg.max(x) * wg.min(x), (X,)),
    ("cross-entropy", lambda z: wg.sum(wg.autodiff.ops.cross_entropy(z, np.array([1, 0, 1]))),
     (X,)),
    ("broadcast and indexing", lambda x: wg.sum(wg.broadcast_to(x[np.array([0, 0, 2])], (2, 3, 2))
     * np.arange(12.0).reshape(2, 3, 2)), (X,)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "f", "point"), CASES, ids=[c[0] for c in CASES])
def test_symbolic_gradient_equals_reverse_mode(name, f, point):
    assert_same_gradient(symbolic_grad(f, *point), f, point)


def test_value_and_derivatives_at_other_points():
    sg = symbolic_grad(two_layers, "w1", "w2", "x", "b1", "b2")
    rng = np.random.default_rng(1)
    for _ in range(3):
        point = tuple(rng.normal(size=5).tolist())
        assert sg.value(*point) == pytest.approx(float(two_layers(*point).item()), rel=1e-13)
        assert_same_gradient(sg, two_layers, point)


# ----------------------------------------------------------------------------- the slides
def test_example_1_is_the_slides_with_x_in_the_numerator():
    sg = symbolic_grad(softplus_unit, "w", "x", "b")
    w, x, b = sg.symbols
    slide = sp.exp(b + w * x) * x / (1 + sp.exp(b + w * x))
    assert sp.simplify(sg.derivatives["w"] - slide) == 0
    as_printed = sp.exp(b + w * x) * w / (1 + sp.exp(b + w * x))  # the slide's typo
    assert sp.simplify(sg.derivatives["w"] - as_printed) != 0
    assert sg.matches("w", "exp(b + w*x)*x/(1 + exp(b + w*x))")


def test_example_2_is_the_slides():
    sg = symbolic_grad(two_layers, "w1", "w2", "x", "b1", "b2", wrt="w1")
    w1, w2, x, b1, b2 = sg.symbols
    inner = sp.log(1 + sp.exp(b1 + w1 * x))
    slide = (
        sp.exp(b1 + b2 + w1 * x + w2 * inner)
        * w2
        * x
        / ((1 + sp.exp(b1 + w1 * x)) * (1 + sp.exp(b2 + w2 * inner)))
    )
    assert sp.simplify(sg.derivatives["w1"] - slide) == 0
    assert list(sg.derivatives) == ["w1"]


def test_expression_of_f_is_the_replayed_wengert_list():
    sg = symbolic_grad(softplus_unit, "w", "x", "b")
    w, x, b = sg.symbols
    assert sg.expression == sp.log(1 + sp.exp(w * x + b))
    assert sg.expression_ops == sp.count_ops(sg.expression) == 5


def test_sizes_with_and_without_cse():
    sg = symbolic_grad(two_layers, 0.5, -1.2, 1.5, 0.1, 0.3)
    assert sg.ops["w1"] == sp.count_ops(sg.derivatives["w1"]) == 29
    assert sg.ops_cse["w1"] < sg.ops["w1"]
    assert sg.gradient_ops == sum(sg.ops.values())
    assert sg.gradient_ops_cse < min(sg.gradient_ops, sum(sg.ops_cse.values()))


# ----------------------------------------------------------------------------- arguments
def test_names_are_traced_at_given_or_seeded_random_values():
    sg = symbolic_grad(softplus_unit, "w", "x", "b", at={"x": 2.0}, seed=3)
    assert [str(s) for s in sg.symbols] == ["w", "x", "b"]
    assert sg.point[1] == 2.0
    assert 0.5 <= sg.point[0] < 1.5 and 0.5 <= sg.point[2] < 1.5
    again = symbolic_grad(softplus_unit, "w", "x", "b", at={"x": 2.0}, seed=3)
    assert again.point == sg.point


def test_values_are_named_after_fs_parameters_and_arrays_get_a_symbol_per_element():
    sg = symbolic_grad(lambda w, x: wg.sum(w * x), np.array([1.0, 2.0]), 3.0)
    assert sg.names == ("w", "x")
    assert [str(s) for s in sg.symbols[0]] == ["w_0", "w_1"]
    assert sg.derivatives["w"].shape == (2,)
    assert str(sg.derivatives["w"][1]) == "x"
    grad_w, grad_x = sg(np.array([1.0, 2.0]), 3.0)
    np.testing.assert_array_equal(grad_w, [3.0, 3.0])
    assert grad_x == 3.0


def test_matrix_symbols_are_named_by_row_and_column():
    sg = symbolic_grad(lambda m: wg.sum(m), np.ones((2, 2)))
    assert [str(s) for s in sg.symbols[0].reshape(-1)] == ["m_0_0", "m_0_1", "m_1_0", "m_1_1"]


def test_derivative_of_a_step_is_zero_and_integers_stay_exact():
    sg = symbolic_grad(lambda x: wg.sign(x) * 2.0 + x**2.0, "x")
    assert sg.derivatives["x"] == 2 * sg.symbols[0]  # DiracDelta dropped; 2.0 read as 2


def test_printable():
    text = str(symbolic_grad(softplus_unit, 0.5, 1.5, -0.3))
    assert "∂f/∂w = x*exp(b + w*x)/(exp(b + w*x) + 1)" in text
    assert "with CSE" in text


def test_import_wengert_does_not_import_sympy():
    code = "import sys, wengert; sys.exit('sympy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# ----------------------------------------------------------------------------- refusals
def branchy(x):
    if x > 0:
        return x * 2
    return -x


def data_where(x):
    return wg.where(x > 0, x, 0.1 * x)


def through_float(x):
    return x * float(x)


# A primitive of this test alone (kept out of the registry), without a SymPy form.
UNREGISTERED = Primitive("test_symbolic_none", np.negative, (lambda g, ans, x: -g,), register=False)


def looping(x):
    while x < 10:  # never ends at a negative x: the probe is stopped
        x = x * 2
    return x


def doubling(x):
    while abs(x) < 2:  # ends everywhere but at 0, after a number of turns that depends on x
        x = x * 2
    return x


def swelling(x):
    for _ in range(40):
        x = x * x * 0.5 + x * 0.25
    return x


REFUSALS = [
    ("unsupported", lambda x: zero_one(x, np.array([1.0, -1.0])), (np.array([0.1, 0.2]),), {},
     "unsupported", r"no SymPy form: zero_one\. Supported: abs, add, astype, broadcast_to, "),
    ("unsupported, two", lambda x: apply(UNREGISTERED, zero_one(x, np.array([1.0, -1.0]))),
     (np.array([0.1, 0.2]),), {}, "unsupported", r"no SymPy form: test_symbolic_none, zero_one\."),
    ("if on a value", branchy, (0.7,), {}, "control flow",
     r"different operations .* step 1 is `t1 = x \* 2` at x = 0\.7 but `t1 = -x` at x = -0\.7"),
    ("where on a comparison", data_where, (0.7,), {}, "control flow",
     r"the condition of wg\.where .* changes with the inputs"),
    ("float of a Tensor", through_float, (0.7,), {}, "control flow",
     r"operand 1 of `t1 = x \* 0\.7` is a constant that changes with the inputs"),
    ("while on a value", doubling, (0.7,), {}, "control flow",
     r"step 6 is the end of f at x = 0\.7 but `t6 = t4 \* 2` at x = 0\.2515"),
    ("endless loop elsewhere", looping, (0.7,), {}, "control flow",
     r"more than 80 operations at x = -0\.7, against 4 at x = 0\.7 .* `while x < 10:`"),
    ("f too large", two_layers, (0.5, -1.2, 1.5, 0.1, 0.3), {"max_ops": 5}, "size",
     r"f's expression has 10 operations, past max_ops=5"),
    ("derivative too large", two_layers, (0.5, -1.2, 1.5, 0.1, 0.3), {"max_ops": 20}, "size",
     r"∂f/∂w1 has 29 operations, past max_ops=20"),
    ("exponential tree", swelling, (0.5,), {"max_ops": 1000}, "size",
     r"f's expression at step `t\d+ = t\d+ \+ t\d+` has more than 10000 nodes, "
     r"past max_ops=1000"),
    ("non-scalar", lambda x: x * 2, (np.array([1.0, 2.0]),), {}, "shape",
     r"needs a scalar f; it returned shape \(2,\)"),
    ("too many symbols", lambda x: wg.sum(x), (np.ones(65),), {}, "symbols",
     r"at most 64; the arguments have 65 elements"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "f", "args", "kwargs", "reason", "match"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_refusals(name, f, args, kwargs, reason, match):
    with pytest.raises(SymbolicError, match=match) as info:
        symbolic_grad(f, *args, **kwargs)
    assert info.value.reason == reason


BAD_ARGUMENTS = [
    (
        (),
        {},
        TypeError,
        r"^symbolic_grad: args must be one or more names or values after f; got none",
    ),
    (
        (0.5, 1.5, -0.3),
        {"max_ops": 0},
        ValueError,
        r"^symbolic_grad: max_ops must be an int >= 1; got 0\.$",
    ),
    (
        ("w", "x", "b"),
        {"wrt": "z"},
        ValueError,
        r"^symbolic_grad: wrt must be names of arguments among \['w', 'x', 'b'\]; got 'z'\.$",
    ),
    (
        ("w", "x", "b"),
        {"at": {"z": 1.0}},
        ValueError,
        r"^symbolic_grad: at must be a map from names in args to values; got the names \['z'\]",
    ),
    (
        ("w", "w", "b"),
        {},
        ValueError,
        r"^symbolic_grad: argument 1 must be a new, non-empty name; got 'w'\.$",
    ),
    (
        ("w", "", "b"),
        {},
        ValueError,
        r"^symbolic_grad: argument 1 must be a new, non-empty name; got ''\.$",
    ),
    ((0.5, np.nan, 1.0), {}, ValueError, r"^symbolic_grad: argument 1 must be finite; got 1 NaN"),
    ((0.5, "text", 1.0), {"at": {"text": "a"}}, TypeError, r"argument 1 must be numbers"),
]


@pytest.mark.parametrize(("args", "kwargs", "error", "match"), BAD_ARGUMENTS)
def test_bad_arguments(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        symbolic_grad(softplus_unit, *args, **kwargs)


def test_compiled_gradient_checks_its_arguments():
    sg = symbolic_grad(lambda w: wg.sum(w**2), np.ones(3))
    with pytest.raises(
        TypeError, match=r"^SymbolicGradient: the arguments must be 1 values, for w; got 2\.$"
    ):
        sg(np.ones(3), 1.0)
    with pytest.raises(
        ValueError,
        match=r"^SymbolicGradient: argument w must be of shape \(3,\), .*; got shape \(2,\)\.$",
    ):
        sg(np.ones(2))
