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
        (
            MLP([2, 2], activation=lambda x: x * 2),
            "custom activation '<lambda>', which cannot be saved",
        ),
        (Perceptron(2, activation=np.tanh), "custom activation 'tanh', which cannot be saved"),
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

    built = "Activation, Linear, MLP, Perceptron and Sequential modules"
    with pytest.raises(TypeError, match=rf"^save: model must be built of {built}; got a Custom\. "):
        io.save(Custom(), tmp_path / "m.safetensors")

    class MyLinear(Linear):
        pass

    with pytest.raises(TypeError, match="; got a Custom inside a Sequential\\. A model file"):
        io.save(Sequential(Custom()), tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match="; got a MyLinear inside a Sequential\\."):
        io.save(Sequential(Linear(2, 2), MyLinear(2, 2)), tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match=r"^Custom\.config: the module must be one that a model"):
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
    with pytest.raises(
        TypeError, match=r"^atomic_write: data must be bytes; got 'text'\. Encode text first"
    ):
        io.atomic_write(tmp_path / "a.txt", "text")
    with pytest.raises(
        TypeError, match=r"^atomic_write: path must be a path \(str or os\.PathLike\); got 3\.$"
    ):
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
    """A model file without its header checksum and wengert version, as hand-edited files or
    files from other writers are: what the header's own checks must catch."""
    path = tmp_path / "good.safetensors"
    io.save(MLP([2, 4, 3], seed=0), path)
    return _rewrite_header(path.read_bytes(), lambda header: None)


def _rewrite_header(raw: bytes, edit, replace=(b"", b"")) -> bytes:
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    header["__metadata__"].pop("header_sha256", None)
    header["__metadata__"].pop("wengert_version", None)  # else the missing checksum is refused
    edit(header)
    text = json.dumps(header, separators=(",", ":")).encode()
    if replace[0]:
        text = text.replace(*replace)
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
        "the header's model has 33 weights; the file holds 27",
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
        r"__metadata__\['state'\] is not valid JSON",
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
    message = (
        r"^save_checkpoint: hyperparameter 'lr' of param group 0 must be a number or a "
        r"wengert\.optim\.schedules schedule \(a checkpoint stores data, never code\); "
        r"got <function .*\(function\)\.$"
    )
    with pytest.raises(TypeError, match=message):
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
    assert len(history_a["step_loss"]) == 24 and len(history_a["history"]["loss"]) == 6
    final = io.load_checkpoint(tmp_path / "checkpoint.safetensors")
    assert (final.epoch, final.step) == (6, 24)


def _fit(
    tmp_path,
    epochs,
    seed=5,
    every=1,
    resume=False,
    callbacks=(),
    sizes=(2, 4, 2),
    data_seed=0,
    **other,
):
    rng = np.random.default_rng(data_seed)
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
        **other,
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
        (
            {"seed": 6},
            ValueError,
            r"^fit\(resume=True\): the data loader's seed must be 5, as in .*checkpoint"
            r"\.safetensors; got 6\. Pass seed=5, or seed=None to take the saved run's\.$",
        ),
        ({"every": 0}, ValueError, r"^fit: checkpoint_every must be an int >= 1; got 0\.$"),
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
    with pytest.raises(
        ValueError,
        match=r"^fit\(resume=True\): checkpoint_dir must be the directory to resume from; "
        r"got None\.",
    ):
        wg.fit(
            model,
            mse,
            SGD(model.parameters(), lr=0.1),
            (np.ones((2, 2)), np.ones((2, 2))),
            resume=True,
            progress=False,
        )


def test_metadata_must_be_json_values(tmp_path):
    with pytest.raises(
        TypeError,
        match=r"^save: metadata must be JSON values .*; "
        r"got a value that JSON cannot hold \(.*ndarray",
    ):
        io.save(MLP([2, 2], seed=0), tmp_path / "m.safetensors", weights=np.ones(2))
    assert list(tmp_path.iterdir()) == []


def test_resume_from_a_plain_model_file_is_refused(tmp_path):
    model = MLP([2, 4, 2], seed=1)
    io.save(model, tmp_path / "checkpoint.safetensors")
    with pytest.raises(io.ModelFileError, match="not a fit\\(\\) checkpoint"):
        _fit(tmp_path, 2, resume=True)


# ----------------------------------------------------------------------- hostile and corrupt files
def _edited(tmp_path, edit, model=None, **save_kwargs) -> Path:
    """A saved file whose header `edit` changed (its header checksum dropped, as a hand edit or
    another writer would leave it), written to bad.safetensors."""
    good = tmp_path / "good.safetensors"
    io.save_checkpoint(good, model or MLP([2, 4, 3], seed=0), **save_kwargs)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(_rewrite_header(good.read_bytes(), edit))
    return bad


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def _load_everywhere(path):
    """Every reader of model files, each of which must refuse the same way."""
    for read in (io.load, io.load_checkpoint, io.load_metadata):
        with pytest.raises(io.ModelFileError) as caught:
            read(path)
        yield str(caught.value)


def test_a_dimension_of_2_to_the_64_is_a_model_file_error(tmp_path):
    path = _edited(tmp_path, lambda h: _set_entry(h, "shape", [2**64, 4]))
    for message in _load_everywhere(path):
        assert "has shape [18446744073709551616, 4], too large for any file" in message


@pytest.mark.parametrize("where", ["header", "model", "state", "metadata"])
def test_json_nested_a_thousand_deep_is_a_model_file_error(tmp_path, where):
    def edit(header):
        if where == "header":
            header["deep"] = "DEEP"
        else:
            header["__metadata__"][where] = _deep(1000)

    good = tmp_path / "good.safetensors"
    io.save(MLP([2, 4, 3], seed=0), good)
    raw = _rewrite_header(good.read_bytes(), edit, (b'"DEEP"', _deep(1000).encode()))
    path = tmp_path / "bad.safetensors"
    path.write_bytes(raw)
    limit = 8 if where == "header" else 200
    for message in _load_everywhere(path):
        assert f"nests JSON more than {limit} levels deep" in message


@pytest.mark.parametrize(
    ("sizes", "weights"), [([2, 10**7, 1], 40_000_001), ([2, 10**12, 1], 4 * 10**12 + 1)]
)
def test_a_huge_architecture_is_refused_before_anything_is_allocated(tmp_path, sizes, weights):
    import tracemalloc

    path = _edited(tmp_path, lambda h: _set_model(h, sizes))
    tracemalloc.start()
    try:
        with pytest.raises(
            io.ModelFileError, match=f"model has {weights} weights; the file holds 27"
        ):
            io.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


def test_cli_predict_and_resume_refuse_a_malformed_file_in_one_line(tmp_path):
    from click.testing import CliRunner

    from wengert.cli import main

    run = tmp_path / "run"
    args = ["train", "--data", "xor", "--hidden", "4", "--epochs", "1", "--out", str(run)]
    assert CliRunner().invoke(main, args).exit_code == 0
    table = tmp_path / "x.csv"
    table.write_text("x0,x1\n0,1\n")
    for name in ("model.safetensors", "checkpoint.safetensors"):
        path = run / name
        path.write_bytes(_rewrite_header(path.read_bytes(), lambda h: _set_entry(h, "shape", [-1])))
    commands = {
        "predict": ["predict", "--model", str(run / "model.safetensors"), "--data", str(table)],
        "resume": ["resume", str(run), "--epochs", "1"],
    }
    for command, args in commands.items():
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(f"wengert {command}: error: ")
        assert "has shape [-1]; expected a list of at most 32 ints >= 0" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


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
    path = _edited(tmp_path, _edit_state(edit), model, optimizer=opt, **kwargs)
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

    path = _edited(tmp_path, edit, model, optimizer=opt, **kwargs)
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


# ----------------------------------------------------------------------- integrity
def test_a_file_records_checksums_of_data_and_header_and_the_version(tmp_path):
    import hashlib

    path = tmp_path / "m.safetensors"
    io.save(MLP([2, 3, 1], seed=0), path)
    header, data, _ = _header(path)
    meta = header["__metadata__"]
    assert meta["data_sha256"] == hashlib.sha256(data).hexdigest()
    assert len(meta["header_sha256"]) == 64
    assert meta["wengert_version"] == wg.__version__


def test_a_flipped_bit_in_the_data_is_caught_by_the_checksum(tmp_path):
    path = tmp_path / "m.safetensors"
    io.save(MLP([2, 3, 1], seed=0), path)
    path.write_bytes(_flip(path.read_bytes(), len(path.read_bytes()) - 3))
    for message in _load_everywhere(path):
        assert "its tensor data does not match the SHA-256 checksum" in message


def test_swapped_offsets_are_caught_by_the_header_checksum(tmp_path):
    path = tmp_path / "m.safetensors"
    io.save(MLP([3, 3, 3], seed=0), path)
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    first, second = header["model.layers.0.weight"], header["model.layers.1.weight"]
    first["data_offsets"], second["data_offsets"] = second["data_offsets"], first["data_offsets"]
    text = json.dumps(header, separators=(",", ":")).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + n :])
    for message in _load_everywhere(path):
        assert "its header does not match the SHA-256 checksum" in message


def test_a_file_without_checksums_still_loads(tmp_path):
    model = MLP([2, 3, 1], seed=0)
    path = tmp_path / "old.safetensors"
    io.save(model, path)

    def strip(header):
        del header["__metadata__"]["data_sha256"]

    path.write_bytes(_rewrite_header(path.read_bytes(), strip))
    loaded = io.load(path)
    assert all(np.array_equal(v, loaded.state_dict()[k]) for k, v in model.state_dict().items())


def test_resuming_on_other_data_of_the_same_shape_is_refused(tmp_path):
    _fit(tmp_path, 2)
    before = (tmp_path / "checkpoint.safetensors").read_bytes()
    with pytest.raises(ValueError, match="to resume anyway, pass resume_other_data=True to fit"):
        _fit(tmp_path, 3, resume=True, data_seed=1)
    assert (tmp_path / "checkpoint.safetensors").read_bytes() == before
    _, history = _fit(tmp_path, 3, resume=True, data_seed=1, resume_other_data=True)
    assert history.epochs == 3


def test_fit_checkpoints_hashes_the_data_once_per_fit(tmp_path, monkeypatch):
    from wengert.io import checkpoint

    calls = []
    real = checkpoint.data_fingerprint
    monkeypatch.setattr(checkpoint, "data_fingerprint", lambda X, y: calls.append(1) or real(X, y))
    _fit(tmp_path, 4)
    _fit(tmp_path, 6, resume=True)
    assert len(calls) == 2
