"""Model files (safetensors + JSON architecture), checkpoints, and exact resume of fit()."""

import json
import os
import pickle
import signal
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import wengert as wg
from wengert import io
from wengert.losses import cross_entropy, mse
from wengert.nn import MLP, Activation, Linear, Perceptron, Sequential
from wengert.optim import LBFGS, SGD, Adam
from wengert.optim.schedules import inverse_sqrt

REPO = Path(__file__).resolve().parents[1]


def _models():
    return {
        "perceptron": Perceptron(
            3, activation="sign", dtype=np.float64, init="xavier_normal", seed=1
        ),
        "mlp32": MLP([3, 5, 2], activation="tanh", seed=2),
        "mlp64": MLP([3, 4, 4, 1], output_activation="sigmoid", dtype=np.float64, seed=3),
        "sequential": Sequential(Linear(3, 4, seed=4), Activation("relu"), Linear(4, 2, seed=5)),
        "linear_no_bias": Linear(3, 2, bias=False, dtype=np.float64, seed=6),
        "nested": Sequential(
            Sequential(Linear(3, 3, seed=7), Activation("sigmoid")), MLP([3, 2], seed=8)
        ),
    }


def _header(path):
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n]), raw[8 + n :], n


@pytest.mark.parametrize("name", list(_models()))
def test_round_trip_gives_the_same_model(tmp_path, name):
    model = _models()[name]
    path = tmp_path / "model.safetensors"
    io.save(model, path, note="hello", seed=7)
    loaded = io.load(path)
    assert type(loaded) is type(model)
    assert repr(loaded) == repr(model)
    for (k1, p1), (k2, p2) in zip(model.named_parameters(), loaded.named_parameters(), strict=True):
        assert k1 == k2 and p1.dtype == p2.dtype and np.array_equal(p1.data, p2.data)
    X = np.random.default_rng(0).normal(size=(6, 3)).astype(model.dtype)
    assert np.array_equal(model(X).data, loaded(X).data)
    assert io.load_metadata(path) == {"note": "hello", "seed": 7}


def test_the_file_is_plain_safetensors(tmp_path):
    model = MLP([2, 3, 1], seed=0)
    path = tmp_path / "m.safetensors"
    io.save(model, path)
    header, data, n = _header(path)
    assert n % 8 == 0
    meta = header.pop("__metadata__")
    assert meta["format"] == "wengert" and meta["version"] == "1" and meta["kind"] == "model"
    assert all(isinstance(v, str) for v in meta.values())
    assert json.loads(meta["model"]) == {
        "class": "MLP",
        "config": {
            "sizes": [2, 3, 1],
            "activation": "relu",
            "output_activation": "identity",
            "bias": True,
            "dtype": "float32",
        },
    }
    end = 0
    for name, entry in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        p = dict(model.named_parameters())[name[len("model.") :]]
        assert entry["dtype"] == "F32" and entry["shape"] == list(p.shape)
        begin, stop = entry["data_offsets"]
        assert begin == end
        assert np.array_equal(np.frombuffer(data[begin:stop], "<f4").reshape(p.shape), p.data)
        end = stop
    assert end == len(data)


@pytest.mark.parametrize(
    ("model", "match"),
    [
        (MLP([2, 2], activation=lambda x: x * 2), "custom activation '<lambda>' cannot be saved"),
        (Perceptron(2, activation=np.tanh), "custom activation 'tanh' cannot be saved"),
        (Sequential(Activation(abs)), "custom activation 'abs'"),
    ],
)
def test_custom_activations_are_refused_and_nothing_is_written(tmp_path, model, match):
    with pytest.raises(ValueError, match=match):
        io.save(model, tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_a_module_without_config_is_refused(tmp_path):
    class Custom(wg.nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(TypeError, match="cannot save a Custom"):
        io.save(Custom(), tmp_path / "m.safetensors")

    class MyLinear(Linear):
        pass

    with pytest.raises(TypeError, match="cannot save a Custom"):
        io.save(Sequential(Custom()), tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match="cannot save a MyLinear"):
        io.save(Sequential(Linear(2, 2), MyLinear(2, 2)), tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match="Custom cannot be saved to a model file"):
        Custom().config()
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    io.save(MLP([2, 3, 1], seed=0), path)
    before = path.read_bytes()

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        io.save(MLP([2, 3, 1], seed=1), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def test_an_interrupted_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    io.save(MLP([2, 3, 1], seed=0), path)
    before = path.read_bytes()
    real_fsync = os.fsync

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        io.save(MLP([2, 3, 1], seed=1), path)
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def _dead_pid() -> int:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(child.stdout)


def test_atomic_write_replaces_and_removes_stale_temporaries(tmp_path):
    path = tmp_path / "config.json"
    path.write_bytes(b"old")
    crashed = tmp_path / f".config.json.tmp-{_dead_pid()}-abc123"  # a killed writer's leftover
    crashed.write_bytes(b"half")
    old = tmp_path / f".config.json.tmp-{os.getpid()}-old999"  # ours, but two hours old
    old.write_bytes(b"half")
    os.utime(old, (os.path.getmtime(old) - 7200,) * 2)
    live = tmp_path / f".config.json.tmp-{os.getpid()}-live42"  # a write under way: kept
    live.write_bytes(b"half")
    other = tmp_path / f".metrics.json.tmp-{_dead_pid()}-abc123"  # another target's: kept
    other.write_bytes(b"half")
    io.atomic_write(path, b'{"lr": 0.1}')
    assert path.read_bytes() == b'{"lr": 0.1}'
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(["config.json", live.name, other.name])


def test_atomic_write_refuses_text_and_leaves_no_file(tmp_path):
    with pytest.raises(TypeError, match="atomic_write: data must be bytes; got str"):
        io.atomic_write(tmp_path / "a.txt", "text")
    with pytest.raises(TypeError, match=r"atomic_write: path must be a str or os\.PathLike"):
        io.atomic_write(3, b"x")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_atomic_write_keeps_stale_temporaries_and_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    io.save(MLP([2, 3, 1], seed=0), path)
    before = path.read_bytes()
    crashed = tmp_path / f".m.safetensors.tmp-{_dead_pid()}-abc123"
    crashed.write_bytes(b"half")
    monkeypatch.setattr(os, "replace", lambda src, dst: (_ for _ in ()).throw(OSError("full")))
    with pytest.raises(OSError, match="full"):
        io.save(MLP([2, 3, 1], seed=1), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [crashed.name, "m.safetensors"]
    io.save(MLP([2, 3, 1], seed=1), path)  # the model-file writer removes it once it succeeds
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


# ----------------------------------------------------------------------- bad files
def _good_bytes(tmp_path) -> bytes:
    path = tmp_path / "good.safetensors"
    io.save(MLP([2, 4, 3], seed=0), path)
    return path.read_bytes()


def _rewrite_header(raw: bytes, edit) -> bytes:
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    edit(header)
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + raw[8 + n :]


def _set_model(header, sizes):
    model = json.loads(header["__metadata__"]["model"])
    model["config"]["sizes"] = sizes
    header["__metadata__"]["model"] = json.dumps(model)


def _set_dtype(header):
    model = json.loads(header["__metadata__"]["model"])
    model["config"]["dtype"] = "float64"
    header["__metadata__"]["model"] = json.dumps(model)


def _set_class(header):
    header["__metadata__"]["model"] = json.dumps({"class": "Evil", "config": {}})


def _set_entry(header, key, value):
    header["model.layers.0.weight"][key] = value


def _rename(header):
    header["model.layers.9.weight"] = header.pop("model.layers.1.weight")


def _format(header):
    header["__metadata__"]["format"] = "pt"


def _flip(raw: bytes, at: int) -> bytes:
    return raw[:at] + bytes([raw[at] ^ 0xFF]) + raw[at + 1 :]


class _SideEffect:
    """Unpickling it would create the file `marker` (open(marker, "w"))."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


BAD_FILES = [
    ("empty", lambda raw, tmp: b"", "truncated: 0 bytes"),
    ("cut_in_length", lambda raw, tmp: raw[:5], "truncated: 5 bytes"),
    ("cut_in_header", lambda raw, tmp: raw[:40], "truncated or not a safetensors file"),
    ("cut_in_data", lambda raw, tmp: raw[: len(raw) - 30], "truncated"),
    ("last_byte_missing", lambda raw, tmp: raw[:-1], "truncated"),
    ("extra_bytes", lambda raw, tmp: raw + b"\0" * 4, "holds"),
    ("flipped_brace", lambda raw, tmp: _flip(raw, 8), "header is not valid JSON"),
    (
        "flipped_shape",
        lambda raw, tmp: raw.replace(b'"shape":[2,4]', b'"shape":[2,5]', 1),
        "do not fit its dtype F32 and shape",
    ),
    ("wrong_magic", lambda raw, tmp: b"GARBAGE!" + raw[8:], "truncated or not a safetensors"),
    ("not_wengert", lambda raw, tmp: _rewrite_header(raw, _format), "not a wengert model file"),
    (
        "header_sizes_differ",
        lambda raw, tmp: _rewrite_header(raw, lambda h: _set_model(h, [2, 5, 3])),
        r"weight 'layers.0.weight' is float32\[2, 4\] in the file; .* needs float32\[2, 5\]",
    ),
    (
        "header_dtype_differs",
        lambda raw, tmp: _rewrite_header(raw, _set_dtype),
        r"float32\[2, 4\] in the file; .* needs float64\[2, 4\]",
    ),
    (
        "weight_names_differ",
        lambda raw, tmp: _rewrite_header(raw, _rename),
        r"missing \['layers.1.weight'\], unexpected \['layers.9.weight'\]",
    ),
    (
        "bad_model_class",
        lambda raw, tmp: _rewrite_header(raw, _set_class),
        "is not {'class': one of",
    ),
    (
        "offsets_not_ints",
        lambda raw, tmp: _rewrite_header(raw, lambda h: _set_entry(h, "data_offsets", "0-32")),
        r"data_offsets '0-32'; expected \[begin, end\], ints",
    ),
    (
        "unknown_dtype",
        lambda raw, tmp: _rewrite_header(raw, lambda h: _set_entry(h, "dtype", "BF16")),
        "has dtype 'BF16'; expected one of",
    ),
    (
        "bad_metadata_json",
        lambda raw, tmp: _rewrite_header(raw, lambda h: h["__metadata__"].update(state="{")),
        "__metadata__ is missing or has bad JSON",
    ),
    ("pickle", lambda raw, tmp: pickle.dumps({"w": np.ones(3)}), "pickle .* never unpickles"),
    ("pickle_v0", lambda raw, tmp: pickle.dumps([1.0], protocol=0), "truncated or not a safe"),
    ("pickle_side_effect", lambda raw, tmp: pickle.dumps(_SideEffect(tmp / "pwned")), "pickle"),
    ("npy", lambda raw, tmp: b"\x93NUMPY" + raw, "NumPy"),
]


@pytest.mark.parametrize(("kind", "make", "match"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_are_refused_by_name(tmp_path, kind, make, match):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(make(_good_bytes(tmp_path), tmp_path))
    before = sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir())
    with pytest.raises(io.ModelFileError, match=match):
        io.load(path)
    with pytest.raises(io.ModelFileError):
        io.load_checkpoint(path)
    assert sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir()) == before
    assert not (tmp_path / "pwned").exists()


def test_model_file_error_is_a_value_error_and_a_missing_file_says_so(tmp_path):
    assert issubclass(io.ModelFileError, ValueError)
    with pytest.raises(FileNotFoundError, match="no such model file"):
        io.load(tmp_path / "absent.safetensors")


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
    with pytest.raises(TypeError, match="hyperparameter 'lr' of param group 0 is <function"):
        io.save_checkpoint(tmp_path / "c.safetensors", model, opt)
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------- fit(): exact resume
SCRIPT = textwrap.dedent(
    """
    import json, os, signal, sys
    import numpy as np
    import wengert as wg
    from wengert import io
    from wengert.losses import cross_entropy
    from wengert.nn import MLP
    from wengert.optim import Adam
    from wengert.optim.schedules import inverse_sqrt

    directory, mode = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    model = MLP([2, 8, 2], activation="tanh", seed=1)
    opt = Adam(model.parameters(), lr=inverse_sqrt(0.05))

    class Kill:
        def on_step_end(self, run):
            if mode == "kill" and run.epoch == 4:
                os.kill(os.getpid(), signal.SIGKILL)

    history = wg.fit(
        model, cross_entropy, opt, (X, y), epochs=6, batch_size=16, seed=5, progress=False,
        metrics=["accuracy"], val_data=(X[:20], y[:20]), callbacks=[Kill()],
        checkpoint_dir=None if mode == "plain" else directory, resume=mode == "resume",
    )
    io.save(model, os.path.join(directory, mode + ".safetensors"))
    with open(os.path.join(directory, mode + ".json"), "w") as f:
        json.dump(history.as_dict(), f)
    """
)


def _run(script, directory, mode):
    return subprocess.run(
        [sys.executable, str(script), str(directory), mode],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_killed_run_resumes_bit_for_bit(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    killed = _run(script, tmp_path, "kill")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    ckpt = io.load_checkpoint(tmp_path / "checkpoint.safetensors")
    assert (ckpt.epoch, ckpt.step, ckpt.loader["epoch"]) == (3, 12, 3)
    resumed = _run(script, tmp_path, "resume")
    assert resumed.returncode == 0, resumed.stderr
    plain = _run(script, tmp_path, "plain")
    assert plain.returncode == 0, plain.stderr

    a, b = io.load(tmp_path / "plain.safetensors"), io.load(tmp_path / "resume.safetensors")
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert np.array_equal(p.data, q.data)
    history_a = json.loads((tmp_path / "plain.json").read_text())
    history_b = json.loads((tmp_path / "resume.json").read_text())
    assert history_a == history_b
    assert len(history_a["step_loss"]) == 24 and len(history_a["epoch_loss"]) == 6
    final = io.load_checkpoint(tmp_path / "checkpoint.safetensors")
    assert (final.epoch, final.step) == (6, 24)


def _fit(tmp_path, epochs, seed=5, every=1, resume=False, callbacks=(), sizes=(2, 4, 2)):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    y = (X[:, 0] > 0).astype(int)
    model = MLP(sizes, seed=1)
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    history = wg.fit(
        model,
        cross_entropy,
        opt,
        (X, y),
        epochs=epochs,
        batch_size=8,
        seed=seed,
        progress=False,
        checkpoint_dir=tmp_path,
        checkpoint_every=every,
        resume=resume,
        callbacks=callbacks,
    )
    return model, history


def test_resume_in_process_equals_one_run(tmp_path):
    (tmp_path / "a").mkdir()
    whole, history = _fit(tmp_path / "a", 5)
    _fit(tmp_path / "b", 2)
    resumed, history_b = _fit(tmp_path / "b", 5, resume=True)
    assert history_b.as_dict() == history.as_dict()
    assert all(
        np.array_equal(p.data, q.data)
        for p, q in zip(whole.parameters(), resumed.parameters(), strict=True)
    )


def test_checkpoint_every_and_at_the_end(tmp_path):
    seen = []

    class Watch:
        def on_epoch_end(self, run):
            path = tmp_path / "checkpoint.safetensors"
            seen.append(io.load_checkpoint(path).epoch if path.exists() else None)

    _fit(tmp_path, 5, every=2, callbacks=[Watch()])
    # on_epoch_end runs before that epoch's checkpoint is written
    assert seen == [None, None, 2, 2, 4]
    assert io.load_checkpoint(tmp_path / "checkpoint.safetensors").epoch == 5


def test_resume_without_a_checkpoint_starts_afresh(tmp_path):
    _, history = _fit(tmp_path, 2, resume=True)
    assert history.epochs == 2


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"seed": 6}, ValueError, "data loader.seed is 5 in the file, 6 here"),
        ({"every": 0}, ValueError, "checkpoint_every must be an int >= 1; got 0"),
        ({"sizes": (2, 5, 2)}, ValueError, r"model.config.sizes\[1\] is 4 in the file, 5 here"),
    ],
)
def test_bad_resume_arguments_are_refused(tmp_path, kwargs, error, match):
    _fit(tmp_path, 1)
    before = (tmp_path / "checkpoint.safetensors").read_bytes()
    with pytest.raises(error, match=match):
        _fit(tmp_path, 3, resume=True, **kwargs)
    assert (tmp_path / "checkpoint.safetensors").read_bytes() == before


def test_resume_needs_a_directory():
    model = MLP([2, 2], seed=0)
    with pytest.raises(ValueError, match="resume=True needs checkpoint_dir"):
        wg.fit(
            model,
            mse,
            SGD(model.parameters(), lr=0.1),
            (np.ones((2, 2)), np.ones((2, 2))),
            resume=True,
            progress=False,
        )


def test_metadata_must_be_json_values(tmp_path):
    with pytest.raises(TypeError, match=r"metadata must be JSON values .* ndarray"):
        io.save(MLP([2, 2], seed=0), tmp_path / "m.safetensors", weights=np.ones(2))
    assert list(tmp_path.iterdir()) == []


def test_resume_from_a_plain_model_file_is_refused(tmp_path):
    model = MLP([2, 4, 2], seed=1)
    io.save(model, tmp_path / "checkpoint.safetensors")
    with pytest.raises(io.ModelFileError, match="not a fit\\(\\) checkpoint"):
        _fit(tmp_path, 2, resume=True)
