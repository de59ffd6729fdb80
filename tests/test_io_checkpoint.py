"""Checkpoints: a restored optimizer continues the same trajectory, mismatches and malformed
optimizer state are refused by name."""

import json

import numpy as np
import pytest
from io_helpers import edited_file

import wengert as wg
from wengert import io
from wengert.losses import mse
from wengert.nn import MLP
from wengert.optim import LBFGS, SGD, Adam
from wengert.optim.schedules import inverse_sqrt


# ----------------------------------------------------------------------- optimizer state
def _problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 3))
    return X, X @ np.array([1.0, -2.0, 0.5]) + 0.3


def _steps(model, opt, n):
    X, y = _problem()

    def closure():
        opt.zero_grad()
        loss = mse(model(X)[:, 0], y)
        loss.backward()
        return loss

    for _ in range(n):
        if getattr(opt, "needs_closure", False):
            opt.step(closure)
        else:
            closure()
            opt.step()


OPTIMIZERS = {
    "adam_schedule": lambda ps: Adam(ps, lr=inverse_sqrt(0.05)),
    "adam_amsgrad": lambda ps: Adam(ps, lr=0.01, amsgrad=True),
    "sgd_momentum": lambda ps: SGD(ps, lr=0.01, momentum=0.9, nesterov=True),
    "lbfgs": lambda ps: LBFGS(ps, history_size=3),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_a_checkpoint_continues_the_same_trajectory(tmp_path, name):
    make = OPTIMIZERS[name]
    model = MLP([3, 4, 1], activation="tanh", dtype=np.float64, seed=0)
    opt = make(model.parameters())
    _steps(model, opt, 5)
    io.save_checkpoint(tmp_path / "c.safetensors", model, opt, epoch=5, step=5)
    _steps(model, opt, 7)

    fresh = MLP([3, 4, 1], activation="tanh", dtype=np.float64, seed=99)
    fresh_opt = make(fresh.parameters())
    ckpt = io.load_checkpoint(tmp_path / "c.safetensors", fresh, fresh_opt)
    assert (ckpt.epoch, ckpt.step, ckpt.model) == (5, 5, fresh)
    assert fresh_opt.param_groups[0]["t"] == 5
    _steps(fresh, fresh_opt, 7)
    for p, q in zip(model.parameters(), fresh.parameters(), strict=True):
        assert np.array_equal(p.data, q.data)


def test_save_with_optimizer_and_history_loads_as_a_model(tmp_path):
    model = MLP([3, 2, 1], seed=0)
    opt = Adam(model.parameters())
    history = wg.History(step_loss=[1.0, 0.5], epoch_loss=[0.75])
    io.save(model, tmp_path / "m.safetensors", optimizer=opt, history=history)
    assert isinstance(io.load(tmp_path / "m.safetensors"), MLP)
    assert io.load_checkpoint(tmp_path / "m.safetensors").history == history


CHECKPOINT_MISMATCHES = [
    (lambda m: MLP([3, 5, 1], seed=0), None, r"model.config.sizes\[1\] is 4 in the file, 5"),
    (lambda m: MLP([3, 4, 1], activation="tanh"), None, "config.activation is 'relu' in"),
    (lambda m: m, lambda ps: SGD(ps, lr=0.1), "optimizer.class is 'Adam' in the file, 'SGD'"),
    (
        lambda m: m,
        lambda ps: Adam(ps, lr=inverse_sqrt(0.2)),
        r"param_groups\[0\].lr.params.eta0 is 0.1 in the file, 0.2 here",
    ),
    (lambda m: m, lambda ps: Adam(ps, lr=0.1), r"lr is \{'schedule'.* in the file, 0.1 here"),
]


@pytest.mark.parametrize(("model_fn", "opt_fn", "match"), CHECKPOINT_MISMATCHES)
def test_restoring_into_a_different_model_or_optimizer_is_refused(
    tmp_path, model_fn, opt_fn, match
):
    model = MLP([3, 4, 1], seed=0)
    io.save_checkpoint(
        tmp_path / "c.safetensors", model, Adam(model.parameters(), lr=inverse_sqrt(0.1))
    )
    target = model_fn(MLP([3, 4, 1], seed=1))
    before = [p.data.copy() for p in target.parameters()]
    opt = None if opt_fn is None else opt_fn(target.parameters())
    with pytest.raises(ValueError, match=match):
        io.load_checkpoint(tmp_path / "c.safetensors", target, opt)
    if opt_fn is not None:
        assert opt.param_groups[0]["t"] == 0 and opt.state == {}
    assert all(np.array_equal(a, p.data) for a, p in zip(before, target.parameters(), strict=True))


def test_a_plain_function_as_learning_rate_cannot_be_checkpointed(tmp_path):
    model = MLP([3, 4, 1], seed=0)
    opt = SGD(model.parameters(), lr=lambda t: 0.1)
    message = (
        r"^save_checkpoint: hyperparameter 'lr' of param group 0 must be a number or a "
        r"wengert\.optim\.schedules schedule \(a checkpoint stores data, never code\); "
        r"got <function .*\(function\)\.$"
    )
    with pytest.raises(TypeError, match=message):
        io.save_checkpoint(tmp_path / "c.safetensors", model, opt)
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------- checkpoint fields
def _adam_checkpoint(tmp_path, dtype=np.float64):
    model = MLP([2, 3, 1], dtype=dtype, seed=0)
    opt = Adam(model.parameters(), lr=0.01)
    X = np.random.default_rng(0).normal(size=(8, 2))
    for _ in range(2):
        opt.zero_grad()
        mse(model(X), X[:, :1]).backward()
        opt.step()
    loader = wg.data.DataLoader(X, X[:, 0], batch_size=4, seed=3)
    history = wg.History(step_loss=[1.0, 0.5], lr=[0.01, 0.01], epoch_loss=[0.75])
    kwargs = {"history": history, "epoch": 1, "step": 2, "loader": loader}
    return model, opt, kwargs


def _fresh(dtype=np.float64):
    model = MLP([2, 3, 1], dtype=dtype, seed=9)
    return model, Adam(model.parameters(), lr=0.01)


def _edit_state(edit):
    def header_edit(header):
        state = json.loads(header["__metadata__"]["state"])
        header["__metadata__"]["state"] = json.dumps(edit(state))

    return header_edit


def _setter(*keys, value):
    def edit(state):
        target = state
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
        return state

    return edit


STATE_EDITS = [
    ("null", lambda state: None, r"__metadata__\['state'\] must hold a JSON object; got NoneType"),
    ("list", lambda state: [], r"__metadata__\['state'\] must hold a JSON object; got list"),
    ("number", lambda state: 1, r"__metadata__\['state'\] must hold a JSON object; got int"),
    ("no_keys", lambda state: {}, "the checkpoint state must be an object with the keys"),
    ("epoch", _setter("epoch", value=-1), "state.epoch must be an int >= 0; got -1"),
    ("step", _setter("step", value="2"), "state.step must be an int >= 0; got '2'"),
    ("history", _setter("history", value=[]), "state.history must be an object with the keys"),
    (
        "step_loss",
        _setter("history", "step_loss", value="abc"),
        "state.history.step_loss must be a list of numbers; got 'abc'",
    ),
    (
        "best_epoch",
        _setter("history", "best_epoch", value="1"),
        "state.history.best_epoch must be null or an int >= 0",
    ),
    ("loader_epoch", _setter("loader", "epoch", value=1.5), "state.loader.epoch must be an int"),
    ("loader_rng", _setter("loader", "rng", value={"x": 1}), "state.loader.rng must be a PCG64"),
    (
        "shuffle",
        _setter("loader", "shuffle", value=1),
        "state.loader.shuffle must be true or false",
    ),
    (
        "group_t",
        _setter("optimizer", "param_groups", 0, "t", value=-2),
        r"state.optimizer.param_groups\[0\].t must be an int >= 0; got -2",
    ),
    (
        "adam_step",
        _setter("optimizer", "state", "0", "dict", "step", value="two"),
        r"state.optimizer.state.0.step must be a tensor reference, a number or null",
    ),
    (
        "adam_step_float",
        _setter("optimizer", "state", "0", "dict", "step", value=2.5),
        "optimizer state 'step' of parameter 0 must be an int >= 0; got 2.5",
    ),
    (
        "missing_tensor",
        _setter("optimizer", "state", "0", "dict", "exp_avg", value={"tensor": "nope"}),
        "names tensor 'nope', which the file lacks",
    ),
]


@pytest.mark.parametrize(("kind", "edit", "match"), STATE_EDITS, ids=[e[0] for e in STATE_EDITS])
def test_malformed_checkpoint_fields_are_refused_by_name(tmp_path, kind, edit, match):
    model, opt, kwargs = _adam_checkpoint(tmp_path)
    path = edited_file(tmp_path, _edit_state(edit), model, optimizer=opt, **kwargs)
    with pytest.raises(io.ModelFileError, match=match):
        io.load_checkpoint(path)
    fresh, fresh_opt = _fresh()
    before = fresh.state_dict()
    with pytest.raises(io.ModelFileError, match=match):
        io.load_checkpoint(path, fresh, fresh_opt)
    assert all(np.array_equal(before[k], v) for k, v in fresh.state_dict().items())
    assert fresh_opt.state == {}


@pytest.mark.parametrize(
    ("dtype", "was", "now"), [(np.float64, "F64", "I64"), (np.float32, "F32", "I32")]
)
def test_an_optimizer_tensor_whose_dtype_changed_is_refused(tmp_path, dtype, was, now):
    model, opt, kwargs = _adam_checkpoint(tmp_path, dtype)

    def edit(header):
        assert header["optimizer.0.exp_avg"]["dtype"] == was
        header["optimizer.0.exp_avg"]["dtype"] = now

    path = edited_file(tmp_path, edit, model, optimizer=opt, **kwargs)
    fresh, fresh_opt = _fresh(dtype)
    with pytest.raises(io.ModelFileError, match=r"tensor 'optimizer\.0\.exp_avg' must be floating"):
        io.load_checkpoint(path, fresh, fresh_opt)
    assert fresh_opt.state == {}


def test_an_optimizer_tensor_of_another_float_dtype_is_refused(tmp_path):
    model, opt, kwargs = _adam_checkpoint(tmp_path, np.float32)
    state = opt.state_dict()
    state["state"][0]["exp_avg"] = state["state"][0]["exp_avg"].astype(np.float64)
    opt.load_state_dict(state)  # cast back to float32 by the optimizer: write it by hand
    opt.state[model.parameters()[0]]["exp_avg"] = state["state"][0]["exp_avg"]
    io.save_checkpoint(tmp_path / "c.safetensors", model, opt, **kwargs)
    fresh, fresh_opt = _fresh(np.float32)
    with pytest.raises(io.ModelFileError, match=r"'exp_avg' of parameter 0 is float64\[2, 3\]"):
        io.load_checkpoint(tmp_path / "c.safetensors", fresh, fresh_opt)
