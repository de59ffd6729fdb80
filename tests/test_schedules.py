"""Learning-rate schedules against tables of values worked out by hand, their refused input, and
the ReduceOnPlateau callback driven by a stand-in training run.
"""

import math
import pickle
import re
from types import SimpleNamespace

import numpy as np
import pytest
from refusal_helpers import assert_refused

import wengert as wg
from wengert.optim import SGD, ReduceOnPlateau, schedules
from wengert.optim.schedules import (
    constant,
    cosine,
    exponential,
    inverse_scaling,
    inverse_sqrt,
    step_decay,
    warmup,
)

COS_QUARTER = (1 + math.cos(math.pi / 4)) / 2  # 0.8535..., the cosine a quarter of the way

# (schedule, {t: η_t}), every value by hand from the docstring's formula
TABLE = [
    (constant(0.1), {1: 0.1, 2: 0.1, 1000: 0.1}),
    (inverse_sqrt(0.5), {1: 0.5, 4: 0.25, 100: 0.05}),
    (inverse_scaling(1.0, power_t=0.25), {1: 1.0, 16: 0.5, 81: 1 / 3}),
    (inverse_scaling(2.0), {1: 2.0, 4: 1.0, 25: 0.4}),
    (step_decay(1.0, step_size=3, gamma=0.5), {1: 1.0, 3: 1.0, 4: 0.5, 6: 0.5, 7: 0.25}),
    (step_decay(0.1, step_size=1), {1: 0.1, 2: 0.01, 3: 0.001}),
    (exponential(2.0, gamma=0.5), {1: 2.0, 2: 1.0, 4: 0.25}),
    (
        cosine(1.0, total_steps=4),
        {1: 1.0, 2: COS_QUARTER, 3: 0.5, 4: 1 - COS_QUARTER, 5: 0.0, 9: 0.0},
    ),
    (cosine(1.0, total_steps=4, eta_min=0.2), {1: 1.0, 3: 0.6, 5: 0.2, 50: 0.2}),
    (warmup(constant(1.0), warmup_steps=4), {1: 0.25, 2: 0.5, 4: 1.0, 10: 1.0}),
    (warmup(constant(1.0), warmup_steps=4, start_factor=0.2), {1: 0.4, 4: 1.0}),
    (warmup(inverse_sqrt(1.0), warmup_steps=4), {1: 0.25, 4: 0.5, 16: 0.25}),
    (warmup(0.1, warmup_steps=2), {1: 0.05, 2: 0.1, 3: 0.1}),
    (warmup(cosine(1.0, 4), 2), {1: 0.5, 2: COS_QUARTER, 3: 0.5}),
]


@pytest.mark.parametrize(("schedule", "expected"), TABLE, ids=[repr(s) for s, _ in TABLE])
def test_schedule_values(schedule, expected):
    for t, eta in expected.items():
        assert schedule(t) == pytest.approx(eta, rel=1e-14, abs=1e-15), f"t={t}"
        assert type(schedule(t)) is float


def test_schedules_print_as_their_call_and_pickle():
    s = warmup(cosine(0.1, 100), 10)
    assert repr(s) == (
        "warmup(schedule=cosine(eta0=0.1, total_steps=100, eta_min=0.0), warmup_steps=10, "
        "start_factor=0.0)"
    )
    assert repr(inverse_sqrt(0.5)) == "inverse_sqrt(eta0=0.5)"
    again = pickle.loads(pickle.dumps(s))
    assert [again(t) for t in range(1, 120)] == [s(t) for t in range(1, 120)]


def test_a_schedule_starts_at_step_one():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "inverse_sqrt(eta0=1.0): the step t must be an int >= 1 (t = 1, 2, ...); got 0."
        ),
    ):
        inverse_sqrt(1.0)(0)


BAD = [
    (lambda: constant(0), ValueError, "constant: eta0 must be a float > 0; got 0."),
    (lambda: inverse_scaling(1.0, power_t=-0.5), ValueError,
     "inverse_scaling: power_t must be a float >= 0; got -0.5."),
    (lambda: step_decay(1.0, step_size=0), ValueError,
     "step_decay: step_size must be an int >= 1; got 0."),
    (lambda: step_decay(1.0, step_size=2.5), TypeError,
     "step_decay: step_size must be an int >= 1; got 2.5."),
    (lambda: constant(True), TypeError, "constant: eta0 must be a float > 0; got True (bool)."),
    (lambda: step_decay(1.0, step_size=2.0), TypeError,
     "step_decay: step_size must be an int >= 1; got 2.0. Pass 2 (an int)."),
    (lambda: step_decay(1.0, 2, gamma=1.5), ValueError,
     "step_decay: gamma must be a float in (0, 1]; got 1.5."),
    (lambda: exponential(1.0, gamma=0.0), ValueError,
     "exponential: gamma must be a float in (0, 1]; got 0.0."),
    (lambda: inverse_sqrt(-1.0), ValueError, "inverse_sqrt: eta0 must be a float > 0; got -1.0."),
    (lambda: cosine(1.0, total_steps=0), ValueError,
     "cosine: total_steps must be an int >= 1; got 0."),
    (lambda: cosine(1.0, 10, eta_min=1.5), ValueError,
     "cosine: eta_min must be a float in [0, 1]; got 1.5."),
    (lambda: warmup(constant(1.0), warmup_steps=0), ValueError,
     "warmup: warmup_steps must be an int >= 1; got 0."),
    (lambda: warmup(constant(1.0), 5, start_factor=2.0), ValueError,
     "warmup: start_factor must be a float in [0, 1]; got 2.0."),
    (lambda: warmup("fast", 5), TypeError,
     "warmup: schedule must be a float > 0 or a schedule (a callable of the step t); got 'fast'."),
    (lambda: ReduceOnPlateau(factor=1.0), ValueError,
     "ReduceOnPlateau: factor must be a float in (0, 1); got 1.0."),
    (lambda: ReduceOnPlateau(patience=0), ValueError,
     "ReduceOnPlateau: patience must be an int >= 1; got 0."),
    (lambda: ReduceOnPlateau(tol=-1.0), ValueError,
     "ReduceOnPlateau: tol must be a float >= 0; got -1.0."),
    (lambda: ReduceOnPlateau(min_lr=-1e-3), ValueError,
     "ReduceOnPlateau: min_lr must be a float >= 0; got -0.001."),
    (lambda: ReduceOnPlateau(monitor="accuracy"), ValueError,
     "ReduceOnPlateau: monitor must be one of 'loss', 'val_loss'; got 'accuracy'."),
]  # fmt: skip


@pytest.mark.parametrize(("make", "error", "message"), BAD)
def test_bad_schedule_arguments_are_refused(make, error, message):
    assert_refused(make, error, message)


def test_an_optimizer_runs_a_schedule_with_t_counting_its_steps():
    w = wg.tensor([0.0], requires_grad=True)
    opt = SGD([w], lr=step_decay(1.0, step_size=2, gamma=0.5))
    for _ in range(5):
        w.grad = np.array([-1.0])
        opt.step()
    np.testing.assert_allclose(w.data, [1 + 1 + 0.5 + 0.5 + 0.25])


# --------------------------------------------------------------------- ReduceOnPlateau
def stand_in_run(lr=0.1, groups=1):
    params = [{"params": [wg.tensor([1.0], requires_grad=True)]} for _ in range(groups)]
    history = SimpleNamespace(epoch_loss=[], val_loss=[])
    return SimpleNamespace(history=history, optimizer=SGD(params, lr=lr))


def feed(callback, run, losses, key="epoch_loss"):
    for loss in losses:
        getattr(run.history, key).append(loss)
        callback.on_epoch_end(run)


def test_plateau_divides_by_five_after_two_epochs_without_improvement():
    run = stand_in_run(lr=0.1)
    plateau = ReduceOnPlateau()
    # epochs 3 and 4 do not improve on 0.5 by tol = 1e-4 (0.49995 > 0.5 - 1e-4); 6 and 7 neither
    feed(plateau, run, [1.0, 0.5, 0.5, 0.49995, 0.3, 0.3, 0.3, 0.3])
    assert run.optimizer.param_groups[0]["lr"] == pytest.approx(0.1 / 25)
    assert [(c["epoch"], c["group"]) for c in plateau.changes] == [(4, 0), (7, 0)]
    assert [c["new"] for c in plateau.changes] == pytest.approx([0.02, 0.004])
    assert plateau.best == 0.3 and plateau.bad_epochs == 1


def test_plateau_stops_at_min_lr_and_scales_every_group():
    run = stand_in_run(lr=0.1, groups=2)
    plateau = ReduceOnPlateau(factor=0.5, patience=1, min_lr=0.03)
    feed(plateau, run, [1.0, 1.0, 1.0, 1.0, 1.0])
    assert [g["lr"] for g in run.optimizer.param_groups] == [0.03, 0.03]
    assert [c["new"] for c in plateau.changes] == [0.05, 0.05, 0.03, 0.03]  # then no change


def test_plateau_wraps_a_schedule_and_keeps_one_wrapper():
    run = stand_in_run(lr=inverse_sqrt(1.0))
    plateau = ReduceOnPlateau(patience=1)
    feed(plateau, run, [1.0, 2.0])
    lr = run.optimizer.param_groups[0]["lr"]
    assert lr(4) == pytest.approx(0.2 * 0.5)
    feed(plateau, run, [2.0])
    lr = run.optimizer.param_groups[0]["lr"]
    assert lr(4) == pytest.approx(0.04 * 0.5)
    assert repr(lr).startswith("scaled(schedule=inverse_sqrt(eta0=1.0), factor=0.04")
    run.optimizer.param_groups[0]["params"][0].grad = np.array([1.0])
    run.optimizer.step()  # the optimizer takes the wrapped schedule's value at t = 1
    np.testing.assert_allclose(run.optimizer.param_groups[0]["params"][0].data, [1 - 0.04])


def test_plateau_counts_a_nan_loss_as_no_improvement():
    run = stand_in_run()
    plateau = ReduceOnPlateau()
    feed(plateau, run, [1.0, math.nan, math.nan])
    assert run.optimizer.param_groups[0]["lr"] == pytest.approx(0.02)
    assert plateau.best == 1.0


def test_plateau_on_validation_loss():
    run = stand_in_run()
    plateau = ReduceOnPlateau(monitor="val_loss")
    run.history.epoch_loss.extend([3.0, 2.0, 1.0])  # falling, but not what is watched
    feed(plateau, run, [1.0, 1.0, 1.0], key="val_loss")
    assert run.optimizer.param_groups[0]["lr"] == pytest.approx(0.02)


def test_plateau_on_validation_loss_needs_validation_data():
    run = stand_in_run()
    run.history.epoch_loss.append(1.0)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "ReduceOnPlateau(monitor='val_loss'): the history's val_loss must be non-empty; got "
            "none. Give fit() validation data, or use monitor='loss'."
        ),
    ):
        ReduceOnPlateau(monitor="val_loss").on_epoch_end(run)


def test_schedules_module_lists_its_names():
    assert set(schedules.__all__) == {
        "ReduceOnPlateau",
        "Schedule",
        "constant",
        "cosine",
        "exponential",
        "inverse_scaling",
        "inverse_sqrt",
        "step_decay",
        "warmup",
    }
