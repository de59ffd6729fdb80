"""L-BFGS, BFGS, Newton-CG and minimize(): convergence, iterates, state dicts and SciPy.

Oracles: Rosenbrock's known minimum (1, 1); textbook versions written here (the two-loop
recursion with Python lists, BFGS with the matrix product (6.17) literally); the closed-form
minimizer of a quadratic, A⁻¹b, and its inverse Hessian A⁻¹; a PyTorch LBFGS trajectory and
SciPy's L-BFGS-B numbers from the committed fixture tests/fixtures/lbfgs.json
(scripts/make_lbfgs_fixture.py). No peer is imported here. The line search is in
test_line_search.py, refused input in test_second_order_errors.py.
"""

import json
import pathlib
import re
import warnings

import numpy as np
import pytest
from second_order_helpers import CLASSES, closure_for, rosenbrock, rosenbrock_fg

import wengert as wg
from wengert.optim import BFGS, LBFGS, MinimizeResult, NewtonCG, minimize
from wengert.optim.closure import CURVATURE_EPS
from wengert.optim.lbfgs import bfgs_update
from wengert.optim.line_search import strong_wolfe
from wengert.optim.newton_cg import forcing_tolerance, truncated_cg

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "lbfgs.json"


def quadratic(n=6, seed=3):
    rng = np.random.default_rng(seed)
    M = rng.normal(size=(n, n))
    return M @ M.T + np.eye(n), rng.normal(size=n)


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
