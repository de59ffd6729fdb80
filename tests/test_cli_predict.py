"""`wengert predict` and the model file's metadata: columns matched by name, files without a
header, class names as labels, metadata checked on load; `wengert train`'s refusals of CSV
values too large and of models too large for memory."""

import importlib
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from wengert import io
from wengert.cli import main, runs

WENGERT = os.path.join(os.path.dirname(sys.executable), "wengert")
FIT = ["--optimizer", "lbfgs", "--lr", "1", "--val-split", "0", "--batch-size", "1000"]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def predicted(result) -> list[str]:
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "prediction"
    return lines[1:]


def write_csv(path, header, rows):
    lines = [",".join(header)] if header else []
    path.write_text(
        "\n".join(lines + [",".join(repr(float(v)) for v in row) for row in rows]) + "\n"
    )
    return path


@pytest.fixture(scope="module")
def houses(tmp_path_factory):
    """A run of --model lms on price = 3 area + 2 rooms - age + noise; and the data."""
    d = tmp_path_factory.mktemp("houses")
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.uniform(20, 200, 60), rng.integers(1, 6, 60), rng.uniform(0, 50, 60)])
    price = X @ [3.0, 2.0, -1.0] + rng.normal(0, 0.1, 60)
    write_csv(d / "train.csv", ["area", "rooms", "age", "price"], np.column_stack([X, price]))
    result = run("train", "--data", d / "train.csv", "--model", "lms", *FIT, "--epochs", 5,
                 "--out", d / "run")  # fmt: skip
    assert result.exit_code == 0, result.output
    return d, X


def test_predict_matches_columns_by_name_not_position(houses):
    d, X = houses
    new = np.array([[120.0, 3.0, 10.0], [50.0, 2.0, 40.0]])  # area, rooms, age
    ordered = write_csv(d / "ordered.csv", ["area", "rooms", "age"], new)
    in_order = predicted(run("predict", "--model", d / "run", "--data", ordered))
    reordered = write_csv(
        d / "re.csv", ["id", "age", "area", "rooms"], np.c_[[7, 8], new[:, [2, 0, 1]]]
    )
    result = run("predict", "--model", d / "run", "--data", reordered)
    assert predicted(result) == in_order
    # 3·120 + 2·3 - 10 = 356 (read by position, the old reading, gave 2088)
    assert [float(v) for v in in_order] == pytest.approx([356.0, 114.0], abs=0.1)
    assert result.stderr == (
        f"wengert predict: note: ignored 1 column(s) of {reordered} the model does not use: 'id'\n"
    )
    result = run("predict", "--model", d / "run", "--data", d / "train.csv")
    assert [float(v) for v in predicted(result)] == pytest.approx(X @ [3, 2, -1], abs=0.3)
    assert "does not use: 'price' (the target)\n" in result.stderr


def test_a_file_without_a_header_keeps_its_first_row(houses):
    d, X = houses
    headerless = write_csv(d / "bare.csv", None, X[:5])
    result = run("predict", "--model", d / "run", "--data", headerless)
    assert [float(v) for v in predicted(result)] == pytest.approx(X[:5] @ [3, 2, -1], abs=0.3)
    assert result.stderr == (
        f"wengert predict: note: {headerless} has no header: its columns are read as area, "
        "rooms, age, in order\n"
    )


@pytest.mark.parametrize(
    ("header", "rows", "message"),
    [
        (None, [[1, 2]], "has no header \\(its first row is numbers\\) and 2 columns; expected 3: "
         "'area', 'rooms', 'age', in this order, or a header line naming the columns$"),
        (["area", "rooms", "x"], [[1, 2, 3]], "has no column named 'age'; its columns are 'area', "
         "'rooms', 'x'; needed: 'area', 'rooms', 'age'$"),
        (["area", "rooms", "age", "age"], [[1, 2, 3, 4]], "more than one column named 'age'"),
        (["area", "rooms", "age"], [[1, 2, 1e200]], "line 2, column 3 \\('age'\\): 1e\\+200 is too "
         "large; cells must lie within ±1e\\+150"),
    ],
)  # fmt: skip
def test_predict_refuses_data_it_cannot_match(houses, header, rows, message):
    d, _ = houses
    data = write_csv(d / "bad.csv", header, rows)
    result = run("predict", "--model", d / "run", "--data", data)
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"wengert predict: error: read_table: {data} "), lines[0]
    assert re.search(message, lines[0]), lines[0]


def test_class_names_are_labels_in_training_and_prediction(tmp_path):
    rng = np.random.default_rng(1)
    area = np.concatenate([rng.uniform(0, 40, 20), rng.uniform(60, 100, 20)])
    rooms = rng.integers(1, 6, 40)
    kind = np.where(area > 50, "cat", "dog")
    rows = [f"{a:.17g},{r},{k}" for a, r, k in zip(area, rooms, kind, strict=True)]
    (tmp_path / "pets.csv").write_text("area,rooms,kind\n" + "\n".join(rows) + "\n")
    out = tmp_path / "pets"
    args = ["--data", tmp_path / "pets.csv", "--model", "perceptron", *FIT, "--epochs", 10]
    assert run("train", *args, "--out", out).exit_code == 0
    info = io.load_metadata(out / "model.safetensors")
    assert info["classes"] == ["cat", "dog"] and info["label_map"] == "logit"
    assert info["features"] == ["area", "rooms"] and info["target_name"] == "kind"
    assert predicted(run("predict", "--model", out, "--data", tmp_path / "pets.csv")) == list(kind)


def test_bundled_datasets_name_their_features_x1_to_xn(tmp_path):
    out = tmp_path / "xor"
    assert run("train", "--data", "xor", "--hidden", 4, "--epochs", 2, "--out", out).exit_code == 0
    info = io.load_metadata(out / "model.safetensors")
    assert info["features"] == ["x1", "x2"] and info["target_name"] == "y"
    points = np.array([[0.5, -0.5], [0.9, 0.8], [-0.3, -0.7]])
    a = predicted(run("predict", "--model", out, "--data",
                      write_csv(tmp_path / "a.csv", ["x1", "x2"], points)))  # fmt: skip
    b = predicted(run("predict", "--model", out, "--data",
                      write_csv(tmp_path / "b.csv", ["x2", "x1"], points[:, ::-1])))  # fmt: skip
    assert a == b and len(a) == 3 and set(a) <= {"0", "1"}


# ----------------------------------------------------------------------- the model file's metadata
BAD_METADATA = [
    ({"std": [0, 0, 0]}, "'std' must be a list of 3 positive finite numbers, one per feature; "
     "got \\[0, 0, 0\\]"),
    ({"mean": [1.0, 2.0]}, "'mean' must be a list of 3 finite numbers, one per feature; got "
     "\\[1.0, 2.0\\]"),
    ({"features": "area"}, "'features' must be a list of the feature columns' names, distinct; "
     "got 'area'"),
    ({"features": ["a", "a", "b"]}, "'features' must be a list of the feature columns' names, "
     "distinct"),
    ({"features": None}, "'features' must be .*; got None"),
    ({"features": ["a", "b"], "mean": [0, 0], "std": [1, 1]}, "'features' must be one name per "
     "input of the model: 3 names; got \\['a', 'b'\\]"),
    ({"target_name": 3}, "'target_name' must be the target column's name \\(a string\\); got 3"),
    ({"label_map": "softmax"}, "'label_map' must be one of 'argmax', 'logit', 'sign', 'value'; "
     "got 'softmax'"),
    ({"classes": ["a", "b"]}, "'classes' must be null for a regression model"),
    ({"label_map": "logit"}, "'classes' must be a list of 2 distinct labels \\(all strings or all "
     "whole numbers\\); got None"),
    ({"label_map": "logit", "classes": []}, "'classes' must be a list of 2 .*; got \\[\\]"),
    ({"label_map": "sign", "classes": "ab"}, "'classes' must be a list of 2 distinct .*; got 'ab'"),
    ({"label_map": "sign", "classes": ["a", "a"]}, "'classes' must be a list of 2 distinct"),
    ({"label_map": "sign", "classes": ["a", 1]}, "'classes' must be a list of 2 distinct"),
    ({"label_map": "argmax", "classes": ["a", "b"]}, "'classes' must be a list of 1 labels, one "
     "per output of the model; got \\['a', 'b'\\]"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "message"), BAD_METADATA)
def test_bad_predict_metadata_is_one_line_naming_file_and_field(houses, tmp_path, change, message):
    d, _ = houses
    path = tmp_path / "model.safetensors"
    info = io.load_metadata(d / "run" / "model.safetensors") | change
    io.save(io.load(d / "run" / "model.safetensors"), path, **info)
    result = run("predict", "--model", path, "--data", d / "train.csv")
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"wengert predict: error: {path}: the field ")
    assert re.search(message, lines[0]), lines[0]
    assert lines[0].endswith("Train the model again with `wengert train`")


def test_a_missing_field_and_a_non_finite_output_are_refused(houses, tmp_path):
    d, _ = houses
    path = tmp_path / "model.safetensors"
    model, info = (
        io.load(d / "run" / "model.safetensors"),
        io.load_metadata(d / "run" / "model.safetensors"),
    )
    io.save(model, path, **{k: v for k, v in info.items() if k != "features"})
    result = run("predict", "--model", path, "--data", d / "train.csv")
    assert (
        "the field 'features' must be a list of the feature columns' names, distinct; got "
        "nothing (the field is missing)"
        in result.stderr
        and result.exit_code == 2
    )
    io.save(model, path, **(info | {"std": [1e-300] * 3}))
    data = write_csv(tmp_path / "far.csv", ["area", "rooms", "age"], [[0, 0, 0], [1e100, 1, 1]])
    result = run("predict", "--model", path, "--data", data)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (
        f"wengert predict: error: --data: {data}: the model's output for data row 2 is not "
        "finite; its values lie too far outside the range of the training data\n"
    )


# ----------------------------------------------------------------------- train's refusals
def test_train_refuses_a_huge_value_and_writes_nothing(tmp_path):
    data = write_csv(tmp_path / "big.csv", ["a", "b", "y"], [[1, 2, 0], [3, 1e308, 1]])
    result = run("train", "--data", data, "--out", tmp_path / "out")
    assert result.exit_code == 2 and not (tmp_path / "out").exists()
    assert result.stderr == (
        f"wengert train: error: labelled_table: {data} line 3, column 2 ('b'): 1e+308 is too "
        "large; cells must lie within ±1e+150, so that a column's sums and squares stay finite; "
        "rescale the column (other units)\n"
    )


def test_train_refuses_two_features_of_one_name(tmp_path):
    (tmp_path / "twice.csv").write_text("a,a,y\n1,2,0\n3,4,1\n")
    result = run("train", "--data", tmp_path / "twice.csv", "--out", tmp_path / "out")
    assert result.exit_code == 2 and not (tmp_path / "out").exists()
    assert "has more than one feature column named 'a'; predict matches" in result.stderr


def test_train_refuses_an_mlp_too_large_for_memory(tmp_path, monkeypatch):
    out = tmp_path / "out"
    result = run("train", "--data", "xor", "--hidden", "100000000,100000000", "--out", out)
    assert result.exit_code == 2 and not out.exists()
    assert "--hidden 100000000,100000000: training this MLP needs about " in result.stderr
    assert "(10,000,000,500,000,001 parameters x 8 bytes x 4 for weights" in result.stderr
    monkeypatch.setattr(runs, "memory_cap", lambda: (4 * 2**30, "a fixed cap"))
    result = run("train", "--data", "xor", "--hidden", "100000000", "--out", out)
    assert result.stderr == (
        "wengert train: error: --hidden 100000000: training this MLP needs about 101.3 GiB "
        "(400,000,001 parameters x 8 bytes x 4 for weights, gradients and optimizer state, plus "
        "the activations of 40 rows); the cap is 4.0 GiB, a fixed cap. Choose smaller layers\n"
    )
    assert not out.exists()


def test_memory_cap_is_the_least_of_the_known_limits():
    cap, what = runs.memory_cap()
    assert 0 < cap <= os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert (cap, what) == min(runs._memory_limits())


def test_memory_cap_follows_an_address_space_limit():
    # In a child process: the limit cannot be raised again once lowered.
    code = (
        "import resource; from wengert.cli import runs; "
        "resource.setrlimit(resource.RLIMIT_AS, (2**31, 2**31)); print(runs.memory_cap())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == (
        '(2147483648, "this process\'s address-space limit (ulimit -v)")'
    ), done.stderr


def test_running_out_of_memory_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    train_command = importlib.import_module("wengert.cli.train")  # the module, not the command

    def fit(*args, **kwargs):
        raise MemoryError("Unable to allocate 763. MiB for an array with shape (100000000, 1)")

    monkeypatch.setattr(train_command, "fit", fit)
    out = tmp_path / "out"
    result = run("train", "--data", "xor", "--hidden", "4", "--out", out)
    assert result.exit_code == 2 and not out.exists()
    assert result.stderr == (
        "wengert train: error: out of memory: Unable to allocate 763. MiB for an array with "
        "shape (100000000, 1)\n"
    )


@pytest.mark.skipif(not os.path.exists(WENGERT), reason="the console script is not installed")
def test_the_console_script_predicts_by_name(houses):
    d, _ = houses
    data = d / "script.csv"
    data.write_text("rooms,age,area\n3,10,120\n")
    done = subprocess.run(
        [WENGERT, "predict", "--model", str(d / "run"), "--data", str(data)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0] == "prediction" and float(lines[1]) == pytest.approx(356.0, abs=0.1)


def test_a_model_file_whose_header_length_starts_with_byte_0x80_loads(tmp_path):
    # 0x80 is also pickle's first byte; the metadata that predict needs made such lengths common.
    import wengert as wg

    model, path = wg.nn.Perceptron(2, dtype=np.float64), tmp_path / "m.safetensors"
    for pad in range(0, 256, 8):
        io.save(model, path, pad="x" * pad)
        if path.read_bytes()[:1] == b"\x80":
            break
    assert path.read_bytes()[:1] == b"\x80"
    assert io.load_metadata(path) == {"pad": "x" * pad}


NOT_FILES = [("absent.csv", "no such file: {p}"), ("folder", "{p} is a directory; expected a file")]


@pytest.mark.parametrize(("name", "why"), NOT_FILES)
def test_predict_names_a_data_path_that_is_not_a_file(houses, tmp_path, name, why):
    d, _ = houses
    data = tmp_path / name
    if name == "folder":
        data.mkdir()
    result = run("predict", "--model", d / "run", "--data", data)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == f"wengert predict: error: --data: {why.format(p=data)}\n"


def test_a_reader_that_leaves_early_ends_predict_quietly(houses):
    """`wengert predict ... | head -2`: no "Broken pipe" error line when head stops reading."""
    d, X = houses
    many = np.repeat(X, 2000, axis=0)  # more output than a pipe's buffer holds
    write_csv(d / "many.csv", ["area", "rooms", "age"], many)
    wengert = os.path.join(os.path.dirname(sys.executable), "wengert")
    command = [wengert, "predict", "--model", str(d / "run"), "--data", str(d / "many.csv")]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        first = proc.stdout.readline()
        proc.stdout.close()  # as head does after its lines
        err = proc.stderr.read().decode()
        status = proc.wait(timeout=60)
    assert first == b"prediction\n"
    assert err == "" and status == 1
