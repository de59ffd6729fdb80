"""The losses' registry: each loss declares once the targets it takes, and `wengert train` reads
that declaration for its --loss choices, its checks, its target encoding and its loss."""

import dataclasses
import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from wengert import losses
from wengert.cli import main, runs

# Every loss's declaration, in the registry's (and the command line's) order.
DECLARED = {
    "l1": (("value", "sign"), True),
    "l2": (("value", "sign"), True),
    "mse": (("value", "sign"), True),
    "huber": (("value", "sign"), True),
    "zero_one": (("sign",), False),
    "hinge": (("sign",), True),
    "squared_hinge": (("sign",), True),
    "logistic": (("logit",), True),
    "cross_entropy": (("argmax",), True),
}
CLI_ORDER = ("l1", "l2", "mse", "huber", "hinge", "squared_hinge", "logistic", "cross_entropy")
TRAIN = ["--epochs", 2, "--val-split", 0, "--hidden", 4, "--lr", 0.05]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def write_csv(path, classes):
    """12 rows (18 for 3 classes) of two features and a target: class indices 0 .. classes-1,
    or real values for classes=None. Returns the target column."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(18 if classes == 3 else 12, 2))
    if classes is None:
        y = 2 * X[:, 0] - X[:, 1] + 0.25
        column = [f"{v:.6f}" for v in y]
    else:
        y = np.arange(len(X)) % classes
        X += 3.0 * y[:, None]
        column = [str(v) for v in y]
    rows = [f"{a:.6f},{b:.6f},{t}" for (a, b), t in zip(X, column, strict=True)]
    path.write_text("a,b,target\n" + "\n".join(rows) + "\n")
    return np.array([float(v) for v in column])


def spy_on(monkeypatch, name):
    """Replace the registered function of `name` by one that records (y, loss) per call."""
    spec = losses.LOSSES[name]
    calls = []

    def spy(y_hat, y, reduction="mean"):
        value = spec.function(y_hat, y, reduction=reduction)
        calls.append((np.asarray(y), float(value.item())))
        return value

    monkeypatch.setitem(losses.LOSSES, name, dataclasses.replace(spec, function=spy))
    return calls


def test_every_loss_declares_its_targets_once_in_the_command_lines_order():
    declared = {n: (s.targets, s.trainable) for n, s in losses.LOSSES.items()}
    assert declared == DECLARED and list(declared) == list(DECLARED)
    for name, spec in losses.LOSSES.items():
        assert spec.name == name and spec.function is getattr(losses, name)
    functions = {n for n in losses.__all__ if callable(getattr(losses, n)) and n.islower()}
    assert functions == set(losses.LOSSES)
    assert runs.LOSSES == CLI_ORDER
    assert [n for n, s in losses.LOSSES.items() if s.several_outputs] == ["cross_entropy"]
    assert losses.LOSSES["l2"].labels == "sign" and losses.LOSSES["logistic"].labels == "logit"


@pytest.mark.parametrize(
    ("targets", "got"),
    [(("values",), "('values',)"), (("sign", "logit"), "('sign', 'logit')"), ((), "()")],
)
def test_a_declaration_of_unknown_or_several_label_codes_is_refused(targets, got):
    message = (
        "LossSpec 'tiny': targets must be 'value' and/or one of 'sign', 'logit', 'argmax'; "
        f"got {got}."
    )
    with pytest.raises(ValueError) as error:
        losses.LossSpec("tiny", losses.l1, targets)
    assert str(error.value) == message


def task(spec):
    """The data a loss trains on in the command line: regression if it takes values."""
    if "value" in spec.targets:
        return None, "perceptron"
    return (3, "mlp") if spec.several_outputs else (2, "perceptron")


@pytest.mark.parametrize("name", [n for n, s in losses.LOSSES.items() if s.trainable])
def test_every_trainable_loss_trains_through_the_command_line_with_its_declared_targets(
    tmp_path, monkeypatch, name
):
    spec = losses.LOSSES[name]
    classes, model = task(spec)
    y = write_csv(tmp_path / "data.csv", classes)
    calls = spy_on(monkeypatch, name)
    out = tmp_path / "run"
    args = ["--data", tmp_path / "data.csv", "--model", model, "--loss", name, *TRAIN]
    result = run("train", *args, "--out", out)
    assert result.exit_code == 0, result.output
    assert len(calls) == 2  # one batch in each of 2 epochs
    encoded = 2 * y - 1 if spec.targets[0] == "sign" else y  # 0/1 and indices: as written
    np.testing.assert_array_equal(np.sort(calls[-1][0]), np.sort(encoded))  # shuffled rows
    metrics = json.loads((out / "metrics.json").read_text())
    assert math.isclose(metrics["loss"], calls[-1][1], rel_tol=1e-12)
    assert json.loads((out / "config.json").read_text())["loss"] == name


def test_a_loss_defined_in_the_registry_trains_with_no_edit_of_the_command_line(
    tmp_path, monkeypatch
):
    calls = []

    def tiny(y_hat, y, reduction="mean"):
        calls.append(reduction)
        return 3.0 * losses.l1(y_hat, y, reduction=reduction)

    monkeypatch.setitem(losses.LOSSES, "tiny", losses.LossSpec("tiny", tiny, ("value",)))
    write_csv(tmp_path / "values.csv", None)
    write_csv(tmp_path / "labels.csv", 2)
    args = ["--model", "perceptron", "--loss", "tiny", *TRAIN]
    result = run("train", "--data", tmp_path / "values.csv", *args, "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert calls == ["mean", "mean"]
    assert json.loads((tmp_path / "run" / "config.json").read_text())["loss"] == "tiny"
    # What the loss declares is checked: it takes no class labels.
    result = run("train", "--data", tmp_path / "labels.csv", *args, "--out", tmp_path / "no")
    assert result.exit_code == 2
    assert result.stderr == (
        "wengert train: error: --loss tiny needs real-valued targets; the target holds classes\n"
    )
    assert not (tmp_path / "no").exists()


def test_the_unknown_loss_message_lists_the_trainable_losses_of_the_registry(monkeypatch):
    monkeypatch.setitem(losses.LOSSES, "tiny", losses.LossSpec("tiny", losses.l1, ("value",)))
    result = run("train", "--data", "xor", "--loss", "zero_one", "--out", "never")
    assert result.exit_code == 2
    known = ", ".join([*CLI_ORDER, "tiny"])
    assert result.stderr == (
        f"wengert train: error: --loss: unknown loss 'zero_one'; the known ones are: {known}\n"
    )


def test_a_loss_of_several_outputs_needs_the_mlp(tmp_path):
    write_csv(tmp_path / "three.csv", 3)
    args = ["--data", tmp_path / "three.csv", "--model", "perceptron", "--loss", "cross_entropy"]
    result = run("train", *args, "--out", tmp_path / "run")
    assert result.exit_code == 2
    assert result.stderr == (
        "wengert train: error: --loss cross_entropy needs --model mlp; got --model perceptron\n"
    )


def test_each_models_default_losses_fit_their_task():
    assert set(runs.DEFAULT_LOSSES) == set(runs.MODELS)
    for model, (values, two, more) in runs.DEFAULT_LOSSES.items():
        assert "value" in losses.LOSSES[values].targets, model
        assert losses.LOSSES[two].labels is not None and not losses.LOSSES[two].several_outputs
        assert losses.LOSSES[more].labels is not None, model
        assert not losses.LOSSES[more].several_outputs or model == "mlp", model
