"""L-BFGS, BFGS, Newton-CG, the strong Wolfe line search and minimize().

Oracles: Rosenbrock's known minimum (1, 1); textbook versions written here (the two-loop
recursion with Python lists, BFGS with the matrix product (6.17) literally); the closed-form
minimizer of a quadratic, A⁻¹b, and its inverse Hessian A⁻¹; the strong Wolfe conditions
themselves; a PyTorch LBFGS trajectory and SciPy's L-BFGS-B numbers from the committed
fixture tests/fixtures/lbfgs.json (scripts/make_lbfgs_fixture.py). No peer is imported here.
"""

import json
import math
import pathlib
import re
import sys
import warnings

import numpy as np
import pytest

import wengert as wg
from wengert.optim import BFGS, LBFGS, MinimizeResult, NewtonCG, minimize
from wengert.optim.closure import CURVATURE_EPS
from wengert.optim.lbfgs import bfgs_update
from wengert.optim.line_search import C1, C2, cubic_minimizer, strong_wolfe
from wengert.optim.newton_cg import forcing_tolerance, truncated_cg

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "lbfgs.json"
CLASSES = {"lbfgs": LBFGS, "bfgs": BFGS, "newton-cg": NewtonCG}


def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def rosenbrock_fg(x):
    f = (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
    g = np.array([-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2), 200 * (x[1] - x[0] ** 2)])
    return f, g


def quadratic(n=6, seed=3):
    rng = np.random.default_rng(seed)
    M = rng.normal(size=(n, n))
    return M @ M.T + np.eye(n), rng.normal(size=n)


def closure_for(opt, x, f, points=None):
    """The PyTorch-style closure: zero_grad, loss, backward, return the loss."""

    def closure():
        opt.zero_grad()
        if points is not None:
            points.append(x.data.copy())
        loss = f(x)
        loss.backward(create_graph=opt.create_graph)
        return loss

    return closure


# ------------------------------------------------------------- convergence on Rosenbrock
ROSENBROCK = [
    # method, options, tol (|g|∞), max_iter, how close to (1, 1)
    ("lbfgs", {}, 1e-10, None, 1e-6),
    ("bfgs", {}, 1e-10, None, 1e-6),
    ("newton-cg", {}, 1e-10, None, 1e-6),
    ("gd", {"line_search": "strong_wolfe", "lr": 1.0}, 1e-9, 5_000, 1e-6),
    ("gd", {"lr": 1e-3}, 1e-6, 10_000, 2e-2),  # the lecture's fixed step: slow in the valley
    ("adam", {"lr": 0.02}, 1e-6, 5_000, 1e-5),
]


@pytest.mark.parametrize(("method", "options", "tol", "max_iter", "close"), ROSENBROCK)
def test_every_method_finds_the_minimum_of_rosenbrock(method, options, tol, max_iter, close):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = minimize(rosenbrock, [-1.2, 1.0], method, tol=tol, max_iter=max_iter, **options)
    assert len(caught) == (not result.converged)  # the budget ran out: one ConvergenceWarning
    assert isinstance(result, MinimizeResult)
    np.testing.assert_allclose(result.x, [1.0, 1.0], atol=close, rtol=0)
    assert result.fun == pytest.approx(rosenbrock_fg(result.x)[0], abs=1e-15)
    assert result.grad_norm == pytest.approx(np.max(np.abs(rosenbrock_fg(result.x)[1])))
    assert result.converged == (result.grad_norm <= tol)
    if close <= 1e-6:
        assert result.converged and result.n_fev >= result.n_iter > 0


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_the_optimizer_classes_find_the_minimum_of_rosenbrock_with_a_closure(name):
    x = wg.tensor([-1.2, 1.0], requires_grad=True)
    opt = CLASSES[name]([x], max_iter=200, tolerance_grad=1e-10, tolerance_change=0.0)
    loss = opt.step(closure_for(opt, x, rosenbrock))
    assert loss.item() == pytest.approx(24.2)  # the loss of the first closure call
    np.testing.assert_allclose(x.data, [1.0, 1.0], atol=1e-6, rtol=0)
    assert opt.stop_reason.startswith("|g|∞ =")
    assert 0 < opt.n_iter < 200 and opt.n_fev > opt.n_iter
    same = minimize(rosenbrock, [-1.2, 1.0], name, tol=1e-10, max_iter=200)
    assert (same.n_iter, same.n_fev) == (opt.n_iter, opt.n_fev)  # one maths for both


def test_pytorchs_tolerance_change_ends_lbfgs_before_tolerance_grad_and_says_so():
    # -gᵀd, the decrease the step predicts, falls under the absolute 1e-9 while |g|∞ is 4e-6.
    x = wg.tensor([-1.2, 1.0], requires_grad=True)
    opt = LBFGS([x], max_iter=1000)
    opt.step(closure_for(opt, x, rosenbrock))
    gnorm = np.max(np.abs(rosenbrock_fg(x.data)[1]))
    assert 1e-6 < gnorm < 1e-5 and opt.n_iter == 36
    assert opt.stop_reason == (
        "the decrease predicted along d, −gᵀd = 8.93e-13, is within tolerance_change = 1e-09; "
        f"|g|∞ = {gnorm:.3g} > tolerance_grad = 1e-07"
    )
    tight = wg.tensor([-1.2, 1.0], requires_grad=True)
    opt = LBFGS([tight], max_iter=1000, tolerance_change=0.0)
    opt.step(closure_for(opt, tight, rosenbrock))
    assert np.max(np.abs(rosenbrock_fg(tight.data)[1])) <= 1e-7
    assert opt.stop_reason.startswith("|g|∞ = 4.58e-09 ≤ tolerance_grad = 1e-07")
    same = minimize(rosenbrock, [-1.2, 1.0], "lbfgs", tol=1e-7)
    np.testing.assert_array_equal(same.x, tight.data)  # one maths: minimize sets it to 0


@pytest.mark.parametrize(
    ("method", "options", "budget"),
    [
        ("lbfgs", {"max_iter": 10}, r"max_iter = 10 iterations done, \|∇f\|∞ = 11.1 > tol = 1e-06"),
        ("lbfgs", {"max_eval": 5}, r"max_eval = 5 evaluations done, \|∇f\|∞ = \S+ > tol = 1e-06"),
        ("bfgs", {"max_iter": 3}, r"max_iter = 3 iterations done"),
        ("newton-cg", {"max_iter": 3}, r"max_iter = 3 iterations done"),
        ("gd", {"max_iter": 5}, r"max_iter = 5 iterations done"),
        ("adam", {"max_iter": 5}, r"max_iter = 5 iterations done"),
    ],
)
def test_minimize_warns_when_its_budget_ends_before_tol(method, options, budget):
    head = re.escape(f"minimize(method={method!r}): the budget ran out before |∇f|∞ ≤ tol: ")
    with pytest.warns(wg.train.ConvergenceWarning, match=head + budget):
        result = minimize(rosenbrock, [-1.2, 1.0], method, **options)
    assert not result.converged and result.grad_norm > 1e-6


def test_minimize_and_the_classes_stay_quiet_when_the_budget_is_not_what_stopped_them():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert minimize(rosenbrock, [-1.2, 1.0], "lbfgs", max_iter=200).converged
        same = minimize(rosenbrock, [1.0, 1.0], "lbfgs", max_iter=1)  # converged at x0
        assert same.converged and same.n_iter == 0
        x = wg.tensor([-1.2, 1.0], requires_grad=True)
        opt = LBFGS([x], max_iter=1)
        for _ in range(3):  # steps of one iteration are slices: their budget is the point
            opt.step(closure_for(opt, x, rosenbrock))
    assert opt.stop_reason.startswith("max_iter = 1 iterations done; |g|∞ = ")


def test_the_classes_warn_once_when_a_steps_budget_ends_before_tolerance_grad():
    x = wg.tensor([-1.2, 1.0], requires_grad=True)
    opt = LBFGS([x], max_iter=2)
    message = (
        "LBFGS: max_eval = 2 evaluations done; |g|∞ = 4.95 > tolerance_grad = 1e-07; call step() "
        "again to go on, or raise max_eval (said once per optimizer; stop_reason tells each "
        "step's end)"
    )
    with pytest.warns(wg.train.ConvergenceWarning, match=re.escape(message)):
        opt.step(closure_for(opt, x, rosenbrock))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step(closure_for(opt, x, rosenbrock))  # once per optimizer
    assert opt.stop_reason.startswith("max_eval = 2 evaluations done; |g|∞ = ")


def test_a_step_whose_line_search_cannot_move_says_so_and_keeps_the_parameters():
    x = wg.tensor([-1.2, 1.0], requires_grad=True)
    opt = LBFGS([x], lr=1e300, line_search="strong_wolfe")
    with pytest.warns(RuntimeWarning, match=r"LBFGS: the line search of iteration 1 found no "):
        opt.step(closure_for(opt, x, rosenbrock))
    np.testing.assert_array_equal(x.data, [-1.2, 1.0])
    assert "did not move" not in opt.stop_reason  # the warning adds what it means


def test_fit_does_not_pass_on_a_steps_budget_warning():
    X = np.linspace(-1, 1, 20).reshape(-1, 1)
    model = wg.nn.Perceptron(1, dtype=np.float64)
    opt = LBFGS(model.parameters(), max_iter=2, line_search="strong_wolfe")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        wg.fit(
            model,
            wg.losses.l2,
            opt,
            (X, 3 * X[:, 0] + 1),
            epochs=3,
            batch_size=None,
            progress=False,
        )
    assert opt.stop_reason.startswith("max_")


# ------------------------------------------------------------- L-BFGS against the textbook
def textbook_lbfgs(fg, x, lr, m, iterations, line_search):
    """N&W Algorithm 7.5 with the two-loop recursion 7.4, plainly, on Python lists."""
    f, g = fg(x)
    S, Y, xs = [], [], []
    for k in range(iterations):
        q, alphas = g.copy(), []
        for s, y in zip(reversed(S), reversed(Y), strict=True):
            alphas.append((s @ q) / (y @ s))
            q = q - alphas[-1] * y
        r = q * ((S[-1] @ Y[-1]) / (Y[-1] @ Y[-1]) if S else 1.0)
        for s, y, a in zip(S, Y, reversed(alphas), strict=True):
            r = r + (a - (y @ r) / (y @ s)) * s
        d = -r
        t = min(1.0, 1.0 / np.sum(np.abs(g))) * lr if k == 0 else lr
        if line_search:
            phi = lambda a, x=x, d=d: (fg(x + a * d)[0], fg(x + a * d)[1] @ d)
            t = strong_wolfe(phi, f, g @ d, t).alpha
        x_new = x + t * d
        f, g_new = fg(x_new)
        s, y = x_new - x, g_new - g
        if y @ s > CURVATURE_EPS * -(g @ s):
            S, Y = [*S, s][-m:], [*Y, y][-m:]
        x, g = x_new, g_new
        xs.append(x)
    return np.array(xs)


def lbfgs_iterates(f, x0, iterations, **kwargs):
    """The accepted iterates of LBFGS, one step() call of one iteration each."""
    x = wg.tensor(x0, requires_grad=True)
    opt = LBFGS([x], max_iter=1, tolerance_grad=0.0, tolerance_change=0.0, **kwargs)
    closure = closure_for(opt, x, f)
    xs = []
    for _ in range(iterations):
        opt.step(closure)
        xs.append(x.data.copy())
    return np.array(xs), opt


def quadratic_f_fg():
    A, b = quadratic()
    return (lambda x: 0.5 * wg.sum(x * (A @ x)) - wg.sum(b * x)), (
        lambda x: (0.5 * x @ A @ x - b @ x, A @ x - b)
    )


@pytest.mark.parametrize("line_search", [None, "strong_wolfe"])
@pytest.mark.parametrize("problem", ["quadratic", "rosenbrock"])
def test_lbfgs_takes_the_textbook_iterates(problem, line_search):
    if problem == "quadratic":
        f, fg = quadratic_f_fg()
        x0, lr, iterations = np.zeros(6), 1.0, 12
    else:
        f, fg = rosenbrock, rosenbrock_fg
        x0, lr, iterations = np.array([-1.2, 1.0]), (0.5 if line_search is None else 1.0), 30
    ours, opt = lbfgs_iterates(f, x0, iterations, lr=lr, history_size=3, line_search=line_search)
    theirs = textbook_lbfgs(fg, x0, lr, 3, iterations, line_search)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)
    assert opt.n_iter == iterations and opt.state[opt.param_groups[0]["params"][0]]["n_pairs"] > 3


def test_lbfgs_follows_pytorchs_lbfgs_trajectory():
    fixture = json.loads(FIXTURE.read_text())
    small, run = fixture["small"], fixture["torch_run"]
    X, y, lam = np.array(small["X"]), np.array(small["y"]), small["lam"]
    w = wg.tensor(np.zeros(X.shape[1]), requires_grad=True)
    opt = LBFGS(
        [w],
        lr=run["lr"],
        max_iter=run["max_iter"],
        history_size=run["history_size"],
        tolerance_grad=0.0,
        tolerance_change=0.0,
        line_search=None,
    )
    points = []
    f = lambda w: wg.mean(wg.softplus(-y * (X @ w))) + lam / 2 * wg.sum(w * w)
    for _ in range(run["steps"]):
        opt.step(closure_for(opt, w, f, points))
    np.testing.assert_allclose(points, fixture["torch_points"], rtol=0, atol=1e-12)
    assert opt.n_iter == run["steps"] * run["max_iter"]


def test_pairs_without_positive_curvature_are_skipped():
    x = wg.tensor([1.0, -0.5], requires_grad=True)  # f = −‖x‖²: yᵀs = −2‖s‖² < 0 always
    for cls in (LBFGS, BFGS):
        opt = cls([x], max_iter=4, lr=0.1, line_search=None, tolerance_change=0.0)
        opt.step(closure_for(opt, x, lambda x: -wg.sum(x * x)))
        assert opt.n_iter == 4
        assert opt.state[x].get("n_pairs", 0) == 0 and "H" not in opt.state[x]


# ------------------------------------------------------------- BFGS
def test_bfgs_with_exact_line_searches_ends_on_a_quadratic_in_n_steps_with_h_the_inverse():
    A, b = quadratic(n=5)
    x, H = np.zeros(5), np.eye(5)
    g = A @ x - b
    for _ in range(5):
        d = -H @ g
        alpha = -(g @ d) / (d @ A @ d)  # the exact minimizer along d
        x = x + alpha * d
        g_new = A @ x - b
        H = bfgs_update(H, alpha * d, g_new - g)
        g = g_new
    np.testing.assert_allclose(x, np.linalg.solve(A, b), atol=1e-10)
    np.testing.assert_allclose(H, np.linalg.inv(A), atol=1e-8)


def textbook_bfgs(fg, x, lr, iterations):
    """N&W Algorithm 6.1 with a fixed step, H₀ scaled by (6.20), the update (6.17) as written."""
    g = fg(x)[1]
    H, xs = None, []
    for k in range(iterations):
        d = -g if H is None else -H @ g
        t = min(1.0, 1.0 / np.sum(np.abs(g))) * lr if k == 0 else lr
        x_new = x + t * d
        g_new = fg(x_new)[1]
        s, y = x_new - x, g_new - g
        if y @ s > CURVATURE_EPS * -(g @ s):
            H = np.eye(len(x)) * (y @ s) / (y @ y) if H is None else H
            rho, eye = 1 / (y @ s), np.eye(len(x))
            H = (eye - rho * np.outer(s, y)) @ H @ (eye - rho * np.outer(y, s))
            H = H + rho * np.outer(s, s)
        x, g = x_new, g_new
        xs.append(x)
    return np.array(xs), H


def test_bfgs_takes_the_textbook_iterates_and_builds_the_same_h():
    f, fg = quadratic_f_fg()
    x = wg.tensor(np.zeros(6), requires_grad=True)
    opt = BFGS([x], max_iter=1, tolerance_grad=0.0, tolerance_change=0.0, line_search=None)
    ours = []
    for _ in range(10):
        opt.step(closure_for(opt, x, f))
        ours.append(x.data.copy())
    theirs, H = textbook_bfgs(fg, np.zeros(6), 1.0, 10)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)
    opt.step(closure_for(opt, x, f))  # the 10th pair enters H at the 11th iteration
    np.testing.assert_allclose(opt.state[x]["H"], H, rtol=1e-8, atol=1e-10)


# ------------------------------------------------------------- Newton-CG
def test_newton_cg_with_exact_solves_takes_one_iteration_on_a_quadratic():
    A, b = quadratic()
    f = lambda x: 0.5 * wg.sum(x * (A @ x)) - wg.sum(b * x)
    result = minimize(f, np.zeros(6), "newton-cg", tol=1e-10, forcing=0.0)
    assert result.n_iter == 1 and result.converged
    np.testing.assert_allclose(result.x, np.linalg.solve(A, b), atol=1e-12)


def test_one_newton_cg_iteration_on_a_quadratic_meets_the_forcing_bound():
    A, b = quadratic()
    x0 = np.full(6, 3.0)
    g0 = A @ x0 - b
    x = wg.tensor(x0, requires_grad=True)
    opt = NewtonCG([x], max_iter=1, line_search=None)
    opt.step(closure_for(opt, x, lambda x: 0.5 * wg.sum(x * (A @ x)) - wg.sum(b * x)))
    residual = np.linalg.norm(A @ x.data - b)  # the unit step: x1 = x0 + d, r = A d + g0
    assert residual < forcing_tolerance(g0) == pytest.approx(0.5 * np.linalg.norm(g0))
    assert opt.state[x]["n_hvp"] >= 1


def test_truncated_cg_solves_exactly_and_leaves_on_negative_curvature():
    A, b = quadratic()
    p, used, why = truncated_cg(lambda v: A @ v, -b, 0.0, 6)
    np.testing.assert_allclose(p, np.linalg.solve(A, b), atol=1e-9)
    assert used == 6
    indefinite = np.diag([1.0, 2.0, -1.0])
    g = np.array([1.0, 1.0, 0.0])  # CG stays in the positive-curvature subspace
    p, _, why = truncated_cg(lambda v: indefinite @ v, g, 0.0, 10)
    np.testing.assert_allclose(p, [-1.0, -0.5, 0.0], atol=1e-12)
    p, used, why = truncated_cg(lambda v: -v, g, 0.0, 10)
    assert (why, used) == ("negative curvature", 1)
    np.testing.assert_array_equal(p, -g)  # at j = 0: steepest descent


def test_newton_cg_on_model_parameters_matches_lbfgs():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X @ [1.0, -1.0, 0.5] + rng.normal(size=60) > 0).astype(float)
    found = []
    for cls in (NewtonCG, LBFGS):
        model = wg.nn.Perceptron(3, dtype=np.float64)
        opt = cls(model.parameters(), max_iter=100, tolerance_grad=1e-10, tolerance_change=0.0)

        def closure(model=model, opt=opt):
            opt.zero_grad()
            loss = wg.losses.logistic(model(X), y) + 0.01 * wg.sum(model.weight**2)
            loss.backward(create_graph=opt.create_graph)
            return loss

        opt.step(closure)
        found.append(np.r_[model.weight.data, model.bias.data])
    np.testing.assert_allclose(found[0], found[1], atol=1e-8)


# ------------------------------------------------------------- the line search
def more_thuente_1(a, beta=2.0):  # Moré and Thuente (1994), function 1
    return -a / (a * a + beta), (a * a - beta) / (a * a + beta) ** 2


def more_thuente_2(a, beta=0.004):  # function 2
    return (a + beta) ** 5 - 2 * (a + beta) ** 4, 5 * (a + beta) ** 4 - 8 * (a + beta) ** 3


def rosenbrock_line(a):
    x, d = np.array([-1.2, 1.0]), -rosenbrock_fg(np.array([-1.2, 1.0]))[1]
    f, g = rosenbrock_fg(x + a * d)
    return f, g @ d


def nan_beyond_half(a):
    return (math.nan, math.nan) if a > 0.5 else ((a - 2) ** 2, 2 * (a - 2))


@pytest.mark.parametrize("phi", [more_thuente_1, more_thuente_2, rosenbrock_line, nan_beyond_half])
@pytest.mark.parametrize("alpha", [1e-3, 0.1, 1.0, 10.0, 1e3])
def test_the_line_search_meets_both_strong_wolfe_conditions(phi, alpha):
    if phi is rosenbrock_line:
        alpha *= 1e-3  # the gradient there is ~200: steps of ~1e-3 are unit-sized
    phi0, dphi0 = phi(0.0)
    calls = []
    result = strong_wolfe(lambda a: calls.append(a) or phi(a), phi0, dphi0, alpha)
    assert result.success, result.message
    assert result.phi <= phi0 + C1 * result.alpha * dphi0
    assert abs(result.dphi) <= C2 * abs(dphi0)
    assert (result.phi, result.dphi) == phi(result.alpha)
    assert result.n_eval == len(calls) <= 25


def test_cubic_interpolation_finds_the_minimizer_of_a_cubic():
    f = lambda a: (a - 1) ** 3 - 3 * (a - 1) + 2  # minimum at a = 2
    df = lambda a: 3 * (a - 1) ** 2 - 3
    assert cubic_minimizer(0.5, f(0.5), df(0.5), 3.0, f(3.0), df(3.0)) == pytest.approx(2.0)
    assert math.isnan(cubic_minimizer(0.0, 0.0, -1.0, 1.0, -1.0, -1.0))  # a line: no minimum


# ------------------------------------------------------------- state dicts and fit
@pytest.mark.filterwarnings("ignore::wengert.train.ConvergenceWarning")  # slices, on purpose
def test_a_run_resumed_from_its_state_dict_continues_exactly():
    f, _ = quadratic_f_fg()
    for cls in (LBFGS, BFGS):
        x = wg.tensor(np.zeros(6), requires_grad=True)
        opt = cls([x], max_iter=3, tolerance_grad=0.0, tolerance_change=0.0)
        opt.step(closure_for(opt, x, f))
        saved, x_saved = opt.state_dict(), x.data.copy()
        opt.step(closure_for(opt, x, f))
        x2 = wg.tensor(x_saved, requires_grad=True)
        opt2 = cls([x2], max_iter=1)
        opt2.load_state_dict(saved)
        opt2.step(closure_for(opt2, x2, f))
        np.testing.assert_array_equal(x2.data, x.data)
        assert (opt2.n_iter, opt2.n_fev) == (opt.n_iter, opt.n_fev)


def test_a_state_dict_of_other_parameters_is_refused():
    x = wg.tensor(np.zeros(6), requires_grad=True)
    opt = LBFGS([x])
    opt.step(closure_for(opt, x, quadratic_f_fg()[0]))
    other = LBFGS([wg.tensor(np.zeros(4), requires_grad=True)])
    with pytest.raises(
        ValueError,
        match=r"^LBFGS\.load_state_dict: state 'history' must be of shape \(2, 10, 4\) for this "
        r"LBFGS's 4 parameters; got shape \(2, 10, 6\)\.$",
    ):
        other.load_state_dict(opt.state_dict())


# ------------------------------------------------------------- refused input
def leaf(*values):
    return wg.tensor(np.array(values or (1.0, 2.0)), requires_grad=True)


BAD_OPTIMIZERS = [
    (lambda: BFGS([wg.tensor(np.zeros(5_001), requires_grad=True)]), ValueError,
     "BFGS: params must be at most 5,000 elements in all (BFGS keeps an n×n matrix, 8·n² "
     "bytes); got n = 5,001 (200 MB). Use LBFGS."),
    (lambda: LBFGS([leaf()], history_size=0), ValueError,
     "LBFGS: history_size must be an int >= 1; got 0."),
    (lambda: LBFGS([leaf()], history_size=10.0), TypeError,
     "LBFGS: history_size must be an int >= 1; got 10.0. Pass 10 (an int)."),
    (lambda: LBFGS([leaf()], line_search="armijo"), ValueError,
     "LBFGS: line_search must be 'strong_wolfe' or None; got 'armijo'."),
    (lambda: LBFGS([leaf()], max_iter=None), TypeError,
     "LBFGS: max_iter must be an int >= 1; got None."),
    (lambda: BFGS([leaf()], tolerance_grad=-1.0), ValueError,
     "BFGS: tolerance_grad must be a float >= 0; got -1.0."),
    (lambda: NewtonCG([leaf()], forcing=1.5), ValueError,
     "NewtonCG: forcing must be a float in [0, 1); got 1.5."),
    (lambda: NewtonCG([leaf()], max_cg_iter=0), ValueError,
     "NewtonCG: max_cg_iter must be an int >= 1 or None; got 0."),
    (lambda: LBFGS([{"params": [leaf()]}, {"params": [leaf(3.0)], "lr": 0.5}]), ValueError,
     "LBFGS: lr of param group 1 must be group 0's, 1 (all parameters become one vector); "
     "got 0.5."),
]  # fmt: skip


@pytest.mark.parametrize(("make", "error", "message"), BAD_OPTIMIZERS)
def test_bad_optimizer_settings_are_refused(make, error, message):
    with pytest.raises(error, match=re.escape(message) + "$"):
        make()


def test_a_step_without_a_closure_is_refused():
    with pytest.raises(TypeError, match=r"LBFGS\.step: closure must be a callable that re-eval"):
        LBFGS([leaf()]).step()


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_a_non_scalar_loss_is_refused_with_the_iteration_and_nothing_changes(name):
    x = wg.tensor([1.0, 2.0], requires_grad=True)
    opt = CLASSES[name]([x])
    with pytest.raises(
        ValueError,
        match=rf"{CLASSES[name].__name__}: the closure's return value must be the loss, a "
        r"one-element Tensor or a number; got a Tensor of shape \(2,\) and dtype float64 at "
        r"iteration 1\.$",
    ):
        opt.step(lambda: x * x)
    np.testing.assert_array_equal(x.data, [1.0, 2.0])


def test_a_nan_loss_at_the_start_warns_and_changes_nothing():
    x = wg.tensor([1.0, 2.0], requires_grad=True)
    opt = LBFGS([x])
    with pytest.warns(RuntimeWarning, match=r"LBFGS: the loss is nan at the start of iteration 1"):
        loss = opt.step(closure_for(opt, x, lambda x: wg.sum(x) * math.nan))
    assert math.isnan(loss.item())
    np.testing.assert_array_equal(x.data, [1.0, 2.0])


def test_a_non_finite_loss_after_a_fixed_step_stops_at_the_last_finite_point():
    x = wg.tensor([1.0, 2.0], requires_grad=True)
    opt = LBFGS([x], lr=0.5, line_search=None)
    seen = []

    def closure():  # the 4th call, after iteration 3, is NaN
        opt.zero_grad()
        seen.append(x.data.copy())
        loss = wg.sum(x * x) * (math.nan if len(seen) == 4 else 1.0)
        loss.backward()
        return loss

    with pytest.warns(
        RuntimeWarning,
        match=r"LBFGS: the loss became nan at iteration 3; the parameters keep their last "
        r"finite values",
    ):
        loss = opt.step(closure)
    assert loss.item() == 5.0 and len(seen) == 4
    np.testing.assert_array_equal(x.data, seen[2])  # iteration 2's point, evaluated finite
    assert opt.n_iter == 3 and "iteration 3" in opt.stop_reason


def test_the_strong_wolfe_search_backs_off_from_overflow():
    x = wg.tensor([1.0], requires_grad=True)
    opt = LBFGS([x], lr=30.0, max_iter=100, tolerance_grad=1e-6, tolerance_change=0.0)
    values = []
    f = lambda x: values.append(float(wg.exp(x[0] ** 2).data)) or wg.sum(wg.exp(x**2))
    with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
        warnings.simplefilter("error")  # no warning: the search shortens the step instead
        opt.step(closure_for(opt, x, f))
    assert values[1] == math.inf  # the first trial, x = 1 − 30·g/‖g‖₁ = −29, overflows
    assert abs(x.item()) < 1e-6 and opt.stop_reason.startswith("|g|∞ ="), opt.stop_reason


def test_newton_cg_needs_the_gradients_graph():
    x = wg.tensor([1.0, 2.0], requires_grad=True)
    opt = NewtonCG([x])

    def plain_closure():
        opt.zero_grad()
        loss = wg.sum(x**4)
        loss.backward()
        return loss

    with pytest.raises(ValueError, match=r"got plain arrays in \.grad\. Call loss\.backward\(cre"):
        opt.step(plain_closure)
    np.testing.assert_array_equal(x.data, [1.0, 2.0])


BAD_MINIMIZE = [
    ({"method": "newton"}, ValueError, "minimize: method must be one of 'adam', 'bfgs', 'gd', "
     "'lbfgs', 'newton-cg'; got 'newton'."),
    ({"method": "lbfgs", "momentum": 0.9}, ValueError, "minimize(method='lbfgs'): each option "
     "must be one of ['history_size', 'line_search', 'lr', 'max_eval', 'tolerance_change']; "
     "got 'momentum'."),
    ({"method": "lbfgs", "history_size": 0}, ValueError, "minimize(method='lbfgs'): "
     "history_size must be an int >= 1; got 0."),
    ({"method": "lbfgs", "lr": lambda t: 1.0}, TypeError, "minimize(method='lbfgs'): lr must "
     "be a float > 0; got <function"),
    ({"method": "gd", "lr": -1.0}, ValueError, "minimize(method='gd'): lr must be a float > 0; "
     "got -1.0."),
    ({"method": "adam", "betas": (0.9, 1.0)}, ValueError, "minimize(method='adam'): betas must "
     "be a pair of values, each a float in [0, 1); got (0.9, 1.0)."),
    ({"tol": -1.0}, ValueError, "minimize(method='lbfgs'): tol must be a float >= 0; got -1.0."),
    ({"max_iter": 0}, ValueError, "minimize(method='lbfgs'): max_iter must be an int >= 1; got 0."),
    ({"max_iter": True}, TypeError, "minimize(method='lbfgs'): max_iter must be an int >= 1; "
     "got True (bool)."),
    ({"x0": [1.0, math.nan]}, ValueError, "minimize: x0 must be finite; got 1 NaN or infinite "
     "value(s), the first at index 1."),
    ({"x0": []}, ValueError, "minimize: x0 must be a non-empty array of numbers; got a list of "
     "shape (0,) and dtype float64."),
    ({"x0": ["a"]}, TypeError, "minimize: x0 must be a non-empty array of numbers; got a list of "
     "shape (1,) and dtype <U1."),
    ({"f": lambda x: x * x}, ValueError, "minimize: f's value must be a scalar (a one-element "
     "Tensor); got shape (2,) at iteration 0."),
]  # fmt: skip


@pytest.mark.parametrize(("kwargs", "error", "message"), BAD_MINIMIZE)
def test_bad_minimize_input_is_refused(kwargs, error, message):
    kwargs = {"f": rosenbrock, "x0": [-1.2, 1.0], **kwargs}
    with pytest.raises(error, match=re.escape(message)):
        minimize(kwargs.pop("f"), kwargs.pop("x0"), **kwargs)


def test_minimize_reports_a_non_finite_start_and_a_non_finite_step():
    with np.errstate(invalid="ignore"):
        start = minimize(lambda x: wg.sum(wg.log(x)), [-1.0, 1.0])
    assert not start.converged and start.message == "f(x0) is nan"
    with np.errstate(over="ignore", invalid="ignore"):
        blown = minimize(lambda x: wg.sum(x**4), [1.0], "gd", lr=1.0)  # x: 1, −3, 105, ...
    assert not blown.converged and blown.message.startswith("the loss became inf at iteration 6")
    assert np.isfinite(blown.fun) and blown.n_iter == 6


def test_the_minimize_docstring_names_every_option():
    module = sys.modules["wengert.optim.minimize"]  # the attribute is the function
    for method, options in module.OPTIONS.items():
        assert f'"{method}"' in module.__doc__
        for name in options:
            assert f"{name}=" in module.__doc__, (method, name)


# ------------------------------------------------------------- against SciPy (slow)
@pytest.mark.slow
def test_lbfgs_reaches_scipys_loss_in_as_many_iterations_on_logistic_regression():
    fixture = json.loads(FIXTURE.read_text())
    large = fixture["large"]
    rng = np.random.default_rng(large["seed"])  # scripts/make_lbfgs_fixture.py's recipe
    scales = np.logspace(-1, 1, large["d"])
    X = rng.standard_normal((large["n"], large["d"])) * scales
    w_true = rng.standard_normal(large["d"]) * 3 / np.sqrt(large["d"]) / scales
    p = 1 / (1 + np.exp(-(X @ w_true)))
    y = np.where(rng.random(large["n"]) < p, 1.0, -1.0)
    assert (X.sum(), y.sum()) == pytest.approx((large["X_sum"], large["y_sum"]), rel=1e-12)
    lam = large["lam"]
    f = lambda w: wg.mean(wg.softplus(-y * (X @ w))) + lam / 2 * wg.sum(w * w)
    for scipy in fixture["scipy"]:
        ours = minimize(f, np.zeros(large["d"]), "lbfgs", tol=scipy["gtol"])
        assert ours.converged
        assert ours.n_iter <= 1.5 * scipy["nit"]
        if scipy["gtol"] <= 1e-7:
            assert ours.fun == pytest.approx(scipy["fun"], rel=1e-8)
            assert ours.fun == pytest.approx(fixture["f_star"], rel=1e-8)
