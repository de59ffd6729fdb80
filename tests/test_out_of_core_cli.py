"""`wengert train --data FILE.npy`: a 2-D .npy file read chunk by chunk; bad files refused by
name with nothing written; in the slow group, a 2 GiB file trained on in under 500 MB."""

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner

from wengert import io
from wengert.cli import main

WENGERT = os.path.join(os.path.dirname(sys.executable), "wengert")
SMALL = ["--hidden", "4", "--epochs", "2", "--batch-size", "16", "--seed", "1"]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def table(n=300, seed=0):
    """Four features and a 0/1 target in the last column."""
    X = np.random.default_rng(seed).normal(size=(n, 4)) * [1, 2, 3, 4] + [0, 1, 2, 3]
    return np.column_stack([X, (X[:, 0] - X[:, 3] + 3 > 0).astype(float)])


def test_a_npy_file_trains_with_the_last_rows_for_validation(tmp_path):
    data = table()
    np.save(tmp_path / "d.npy", data)
    result = run("train", "--data", tmp_path / "d.npy", *SMALL, "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert "task: binary classification (the target 'column 4' holds 2 classes: 0, 1)" in (
        result.output
    )
    info = io.load_metadata(tmp_path / "run" / "model.safetensors")
    train = data[:240, :4]  # --val-split 0.2: the last 60 rows validate
    np.testing.assert_allclose(info["mean"], train.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(info["std"], train.std(axis=0), rtol=1e-13)
    assert info["features"] == ["x1", "x2", "x3", "x4"] and info["classes"] == [0, 1]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and 0 < metrics["val_loss"] < metrics["loss"] + 1


def test_a_npy_file_trains_as_the_same_rows_from_a_csv(tmp_path):
    data = table(seed=2)
    data[:, 4] = data[:, :4] @ [0.5, -1, 2, 0.25]  # a regression target
    np.save(tmp_path / "d.npy", data)
    header = "x1,x2,x3,x4,y\n"
    lines = "".join(",".join(repr(float(v)) for v in row) + "\n" for row in data)
    (tmp_path / "d.csv").write_text(header + lines)
    same = [*SMALL, "--no-shuffle", "--val-split", "0"]
    for name in ("d.npy", "d.csv"):
        result = run("train", "--data", tmp_path / name, *same, "--out", tmp_path / name[2:])
        assert result.exit_code == 0, result.output
        assert "task: regression" in result.output
    npy, csv = (
        io.load(tmp_path / kind / "model.safetensors").state_dict() for kind in ("npy", "csv")
    )
    for name, value in csv.items():
        np.testing.assert_allclose(npy[name], value, rtol=0, atol=1e-12)


def test_a_resumed_npy_run_ends_as_the_uninterrupted_one(tmp_path):
    np.save(tmp_path / "d.npy", table())
    common = ["--data", tmp_path / "d.npy", "--hidden", "4", "--batch-size", "32"]
    assert run("train", *common, "--epochs", "3", "--out", tmp_path / "whole").exit_code == 0
    assert run("train", *common, "--epochs", "2", "--out", tmp_path / "part").exit_code == 0
    assert run("resume", tmp_path / "part", "--epochs", "1").exit_code == 0
    whole, part = (
        json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("whole", "part")
    )
    assert part == whole and part["epochs"] == 3


def test_predict_reads_a_npy_file_of_the_features_with_or_without_the_target(tmp_path):
    data = table()
    data[:, [2, 4]] = data[:, [4, 2]]  # the target in column 2
    np.save(tmp_path / "d.npy", data)
    args = ("train", "--data", tmp_path / "d.npy", "--target", "2", *SMALL)
    assert run(*args, "--out", tmp_path / "run").exit_code == 0
    features = data[:, [0, 1, 3, 4]]
    np.save(tmp_path / "features.npy", features)
    (tmp_path / "f.csv").write_text(
        "x1,x2,x3,x4\n" + "".join(",".join(map(repr, row)) + "\n" for row in features.tolist())
    )
    outputs = [
        run("predict", "--model", tmp_path / "run", "--data", tmp_path / name)
        for name in ("d.npy", "features.npy", "f.csv")
    ]
    assert all(result.exit_code == 0 for result in outputs), outputs[0].output
    assert outputs[0].stdout == outputs[1].stdout == outputs[2].stdout
    assert (
        outputs[0].stdout.splitlines()[0] == "prediction" and len(outputs[0].stdout.split()) == 301
    )
    np.save(tmp_path / "narrow.npy", features[:, :3])
    result = run("predict", "--model", tmp_path / "run", "--data", tmp_path / "narrow.npy")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.strip().endswith(
        "narrow.npy has 3 columns; the model takes 4 features, so give 4 columns (the features, "
        "in the training order) or 5 (with the target)"
    )


def _bad_files(d):
    np.save(d / "one_d.npy", np.zeros(10))
    np.save(d / "one_column.npy", np.zeros((10, 1)))
    np.save(d / "objects.npy", np.array([[1, "a"]], dtype=object), allow_pickle=True)
    np.save(d / "text.npy", np.array([["1", "2"]]))
    with_nan = table()
    with_nan[123, 2] = np.nan
    np.save(d / "nan.npy", with_nan)
    np.save(d / "one_row.npy", table(n=1))
    (d / "csv.npy").write_text("a,b\n1,2\n")
    (d / "cut.npy").write_bytes(_saved(d).read_bytes()[:200])


def _saved(d):
    np.save(d / "whole.npy", table())
    return d / "whole.npy"


BAD = [
    ("one_d.npy", [], "--data: .*one_d.npy must hold a 2-D array of at least 2 columns .*got "
     r"shape \(10,\)"),
    ("one_column.npy", [], r"--data: .*one_column.npy must hold .*got shape \(10, 1\)"),
    ("objects.npy", [], "--data: .*objects.npy must hold real numbers; its dtype is object"),
    ("text.npy", [], "--data: .*text.npy must hold real numbers; its dtype is <U1"),
    ("nan.npy", [], r"--data: .*nan.npy holds NaN or infinite values, the first \(nan\) at row "
     "123, column 2; remove or impute them"),
    ("one_row.npy", [], r"--data: .*one_row.npy has too few rows \(1\) to train on: --val-split "
     "0.2 keeps 1 for validation"),
    ("csv.npy", [], "--data: .*csv.npy is not a .npy file \\(it does not start with NumPy's "
     "header\\)"),
    ("cut.npy", [], "--data: .*cut.npy is a damaged .npy file"),
    ("missing.npy", [], "--data: no such file: .*missing.npy"),
    ("whole.npy", ["--target", "y"], "--target: the columns of a .npy file have no names; give "
     r"the target's index \(0 to 4, or -1 for the last\); got 'y'"),
    ("whole.npy", ["--target", "-6"], r"--target: .*whole.npy has 5 columns \(0 to 4\); got -6"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "extra", "message"), BAD, ids=[b[0] + str(b[1]) for b in BAD])
def test_bad_npy_files_exit_2_and_write_nothing(tmp_path, name, extra, message):
    _bad_files(tmp_path)
    out = tmp_path / "out"
    result = run("train", "--data", tmp_path / name, *extra, "--epochs", 1, "--out", out)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("wengert train: error: "), lines
    assert re.search(message, lines[0]), lines[0]
    assert not out.exists()


GIB = 2**30
COLUMNS = 33  # 32 features and a 0/1 target
# Runs `wengert train` on the file and prints the child's peak resident memory (ru_maxrss, KiB
# on Linux) and the seconds it took.
MEASURE = textwrap.dedent(
    """
    import resource, subprocess, sys, time
    start = time.perf_counter()
    done = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(done.returncode, peak, seconds)
    print(done.stdout + done.stderr, file=sys.stderr)
    """
)


def _write_big(path, rows):
    """A 0/1 target the features decide, written block by block through open_memmap (each
    block's pages dropped once written)."""
    from wengert.data.chunks import release

    weights = np.random.default_rng(0).normal(size=COLUMNS - 1)
    array = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(rows, COLUMNS))
    step = 1 << 18
    for start in range(0, rows, step):
        X = np.random.default_rng(start).normal(size=(min(step, rows - start), COLUMNS - 1))
        array[start : start + len(X), :-1] = X
        array[start : start + len(X), -1] = X @ weights > 0
        array.flush()
        release(array[start : start + len(X)])
    del array


@pytest.mark.slow
def test_training_on_a_2_gib_file_keeps_the_peak_below_500_mb(tmp_path):
    free = shutil.disk_usage(tmp_path).free
    if free < 3 * GIB:
        pytest.skip(f"needs 3 GiB free on the disk of {tmp_path} for a 2 GiB file; {free} bytes")
    rows = -(-2 * GIB // (COLUMNS * 8))
    path = tmp_path / "big.npy"
    _write_big(path, rows)
    assert path.stat().st_size >= 2 * GIB
    command = [WENGERT, "train", "--data", path, "--out", tmp_path / "run", "--hidden", "16",
               "--batch-size", "8192", "--epochs", "2", "--val-split", "0.001"]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *map(str, command)],
        capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    code, peak_kib, seconds = done.stdout.split()
    print(f"peak resident memory {int(peak_kib) / 1024:.0f} MiB, {float(seconds):.0f} s")
    assert code == "0", done.stderr
    assert int(peak_kib) * 1024 < 500 * 10**6, done.stderr
    history = (tmp_path / "run" / "history.csv").read_text().splitlines()
    first, second = (float(line.split(",")[1]) for line in history[1:3])
    assert second < first < np.log(2)
