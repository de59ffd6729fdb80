"""The lecture from the command line: y = w·x with no bias on the inputs as given (w = 1.0047),
Rosenblatt's rule (--model rosenblatt), and the lines in which train says which model, task and
loss it picked; every refusal of the new options, exit status 2 and nothing written."""

import json
import math
import shlex

import numpy as np
import pytest
from click.testing import CliRunner

from wengert import io as wio
from wengert.classic import Perceptron
from wengert.classic.perceptron import perceptron_epoch
from wengert.cli import main
from wengert.cli.models import EXAMPLES
from wengert.cli.runs import prepare
from wengert.data import DataLoader

X_TABLE = np.array([10.0, 2.0, 3.5, 1.0])
Y_TABLE = np.array([10.1, 1.9, 3.4, 1.1])
LECTURE = [
    "--data", "seed_table", "--model", "linear", "--no-bias", "--no-standardize", "--loss",
    "l2", "--optimizer", "sgd", "--batch-size", "1", "--no-shuffle", "--schedule",
    "inverse_sqrt", "--lr", "0.01", "--epochs", "20", "--val-split", "0",
]  # fmt: skip


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def read_json(path):
    return json.loads(path.read_text())


def by_hand(epochs=20, eta0=0.01):
    """The lecture's loop: for each sample in the table's order, w ← w + η_t (y - w x) x with
    η_t = η0/√t, t counting the samples seen. Returns w and the last epoch's mean loss
    ½ (y - w x)², each taken before its sample's step."""
    w, t = 0.0, 0
    for _ in range(epochs):
        losses = []
        for x, y in zip(X_TABLE, Y_TABLE, strict=True):
            t += 1
            losses.append((y - w * x) ** 2 / 2)
            w += eta0 / math.sqrt(t) * (y - w * x) * x
    return w, float(np.mean(losses))


def separable_csv(path, n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    score = 2 * X[:, 0] - X[:, 1] + 0.3
    keep = np.abs(score) > 0.2  # a margin, so that the rule ends in a few epochs
    X, labels = X[keep], np.where(score[keep] > 0, "yes", "no")
    rows = "\n".join(f"{a:.17g},{b:.17g},{c}" for (a, b), c in zip(X, labels, strict=True))
    path.write_text("a,b,label\n" + rows + "\n")
    return X, labels


def three_classes(tmp_path):
    """A CSV of 30 points in 3 classes named a, b, c (the bundled iris needs scikit-learn's
    import, seconds)."""
    path = tmp_path / "three.csv"
    rows = [f"{i % 3 + 0.1 * i:.2f},{(i * 7) % 5:.1f},{'abc'[i % 3]}" for i in range(30)]
    path.write_text("u,v,kind\n" + "\n".join(rows) + "\n")
    return path


# ------------------------------------------------------------------ the lecture's first example
def test_the_lecture_command_gives_w_1_0047_printed_and_in_the_model(tmp_path):
    out = tmp_path / "lecture"
    result = run("train", *LECTURE, "--out", out)
    assert result.exit_code == 0, result.output
    model = wio.load(out / "model.safetensors")
    assert model.bias is None and model.weight.data.shape == (1,)
    w = float(model.weight.data[0])
    assert round(w, 4) == 1.0047  # the lecture's digits
    w_hand, loss_hand = by_hand()
    assert w == pytest.approx(w_hand, abs=1e-12)  # its loop, the same steps
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        "model: linear, ŷ = w·x (no activation)",
        "inputs: as given (--no-standardize)",
        "task: regression (the target 'y' holds real values, not class labels)",
        "loss function: l2, chosen by --loss",
    ]
    assert lines[-1] == "w: 1.00471"
    metrics = read_json(out / "metrics.json")
    assert metrics["epochs"] == 20
    assert metrics["loss"] == pytest.approx(loss_hand, rel=1e-12)
    config = read_json(out / "config.json")
    assert (config["bias"], config["standardize"], config["shuffle"]) == (False, False, False)


def test_the_help_shows_the_lecture_command_and_it_runs(tmp_path):
    result = run("train", "--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "logistic regression (a perceptron with a sigmoid" in text
    assert "--no-bias" in text and "--no-standardize" in text and "--no-shuffle" in text
    line = next(ln for ln in EXAMPLES.splitlines() if "seed_table" in ln)
    args = shlex.split(line)[2:]  # after "wengert train"
    assert args[: len(LECTURE)] == LECTURE
    args[args.index("--out") + 1] = str(tmp_path / "example")
    done = run("train", *args)
    assert done.exit_code == 0 and done.stdout.splitlines()[-1] == "w: 1.00471"


def test_standardizing_and_the_bias_are_still_the_defaults(tmp_path):
    out = tmp_path / "run"
    args = ["--data", "seed_table", "--model", "linear", "--val-split", 0, "--epochs", 1]
    result = run("train", *args, "--out", out)
    assert result.exit_code == 0, result.output
    info = wio.load_metadata(out / "model.safetensors")
    assert info["mean"] == [float(np.mean(X_TABLE))]
    assert info["std"] == [float(np.std(X_TABLE))]
    assert wio.load(out / "model.safetensors").bias is not None
    lines = result.stdout.splitlines()
    assert lines[0] == "model: linear, ŷ = w·x + b (no activation)"
    assert lines[1] == "inputs: standardized (the training rows' mean and standard deviation)"
    assert lines[3] == "loss function: l2, the default of --model linear for regression " + (
        "(--loss to change)"
    )


def test_no_bias_takes_every_bias_out_of_an_mlp(tmp_path):
    out = tmp_path / "run"
    args = ["--data", "xor", "--model", "mlp", "--hidden", "3", "--epochs", 1, "--no-bias"]
    assert run("train", *args, "--out", out).exit_code == 0
    names = wio.load(out / "model.safetensors").state_dict().keys()
    assert names and not [n for n in names if "bias" in n]


# ------------------------------------------------------------------ the task and loss it picked
@pytest.mark.parametrize(
    ("args", "lines"),
    [
        (
            ["--data", "xor", "--model", "perceptron"],
            [
                "model: logistic regression (a perceptron with a sigmoid): sigmoid(w·x + b)",
                "task: binary classification (the target 'y' holds 2 classes: 0, 1)",
                "loss function: logistic, the default of --model perceptron for binary "
                "classification (--loss to change)",
            ],
        ),
        (
            ["--data", "xor", "--model", "perceptron", "--loss", "l2"],
            [
                "model: a perceptron, ŷ = w·x + b (no activation)",
                "task: binary classification (the target 'y' holds 2 classes: 0, 1)",
                "loss function: l2, chosen by --loss",
            ],
        ),
        (
            ["--data", "THREE", "--model", "mlp", "--hidden", "4"],
            [
                "model: an MLP, hidden layers 4, relu between them",
                "task: multiclass classification (the target 'kind' holds 3 classes: a, b, c)",
                "loss function: cross_entropy, the default of --model mlp for multiclass "
                "classification (--loss to change)",
            ],
        ),
        (
            ["--data", "blobs", "--model", "svm", "--no-bias"],
            [
                "model: a linear SVM, ŷ = w·x",
                "task: binary classification (the target 'y' holds 2 classes: 0, 1)",
                "loss function: hinge, the default of --model svm for binary classification "
                "(--loss to change)",
            ],
        ),
    ],
)
def test_train_says_which_model_task_and_loss_it_picked(tmp_path, args, lines):
    args = [three_classes(tmp_path) if a == "THREE" else a for a in args]
    result = run("train", *args, "--epochs", 1, "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    printed = result.stdout.splitlines()
    assert [printed[0], *printed[2:4]] == lines


# ------------------------------------------------------------------ Rosenblatt's rule
def test_rosenblatt_separates_a_separable_set_and_is_the_classic_rule(tmp_path):
    table = tmp_path / "points.csv"
    X, labels = separable_csv(table)
    out = tmp_path / "rule"
    args = ["--data", table, "--model", "rosenblatt", "--val-split", 0, "--no-standardize"]
    result = run("train", *args, "--lr", 0.5, "--epochs", 100, "--seed", 3, "--out", out)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "model: Rosenblatt's perceptron, ŷ = sign(w·x + b)"
    assert lines[3] == (
        "loss function: none: Rosenblatt's rule, w ← w + η y x on each mistake, one sample at "
        "a time (labels -1, +1)"
    )
    metrics = read_json(out / "metrics.json")
    epochs = metrics["epochs"]
    assert 1 < epochs < 100 and metrics["accuracy"] == 1.0
    assert metrics["stop_reason"] == (
        f"no mistake in epoch {epochs}: every training point on its side"
    )
    # zero training errors: predict gives back every label
    predicted = run("predict", "--model", out, "--data", table)
    assert predicted.stdout.splitlines()[1:] == labels.tolist()
    # the classic rule by hand, in the orders fit drew from --seed 3: the same weights exactly
    y = np.where(labels == "yes", 1.0, -1.0)
    loader, w, b = DataLoader(X, y, batch_size=1, seed=3), np.zeros(2), 0.0
    mistakes = []
    for _ in range(epochs):
        order = np.concatenate(loader.batch_indices())
        b, m = perceptron_epoch(X, y, order, w, b, 0.5, True)
        mistakes.append(m)
    assert mistakes[-1] == 0 and min(mistakes[:-1]) > 0
    model = wio.load(out / "model.safetensors")
    np.testing.assert_array_equal(model.weight.data, w)
    assert float(model.bias.data) == b
    # and the estimator of wengert.classic, in the table's order, separates it too
    assert Perceptron(lr=0.5, shuffle=False).fit(X, labels).score(X, labels) == 1.0


def test_rosenblatt_without_a_bias_and_its_resume(tmp_path):
    table = tmp_path / "points.csv"
    separable_csv(table, seed=1)
    out = tmp_path / "rule"
    args = ["--data", table, "--model", "rosenblatt", "--no-bias", "--val-split", 0]
    result = run("train", *args, "--epochs", 1, "--out", out)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "model: Rosenblatt's perceptron, ŷ = sign(w·x)"
    assert wio.load(out / "model.safetensors").bias is None
    config = read_json(out / "config.json")
    assert (config["optimizer"], config["batch_size"], config["loss"]) == ("sgd", 1, None)
    resumed = run("resume", out, "--epochs", 2)
    assert resumed.exit_code == 0, resumed.output
    assert read_json(out / "metrics.json")["epochs"] in (2, 3)


# ------------------------------------------------------------------ refusals
ROSENBLATT = ["--data", "blobs", "--model", "rosenblatt"]
RULE = (
    "--model rosenblatt is trained by its own rule, w ← w + η y x on each mistake, one sample "
    "at a time (sgd, --batch-size 1, a constant --lr, no --loss)"
)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([*ROSENBLATT, "--optimizer", "adam"], f"--optimizer adam: {RULE}; leave --optimizer "
         "out or give sgd"),
        ([*ROSENBLATT, "--loss", "hinge"], f"--loss hinge: {RULE}; leave --loss out"),
        ([*ROSENBLATT, "--batch-size", "8"], f"--batch-size 8: {RULE}; leave --batch-size out "
         "or give 1"),
        ([*ROSENBLATT, "--schedule", "inverse_sqrt"], f"--schedule inverse_sqrt: {RULE}; leave "
         "--schedule out or give constant"),
        ([*ROSENBLATT, "--optimizer", "sgd", "--momentum", "0.5"], "--momentum 0.5: --model "
         "rosenblatt is trained by its own rule, w ← w + η y x on each mistake, one sample at "
         "a time, which has no momentum; leave --momentum out"),
        (["--data", "seed_table", "--model", "rosenblatt"], "--model rosenblatt separates 2 "
         "classes (labels ±1); the target is real-valued. Use --model linear for a real-valued "
         "target, --model mlp for more classes"),
        (["--data", "THREE", "--model", "rosenblatt"], "--model rosenblatt separates 2 classes "
         "(labels ±1); the target holds 3 classes. Use --model linear for a real-valued "
         "target, --model mlp for more classes"),
        (["--data", "xor", "--model", "adaline"], "--model: unknown model 'adaline'; the known "
         "ones are: perceptron, linear, mlp, lms, svm, rosenblatt"),
    ],
)  # fmt: skip
def test_the_new_options_refusals_are_one_line_exit_2_and_write_nothing(tmp_path, args, message):
    args = [three_classes(tmp_path) if a == "THREE" else a for a in args]
    out = tmp_path / "run"
    result = run("train", *args, "--out", out)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"wengert train: error: {message}\n"
    assert not out.exists()


def test_a_config_json_whose_flag_is_not_a_bool_is_refused_and_an_older_one_resumes(tmp_path):
    out = tmp_path / "run"
    args = ["--data", "seed_table", "--model", "linear", "--val-split", 0, "--epochs", 1]
    assert run("train", *args, "--out", out).exit_code == 0
    config = read_json(out / "config.json")
    (out / "config.json").write_text(json.dumps(config | {"bias": "no"}))
    result = run("resume", out, "--epochs", 1)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (
        f'wengert resume: error: {out / "config.json"} has bias="no", not true or false: the '
        f"file is damaged; restore it, or start the run anew with wengert train ... --out {out} "
        "--force\n"
    )
    # a run written before --no-bias, --no-standardize and --no-shuffle: trained with all three
    older = {k: v for k, v in config.items() if k not in ("bias", "standardize", "shuffle")}
    prepared = prepare({k: v for k, v in older.items() if k != "wengert_run"})
    assert prepared.model.bias is not None and prepared.mean.tolist() == [np.mean(X_TABLE)]
    (out / "config.json").write_text(json.dumps(older))
    result = run("resume", out, "--epochs", 1)
    assert result.exit_code == 0, result.output
    assert read_json(out / "metrics.json")["epochs"] == 2
