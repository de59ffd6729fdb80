"""Optimizers at three levels: one step against the docstring formula by hand; 20-step PyTorch
trajectories from a committed fixture; convergence on a parabola and on Rosenbrock. Plus
schedules as lr and the two momentum forms. Gradients are written by hand in NumPy: no torch
here. The bookkeeping is in test_optimizer_state.py, refused input in test_optimizer_errors.py,
the fast Adam path in test_optimizer_fast.py, what every registered optimizer gets from its
declarations (maximize, init_state, validation) in test_optimizer_declarations.py.
"""

import math
import re

import numpy as np
import pytest
from optimizer_helpers import leaf, load_fixture, problem_gradient

from wengert import optim
from wengert.optim import SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop, schedules

# The fixture names each optimizer by its class; every registered one without a closure runs.
OPTIMIZERS = {
    cls.__name__: cls
    for cls in optim.OPTIMIZERS.values()
    if not getattr(cls, "needs_closure", False)
}


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
