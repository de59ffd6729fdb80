"""wengert train and resume: runs that diverge, runs that are refused, runs that are resumed,
and the files of a run directory, each written atomically."""

import importlib
import json
import math
import os
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

from wengert import io as wio
from wengert.cli import main
from wengert.plot import plot_loss_curve
from wengert.train import ConvergenceWarning

# The module, not the command of its name that wengert.cli exports.
train_module = importlib.import_module("wengert.cli.train")
runs_module = importlib.import_module("wengert.cli.runs")
RUN_FILES = {"config.json", "metrics.json", "history.csv", "loss.png", "model.safetensors"}
SMALL = ["--data", "moons", "--hidden", "4", "--seed", "3", "--lr", "0.05"]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def read_json(path):
    with open(path) as file:
        return json.load(file)


def snapshot(directory):
    """Every file of `directory`, by name, with its bytes."""
    return {name: (directory / name).read_bytes() for name in sorted(os.listdir(directory))}


def weights(path):
    return wio.load_checkpoint(path).model.state_dict()


# ----------------------------------------------------------------------- divergence
DIVERGING = [  # --lr, then where and what the one line names
    ("1e300", 1, 2, "loss", "nan"),
    ("1e30", 2, 7, "loss", "nan"),
    ("1e6", 6, 29, "loss", "inf"),
]


@pytest.mark.parametrize(("lr", "epoch", "step", "quantity", "value"), DIVERGING)
def test_a_diverging_run_exits_3_naming_where_and_keeps_the_last_good_epoch(
    tmp_path, lr, epoch, step, quantity, value
):
    out = tmp_path / "run"
    args = ["--data", "moons", "--optimizer", "sgd", "--lr", lr]
    result = run("train", *args, "--out", out)
    assert result.exit_code == 3, result.output
    assert result.stdout == ""
    checkpoint = out / "checkpoint.safetensors"
    if epoch > 1:
        kept = f"{checkpoint} keeps the last good epoch, {epoch - 1}"
    else:
        kept = "no epoch had finished, so there is no checkpoint"
    assert result.stderr.splitlines() == [
        f"wengert train: error: training diverged: the {quantity} became {value} at epoch "
        f"{epoch}, step {step}; {kept}. Try a smaller --lr (this run's: {float(lr):g})"
    ]
    expected = {"config.json", "metrics.json", "history.csv", "loss.png"}
    assert set(os.listdir(out)) == expected | ({checkpoint.name} if epoch > 1 else set())
    metrics = read_json(out / "metrics.json")
    assert metrics["epochs"] == epoch - 1
    assert (
        metrics["stop_reason"] == f"non-finite {quantity} ({value}) at epoch {epoch}, step {step}"
    )
    assert len((out / "history.csv").read_text().splitlines()) == epoch  # a header, epoch - 1
    assert (out / "loss.png").read_bytes()[:4] == b"\x89PNG"
    if epoch > 1:  # the checkpoint is the run of epoch - 1 epochs, bit for bit
        good = tmp_path / "good"
        assert run("train", *args, "--epochs", epoch - 1, "--out", good).exit_code == 0
        kept_weights, good_weights = weights(checkpoint), weights(good / "model.safetensors")
        assert kept_weights.keys() == good_weights.keys()
        for name, value_ in kept_weights.items():
            assert np.isfinite(value_).all(), name
            np.testing.assert_array_equal(value_, good_weights[name], err_msg=name)


def test_the_loss_plot_of_a_diverged_run_draws_the_finite_part(tmp_path):
    history = {
        "step_loss": [0.5, 3.0, 1e262, math.inf, math.nan],
        "lr": [1e6] * 5,
        "epoch_loss": [1.0, 1e200],
        "val_loss": [2.0, math.inf],
    }
    path = tmp_path / "loss.png"
    fig = plot_loss_curve(history, save=path)
    assert path.read_bytes()[:4] == b"\x89PNG"
    drawn = fig.wengert_data["step_loss"]
    np.testing.assert_array_equal(drawn[:3], [0.5, 3.0, 1e262])
    assert np.isnan(drawn[3:]).all()
    assert np.isnan(fig.wengert_data["val_loss"][1])


# ----------------------------------------------------------------------- refusals
def test_a_refused_run_leaves_no_directory(tmp_path):
    table = tmp_path / "huge.csv"
    table.write_text("a,b,y\n1,2,0\n1e308,4,1\n3,1e308,0\n2,2,1\n")
    out = tmp_path / "run"
    result = run("train", "--data", table, "--epochs", 2, "--out", out)
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert not out.exists()


def test_a_refused_run_leaves_an_existing_run_unchanged(tmp_path):
    out = tmp_path / "run"
    assert run("train", *SMALL, "--epochs", 2, "--out", out).exit_code == 0
    before = snapshot(out)
    table = tmp_path / "huge.csv"
    table.write_text("a,b,y\n1,2,0\n1e308,4,1\n3,1e308,0\n2,2,1\n")
    assert run("train", "--data", table, "--out", out).exit_code == 2
    assert snapshot(out) == before


def test_a_resume_whose_checkpoint_does_not_fit_is_refused_and_changes_nothing(tmp_path):
    out = tmp_path / "run"
    assert run("train", *SMALL, "--epochs", 2, "--out", out).exit_code == 0
    config = read_json(out / "config.json") | {"hidden": "5"}  # the checkpoint's MLP has 4
    (out / "config.json").write_text(json.dumps(config))  # as a person might write it
    before = snapshot(out)
    result = run("resume", out, "--epochs", 3)
    assert result.exit_code == 2
    assert result.stderr.startswith("wengert resume: error: ")
    assert "does not fit this model" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert snapshot(out) == before


# ----------------------------------------------------------------------- resume
def test_resume_without_epochs_finishes_a_killed_run(tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    assert run("train", *SMALL, "--epochs", 4, "--out", whole).exit_code == 0
    assert run("train", *SMALL, "--epochs", 2, "--out", killed).exit_code == 0
    # what a 4-epoch run killed in its third epoch leaves: its config and the checkpoint of 2
    config = read_json(killed / "config.json") | {"epochs": 4}
    (killed / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    for name in ("metrics.json", "history.csv", "loss.png", "model.safetensors"):
        (killed / name).unlink()
    result = run("resume", killed)
    assert result.exit_code == 0, result.output
    assert set(os.listdir(killed)) == RUN_FILES | {"checkpoint.safetensors"}
    for name in ("config.json", "metrics.json", "history.csv", "model.safetensors"):
        assert (killed / name).read_bytes() == (whole / name).read_bytes(), name


def test_resume_epochs_adds_to_the_run_each_time(tmp_path):
    out = tmp_path / "run"
    assert run("train", *SMALL, "--epochs", 1, "--out", out).exit_code == 0
    for _ in range(2):
        result = run("resume", out, "--epochs", 1)
        assert result.exit_code == 0, result.output
    assert read_json(out / "config.json")["epochs"] == 3
    assert read_json(out / "metrics.json")["epochs"] == 3


def test_a_cosine_run_is_not_extended(tmp_path):
    out = tmp_path / "run"
    assert run("train", *SMALL, "--schedule", "cosine", "--epochs", 1, "--out", out).exit_code == 0
    before = snapshot(out)
    result = run("resume", out, "--epochs", 1)
    assert result.exit_code == 2
    assert result.stderr == (
        "wengert resume: error: --epochs: this run's cosine schedule ends at epoch 1, where its "
        "learning rate reaches 0; resume it without --epochs, or train anew\n"
    )
    assert snapshot(out) == before


# ----------------------------------------------------------------------- atomic files
def test_every_file_of_a_run_is_written_atomically(tmp_path, monkeypatch):
    out = tmp_path / "run"
    replaced = []
    real_replace = os.replace

    def replace(src, dst, **kwargs):
        replaced.append(os.path.basename(dst))
        return real_replace(src, dst, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    assert run("train", *SMALL, "--epochs", 2, "--out", out).exit_code == 0
    assert set(os.listdir(out)) == RUN_FILES | {"checkpoint.safetensors"}
    assert set(replaced) == set(os.listdir(out))


def test_the_temporaries_of_crashed_writes_are_removed_by_the_next_save(tmp_path):
    out = tmp_path / "run"
    assert run("train", *SMALL, "--epochs", 1, "--out", out).exit_code == 0
    dead = 2**22 + 12345  # above Linux's largest process id: no such process runs
    stale = [f".{name}.tmp-{dead}-crashed" for name in RUN_FILES | {"checkpoint.safetensors"}]
    for name in stale:
        (out / name).write_bytes(b"half a file")
    assert run("resume", out, "--epochs", 1).exit_code == 0
    assert set(os.listdir(out)) == RUN_FILES | {"checkpoint.safetensors"}


# ----------------------------------------------------------------------- warnings
def test_library_warnings_are_one_line_each_and_shown_once(tmp_path, monkeypatch):
    real_fit = train_module.fit

    def fit(*args, **kwargs):  # a fit that warns, as fit and the optimizers may
        for _ in range(3):
            message = "fit: reached epochs=1 before the loss settled"
            warnings.warn(message, ConvergenceWarning, stacklevel=2)
        warnings.warn("overflow encountered\n in exp", RuntimeWarning, stacklevel=2)
        warnings.warn("an old name", DeprecationWarning, stacklevel=2)  # for programmers only
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(train_module, "fit", fit)
    result = run("train", *SMALL, "--epochs", 1, "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "wengert train: warning: fit: reached epochs=1 before the loss settled",
        "wengert train: warning: overflow encountered in exp",
    ]


def test_a_run_whose_weights_never_move_says_so_and_is_written(tmp_path):
    out = tmp_path / "run"
    result = run(
        "train", "--data", "moons", "--optimizer", "lbfgs", "--lr", "1e300", "--epochs", 2,
        "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    *from_lbfgs, last = result.stderr.splitlines()
    assert last == (
        "wengert train: warning: the weights did not change in 2 epochs: no step of L-BFGS's "
        "line search lowered the loss; try a smaller --lr (this run's: 1e+300)"
    )
    # L-BFGS's own warning of the first failed search, once, in the same one-line form
    assert len(from_lbfgs) <= 1
    assert all(line.startswith("wengert train: warning: LBFGS: ") for line in from_lbfgs)
    assert set(os.listdir(out)) == RUN_FILES | {"checkpoint.safetensors"}
    assert read_json(out / "metrics.json")["loss"] == pytest.approx(0.881897, abs=1e-6)
    assert read_json(out / "metrics.json")["loss"] == pytest.approx(unmoved_loss(out), rel=1e-12)
    moved = run("train", *SMALL, "--epochs", 1, "--out", tmp_path / "moved")
    assert moved.exit_code == 0 and moved.stderr == ""


def unmoved_loss(out):
    """The logistic loss, in plain NumPy, of the run's initial ReLU MLP on its training split,
    after checking that the saved weights are those initial ones."""
    prepared = runs_module.prepare(read_json(out / "config.json"))
    initial = prepared.model.state_dict()
    saved = wio.load(out / "model.safetensors").state_dict()
    assert saved.keys() == initial.keys()
    for name in initial:
        np.testing.assert_array_equal(saved[name], initial[name], err_msg=name)
    X, t = prepared.train
    hidden = np.maximum(X @ initial["layers.0.weight"] + initial["layers.0.bias"], 0.0)
    z = (hidden @ initial["layers.1.weight"] + initial["layers.1.bias"])[:, 0]
    return float(np.mean(np.logaddexp(0.0, z) - t * z))


# ----------------------------------------------------------------------- run directories
DAMAGED_CONFIGS = [  # what config.json holds, then the error line of `wengert resume DIR`
    (
        lambda good: good[:25],
        "{c} is not valid JSON (line 2, column 24): the file is damaged; restore it, or start "
        "the run anew with wengert train ... --out {d} --force",
    ),
    (
        lambda good: b"\xff\xfe" + good,
        "{c} is not UTF-8 text: the file is damaged; restore it, or start the run anew with "
        "wengert train ... --out {d} --force",
    ),
    (
        lambda good: json.dumps({k: v for k, v in json.loads(good).items() if k != "lr"}).encode(),
        "{c} lacks the setting lr: the file is damaged; restore it, or start the run anew with "
        "wengert train ... --out {d} --force",
    ),
    (
        lambda good: json.dumps(json.loads(good) | {"data": 5}).encode(),
        "{c} has data=5, not a string: the file is damaged; restore it, or start the run anew "
        "with wengert train ... --out {d} --force",
    ),
    (
        lambda good: json.dumps(json.loads(good) | {"batch_size": 0}).encode(),
        "{c} has batch_size=0, not an int >= 1: the file is damaged; restore it, or start the "
        "run anew with wengert train ... --out {d} --force",
    ),
    (
        lambda good: json.dumps(json.loads(good) | {"lr": "0.1"}).encode(),
        '{c} has lr="0.1", not a number: the file is damaged; restore it, or start the run anew '
        "with wengert train ... --out {d} --force",
    ),
    (lambda good: b"[1, 2]", '{d} is not a wengert run: config.json has no "wengert_run" marker'),
    (
        lambda good: b'{"lr": 1}',
        '{d} is not a wengert run: config.json has no "wengert_run" marker',
    ),
]


@pytest.mark.parametrize(
    ("damage", "message"),
    DAMAGED_CONFIGS,
    ids=[
        "truncated",
        "not-utf8",
        "a-setting-missing",
        "a-number-for-a-string",
        "out-of-range",
        "a-string-for-a-number",
        "a-list",
        "no-marker",
    ],
)
def test_resume_says_what_is_wrong_with_config_json(tmp_path, damage, message):
    out = tmp_path / "run"
    assert run("train", *SMALL, "--epochs", 1, "--out", out).exit_code == 0
    config = out / "config.json"
    config.write_bytes(damage(config.read_bytes()))
    before = snapshot(out)
    result = run("resume", out)
    assert result.exit_code == 2
    assert result.stderr == f"wengert resume: error: {message.format(c=config, d=out)}\n"
    assert snapshot(out) == before


def test_train_names_a_damaged_config_json_in_its_refusal(tmp_path):
    out = tmp_path / "run"
    assert run("train", *SMALL, "--epochs", 1, "--out", out).exit_code == 0
    (out / "config.json").write_text('{"wengert_run": 1,')
    result = run("train", *SMALL, "--epochs", 1, "--out", out)
    assert result.exit_code == 2
    assert result.stderr == (
        f"wengert train: error: --out: {out} exists and is not a wengert run (its config.json is "
        "not valid JSON (line 1, column 19)); pass --force to write into it anyway\n"
    )


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["train", *SMALL, "--out", "{f}"],
            "train: error: --out: {f} exists and is not a directory",
        ),
        (["resume", "{f}"], "resume: error: DIRECTORY: {f} is a file, not a run directory"),
        (["resume", "{f}x"], "resume: error: DIRECTORY: no such directory: {f}x"),
    ],
    ids=["train-out", "resume-file", "resume-missing"],
)
def test_a_file_where_a_run_directory_belongs_is_one_line(tmp_path, args, line):
    afile = tmp_path / "afile"
    afile.write_text("mine\n")
    result = run(*[str(a).format(f=afile) for a in args])
    assert result.exit_code == 2
    assert result.stderr == "wengert " + line.format(f=afile) + "\n"
    assert afile.read_text() == "mine\n"


def test_resume_on_changed_data_names_other_data_and_continues_with_it(tmp_path):
    rng = np.random.default_rng(1)
    table = tmp_path / "points.csv"

    def write(X):
        rows = [f"{a},{b},{int(a + b > 0)}" for a, b in X.tolist()]
        table.write_text("a,b,y\n" + "\n".join(rows) + "\n")

    X = rng.normal(size=(40, 2))
    write(X)
    out = tmp_path / "run"
    args = ["--data", table, "--hidden", "4", "--epochs", 1, "--out", out]
    assert run("train", *args).exit_code == 0
    write(X + 0.5)  # the CSV changed since the run
    before = snapshot(out)
    refused = run("resume", out, "--epochs", 1)
    assert refused.exit_code == 2
    line = refused.stderr.rstrip("\n")
    assert line.startswith(
        "wengert resume: error: fit(resume=True): the training data must be the data that "
        f"{out / 'checkpoint.safetensors'} was trained on; got other values of the same shape"
    )
    assert line.endswith(
        "in the checkpoint). Resume with the data the run was trained on, or pass --other-data "
        "to continue on this data anyway"
    )
    assert "resume_other_data" not in line and len(refused.stderr.splitlines()) == 1
    assert snapshot(out) == before
    resumed = run("resume", out, "--epochs", 1, "--other-data")
    assert resumed.exit_code == 0, resumed.output
    assert read_json(out / "metrics.json")["epochs"] == 2
    assert read_json(out / "config.json")["epochs"] == 2
