"""wg.compile_step and fit(compile=True): the compiled training step equals the eager one (loss,
weights, optimizer state) for every optimizer and trainable loss, keeps fit's History, resume,
schedules and guard, refuses L-BFGS, and reads parameters at each call (never stale)."""

import numpy as np
import pytest

import wengert as wg
from wengert.losses import LOSSES, cross_entropy, mse
from wengert.nn import MLP
from wengert.optim import LBFGS, SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop
from wengert.optim.schedules import inverse_sqrt

OPTIMIZERS = {
    "sgd": (SGD, {"lr": 0.1}),
    "momentum": (SGD, {"lr": 0.1, "momentum": 0.9, "dampening": 0.1}),
    "nesterov": (SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    "lecture momentum": (SGD, {"lr": 0.1, "momentum": 0.9, "momentum_form": "lecture"}),
    "weight decay": (SGD, {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.01}),
    "maximize": (SGD, {"lr": 0.01, "maximize": True}),
    "adagrad": (Adagrad, {"lr": 0.1, "weight_decay": 0.01}),
    "adadelta": (Adadelta, {"lr": 1.0}),
    "rmsprop centered": (RMSprop, {"lr": 0.01, "centered": True}),
    "rmsprop momentum": (RMSprop, {"lr": 0.01, "momentum": 0.9}),
    "adam": (Adam, {"lr": 0.01}),
    "adamw": (AdamW, {"lr": 0.01, "weight_decay": 0.1}),
    "amsgrad": (Adam, {"lr": 0.01, "amsgrad": True, "maximize": True}),
}


def _data(spec, dtype=np.float64, n=16):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(n, 3)).astype(dtype)
    kind = spec.targets[0]
    if kind == "argmax":
        return X, rng.integers(0, 3, n)
    if kind == "value":
        return X, rng.normal(size=(n, 1)).astype(dtype)
    return X, rng.choice([-1.0, 1.0] if kind == "sign" else [0.0, 1.0], (n, 1)).astype(dtype)


def _model(spec, dtype=np.float64):
    return MLP([3, 5, 3 if spec.several_outputs else 1], activation="tanh", seed=0, dtype=dtype)


def _compiled(compiled, model, loss, optimizer):
    """compile_step's step where `compiled` is True (on backend "numpy") or a backend's name."""
    if not compiled:
        return None
    backend = compiled if isinstance(compiled, str) else "numpy"
    return wg.compile_step(model, loss, optimizer, backend=backend)


def _eager_step(model, loss, optimizer, X, y) -> float:
    """One eager step: zero_grad, forward, backward, optimizer.step(); the loss."""
    optimizer.zero_grad()
    value = loss(model(X), y)
    value.backward()
    optimizer.step()
    return float(value.data)


def _run(compiled, spec, make_optimizer, dtype=np.float64, steps=20):
    """(losses, model state, optimizer state dict, the step) after `steps` steps, eager (False)
    or compiled (`_compiled`)."""
    X, y = _data(spec, dtype)
    model = _model(spec, dtype)
    optimizer = make_optimizer(model.parameters())
    step = _compiled(compiled, model, spec.function, optimizer)
    losses = []
    for _ in range(steps):
        if compiled:
            losses.append(step(X, y))
            continue
        losses.append(_eager_step(model, spec.function, optimizer, X, y))
    return losses, model.state_dict(), optimizer.state_dict(), step


def _assert_runs_equal(got, want, rtol, atol):
    np.testing.assert_allclose(got[0], want[0], rtol=rtol, atol=atol)
    assert got[1].keys() == want[1].keys()
    for name in want[1]:
        np.testing.assert_allclose(got[1][name], want[1][name], rtol=rtol, atol=atol)
    state, groups = got[2], want[2]
    assert [g["t"] for g in state["param_groups"]] == [g["t"] for g in groups["param_groups"]]
    assert state["state"].keys() == groups["state"].keys()
    for index, entries in groups["state"].items():
        assert state["state"][index].keys() == entries.keys()
        for key, value in entries.items():
            if isinstance(value, np.ndarray):
                np.testing.assert_allclose(state["state"][index][key], value, rtol=rtol, atol=atol)
            else:
                assert state["state"][index][key] == value  # the int "step"


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_each_optimizer_compiled_equals_eager_in_float64(name):
    cls, hyper = OPTIMIZERS[name]
    spec = LOSSES["cross_entropy"]
    got = _run(True, spec, lambda p: cls(p, **hyper))
    want = _run(False, spec, lambda p: cls(p, **hyper))
    assert got[2]["param_groups"][0]["t"] == 20
    _assert_runs_equal(got, want, rtol=1e-12, atol=1e-12)


TRAINABLE = [n for n, spec in LOSSES.items() if spec.trainable]


@pytest.mark.parametrize("name", TRAINABLE)
def test_each_trainable_loss_compiled_equals_eager_in_float64(name):
    spec = LOSSES[name]
    make = lambda p: Adam(p, lr=0.01)
    _assert_runs_equal(_run(True, spec, make), _run(False, spec, make), rtol=1e-12, atol=1e-12)


def test_float32_compiled_equals_eager_to_float32_rounding():
    # The program may write a rule as an inline expression (`t_bar / 8`) whose operations come
    # in another order than the eager rule's, so the promise in float32 is agreement to a few
    # units of its rounding (eps = 1.2e-7), not bit for bit; 20 steps of Adam may add up a few
    # such roundings, hence rtol 1e-5 and atol 1e-6 for values near 0.
    spec = LOSSES["cross_entropy"]
    make = lambda p: Adam(p, lr=0.01)
    got = _run(True, spec, make, dtype=np.float32)
    want = _run(False, spec, make, dtype=np.float32)
    assert got[1]["layers.0.weight"].dtype == np.float32
    _assert_runs_equal(got, want, rtol=1e-5, atol=1e-6)


def test_the_update_is_in_place_and_a_schedule_is_read_at_each_step():
    spec = LOSSES["cross_entropy"]
    make = lambda p: SGD(p, lr=inverse_sqrt(0.5), momentum=0.9)
    X, y = _data(spec)
    model = _model(spec)
    arrays = [p.data for p in model.parameters()]
    optimizer = make(model.parameters())
    step = wg.compile_step(model, cross_entropy, optimizer, backend="numpy")
    for _ in range(20):
        step(X, y)
    assert all(p.data is a for p, a in zip(model.parameters(), arrays, strict=True))
    assert optimizer.param_groups[0]["t"] == 20
    buffer = optimizer.state[model.parameters()[0]]["momentum_buffer"]
    _assert_runs_equal(_run(True, spec, make), _run(False, spec, make), rtol=1e-12, atol=1e-12)
    assert buffer is optimizer.state[model.parameters()[0]]["momentum_buffer"]


def test_lbfgs_is_refused_with_what_to_do():
    model = MLP([3, 2], seed=0)
    with pytest.raises(TypeError) as info:
        wg.compile_step(model, cross_entropy, LBFGS(model.parameters()))
    assert str(info.value) == (
        "compile_step: optimizer must be one that steps from the gradients (SGD, Adagrad, "
        "Adadelta, RMSprop, Adam, AdamW); got LBFGS, whose step re-evaluates the loss through "
        "a closure. Train it eagerly: optimizer.step(closure), or fit(..., compile=False)."
    )
    X, y = _data(LOSSES["cross_entropy"], np.float32)
    with pytest.raises(TypeError, match="compile_step: optimizer must be one that steps"):
        wg.fit(model, cross_entropy, LBFGS(model.parameters()), (X, y), compile=True)


def test_fit_compiled_gives_the_eager_history_and_resumes_bit_for_bit(tmp_path):
    spec = LOSSES["cross_entropy"]
    X, y = _data(spec, n=40)

    def fit(compile, epochs, **kwargs):
        model = _model(spec)
        opt = Adam(model.parameters(), lr=inverse_sqrt(0.05))
        history = wg.fit(
            model, cross_entropy, opt, (X, y), epochs=epochs, batch_size=16, seed=5,
            progress=False, metrics=["accuracy"], val_data=(X[:10], y[:10]),
            compile=compile, clip_grad_norm=0.5, **kwargs,
        )  # fmt: skip
        return history.as_dict(), model.state_dict(), opt.state_dict()

    eager = fit(False, 4)
    compiled = fit(True, 4)
    assert compiled[0].keys() == eager[0].keys()
    for key, value in eager[0].items():
        if isinstance(value, list):
            np.testing.assert_allclose(compiled[0][key], value, rtol=1e-12, atol=1e-12)
    _assert_runs_equal(
        (compiled[0]["step_loss"], compiled[1], compiled[2]),
        (eager[0]["step_loss"], eager[1], eager[2]),
        rtol=1e-12,
        atol=1e-12,
    )
    fit(True, 2, checkpoint_dir=tmp_path)
    resumed = fit(True, 4, checkpoint_dir=tmp_path, resume=True)
    assert resumed[0] == compiled[0]
    for name, value in compiled[1].items():
        np.testing.assert_array_equal(resumed[1][name], value)


def test_fit_compiled_stops_at_a_non_finite_loss_as_eager_does():
    spec = LOSSES["mse"]
    X, y = _data(spec, n=32)
    reasons = []
    for compile in (False, True):
        model = _model(spec)
        with pytest.warns(wg.train.NonFiniteLossWarning):
            history = wg.fit(
                model, mse, SGD(model.parameters(), lr=1e3), (X, y * 1e150), epochs=3,
                batch_size=8, seed=0, progress=False, compile=compile,
            )  # fmt: skip
        reasons.append((history.stop_reason, history.nonfinite))
        assert all(np.isfinite(v).all() for v in model.state_dict().values())
    assert reasons[1] == reasons[0]
    assert reasons[0][0] == "non-finite loss (inf) at epoch 1, step 3"


def test_fit_compile_must_be_a_bool():
    model = MLP([3, 2], seed=0)
    X, y = _data(LOSSES["cross_entropy"], np.float32)
    with pytest.raises(TypeError, match="fit: compile must be "):
        wg.fit(model, cross_entropy, SGD(model.parameters(), lr=0.1), (X, y), compile="yes")


def test_a_compiled_function_reads_the_parameters_it_closes_over_at_each_call():
    model = MLP([3, 4, 3], seed=0, dtype=np.float64)
    X, y = _data(LOSSES["cross_entropy"])
    forward = wg.compile(lambda x: model(x), backend="numpy")  # equal bits: NumPy
    before = forward(X)
    np.testing.assert_array_equal(before, model(X).data)
    optimizer = SGD(model.parameters(), lr=0.5)
    cross_entropy(model(X), y).backward()
    optimizer.step()  # one eager step moves the weights in place
    after = forward(X)
    assert np.abs(after - before).max() > 1e-3
    np.testing.assert_array_equal(after, model(X).data)
    weight = model.parameters()[0]
    weight.data = weight.data * 2.0  # a new array in .data
    np.testing.assert_array_equal(forward(X), model(X).data)
    assert forward.cache_size() == 1
    weight.data = np.ones((3, 4), np.float32)  # another dtype: traced again
    np.testing.assert_allclose(forward(X), model(X).data, rtol=1e-6)
    assert "linear(x, layers_0_weight" not in forward.source  # its names are f's: p, p_2, ...


def test_a_compiled_step_reads_a_replaced_parameter_and_retraces_for_a_new_shape():
    spec = LOSSES["cross_entropy"]
    X, y = _data(spec)
    model = _model(spec)
    optimizer = SGD(model.parameters(), lr=0.1)
    step = wg.compile_step(model, cross_entropy, optimizer, backend="numpy")
    step(X, y)
    first = model.parameters()[0]
    first.data = np.zeros_like(first.data)  # a new array: the program must read it
    expected = float(cross_entropy(model(X), y).data)
    assert step(X, y) == expected
    assert np.abs(first.data).max() > 0  # the update went into the new array
    assert "def train_step(X, y, layers_0_weight, layers_0_bias," in step.source
    step(X[:5], y[:5])  # a smaller batch: a second program
    assert step.fused.cache_size() == 2


def test_a_constant_computed_from_a_parameters_data_is_refused_and_the_parameter_kept():
    model = MLP([3, 4, 3], seed=0, dtype=np.float64)
    weight = model.parameters()[0]
    array, values = weight.data, weight.data.copy()
    scaled = wg.compile(lambda x: model(x) * float(np.abs(weight.data).mean()))
    with pytest.raises(ValueError, match=r"compile: operand 1 of step 4, `t4 = t3 \* 0\.86"):
        scaled(np.ones((2, 3)))  # probed at other weights, where the constant differs
    assert weight.data is array  # the probes put the parameter's own array back
    np.testing.assert_array_equal(weight.data, values)


def test_the_update_is_written_into_the_program_and_grad_is_left_as_eager_leaves_it():
    spec = LOSSES["cross_entropy"]
    X, y = _data(spec)
    models = [_model(spec), _model(spec)]
    plain = wg.compile_step(
        models[0], cross_entropy, SGD(models[0].parameters(), lr=0.1), backend="numpy"
    )
    assert plain(X, y) == float(cross_entropy(models[1](X), y).data)
    assert "    layers_0_weight -= lr0 * layers_0_weight_bar\n" in plain.source
    assert '    lr0 = group0["lr"]\n' in plain.source
    assert (
        "if type(lr0) is not float: lr0 = lr_at(lr0, group0[\"t\"] + 1, 0, 'SGD')" in plain.source
    )
    eager = SGD(models[1].parameters(), lr=0.1)
    cross_entropy(models[1](X), y).backward()
    eager.step()
    for p, q in zip(models[0].parameters(), models[1].parameters(), strict=True):
        np.testing.assert_array_equal(p.grad, q.grad)
        np.testing.assert_array_equal(p.data, q.data)
    adam = wg.compile_step(
        models[0], cross_entropy, Adam(models[0].parameters(), lr=0.1), backend="numpy"
    )
    adam(X, y)
    assert "layers_0_weight_d, layers_0_weight_new = direction(layers_0_weight" in adam.source


def _changed_by_hand(compiled):
    """Losses of 12 steps whose hyperparameters and state are changed by hand along the way."""
    spec = LOSSES["cross_entropy"]
    X, y = _data(spec)
    model = _model(spec)
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.5)
    step = _compiled(compiled, model, cross_entropy, optimizer)
    losses = []
    for k in range(12):
        if k == 3:
            optimizer.param_groups[0]["momentum"] = 0.9
            optimizer.param_groups[0]["weight_decay"] = 0.01
        if k == 5:
            optimizer.param_groups[0]["lr"] = 0.05  # read at each step, no new program
        if k == 7:
            optimizer.load_state_dict(optimizer.state_dict())  # new group dicts
        if k == 9:
            optimizer.param_groups[0]["maximize"] = True
        if compiled:
            losses.append(step(X, y))
            continue
        losses.append(_eager_step(model, cross_entropy, optimizer, X, y))
    return losses, model.state_dict(), optimizer.state_dict(), step


def test_hyperparameters_changed_by_hand_write_the_update_again_and_equal_eager():
    *got, step = _changed_by_hand(True)
    *want, _ = _changed_by_hand(False)
    _assert_runs_equal(got, want, rtol=1e-12, atol=1e-12)
    assert got[2]["param_groups"][0]["t"] == 12
    assert "layers_0_weight_g = -layers_0_weight_bar" in step.source  # maximize, the last change


def test_an_update_that_raises_under_errstate_stops_where_the_eager_step_stops():
    def run(compiled):
        model = MLP([2, 1], seed=0, dtype=np.float64)
        optimizer = Adam(model.parameters(), lr=0.1)
        tiny = lambda out, y: (out * 1e-160).sum()  # g * g underflows in Adam's rule
        X, y = np.ones((3, 2)), np.zeros((3, 1))
        step = wg.compile_step(model, tiny, optimizer, backend="numpy")
        with np.errstate(under="raise"), pytest.raises(FloatingPointError) as info:
            if compiled:
                step(X, y)
            else:
                tiny(model(X), y).backward()
                optimizer.step()
        return info.value, optimizer.param_groups[0]["t"], model.state_dict()

    got, want = run(True), run(False)
    assert str(got[0]).startswith("compile_step: the optimizer's update raised FloatingPointError")
    assert str(want[0]) == "underflow encountered in multiply"
    assert got[1] == want[1] == 1  # t went up once, not once more by an eager rerun
    for name, value in want[2].items():
        np.testing.assert_array_equal(got[2][name], value)


def test_a_tensor_batch_and_alternating_batch_shapes_step_as_arrays_do():
    spec = LOSSES["cross_entropy"]
    X, y = _data(spec)
    runs = []
    for as_tensor in (False, True):
        model = _model(spec)
        optimizer = SGD(model.parameters(), lr=0.1)
        step = wg.compile_step(model, cross_entropy, optimizer, backend="numpy")
        wrap = wg.tensor if as_tensor else (lambda a: a)
        losses = [step(wrap(X[:n]), wrap(y[:n])) for n in (16, 5, 16, 5)]
        value, out = step.gradients(wrap(X), wrap(y))
        runs.append((losses, value, out, model.state_dict()))
        assert step.fused.cache_size() == 2 and step.program.cache_size() == 1
        assert all(type(p.grad) is np.ndarray for p in model.parameters())
    (losses, value, out, state), (t_losses, t_value, t_out, t_state) = runs
    assert losses == t_losses and value == t_value
    np.testing.assert_array_equal(out, t_out)
    for key in state:
        np.testing.assert_array_equal(state[key], t_state[key])
    assert losses[2] < losses[0]  # the steps moved the weights


def _held_read_only(compiled):
    """(losses, model state, optimizer state dict) of 3 steps, each taken while a live graph
    locks the large parameter's array read-only (saved.py), as the trace's graph does until
    it is collected: the update moves it to a writeable copy, as the eager step's reading of
    .data does."""
    spec = LOSSES["cross_entropy"]
    X, y = _data(spec)
    model = MLP([3, 400, 3], seed=0, dtype=np.float64)
    opt = Adam(model.parameters(), lr=0.01)
    step = _compiled(compiled, model, cross_entropy, opt)
    losses = []
    w = model.parameters()[0]
    for _ in range(3):
        held = (w * w).sum()  # noqa: F841 (alive while the step runs, holding w's array)
        assert not w._data.flags.writeable
        losses.append(_eager_step(model, cross_entropy, opt, X, y) if step is None else step(X, y))
    return losses, model.state_dict(), opt.state_dict()


def test_a_parameter_that_a_live_graph_holds_read_only_is_updated_as_eagerly():
    _assert_runs_equal(_held_read_only(True), _held_read_only(False), rtol=1e-12, atol=1e-12)
