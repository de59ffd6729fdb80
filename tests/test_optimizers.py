"""Optimizers at four levels: one step against the docstring formula by hand; 20-step PyTorch
trajectories from a committed fixture; convergence on a parabola and on Rosenbrock; and the
bookkeeping (state dicts, groups, zero_grad, closures, schedules, refused input). Plus the fast
Adam paths against the plain rule. Gradients are written by hand in NumPy: no torch here.
"""

import json
import math
import pathlib
import pickle
import re

import numpy as np
import pytest

import wengert as wg
from wengert.optim import SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop, fused, schedules

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "optimizers.json"
OPTIMIZERS = {c.__name__: c for c in (SGD, Adagrad, Adadelta, RMSprop, Adam, AdamW)}


def leaf(values, dtype=np.float64):
    return wg.tensor(np.array(values, dtype=dtype), requires_grad=True)


# ----------------------------------------------------------- level 1: one step by hand
THETA0 = np.array([1.0, -2.0])
G1 = np.array([0.5, 1.0])
G2 = np.array([-1.0, 2.0])
SMALL_G2 = np.array([0.001, -0.002])  # makes v shrink, so AMSGrad's max matters


def adagrad_by_hand(t, g1, g2):
    big_g = 0.5 + g1**2  # initial_accumulator_value 0.5
    t = t - 0.1 * g1 / (np.sqrt(big_g) + 1e-10)
    big_g = big_g + g2**2
    return t - 0.1 / (1 + 1 * 0.1) * g2 / (np.sqrt(big_g) + 1e-10)  # lr_decay 0.1, k = 2


def adadelta_by_hand(t, g1, g2, rho=0.9, eps=1e-6):
    v = (1 - rho) * g1**2
    d = np.sqrt(0 + eps) / np.sqrt(v + eps) * g1
    u = (1 - rho) * d**2
    t = t - d
    v = rho * v + (1 - rho) * g2**2
    return t - np.sqrt(u + eps) / np.sqrt(v + eps) * g2


def rmsprop_by_hand(t, g1, g2, a=0.9, mu=0.5, eta=0.01, eps=1e-8):
    v, gbar = (1 - a) * g1**2, (1 - a) * g1
    b = g1 / (np.sqrt(v - gbar**2) + eps)
    t = t - eta * b
    v, gbar = a * v + (1 - a) * g2**2, a * gbar + (1 - a) * g2
    b = mu * b + g2 / (np.sqrt(v - gbar**2) + eps)
    return t - eta * b


def adam_by_hand(t, g1, g2, eta=0.1, decay=0.0, decoupled=False, amsgrad=False):
    b1, b2, eps = 0.9, 0.999, 1e-8
    m, v, vmax = 0.0, 0.0, 0.0
    for k, g in ((1, g1), (2, g2)):
        if decoupled:
            t = t * (1 - eta * decay)
        else:
            g = g + decay * t
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g**2
        vmax = np.maximum(vmax, v) if amsgrad else v
        t = t - eta * (m / (1 - b1**k)) / (np.sqrt(vmax / (1 - b2**k)) + eps)
    return t


# (name, optimizer, second gradient, theta after step 1, theta after step 2): the numbers of the
# SGD rows are worked out by hand from its docstring (θ0 = [1, -2], g1 = [0.5, 1], g2 = [-1, 2]).
ONE_STEP = [
    ("sgd", lambda p: SGD(p, lr=0.1), G2, [0.95, -2.1], [1.05, -2.3]),
    ("sgd_momentum", lambda p: SGD(p, lr=0.1, momentum=0.9), G2, [0.95, -2.1], [1.005, -2.39]),
    (
        "sgd_dampening",
        lambda p: SGD(p, lr=0.1, momentum=0.9, dampening=0.5),
        G2,
        [0.95, -2.1],
        [0.955, -2.29],
    ),
    (
        "sgd_nesterov",
        lambda p: SGD(p, lr=0.1, momentum=0.9, nesterov=True),
        G2,
        [0.905, -2.19],
        [1.0545, -2.651],
    ),
    (
        "sgd_weight_decay",
        lambda p: SGD(p, lr=0.1, weight_decay=0.1),
        G2,
        [0.94, -2.08],
        [1.0306, -2.2592],
    ),
    ("sgd_maximize", lambda p: SGD(p, lr=0.1, maximize=True), G2, [1.05, -1.9], [0.95, -1.7]),
    (
        "sgd_lecture",
        lambda p: SGD(p, lr=0.1, momentum=0.9, momentum_form="lecture"),
        G2,
        [0.95, -2.1],
        [1.005, -2.39],
    ),
    (
        "adagrad",
        lambda p: Adagrad(p, lr=0.1, lr_decay=0.1, initial_accumulator_value=0.5),
        G2,
        THETA0 - 0.1 * G1 / np.sqrt(0.5 + G1**2),
        adagrad_by_hand(THETA0, G1, G2),
    ),
    (
        "adadelta",
        lambda p: Adadelta(p),
        G2,
        THETA0 - np.sqrt(1e-6) / np.sqrt(0.1 * G1**2 + 1e-6) * G1,
        adadelta_by_hand(THETA0, G1, G2),
    ),
    (
        "rmsprop_centered_momentum",
        lambda p: RMSprop(p, lr=0.01, alpha=0.9, momentum=0.5, centered=True),
        G2,
        THETA0 - 0.01 * G1 / (np.sqrt(0.1 * G1**2 - 0.01 * G1**2) + 1e-8),
        rmsprop_by_hand(THETA0, G1, G2),
    ),
    # Adam's first step is η·sign(g): m̂ = g and v̂ = g² after bias correction.
    ("adam", lambda p: Adam(p, lr=0.1), G2, [0.9, -2.1], adam_by_hand(THETA0, G1, G2)),
    (
        "adam_l2",
        lambda p: Adam(p, lr=0.1, weight_decay=0.1),
        G2,
        [0.9, -2.1],
        adam_by_hand(THETA0, G1, G2, decay=0.1),
    ),
    (
        "adam_amsgrad",
        lambda p: Adam(p, lr=0.1, amsgrad=True),
        SMALL_G2,
        [0.9, -2.1],
        adam_by_hand(THETA0, G1, SMALL_G2, amsgrad=True),
    ),
    (
        "adamw",
        lambda p: AdamW(p, lr=0.1, weight_decay=0.1),
        G2,
        [0.99 * 1 - 0.1, 0.99 * -2 - 0.1],
        adam_by_hand(THETA0, G1, G2, decay=0.1, decoupled=True),
    ),
]


@pytest.mark.parametrize(
    ("name", "make", "g2", "after1", "after2"), ONE_STEP, ids=[row[0] for row in ONE_STEP]
)
def test_two_steps_follow_the_docstring_formula(name, make, g2, after1, after2):
    w = leaf(THETA0)
    opt = make([w])
    w.grad = G1.copy()
    opt.step()
    np.testing.assert_allclose(w.data, after1, rtol=1e-7, err_msg=name)
    w.grad = g2.copy()
    opt.step()
    np.testing.assert_allclose(w.data, after2, rtol=1e-12, err_msg=name)


def test_amsgrad_uses_the_largest_second_moment():
    # With a tiny second gradient, v shrinks: AMSGrad keeps the first step's v (a smaller step).
    plain, ams = leaf(THETA0), leaf(THETA0)
    opts = [Adam([plain], lr=0.1), Adam([ams], lr=0.1, amsgrad=True)]
    for g in (G1, SMALL_G2):
        for p, opt in zip((plain, ams), opts, strict=True):
            p.grad = g.copy()
            opt.step()
    assert np.all(np.abs(ams.data - [0.9, -2.1]) < np.abs(plain.data - [0.9, -2.1]))
    assert np.all(opts[1].state[ams]["max_exp_avg_sq"] > opts[1].state[ams]["exp_avg_sq"])


# ------------------------------------------------------- level 2: PyTorch trajectories
def load_fixture():
    return json.loads(FIXTURE.read_text())


def problem_gradient(problem, w, W):
    """The fixture's loss, mean log(1 + exp(-y z)) + c/2 mean (z - y)^2, differentiated by hand."""
    X, U, V, y = (np.asarray(problem[k]) for k in "XUVy")
    z = X @ w + np.einsum("ij,jk,ik->i", U, W, V)
    dz = (-y / (1 + np.exp(y * z)) + problem["c"] * (z - y)) / len(y)
    return X.T @ dz, np.einsum("i,ij,ik->jk", dz, U, V)


def as_kwargs(options: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}


FIXTURE_RUNS = load_fixture()["runs"]


@pytest.mark.parametrize("run", FIXTURE_RUNS, ids=[r["name"] for r in FIXTURE_RUNS])
def test_trajectory_matches_pytorch(run):
    problem = load_fixture()["problem"]
    w, W = leaf(problem["w0"]), leaf(problem["W0"])
    if run["groups"] is None:
        params = [w, W]
    else:
        by_name = {"w": w, "W": W}
        params = [
            {**as_kwargs(g), "params": [by_name[name] for name in g["params"]]}
            for g in run["groups"]
        ]
    opt = OPTIMIZERS[run["optimizer"]](params, **as_kwargs(run["kwargs"]))
    for step, (w_expected, W_expected) in enumerate(run["trajectory"], start=1):
        w.grad, W.grad = problem_gradient(problem, w.data, W.data)
        opt.step()
        # float64 agrees to ~1e-13 here; 1e-6 would be the loose bound for other platforms.
        for got, expected in ((w.data, w_expected), (W.data, W_expected)):
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14, err_msg=f"{step}")


def test_fixture_covers_every_optimizer_and_moves_the_parameters():
    fixture = load_fixture()
    assert {r["optimizer"] for r in fixture["runs"]} == set(OPTIMIZERS)
    assert fixture["torch"].startswith("2.")
    w0 = np.asarray(fixture["problem"]["w0"])
    for run in fixture["runs"]:
        assert len(run["trajectory"]) == fixture["steps"] == 20
        assert np.abs(np.asarray(run["trajectory"][-1][0]) - w0).max() > 0.05, run["name"]


# -------------------------------------------- level 3: parabola and Rosenbrock, one table
CURVATURE, CENTRE = np.array([1.0, 10.0]), np.array([1.0, -0.5])


def parabola(x):
    """1/2 sum a_i (x_i - c_i)^2: minimum at c, condition number 10."""
    return CURVATURE * (x - CENTRE)


def rosenbrock(x):
    """(1 - a)^2 + 100 (b - a^2)^2: minimum at (1, 1), a curved narrow valley."""
    a, b = x
    return np.array([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)])


# (optimizer on [p], gradient, start, minimum, steps, tolerance on max |x - x*|)
CONVERGENCE = [
    ("SGD", lambda p: SGD(p, lr=0.15), parabola, [3.0, 2.0], CENTRE, 200, 1e-8),
    (
        "SGD momentum",
        lambda p: SGD(p, lr=0.05, momentum=0.7),
        parabola,
        [3.0, 2.0],
        CENTRE,
        200,
        1e-8,
    ),
    ("Adagrad", lambda p: Adagrad(p, lr=1.0), parabola, [3.0, 2.0], CENTRE, 300, 1e-8),
    ("Adadelta", lambda p: Adadelta(p, lr=1.0, eps=1e-4), parabola, [3.0, 2.0], CENTRE, 2000, 1e-8),
    (
        "RMSprop",
        lambda p: RMSprop(p, lr=0.01, momentum=0.9),
        parabola,
        [3.0, 2.0],
        CENTRE,
        1000,
        1e-6,
    ),
    ("Adam", lambda p: Adam(p, lr=0.1), parabola, [3.0, 2.0], CENTRE, 1000, 1e-8),
    # Decoupled decay moves AdamW's fixed point off the minimum (it is not a minimum of
    # L + λ/2·‖θ‖²), by an amount that shrinks with λ: hence a small λ and a looser tolerance.
    (
        "AdamW",
        lambda p: AdamW(p, lr=0.1, weight_decay=1e-4),
        parabola,
        [3.0, 2.0],
        CENTRE,
        1000,
        1e-4,
    ),
    (
        "SGD momentum",
        lambda p: SGD(p, lr=2e-3, momentum=0.5),
        rosenbrock,
        [-1.2, 1.0],
        [1.0, 1.0],
        10000,
        1e-6,
    ),
    (
        "SGD Nesterov",
        lambda p: SGD(p, lr=1e-3, momentum=0.9, nesterov=True),
        rosenbrock,
        [-1.2, 1.0],
        [1.0, 1.0],
        5000,
        1e-8,
    ),
    (
        "SGD lecture",
        lambda p: SGD(p, lr=1e-3, momentum=0.9, momentum_form="lecture"),
        rosenbrock,
        [-1.2, 1.0],
        [1.0, 1.0],
        5000,
        1e-8,
    ),
    ("Adagrad", lambda p: Adagrad(p, lr=1.0), rosenbrock, [-1.2, 1.0], [1.0, 1.0], 10000, 1e-3),
    # With a constant η Adadelta circles the valley floor: near the minimum its step is about
    # η·√(u + ε)/√ε·g, a gradient step too long for the valley's curvature. A decaying η settles.
    (
        "Adadelta",
        lambda p: Adadelta(p, lr=schedules.exponential(1.0, 0.9995)),
        rosenbrock,
        [-1.2, 1.0],
        [1.0, 1.0],
        10000,
        1e-3,
    ),
    (
        "RMSprop",
        lambda p: RMSprop(p, lr=3e-4, momentum=0.5, centered=True),
        rosenbrock,
        [-1.2, 1.0],
        [1.0, 1.0],
        5000,
        1e-3,
    ),
    ("Adam", lambda p: Adam(p, lr=0.02), rosenbrock, [-1.2, 1.0], [1.0, 1.0], 5000, 1e-8),
    (
        "AMSGrad",
        lambda p: Adam(p, lr=0.05, amsgrad=True),
        rosenbrock,
        [-1.2, 1.0],
        [1.0, 1.0],
        5000,
        1e-5,
    ),
    (
        "AdamW",
        lambda p: AdamW(p, lr=0.02, weight_decay=1e-4),
        rosenbrock,
        [-1.2, 1.0],
        [1.0, 1.0],
        5000,
        1e-3,
    ),
]


@pytest.mark.parametrize(
    ("name", "make", "gradient", "start", "minimum", "steps", "tol"),
    CONVERGENCE,
    ids=[f"{row[0]}-{row[2].__name__}" for row in CONVERGENCE],
)
def test_converges(name, make, gradient, start, minimum, steps, tol):
    x = leaf(start)
    opt = make([x])
    for _ in range(steps):
        x.grad = gradient(x.data)
        opt.step()
    assert np.abs(x.data - minimum).max() < tol, f"{name}: {x.data}"


# ------------------------------------------------------------- level 4: the bookkeeping
def fixture_problem_run(make, steps, params=None, opt=None):
    """`steps` steps on the fixture's problem; returns (params, optimizer)."""
    problem = load_fixture()["problem"]
    if params is None:
        params = [leaf(problem["w0"]), leaf(problem["W0"])]
    opt = opt or make(params)
    for _ in range(steps):
        params[0].grad, params[1].grad = problem_gradient(problem, params[0].data, params[1].data)
        opt.step()
    return params, opt


ROUND_TRIP = {
    "sgd_nesterov": lambda p: SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "sgd_lecture": lambda p: SGD(
        p, lr=schedules.inverse_sqrt(0.1), momentum=0.9, momentum_form="lecture"
    ),
    "adagrad": lambda p: Adagrad(p, lr=0.1, lr_decay=0.01),
    "adadelta": lambda p: Adadelta(p),
    "rmsprop": lambda p: RMSprop(p, lr=0.01, momentum=0.5, centered=True),
    "adam_amsgrad": lambda p: Adam(p, lr=schedules.cosine(0.05, 20), amsgrad=True),
    "adamw": lambda p: AdamW(p, lr=0.05),
}


@pytest.mark.parametrize("make", ROUND_TRIP.values(), ids=ROUND_TRIP.keys())
def test_state_dict_round_trip_continues_the_same_trajectory(make):
    straight, _ = fixture_problem_run(make, 10)
    params, opt = fixture_problem_run(make, 5)
    saved = pickle.loads(pickle.dumps(opt.state_dict()))  # a schedule pickles too
    resumed = [leaf(p.data) for p in params]
    fresh = make(resumed)
    fresh.load_state_dict(saved)
    fixture_problem_run(make, 5, resumed, fresh)
    for a, b in zip(resumed, straight, strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_state_dict_layout_and_snapshot():
    w, b = leaf([1.0, 2.0]), leaf(0.5)
    opt = Adam([{"params": [w]}, {"params": [b], "lr": 0.1}], lr=0.01)
    w.grad = np.array([1.0, -1.0])
    opt.step()  # b has no gradient: no state for it
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert [g["lr"] for g in sd["param_groups"]] == [0.01, 0.1]
    assert [g["t"] for g in sd["param_groups"]] == [1, 1]
    assert set(sd["state"]) == {0}
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"} and sd["state"][0]["step"] == 1
    before = sd["state"][0]["exp_avg"].copy()
    opt.step()
    np.testing.assert_array_equal(sd["state"][0]["exp_avg"], before)  # a copy, not live


def test_load_state_dict_casts_to_the_parameter_dtype_and_copies():
    w = leaf([1.0, 2.0], dtype=np.float32)
    opt = SGD([w], lr=0.1, momentum=0.9)
    buf = np.array([0.5, 0.25])  # float64
    opt.load_state_dict(
        {
            "state": {0: {"momentum_buffer": buf}},
            "param_groups": [{**opt.state_dict()["param_groups"][0], "lr": 0.2}],
        }
    )
    assert opt.state[w]["momentum_buffer"].dtype == np.float32
    assert opt.state[w]["momentum_buffer"] is not buf
    assert opt.param_groups[0]["lr"] == 0.2 and opt.param_groups[0]["params"] == [w]


def _saved_sgd():
    w, W = leaf([1.0, 2.0, 3.0]), leaf(np.ones((2, 2)))
    opt = SGD([w, W], lr=0.1, momentum=0.9)
    w.grad, W.grad = np.ones(3), np.ones((2, 2))
    opt.step()
    return opt, opt.state_dict()


def _two_groups(sd):
    g = sd["param_groups"][0]
    return {**sd, "param_groups": [{**g, "params": [0]}, {**g, "params": [1]}]}


def _three_params(sd):
    g = sd["param_groups"][0]
    return {**sd, "param_groups": [{**g, "params": [0, 1, 2]}]}


def _wrong_shape(sd):
    return {**sd, "state": {0: {"momentum_buffer": np.zeros(4)}, 1: sd["state"][1]}}


def _bad_hyper(sd):
    return {**sd, "param_groups": [{**sd["param_groups"][0], "momentum": 2.0}]}


def _unknown_key(sd):
    return {**sd, "param_groups": [{**sd["param_groups"][0], "betas": (0.9, 0.99)}]}


LOAD_REFUSED = [
    (
        _two_groups,
        r"^SGD\.load_state_dict: state_dict must be of 1 param group, as this SGD has; got 2\.$",
    ),
    (
        _three_params,
        r"^SGD\.load_state_dict: param group 0 of state_dict must be of 2 parameters, as in this "
        r"SGD; got 3\.$",
    ),
    (
        _wrong_shape,
        r"^SGD\.load_state_dict: state 'momentum_buffer' of parameter 0 must be of the "
        r"parameter's shape \(3,\); got shape \(4,\)\.$",
    ),
    (_bad_hyper, r"SGD: momentum must be a float in \[0, 1\); got 2\.0\.$"),
    (_unknown_key, r"SGD: a param group's keys must be among \['dampening', .*; got 'betas'\.$"),
    (
        lambda sd: {"state": {}},
        r"^SGD\.load_state_dict: state_dict must be a dict with the keys 'param_groups' and "
        r"'state' \(from state_dict\(\)\); got the keys \['state'\]\.$",
    ),
]


@pytest.mark.parametrize(("corrupt", "message"), LOAD_REFUSED)
def test_load_state_dict_refuses_a_mismatch_and_changes_nothing(corrupt, message):
    opt, sd = _saved_sgd()
    groups_before = [dict(g) for g in opt.param_groups]
    state_before = {id(p): {k: v.copy() for k, v in s.items()} for p, s in opt.state.items()}
    with pytest.raises(ValueError, match=message):
        opt.load_state_dict(corrupt(sd))
    assert opt.param_groups == groups_before
    for p, s in opt.state.items():
        np.testing.assert_array_equal(s["momentum_buffer"], state_before[id(p)]["momentum_buffer"])


def test_zero_grad_sets_none_and_step_skips_parameters_without_gradient():
    w, b = leaf([1.0, 2.0]), leaf([3.0])
    opt = SGD([w, b], lr=0.1, momentum=0.9)
    w.grad, b.grad = np.array([1.0, 1.0]), np.array([1.0])
    opt.zero_grad()
    assert w.grad is None and b.grad is None
    w.grad = np.array([1.0, -1.0])
    data = b.data
    opt.step()
    np.testing.assert_allclose(w.data, [0.9, 2.1])
    assert b.data is data and b.data[0] == 3.0 and b not in opt.state
    assert opt.param_groups[0]["t"] == 1


def test_step_updates_data_in_place_and_records_no_graph():
    w = leaf([1.0, 2.0], dtype=np.float32)
    data = w.data
    for make in (lambda p: SGD(p, lr=0.1), lambda p: Adam(p), lambda p: RMSprop(p)):
        opt = make([w])
        w.grad = np.array([1.0, 1.0])  # a float64 gradient is cast to the parameter's dtype
        opt.step()
        assert w.data is data and w.data.dtype == np.float32 and w.is_leaf
        assert all(v.dtype == np.float32 for v in opt.state[w].values() if hasattr(v, "dtype"))


def test_a_tensor_gradient_from_create_graph_is_used_as_its_values():
    w = leaf([1.0, 2.0])
    opt = SGD([w], lr=0.5)
    w.grad = wg.tensor([2.0, 2.0])
    opt.step()
    np.testing.assert_allclose(w.data, [0.0, 1.0])


def test_param_groups_take_their_own_hyperparameters():
    w, b = leaf([1.0, 1.0]), leaf([1.0])
    opt = SGD([{"params": [w]}, {"params": [b], "lr": 0.01, "momentum": 0.5}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert [g["momentum"] for g in opt.param_groups] == [0.0, 0.5]
    for _ in range(2):
        w.grad, b.grad = np.array([1.0, 2.0]), np.array([1.0])
        opt.step()
    np.testing.assert_allclose(w.data, [1 - 0.2, 1 - 0.4])
    np.testing.assert_allclose(b.data, [1 - 0.01 * (1 + 1.5)])  # buffers 1, then 0.5 + 1
    extra = leaf([0.0])
    opt.add_param_group({"params": [extra], "lr": 1.0})
    assert opt.param_groups[2]["momentum"] == 0.0 and opt.param_groups[2]["t"] == 0


def test_closure_is_called_with_grad_on_and_its_loss_returned():
    w = leaf([3.0])
    opt = SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        assert wg.is_grad_enabled()
        loss = wg.sum(w * w)
        loss.backward()
        return loss

    with wg.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 9.0
    np.testing.assert_allclose(w.data, [3.0 - 0.25 * 6.0])
    assert opt.step() is None


# ------------------------------------------------- schedules as lr, and the two momentum forms
def test_a_schedule_gives_the_lr_of_step_t():
    w = leaf([0.0])
    opt = SGD([w], lr=lambda t: 0.1 * t)
    for _ in range(3):
        w.grad = np.array([-1.0])
        opt.step()
    np.testing.assert_allclose(w.data, [0.1 + 0.2 + 0.3])
    assert opt.param_groups[0]["t"] == 3


@pytest.mark.parametrize(
    ("bad", "error"),
    [(0.0, ValueError), (-0.1, ValueError), (math.nan, ValueError), (math.inf, ValueError),
     ("0.1", TypeError)],
)  # fmt: skip
def test_a_bad_scheduled_lr_is_refused_with_step_and_value_and_nothing_changes(bad, error):
    w, b = leaf([1.0]), leaf([1.0])
    opt = SGD(
        [{"params": [w], "lr": 0.1}, {"params": [b], "lr": lambda t: 0.1 if t < 2 else bad}],
        lr=0.1,
        momentum=0.9,
    )
    w.grad, b.grad = np.array([1.0]), np.array([1.0])
    opt.step()
    before = (w.data.copy(), b.data.copy(), opt.state[w]["momentum_buffer"].copy())
    with pytest.raises(
        error,
        match=re.escape(
            f"SGD: the lr that param group 1's schedule gave at step t=2 must be a float > 0; "
            f"got {bad!r}. Nothing was updated."
        ),
    ):
        opt.step()
    np.testing.assert_array_equal(w.data, before[0])
    np.testing.assert_array_equal(b.data, before[1])
    np.testing.assert_array_equal(opt.state[w]["momentum_buffer"], before[2])
    assert [g["t"] for g in opt.param_groups] == [1, 1]


def momentum_run(form, lr, steps=30):
    x = leaf([-1.2, 1.0])
    opt = SGD([x], lr=lr, momentum=0.9, nesterov=True, momentum_form=form)
    for _ in range(steps):
        x.grad = rosenbrock(x.data)
        opt.step()
    return x.data


def test_lecture_and_pytorch_momentum_agree_while_the_lr_is_constant():
    # v = −η·b at every step when η is fixed: the same iterates, up to rounding.
    np.testing.assert_allclose(
        momentum_run("lecture", 1e-3), momentum_run("pytorch", 1e-3), rtol=1e-12
    )


def test_lecture_and_pytorch_momentum_part_when_a_schedule_changes_the_lr():
    # η1 = 0.1, η2 = 0.05. PyTorch: θ2 = θ1 − η2·(μ·g1 + g2), today's η rescales the whole
    # buffer. Lecture: θ2 = θ1 + μ·(−η1·g1) − η2·g2, each gradient keeps its own step's η.
    schedule = schedules.step_decay(0.1, step_size=1, gamma=0.5)
    got = {}
    for form in ("pytorch", "lecture"):
        w = leaf(THETA0)
        opt = SGD([w], lr=schedule, momentum=0.9, momentum_form=form)
        for g in (G1, G2):
            w.grad = g.copy()
            opt.step()
        got[form] = w.data
    theta1 = THETA0 - 0.1 * G1
    np.testing.assert_allclose(got["pytorch"], theta1 - 0.05 * (0.9 * G1 + G2), rtol=1e-14)
    np.testing.assert_allclose(got["lecture"], theta1 - 0.9 * 0.1 * G1 - 0.05 * G2, rtol=1e-14)
    assert not np.allclose(got["pytorch"], got["lecture"])


# ---------------------------------------------------------------------- refused input
def one_param():
    return [leaf([1.0])]


class NoGrad:
    data = np.zeros(2)


BAD_INPUT = [
    (lambda: SGD(one_param(), lr=-0.1), ValueError,
     "SGD: lr must be a float > 0 or a schedule (a callable of the step t); got -0.1."),
    (lambda: SGD(one_param(), lr=math.inf), ValueError, "SGD: lr must be a float > 0 or a "
     "schedule (a callable of the step t); got inf."),
    (lambda: Adam(one_param(), lr=math.nan), ValueError, "Adam: lr must be a float > 0 or a "
     "schedule (a callable of the step t); got nan."),
    (lambda: SGD(one_param(), lr="0.1"), TypeError, "SGD: lr must be a float > 0 or a schedule "
     "(a callable of the step t); got '0.1'."),
    (lambda: SGD(one_param(), lr=0.1, momentum=1.5), ValueError,
     "SGD: momentum must be a float in [0, 1); got 1.5."),
    (lambda: SGD(one_param(), lr=0.1, momentum=True), TypeError,
     "SGD: momentum must be a float in [0, 1); got True (bool)."),
    (lambda: SGD(one_param(), lr=0.1, momentum=0.5, dampening=2), ValueError,
     "SGD: dampening must be a float in [0, 1]; got 2."),
    (lambda: SGD(one_param(), lr=0.1, nesterov=True), ValueError,
     "SGD: momentum and dampening, with nesterov=True, must be > 0 and = 0; got momentum=0.0, "
     "dampening=0.0. Nesterov's form needs momentum and no dampening."),
    (lambda: SGD(one_param(), lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), ValueError,
     "SGD: momentum and dampening, with nesterov=True, must be > 0 and = 0; got momentum=0.9, "
     "dampening=0.1. Nesterov's form needs momentum and no dampening."),
    (lambda: SGD(one_param(), lr=0.1, nesterov="yes"), TypeError,
     "SGD: nesterov must be a bool (True or False); got 'yes'."),
    (lambda: SGD(one_param(), lr=0.1, maximize=1), TypeError,
     "SGD: maximize must be a bool (True or False); got 1. Pass True (a bool)."),
    (lambda: SGD(one_param(), lr=0.1, momentum_form="keras"), ValueError,
     "SGD: momentum_form must be one of 'lecture', 'pytorch'; got 'keras'."),
    (lambda: SGD(one_param(), lr=0.1, momentum=0.9, dampening=0.5, momentum_form="lecture"),
     ValueError, "SGD: dampening, with momentum_form='lecture' (v ← μ·v − η·g), must be 0; got "
     "0.5. Use momentum_form='pytorch' for dampening."),
    (lambda: SGD(one_param(), lr=0.1, weight_decay=-1), ValueError,
     "SGD: weight_decay must be a float >= 0; got -1."),
    (lambda: Adagrad(one_param(), lr_decay=-0.1), ValueError,
     "Adagrad: lr_decay must be a float >= 0; got -0.1."),
    (lambda: Adagrad(one_param(), initial_accumulator_value=-1.0), ValueError,
     "Adagrad: initial_accumulator_value must be a float >= 0; got -1.0."),
    (lambda: Adagrad(one_param(), eps=0.0), ValueError,
     "Adagrad: eps must be a float > 0; got 0.0."),
    (lambda: Adadelta(one_param(), rho=1.0), ValueError,
     "Adadelta: rho must be a float in [0, 1); got 1.0."),
    (lambda: RMSprop(one_param(), alpha=-0.5), ValueError,
     "RMSprop: alpha must be a float in [0, 1); got -0.5."),
    (lambda: RMSprop(one_param(), centered=1), TypeError,
     "RMSprop: centered must be a bool (True or False); got 1. Pass True (a bool)."),
    (lambda: Adam(one_param(), betas=(0.9, 1.0)), ValueError,
     "Adam: betas must be a pair of values, each a float in [0, 1); got (0.9, 1.0)."),
    (lambda: AdamW(one_param(), betas=0.9), TypeError,
     "AdamW: betas must be a pair of values, each a float in [0, 1); got 0.9."),
    (lambda: Adam(one_param(), eps=-1e-8), ValueError,
     "Adam: eps must be a float > 0; got -1e-08."),
    (lambda: Adam(one_param(), amsgrad=1), TypeError,
     "Adam: amsgrad must be a bool (True or False); got 1. Pass True (a bool)."),
    (lambda: Adam(one_param(), fused="yes"), TypeError,
     "Adam: fused must be a bool (True or False) or None; got 'yes'."),
    (lambda: SGD([], lr=0.1), ValueError, "SGD: params must be one Tensor or more; got none."),
    (lambda: Adam(iter([])), ValueError, "Adam: params must be one Tensor or more; got none."),
    (lambda: SGD([{"params": []}], lr=0.1), ValueError,
     "SGD: params must be one Tensor or more; got none."),
    (lambda: SGD(leaf([1.0]), lr=0.1), TypeError,
     "SGD: params must be an iterable of Tensors or of dicts (parameter groups); got a single "
     "Tensor. Wrap it in a list: SGD([w], ...)."),
    (lambda: SGD([wg.tensor([1, 2])], lr=0.1), TypeError,
     "SGD: params must be floating-point; got dtype int64 in parameter 0 of param group 0. Make "
     "it with dtype=np.float32 or np.float64."),
    (lambda: Adam([np.zeros(2)]), TypeError,
     "Adam: params must be Tensors (objects with an ndarray .data and a .grad) or dicts of "
     "parameter groups; got a ndarray as parameter 0 of param group 0."),
    (lambda: Adam([NoGrad()]), TypeError,
     "Adam: params must be Tensors (objects with an ndarray .data and a .grad) or dicts of "
     "parameter groups; got a NoGrad as parameter 0 of param group 0."),
    (lambda: SGD([{"params": one_param()}, 3], lr=0.1), TypeError,
     "SGD: params must be all Tensors or all dicts (parameter groups); got a int among dicts."),
    (lambda: SGD([{"params": one_param(), "momentom": 0.9}], lr=0.1), ValueError,
     "SGD: a param group's keys must be among ['dampening', 'lr', 'maximize', 'momentum', "
     "'momentum_form', 'nesterov', 'weight_decay']; got 'momentom'."),
    (lambda: SGD([{"params": one_param(), "momentum": 2.0}], lr=0.1), ValueError,
     "SGD: momentum must be a float in [0, 1); got 2.0."),
    (lambda: SGD([{"params": one_param(), "t": -1}], lr=0.1), ValueError,
     "SGD: t must be an int >= 0; got -1."),
    (lambda: SGD((lambda w: [w, w])(leaf([1.0])), lr=0.1), ValueError,
     "SGD: each parameter must be in one group, once; got parameter 1 of param group 0 a "
     "second time."),
]  # fmt: skip


@pytest.mark.parametrize(("make", "error", "message"), BAD_INPUT)
def test_bad_input_is_refused_with_a_message(make, error, message):
    with pytest.raises(error, match=re.escape(message) + "$"):
        make()


def test_a_gradient_of_the_wrong_shape_is_refused_before_any_parameter_moves():
    v, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    opt = SGD([v, w], lr=0.1)
    v.grad, w.grad = np.ones(2), np.ones(3)
    message = (
        r"^SGD\.step: the \.grad of parameter 1 of param group 0 must be of the parameter's "
        r"shape \(2,\); got shape \(3,\)\. Nothing was updated\.$"
    )
    with pytest.raises(ValueError, match=message):
        opt.step()
    assert v.data.tolist() == [1.0, 2.0] and w.data.tolist() == [3.0, 4.0]
    assert opt.param_groups[0]["t"] == 0


@pytest.mark.parametrize("cls", [wg.optim.LBFGS, wg.optim.BFGS, wg.optim.NewtonCG])
@pytest.mark.parametrize("bad_shape", [(3,), (1, 2)], ids=["other size", "same size"])
def test_a_closure_gradient_of_the_wrong_shape_is_refused_before_any_parameter_moves(
    cls, bad_shape
):
    v, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    opt = cls([v, w])

    def closure():
        opt.zero_grad()
        loss = wg.sum(v * v) + wg.sum(w * w)
        loss.backward(create_graph=cls.create_graph)
        w.grad = np.ones(bad_shape)  # (1, 2) has w's size: raveled, it would pass silently
        return loss

    with pytest.raises(ValueError) as caught:
        opt.step(closure)
    assert str(caught.value) == (
        f"{cls.__name__}.step: the .grad of parameter 1 must be of the parameter's shape (2,); "
        f"got shape {bad_shape}. The parameters keep their last accepted values."
    )
    assert v.data.tolist() == [1.0, 2.0] and w.data.tolist() == [3.0, 4.0]
    assert opt.n_iter == 0


# --------------------------------------------------------------------- the fast Adam paths
FAST_CASES = {
    "adam": (Adam, {}),
    "adam_l2_amsgrad": (Adam, {"weight_decay": 0.1, "amsgrad": True}),
    "adamw": (AdamW, {"weight_decay": 0.1}),
    "adamw_amsgrad": (AdamW, {"amsgrad": True, "betas": (0.5, 0.9)}),
}


def fast_vs_plain(cls, kwargs, dtype, fused_flag, steps=6, size=5000):
    rng = np.random.default_rng(7)
    start = rng.normal(size=(size // 50, 50)).astype(dtype)
    grads = [rng.normal(size=start.shape).astype(dtype) for _ in range(steps)]
    # the second half of the steps has tiny gradients, so that AMSGrad's max is exercised
    grads[steps // 2 :] = [g * 1e-3 for g in grads[steps // 2 :]]
    results = []
    for flag in (False, fused_flag):
        w = leaf(start, dtype=dtype)
        opt = cls([w], lr=0.01, fused=flag, **kwargs)
        for g in grads:
            w.grad = g
            opt.step()
        results.append((w.data, opt.state[w]))
    return results


@pytest.mark.parametrize("case", FAST_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_in_place_path_equals_the_plain_rule_bit_for_bit(case, dtype):
    cls, kwargs = FAST_CASES[case]
    assert fused.INPLACE_MIN_SIZE <= 5000  # fused=None takes the in-place path here
    (plain, plain_state), (fast, fast_state) = fast_vs_plain(cls, kwargs, dtype, None)
    np.testing.assert_array_equal(fast, plain)
    for name, value in plain_state.items():
        np.testing.assert_array_equal(fast_state[name], value, err_msg=name)


@pytest.mark.parametrize("case", FAST_CASES)
@pytest.mark.parametrize(("dtype", "rtol"), [(np.float32, 1e-6), (np.float64, 1e-12)])
def test_numexpr_path_equals_the_plain_rule(case, dtype, rtol):
    pytest.importorskip("numexpr")
    cls, kwargs = FAST_CASES[case]
    (plain, plain_state), (fast, fast_state) = fast_vs_plain(cls, kwargs, dtype, True)
    assert fast.dtype == dtype
    np.testing.assert_allclose(fast, plain, rtol=rtol)
    for name in ("exp_avg", "exp_avg_sq"):
        np.testing.assert_allclose(fast_state[name], plain_state[name], rtol=rtol, err_msg=name)
    assert fast_state["step"] == plain_state["step"] == 6


def test_the_path_chosen_for_each_array():
    big, small = np.zeros(fused.INPLACE_MIN_SIZE), np.zeros(fused.INPLACE_MIN_SIZE - 1)
    assert fused.choose(big, big, None) is fused.adam_inplace
    assert fused.choose(small, small, None) is None
    assert fused.choose(big, big, False) is None
    assert fused.choose(small, small, True) is fused.adam_numexpr
    assert fused.choose(big, big.astype(np.float32), None) is None  # mixed dtypes: plain rule
    square = np.zeros((64, 64))
    assert fused.choose(square, square.T, True) is None  # a transposed gradient: plain rule


def test_fused_true_without_numexpr_says_what_to_install(monkeypatch):
    monkeypatch.setattr(fused, "_NUMEXPR", [None])
    with pytest.raises(ImportError, match=r"Adam\(fused=True\) needs numexpr: pip install"):
        Adam(one_param(), fused=True)
    w = leaf(np.ones(fused.INPLACE_MIN_SIZE))
    opt = Adam([w], lr=0.1)  # auto still runs, in place
    w.grad = np.ones(w.data.shape)
    opt.step()
    np.testing.assert_allclose(w.data, 0.9)
