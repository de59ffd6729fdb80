"""`wengert train --data FILE.npy` on files of whole numbers: the task is told from the target's
values as for the same numbers in a CSV file, whatever the file's dtype."""

import numpy as np
import pytest
from click.testing import CliRunner

from wengert import io
from wengert.cli import main, npy_runs

SAME = ["--epochs", "2", "--batch-size", "16", "--seed", "1", "--no-shuffle", "--val-split", "0"]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _csv(path, data):
    lines = "".join(",".join(str(v) for v in row) + "\n" for row in data.tolist())
    path.write_text("x1,x2,x3,y\n" + lines)


@pytest.mark.parametrize("dtype", [np.int64, np.int16, np.float64])
def test_whole_numbers_of_many_values_are_a_regression_target_as_in_a_csv(tmp_path, dtype):
    features = np.random.default_rng(0).integers(0, 100, size=(120, 3))
    data = np.column_stack([features, features @ [1, 2, 3]]).astype(dtype)  # 113 values
    np.save(tmp_path / "d.npy", data)
    _csv(tmp_path / "d.csv", data)
    for name in ("d.npy", "d.csv"):
        result = run("train", "--data", tmp_path / name, "--model", "linear", *SAME, "--out",
                     tmp_path / name[2:])  # fmt: skip
        assert result.exit_code == 0, result.output
        assert "task: regression" in result.output
    npy, csv = (io.load(tmp_path / k / "model.safetensors").state_dict() for k in ("npy", "csv"))
    for name, value in csv.items():
        np.testing.assert_allclose(npy[name], value, rtol=0, atol=1e-12)


def test_whole_numbers_of_few_values_are_class_labels_in_any_dtype(tmp_path):
    features = np.random.default_rng(1).integers(0, 9, size=(60, 3))
    data = np.column_stack([features, features[:, 0] % 3]).astype(np.uint8)
    np.save(tmp_path / "d.npy", data)
    result = run("train", "--data", tmp_path / "d.npy", "--hidden", "4", *SAME, "--out",
                 tmp_path / "run")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "(the target 'column 3' holds 3 classes: 0, 1, 2)" in result.output


def test_the_scan_keeps_no_more_than_the_most_classes_of_a_target():
    column = np.arange(10_000, dtype=np.int64)
    assert npy_runs._more_labels(np.empty(0, np.int64), column, column.dtype) is None
    few = npy_runs._more_labels(np.empty(0, np.int64), column % 7, column.dtype)
    assert few.tolist() == list(range(7))
