"""Resuming fit(): a killed run resumes bit for bit, checkpoints are written when asked, and bad
resume arguments or data are refused."""

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import wengert as wg
from wengert import io
from wengert.losses import cross_entropy, mse
from wengert.nn import MLP
from wengert.optim import SGD

REPO = Path(__file__).resolve().parents[1]


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
