"""wg.compile_step on numba: the optimizer's update inside the numba program, traced from the
optimizer's own rule, equal to the eager step (loss, weights, optimizer state) for every
optimizer that steps from gradients; the Python parts (schedules, first steps, changed
hyperparameters, load_state_dict) kept; "auto" picks numba; and, without numba, NumPy."""

import sys

import numpy as np
import pytest
import test_compile_step
from test_compile_step import OPTIMIZERS, _assert_runs_equal, _data

import wengert as wg
from wengert.compile import numba_update
from wengert.compile.rule_trace import Untraceable, trace
from wengert.losses import LOSSES
from wengert.optim import SGD, Adam
from wengert.optim.schedules import inverse_sqrt

SPEC = LOSSES["cross_entropy"]


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    """The generated modules and numba's cache in a folder of this test session."""
    monkeypatch.setenv("WENGERT_CACHE", str(tmp_path_factory.getbasetemp() / "wengert-cache"))


def _numba():
    pytest.importorskip("numba")


def _run(backend, make, dtype=np.float64, steps=6):
    """(losses, model state, optimizer state dict, the step or None) after `steps` steps."""
    return test_compile_step._run(backend or False, SPEC, make, dtype, steps)


def _in_numba(step) -> None:
    """The last call ran one numba program with the update in it (a loop writing the state)."""
    assert step.fused.backend == "numba" and step._last is step.fused
    assert "the update runs eagerly" not in step.note
    assert "for _i0 in range(layers_0_weight.shape[0]):" in step.source


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_each_optimizer_updates_inside_numba_and_equals_eager(name, dtype):
    # float64: the numba program's sums round otherwise than NumPy's (1e-12 over 6 steps);
    # float32: a few units of float32's rounding (eps 1.2e-7) from the gradients' sums, which
    # Adam's and RMSprop's division by √v magnify where v is small: rtol 1e-4, atol 1e-5.
    _numba()
    cls, hyper = OPTIMIZERS[name]
    make = lambda p: cls(p, **hyper)
    got, want = _run("numba", make, dtype), _run(None, make, dtype)
    _in_numba(got[3])
    assert got[2]["param_groups"][0]["t"] == 6
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == np.float64 else {"rtol": 1e-4, "atol": 1e-5}
    _assert_runs_equal(got[:3], want[:3], **tol)


def test_adam_in_numba_equals_the_numpy_program_and_keeps_its_arrays():
    _numba()
    make = lambda p: Adam(p, lr=0.01, weight_decay=0.01, amsgrad=True)
    got, want = _run("numba", make), _run("numpy", make)
    _in_numba(got[3])
    assert "_layers_0_weight_max_exp_avg_sq[_i0, _i1] = " in got[3].source
    assert want[3].fused.backend == "numpy"
    _assert_runs_equal(got[:3], want[:3], rtol=1e-10, atol=1e-12)
    step = got[3]
    params = step.params
    arrays = [step.optimizer.state[p]["exp_avg"] for p in params]
    data = [p.data for p in params]
    X, y = _data(SPEC)
    step(X, y)
    assert all(step.optimizer.state[p]["exp_avg"] is a for p, a in zip(params, arrays, strict=True))
    assert all(p.data is a for p, a in zip(params, data, strict=True))
    assert step.optimizer.state[params[0]]["step"] == 7


def test_sgd_momentum_first_step_is_eager_then_numba_and_a_schedule_is_read_each_step():
    # PyTorch's buffer is None before the first step (the rule copies g there): that step is
    # the optimizer's own; every later one runs in numba, with the schedule's lr of its t.
    _numba()
    make = lambda p: SGD(p, lr=inverse_sqrt(0.5), momentum=0.9, dampening=0.1, nesterov=False)
    got, want = _run("numba", make, steps=8), _run(None, make, steps=8)
    _in_numba(got[3])
    _assert_runs_equal(got[:3], want[:3], rtol=1e-10, atol=1e-12)


def test_hyperparameters_changed_by_hand_and_load_state_dict_are_followed():
    # momentum and weight decay set (the program is written again), lr changed (read at each
    # step), load_state_dict (new group dicts and state arrays, read at each call), maximize
    _numba()
    *got, step = test_compile_step._changed_by_hand("numba")
    *want, _ = test_compile_step._changed_by_hand(False)
    _in_numba(step)
    assert "_layers_0_weight_momentum_buffer[_i0, _i1] = " in step.source
    _assert_runs_equal(got, want, rtol=1e-10, atol=1e-12)


def test_a_parameter_with_no_axes_keeps_the_eager_update_with_a_note():
    _numba()
    model = wg.nn.Perceptron(1, bias=True, dtype=np.float64)
    params = model.parameters()
    zero_d = [p for p in params if p.data.ndim == 0]
    if not zero_d:
        pytest.skip("the perceptron's bias has an axis")
    opt = SGD(params, lr=0.1)
    step = wg.compile_step(model, wg.losses.l2, opt, backend="numba")
    step(np.ones((2, 1)), np.ones(2))
    assert "the update runs eagerly: a parameter with no axes" in step.note


def test_auto_picks_numba_for_compile_step():
    _numba()
    got = _run("auto", lambda p: Adam(p, lr=0.01), steps=3)
    _in_numba(got[3])


def test_without_numba_auto_runs_the_step_on_numpy(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba raises ImportError
    make = lambda p: Adam(p, lr=0.01)
    got, want = _run("auto", make, steps=3), _run(None, make, steps=3)
    assert got[3].fused.backend == "numpy"
    assert got[3].note == "numba is not installed: NumPy backend"
    _assert_runs_equal(got[:3], want[:3], rtol=1e-12, atol=1e-12)


def test_the_traced_rule_is_the_optimizers_formula():
    group = Adam([wg.tensor(np.zeros(3), requires_grad=True)], lr=0.1).param_groups[0]
    opt = Adam([wg.tensor(np.zeros(3), requires_grad=True)], lr=0.1)
    record, symbols, d, new, arrays, scalars = numba_update.traced(opt, group, np.dtype("float64"))
    assert arrays == ["exp_avg", "exp_avg_sq"] and scalars == ["step"]
    assert sorted(new) == ["exp_avg", "exp_avg_sq", "step"]
    ops = [op for op, _ in record.nodes if op != "input"]
    assert ops.count("sqrt") == 1 and ops.count("pow") == 3  # β₁ᵏ, β₂ᵏ and the square root's ½
    assert not d.scalar and symbols["state_step"].scalar


def test_a_rule_that_branches_on_a_value_is_untraceable():
    def call(s):
        return s["g"] * 2 if s["g"] else s["g"]

    with pytest.raises(Untraceable, match=r"a branch on a traced value \(bool\(\)\)"):
        trace(["g"], [], call)
    with pytest.raises(Untraceable, match=r"np.cumsum"):
        trace(["g"], [], lambda s: np.cumsum(s["g"]))


def test_a_parameter_that_a_live_graph_holds_read_only_is_updated_as_eagerly():
    _numba()
    runs = test_compile_step._held_read_only("numba"), test_compile_step._held_read_only(False)
    _assert_runs_equal(*runs, rtol=1e-10, atol=1e-12)
