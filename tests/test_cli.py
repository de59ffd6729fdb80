"""The `wengert` command line: each subcommand's output, and every bad input refused with exit
status 2, one message and nothing written."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from wengert.cli import main
from wengert.cli.expr import ExpressionError, compile_expression, parse

WENGERT = os.path.join(os.path.dirname(sys.executable), "wengert")
SMALL = ["--data", "xor", "--hidden", "4", "--epochs", "2", "--lr", "0.05"]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


# ----------------------------------------------------------------------- expression language
@pytest.mark.parametrize(
    ("text", "point", "expected"),
    [
        ("1 + 2 * 3 + 0 * x", {"x": 0.0}, 7.0),
        ("-x**2", {"x": 3.0}, -9.0),  # ** binds tighter than unary minus, as in Python
        ("2**3**x", {"x": 2.0}, 2.0**9),  # right-associative
        ("(1 - x) / 4 - 1", {"x": 3.0}, -1.5),
        ("sigmoid(w*x + b)", {"w": 0.5, "x": 2.0, "b": 0.1}, sigmoid(1.1)),
        ("maximum(x, 2) + relu(-x) + 1e-1", {"x": 1.0}, 2.1),
        ("log(1 + exp(x)) - softplus(x)", {"x": 0.3}, 0.0),
    ],
)
def test_expressions_evaluate_as_python_would(text, point, expected):
    import wengert as wg

    f = compile_expression(text, point)
    value = f(*[wg.tensor(v, requires_grad=True) for v in point.values()])
    assert float(np.asarray(getattr(value, "data", value))) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("text", "variables", "column", "message"),
    [
        ("sigmoid(w*x + b", ["w", "x", "b"], 15, "expected '\\)', found the end"),
        ("w * q", ["w"], 4, "unknown name 'q'"),
        ("w $ 2", ["w"], 2, "unexpected character '\\$'"),
        ("foo(w)", ["w"], 0, "unknown function 'foo'"),
        ("exp + w", ["w"], 0, "exp is a function"),
        ("w(2)", ["w"], 0, "unknown function 'w'"),
        ("maximum(w)", ["w"], 0, "maximum takes 2 arguments; got 1"),
        ("w * * 2", ["w"], 4, "expected a number, a name or '\\('"),
        ("(w", ["w"], 2, "expected '\\)'"),
        ("w 2", ["w"], 2, "unexpected '2'"),
        ("", ["w"], 0, "empty expression"),
        ("2 * 3", ["w"], 0, "uses none of the variables \\(w\\): nothing to differentiate"),
    ],
)
def test_bad_expressions_point_at_the_column(text, variables, column, message):
    with pytest.raises(ExpressionError, match=message) as info:
        compile_expression(text, variables)
    assert info.value.column == column
    caret_line = str(info.value).splitlines()[-1]
    assert caret_line == "  " + " " * column + "^"


def test_parse_builds_no_python_code():
    assert parse("-x**2") == ("neg", ("bin", "**", ("var", "x", 1), ("num", 2.0, 4), 2), 0)


# ----------------------------------------------------------------------- trace / gradcheck / ...
def test_trace_prints_the_list_the_sweep_and_the_gradient(tmp_path):
    dot = tmp_path / "graph.dot"
    result = run("trace", "sigmoid(w*x + b)", "--at", "w=0.5,x=2,b=0.1", "--dot", dot)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "t1 = w * x" in out and "y  = sigmoid(t2)" in out
    assert "Backward sweep" in out
    s = sigmoid(1.1)
    dy_dz = s * (1 - s)  # dy/dw = σ'(z) x, dy/db = σ'(z)
    assert f"dy/dw = {2 * dy_dz:.5g}" in out and f"dy/db = {dy_dz:.5g}" in out
    text = dot.read_text()
    assert text.startswith("digraph wengert {") and '"w" -> "t1";' in text


def test_gradcheck_and_derivatives_report():
    result = run("gradcheck", "log(1 + exp(w*x + b))", "--at", "w=0.5,x=1.5,b=-0.3", "--order", 2)
    assert result.exit_code == 0, result.output
    assert "gradcheck passed" in result.stdout and "argument 2 (b)  2" in result.stdout
    result = run("derivatives", "w*x + x**2", "--at", "w=0.5,x=2", "--repeats", 1)
    assert result.exit_code == 0, result.output
    assert "reverse mode (grad)" in result.stdout and "[2, 4.5]" in result.stdout  # [x, w + 2x]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["trace", "w * q", "--at", "w=1"], r"unknown name 'q' .* at column 5\n  w \* q\n      \^"),
        (["gradcheck", "w +", "--at", "w=1"], "expected a number, a name or '\\(', found the end"),
        (["derivatives", "w", "--at", "w=abc"], "--at: w='abc' is not a number"),
        (["trace", "w", "--at", "w"], "--at must be name=value pairs"),
        (["trace", "w", "--at", "w=1,w=2"], "--at gives 'w' twice"),
        (["trace", "w", "--at", "w=inf"], "--at: w=inf is not a finite number"),
    ],
)
def test_bad_expressions_exit_2(args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"wengert {args[0]}: error: ")
    assert re.search(message, result.stderr), result.stderr


# ----------------------------------------------------------------------- train / resume / predict
def read_json(path):
    with open(path) as file:
        return json.load(file)


def test_train_writes_a_run_and_is_reproducible(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    first = run("train", *SMALL, "--out", a)
    assert first.exit_code == 0, first.output
    assert "val_accuracy:" in first.stdout
    files = {"config.json", "metrics.json", "history.csv", "model.safetensors", "loss.png"}
    assert files <= set(os.listdir(a))
    assert run("train", *SMALL, "--out", b).exit_code == 0
    assert (a / "metrics.json").read_text() == (b / "metrics.json").read_text()
    metrics = read_json(a / "metrics.json")
    assert metrics["epochs"] == 2 and 0 <= metrics["val_accuracy"] <= 1
    assert (a / "history.csv").read_text().splitlines()[0] == (
        "epoch,epoch_loss,val_loss,accuracy,val_accuracy"
    )
    assert read_json(a / "config.json")["hidden"] == "4"
    # training again into a wengert run is allowed: it is replaced
    assert run("train", *SMALL, "--out", a).exit_code == 0


def test_resume_continues_exactly(tmp_path):
    whole, part = tmp_path / "whole", tmp_path / "part"
    base = ["--data", "moons", "--hidden", "4", "--lr", "0.05", "--seed", "3"]
    assert run("train", *base, "--epochs", 4, "--out", whole).exit_code == 0
    assert run("train", *base, "--epochs", 2, "--out", part).exit_code == 0
    result = run("resume", part, "--epochs", 2)
    assert result.exit_code == 0, result.output
    assert read_json(part / "metrics.json") == read_json(whole / "metrics.json")
    assert read_json(part / "config.json")["epochs"] == 4


@pytest.mark.parametrize(
    ("model", "extra"),
    [
        ("perceptron", []),
        ("lms", ["--optimizer", "sgd", "--momentum", "0.9"]),
        ("svm", ["--schedule", "inverse_sqrt", "--optimizer", "sgd"]),
        ("mlp", ["--optimizer", "lbfgs", "--lr", "1", "--batch-size", "1000"]),
    ],
)
def test_every_model_trains_on_a_csv_and_predicts(tmp_path, model, extra):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    table = tmp_path / "points.csv"
    rows = "\n".join(f"{a:.17g},{b:.17g},{c}" for (a, b), c in zip(X, y, strict=True))
    table.write_text("a,b,label\n" + rows + "\n")
    out = tmp_path / "run"
    args = ["--data", table, "--target", "label", "--model", model, "--epochs", 3, *extra]
    result = run("train", *args, "--out", out)
    assert result.exit_code == 0, result.output
    result = run("predict", "--model", out, "--data", table)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "prediction" and len(lines) == 41
    assert set(lines[1:]) <= {"0", "1"}


def test_seed_table_regression_predicts_numbers(tmp_path):
    out = tmp_path / "run"
    args = ["--data", "seed_table", "--model", "lms", "--val-split", 0, "--optimizer", "lbfgs"]
    assert run("train", *args, "--lr", 1, "--epochs", 5, "--out", out).exit_code == 0
    table = tmp_path / "x.csv"
    table.write_text("x\n10\n1\n")
    result = run("predict", "--model", out / "model.safetensors", "--data", table)
    assert result.exit_code == 0, result.output
    values = [float(v) for v in result.stdout.splitlines()[1:]]
    # the least-squares line through the lecture's table, in closed form
    x, y = np.array([10.0, 2.0, 3.5, 1.0]), np.array([10.1, 1.9, 3.4, 1.1])
    w = np.sum((x - x.mean()) * (y - y.mean())) / np.sum((x - x.mean()) ** 2)
    b = y.mean() - w * x.mean()
    assert values == pytest.approx([10 * w + b, w + b], abs=1e-4)


# ----------------------------------------------------------------------- bad input
@pytest.fixture
def csvs(tmp_path):
    files = {
        "ok.csv": "a,b,y\n1,2,0\n3,4,1\n",
        "text.csv": "a,b,y\n1,2,0\n3,x,1\n",
        "empty.csv": "a,b,y\n1,,0\n3,4,1\n",
        "nan.csv": "a,b,y\n1,2,0\n3,nan,1\n5,inf,0\n",
        "numbered.csv": "1,2,y\n1,2,0\n3,4,1\n",
        "three.csv": "a,y\n" + "".join(f"{i},{i % 3}\n" for i in range(12)),
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "notrun").mkdir()
    (tmp_path / "notrun" / "keep.txt").write_text("mine")
    return tmp_path


BAD_TRAIN = [
    (["--data", "nope"], "--data: unknown dataset 'nope'; give a CSV file or one of: seed_table"),
    (["--data", "{d}/missing.csv"], "--data: no such file: .*missing.csv"),
    (["--data", "{d}/notrun"], "--data: .*notrun is a directory; expected a file"),
    (["--data", "{d}/ok.csv", "--target", "z"], "has no column named 'z'; the columns are 'a'"),
    (["--data", "{d}/ok.csv", "--target", "--5"], "has no column named '--5'; the columns are"),
    (
        ["--data", "{d}/numbered.csv", "--target", "1"],
        "--target 1: .*numbered.csv has a column named '1', and column 1 \\(counting from 0\\) "
        "is '2'; give the index of the one you mean: 0 or 1",
    ),
    (["--data", "{d}/text.csv"], r"text.csv line 3, column 2 \('b'\): 'x' is not a number"),
    (["--data", "{d}/empty.csv"], r"line 2, column 2 \('b'\): an empty cell is not a number"),
    (["--data", "{d}/nan.csv"], r"line 3, column 2 \('b'\): 'nan' is not a finite number"),
    (
        ["--data", "xor", "--optimizer", "sgdx"],
        "unknown optimizer 'sgdx'; the known ones are: sgd,",
    ),
    (["--data", "xor", "--loss", "foo"], "unknown loss 'foo'; the known ones are: l1, l2"),
    (["--data", "xor", "--hidden", "0"], "--hidden: every layer needs at least 1 unit; got 0"),
    (["--data", "xor", "--hidden", "a"], "--hidden must be layer sizes separated by commas"),
    (["--data", "xor", "--lr", "-1"], "--lr must be a positive number; got -1.0"),
    (["--data", "xor", "--val-split", "1"], r"--val-split must be in \[0, 1\); got 1.0"),
    (["--data", "{d}/three.csv", "--model", "svm"], "separates 2 classes; the data has 3"),
    (["--data", "seed_table", "--loss", "logistic"], "needs class labels; the target is real"),
    (
        ["--data", "xor", "--optimizer", "adam", "--momentum", "0.9"],
        "--momentum is for --optimizer sgd; adam has its own averaging",
    ),
    (
        ["--data", "xor", "--optimizer", "lbfgs", "--schedule", "cosine"],
        "--schedule does not apply to --optimizer lbfgs",
    ),
]


@pytest.mark.parametrize(("args", "message"), BAD_TRAIN)
def test_bad_train_input_exits_2_and_writes_nothing(csvs, args, message):
    out = csvs / "out"
    result = run("train", *[a.format(d=csvs) for a in args], "--epochs", 1, "--out", out)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("wengert train: error: ")
    assert re.search(message, lines[0]), lines[0]
    assert not out.exists()


def test_an_outdir_that_is_not_a_run_needs_force(csvs):
    target = csvs / "notrun"
    result = run("train", *SMALL, "--out", target)
    assert result.exit_code == 2
    assert "is not a wengert run (no config.json); pass --force" in result.stderr
    assert os.listdir(target) == ["keep.txt"]
    assert run("train", *SMALL, "--out", target, "--force").exit_code == 0
    assert "metrics.json" in os.listdir(target)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["resume", "{d}/notrun", "--epochs", "1"], "is not a wengert run"),
        (["predict", "--model", "{d}/notrun", "--data", "{d}/ok.csv"], "no such model file"),
        (["plot", "nope", "--out", "{d}/x.png"], "unknown picture 'nope'; the pictures are: "),
    ],
)
def test_bad_resume_predict_plot_exit_2(csvs, args, message):
    result = run(*[a.format(d=csvs) for a in args])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"wengert {args[0]}: error: ") and message in result.stderr


def test_predict_names_a_bad_cell(csvs):
    out = csvs / "run"
    assert run("train", "--data", csvs / "ok.csv", "--val-split", 0, "--out", out).exit_code == 0
    result = run("predict", "--model", out, "--data", csvs / "text.csv")
    assert result.exit_code == 2
    assert "line 3, column 2 ('b'): 'x' is not a number" in result.stderr


def test_help_shows_examples():
    for command in ([], ["train"], ["predict"], ["resume"], ["trace"], ["gradcheck"],
                    ["derivatives"], ["plot"]):  # fmt: skip
        result = run(*command, "--help")
        assert result.exit_code == 0 and "Example" in result.stdout, command


# ----------------------------------------------------------------------- the real program
@pytest.mark.skipif(not os.path.exists(WENGERT), reason="the console script is not installed")
def test_the_console_script_exits_2_with_one_line(tmp_path):
    done = subprocess.run(
        [WENGERT, "train", "--data", "nope", "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("wengert train: error: --data: unknown dataset 'nope'")
    assert len(done.stderr.splitlines()) == 1 and not (tmp_path / "o").exists()
    done = subprocess.run(
        [WENGERT, "trace", "w*", "--at", "w=1"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-2:] == ["  w*", "    ^"]
