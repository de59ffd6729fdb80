"""Model files (safetensors + JSON architecture): round trips, the plain safetensors layout, refused
models, and atomic writes."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from io_helpers import read_header

import wengert as wg
from wengert import io
from wengert.nn import MLP, Activation, Linear, Perceptron, Sequential


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
    header, data, n = read_header(path)
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
