"""compare_derivatives and the lecture's facts: errors, costs, sizes and the step-size V."""

import itertools
import json

import numpy as np
import pytest

import wengert as wg
from wengert.autodiff.primitive import Primitive, apply
from wengert.derivatives import (
    compare_derivatives,
    depth_sweep,
    lecture_examples,
    reverse_mode_cost,
    step_size_sweep,
)
from wengert.derivatives.compare import KEYS
from wengert.derivatives.lecture import chain, two_layers

EPS = np.finfo(np.float64).eps
POINT = (0.5, -1.2, 1.5, 0.1, 0.3)
EXACT = ("symbolic", "forward-mode", "reverse-mode")


def softplus_loss(x):
    """The sum of log(1 + exp(w_i x_i)) over n weights w: five primitives, whatever n is."""

    def loss(w):
        return wg.sum(wg.log(1 + wg.exp(w * x)))

    return loss


@pytest.fixture(scope="module")
def comparison():
    pytest.importorskip("sympy")
    return compare_derivatives(two_layers, *POINT, repeats=1)


# ----------------------------------------------------------------------------- errors
def test_errors_are_ordered_as_theory_says(comparison):
    err = {r["method"]: r["max_rel_error"] for r in comparison.rows}
    assert comparison.reference == "symbolic"
    assert err["central"] < err["forward"]
    assert err["richardson"] <= err["central"]
    assert err["forward"] < 10 * np.sqrt(EPS)  # O(sqrt(eps)) at its default step
    for method in EXACT:
        assert err[method] < 1e-12


def test_every_method_gives_the_gradient(comparison):
    reverse = np.array(wg.grad(two_layers, tuple(range(5)))(*POINT))
    for r in comparison.rows:
        np.testing.assert_allclose(r["gradient"], reverse, rtol=1e-6, atol=1e-9)


def test_symbolic_row_gives_the_expression_sizes(comparison):
    sym = comparison.row("symbolic")
    assert sym["expression_ops"] == 128  # all five derivatives (∂f/∂w1 alone: 29)
    assert sym["expression_ops_cse"] < sym["expression_ops"]
    assert sym["setup_s"] > 0


def test_table_and_dicts(comparison):
    text = str(comparison)
    for label in ("forward difference", "central difference", "Richardson", "symbolic (SymPy)"):
        assert label in text
    assert "Errors against symbolic (SymPy), in float64." in text
    rows = comparison.to_dicts()
    assert [set(r) for r in rows] == [set(KEYS)] * 6
    assert json.loads(json.dumps(rows))[5]["method"] == "reverse-mode"
    assert isinstance(comparison.rows[0]["gradient"], np.ndarray)


# ----------------------------------------------------------------------------- costs
@pytest.mark.parametrize("n", [1, 10, 100])
def test_costs_finite_differences_grow_with_n_reverse_mode_does_not(n):
    rng = np.random.default_rng(n)
    f = softplus_loss(rng.normal(size=n))
    c = compare_derivatives(f, rng.normal(size=n), repeats=1)
    assert c.n == n and c.primitives == 5
    evaluations = {r["method"]: r["evaluations"] for r in c.rows}
    assert evaluations["forward"] == n + 1
    assert evaluations["central"] == 2 * n + 1
    assert evaluations["richardson"] == 4 * n + 1
    assert c.row("central")["primitive_ops"] == (2 * n + 1) * 5
    reverse = c.row("reverse-mode")
    assert reverse["evaluations"] == 1
    assert reverse["primitive_ops"] == 5 + 4  # mul, exp, add, log, sum: 4 backward operations
    if c.row("forward-mode")["gradient"] is not None:
        assert evaluations["forward-mode"] == n
    for method in EXACT:
        if c.row(method)["gradient"] is not None:
            assert c.row(method)["max_rel_error"] < 1e-12


def test_symbolic_row_is_absent_with_the_reason_past_the_symbol_limit():
    c = compare_derivatives(softplus_loss(np.ones(100)), np.ones(100), repeats=1)
    sym = c.row("symbolic")
    assert sym["gradient"] is None and sym["max_abs_error"] is None
    assert "absent" in sym["note"] and "at most 64" in sym["note"]
    assert c.reference == "reverse-mode"


def test_unsupported_f_falls_back_to_reverse_mode():
    # exp without a SymPy form, kept out of the registry: every registered primitive has one
    no_form = Primitive("test_no_form", np.exp, (lambda g, ans, x: g * ans,), register=False)
    c = compare_derivatives(lambda x: wg.sum(apply(no_form, x)), np.array([0.1, 0.5]), repeats=1)
    assert c.reference == "reverse-mode"
    assert c.row("symbolic")["gradient"] is None
    assert "test_no_form" in c.row("symbolic")["note"]
    assert c.row("reverse-mode")["max_abs_error"] == 0


def test_reverse_mode_cost_counts_the_rules():
    # mul, add, sigmoid, sub, pow, div: 6 primitives. Backward: mul 2 (g x, g w), add 0 (g
    # passes), sigmoid 3 (g * ans * (1 - ans)), sub 1 (g and -g), pow 2 (g * 2 * a), div 1 (g / 2)
    def f(w, x, b, t):
        return (wg.sigmoid(w * x + b) - t) ** 2 / 2

    assert reverse_mode_cost(f, 0.5, 2.0, 0.1, 1.0) == (6, 9)


def test_given_reference():
    exact = np.array(wg.grad(two_layers, tuple(range(5)))(*POINT))
    c = compare_derivatives(two_layers, *POINT, reference=exact, repeats=1)
    assert c.reference == "given"
    assert c.row("reverse-mode")["max_abs_error"] == 0


BAD = [
    (lambda x: x * 2, (np.array([1.0, 2.0]),), {}, ValueError,
     r"^compare_derivatives: f's value must be a scalar \(one output, so that the gradient "
     r"is a vector\); got shape \(2,\) from <lambda>\. Reduce it"),
    (two_layers, POINT, {"reference": "exact"}, ValueError,
     r"^compare_derivatives: reference must be one of 'forward', 'central', .*'reverse-mode' "
     r"or the gradient itself; got 'exact'\.$"),
    (two_layers, POINT, {"reference": np.ones(4)}, ValueError,
     r"^compare_derivatives: reference must be the 5 partial derivatives of f; got 4 values\.$"),
    (two_layers, POINT, {"repeats": 0}, ValueError,
     r"^compare_derivatives: repeats must be an int >= 1; got 0\.$"),
    (two_layers, POINT, {"symbolic_limit": 1.5}, TypeError,
     r"^compare_derivatives: symbolic_limit must be an int >= 1 or None; got 1\.5\.$"),
    (two_layers, (), {}, TypeError,
     r"^compare_derivatives: args must be one or more values to differentiate f at; got none\.$"),
    (two_layers, (0.5, np.inf, 1.5, 0.1, 0.3), {}, ValueError,
     r"^compare_derivatives: argument 1 must be finite; got 1 NaN or infinite value\(s\)\."),
]  # fmt: skip


@pytest.mark.parametrize(("f", "args", "kwargs", "error", "match"), BAD)
def test_bad_inputs(f, args, kwargs, error, match):
    with pytest.raises(error, match=match):
        compare_derivatives(f, *args, **kwargs)


# ----------------------------------------------------------------------------- the lecture
def test_lecture_examples_match_the_slides():
    pytest.importorskip("sympy")
    first, second = lecture_examples(repeats=1).examples
    assert first.matches_slide and first.matches_printed is False  # w for x: a typo
    assert second.matches_slide and second.matches_printed is None
    assert str(first.derivative) == "x*exp(b + w*x)/(exp(b + w*x) + 1)"
    assert second.comparison.row("reverse-mode")["max_rel_error"] < 1e-12
    assert "In[19]:= D[Log[1 + Exp[w2 * Log[1 + Exp[w1 * x + b1]] + b2]], w1]" in str(second)


def test_depth_sweep_sizes_grow_while_autodiff_stays_a_constant_multiple():
    pytest.importorskip("sympy")
    rows = depth_sweep(max_depth=5).rows
    for key in ("dw1_ops", "dw1_ops_cse", "gradient_ops", "gradient_ops_cse"):
        sizes = [r[key] for r in rows]
        assert all(a < b for a, b in itertools.pairwise(sizes)), (key, sizes)
    assert [r["dw1_ops"] for r in rows] == [9, 29, 59, 99, 149]  # 5 d^2 + 5 d - 1
    for r in rows:
        assert r["dw1_ops_cse"] < r["dw1_ops"] and r["gradient_ops_cse"] < r["gradient_ops"]
        assert r["forward_ops"] == 5 * r["depth"]
        assert r["ratio"] < 5
        assert r["max_error"] < 1e-12


def test_depth_sweep_refuses_a_bad_depth():
    with pytest.raises(
        ValueError, match=r"^depth_sweep: max_depth must be an int in \[1, 30\]; got 0\.$"
    ):
        depth_sweep(max_depth=0)


def test_chain_is_the_lectures_layers():
    assert float(chain(0.5, 1.0, 0.0).item()) == pytest.approx(np.log1p(np.exp(0.5)))


@pytest.mark.parametrize(
    ("name", "f", "x"),
    [("exp", wg.exp, 1.0), ("sin-like", lambda x: wg.tanh(x) * x, 0.7), ("log", wg.log, 2.5)],
)
def test_step_size_sweep_is_a_v_with_its_bottom_near_sqrt_eps(name, f, x):
    s = step_size_sweep(f, x)
    assert abs(np.log10(s.best_forward / s.theory_forward)) <= 2
    assert abs(np.log10(s.best_central / s.theory_central)) <= 2
    assert s.theory_forward == pytest.approx(np.sqrt(EPS) * max(1, abs(x)))
    best = np.nanmin(s.forward_errors)
    assert s.forward_errors[-1] > 1e3 * best  # h = 1: truncation
    finite = s.forward_errors[np.isfinite(s.forward_errors)]
    assert finite[0] > 1e3 * best  # the smallest step: round-off
    assert np.nanmin(s.central_errors) < best
    assert s.best_central > s.best_forward


def test_step_size_sweep_truncation_orders():
    s = step_size_sweep(wg.exp, 0.5, steps=[1e-3, 1e-2])
    assert s.forward_errors[1] / s.forward_errors[0] == pytest.approx(10, rel=0.05)  # O(h)
    assert s.central_errors[1] / s.central_errors[0] == pytest.approx(100, rel=0.05)  # O(h^2)
    assert "best forward step" in str(s)


def test_step_size_sweep_refuses_bad_steps():
    with pytest.raises(
        ValueError,
        match=r"^step_size_sweep: steps must be a 1-D array of positive finite steps; "
        r"got \[0\.001, -1\.0\]\.$",
    ):
        step_size_sweep(wg.exp, 1.0, steps=[1e-3, -1.0])
