"""Input the second-order optimizers and minimize refuse, and losses that turn non-finite: each
with its message, and nothing changed.
"""

import math
import sys
import warnings

import numpy as np
import pytest
from refusal_helpers import assert_refused
from second_order_helpers import CLASSES, closure_for, rosenbrock

import wengert as wg
from wengert.optim import BFGS, LBFGS, NewtonCG, minimize


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
    assert_refused(make, error, message)


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


def constant_schedule(t):
    """A schedule, which minimize's second-order methods refuse as lr."""
    return 1.0


BAD_MINIMIZE = [
    ({"method": "newton"}, ValueError, "minimize: method must be one of 'adam', 'bfgs', 'gd', "
     "'lbfgs', 'newton-cg'; got 'newton'."),
    ({"method": "lbfgs", "momentum": 0.9}, ValueError, "minimize(method='lbfgs'): each option "
     "must be one of ['history_size', 'line_search', 'lr', 'max_eval', 'tolerance_change']; "
     "got 'momentum'."),
    ({"method": "lbfgs", "history_size": 0}, ValueError, "minimize(method='lbfgs'): "
     "history_size must be an int >= 1; got 0."),
    ({"method": "lbfgs", "lr": constant_schedule}, TypeError, "minimize(method='lbfgs'): lr "
     f"must be a float > 0; got {constant_schedule!r} (function)."),
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
    assert_refused(lambda: minimize(kwargs.pop("f"), kwargs.pop("x0"), **kwargs), error, message)


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
