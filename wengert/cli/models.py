"""The models `wengert train` offers, and what it says about the run it trains.

Each model but rosenblatt is trained on a loss of wengert.losses, its default chosen by the
task (DEFAULT_LOSSES). rosenblatt is trained by its own rule, the classic perceptron's
(wengert.classic's perceptron_criterion and NoMistakes), which fixes the loss, the optimizer
and the batch: RULE_SETTINGS. `summary` gives the lines train prints first when the run is
done (the model, the task and the loss, and why each was chosen), `weights` its last lines.
"""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING

import click
import numpy as np

from wengert import classic, losses, nn
from wengert.losses import LossSpec

if TYPE_CHECKING:  # runs imports this module
    from wengert.cli.runs import Run

__all__ = [
    "CHOICES",
    "DEFAULT_LOSSES",
    "EXAMPLES",
    "MODELS",
    "MODEL_HELP",
    "RULE_SETTINGS",
    "build_model",
    "check_distributed",
    "check_moved",
    "diverged",
    "loss_spec",
    "rule_defaults",
    "summary",
    "weights",
]

# The models trained on a loss of wengert.losses (--loss chooses it), and rosenblatt.
MODELS = ("perceptron", "linear", "mlp", "lms", "svm")
CHOICES = (*MODELS, "rosenblatt")
# Each model's default loss: for a real-valued target, for 2 classes, for more than 2.
DEFAULT_LOSSES = {
    "perceptron": ("l2", "logistic", "logistic"),
    "linear": ("l2", "l2", "l2"),
    "mlp": ("mse", "logistic", "cross_entropy"),
    "lms": ("l2", "l2", "l2"),
    "svm": ("mse", "hinge", "hinge"),
}
MODEL_HELP = (
    "perceptron: one unit w·x + b; on classes it is logistic regression (a perceptron with a "
    "sigmoid, the logistic loss). linear: y = w·x + b, least squares (l2). lms: the same unit "
    "as the LMS rule trains it. svm: a linear SVM (hinge). mlp: hidden layers (--hidden). "
    "rosenblatt: Rosenblatt's perceptron, sign(w·x + b), updated only on mistakes (2 classes, "
    "labels ±1; sgd on one sample at a time, constant --lr, until an epoch has no mistake)."
)
# `wengert train --help`'s examples: the lecture's first, and Rosenblatt's rule.
EXAMPLES = (
    "\b\nExamples:\n  wengert train --data xor --model mlp --hidden 8 --lr 0.1 "
    "--epochs 50 --out runs/xor\n  wengert train --data table.csv --target price --model lms "
    "--out runs/price\n\b\nThe lecture's y = w·x on its table, per-sample SGD in the table's "
    "order, η0/√t (w = 1.0047):\n  wengert train --data seed_table --model linear --no-bias "
    "--no-standardize --loss l2 --optimizer sgd --batch-size 1 --no-shuffle --schedule "
    "inverse_sqrt --lr 0.01 --epochs 20 --val-split 0 --out runs/lecture\n\b\nRosenblatt's "
    "rule on two classes:\n  wengert train --data blobs --model rosenblatt --out runs/rule"
)
# What Rosenblatt's rule fixes: w ← w + η y x on each mistake, one sample at a time.
RULE_SETTINGS = {"loss": None, "optimizer": "sgd", "batch_size": 1, "schedule": "constant"}
RULE = "w ← w + η y x on each mistake, one sample at a time"
TASKS = ("regression", "binary classification", "multiclass classification")


def rule_defaults(config: dict, context: click.Context) -> dict:
    """`config` with rosenblatt's settings in place of the options the user did not give (on
    the command line of `context`); those given are kept, for prepare to refuse if they differ
    from the rule's."""
    if config["model"] != "rosenblatt":
        return config
    default = (click.core.ParameterSource.DEFAULT, click.core.ParameterSource.DEFAULT_MAP)
    given = {k for k in config if context.get_parameter_source(k) not in default}
    return config | {k: v for k, v in RULE_SETTINGS.items() if k not in given}


def check_distributed(distributed: bool, config: dict) -> None:
    """Refuse --distributed with L-BFGS, before anything is read or written."""
    if distributed and config["optimizer"] == "lbfgs":
        raise ValueError(
            "--distributed: --optimizer lbfgs cannot train on several ranks (its line search "
            "evaluates the loss on the whole batch); use sgd, adam or another first-order "
            "optimizer, or leave --distributed out"
        )


def _check_rule(config: dict) -> None:
    for name, value in RULE_SETTINGS.items():
        if config[name] != value:
            flag = "--" + name.replace("_", "-")
            keep = f"leave {flag} out" if value is None else f"leave {flag} out or give {value}"
            raise ValueError(
                f"{flag} {config[name]}: --model rosenblatt is trained by its own rule, {RULE} "
                f"(sgd, --batch-size 1, a constant --lr, no --loss); {keep}"
            )
    if config["momentum"]:
        raise ValueError(
            f"--momentum {config['momentum']}: --model rosenblatt is trained by its own rule, "
            f"{RULE}, which has no momentum; leave --momentum out"
        )


def _task(classes: np.ndarray | None) -> int:
    return 0 if classes is None else 1 if len(classes) <= 2 else 2


def loss_spec(config: dict, classes: np.ndarray | None) -> LossSpec:
    """The loss of --loss, or the model's default for the data, checked against both;
    rosenblatt's rule as a loss of labels ±1."""
    model, name = config["model"], config["loss"]
    if model == "rosenblatt":
        _check_rule(config)
        if classes is None or len(classes) != 2:
            got = "is real-valued" if classes is None else f"holds {len(classes)} classes"
            raise ValueError(
                f"--model rosenblatt separates 2 classes (labels ±1); the target {got}. Use "
                "--model linear for a real-valued target, --model mlp for more classes"
            )
        return LossSpec("rosenblatt", classic.perceptron_criterion, ("sign",))
    if name is None:
        name = DEFAULT_LOSSES[model][_task(classes)]
    spec = losses.LOSSES[name]
    if classes is None and "value" not in spec.targets:
        raise ValueError(f"--loss {name} needs class labels; the target is real-valued")
    if classes is not None and spec.labels is None:
        raise ValueError(f"--loss {name} needs real-valued targets; the target holds classes")
    if model != "mlp" and spec.several_outputs:
        raise ValueError(f"--loss {name} needs --model mlp; got --model {model}")
    return spec


def build_model(config: dict, hidden: list[int], n_in: int, n_out: int) -> nn.Module:
    """The model of --model, with a bias unless --no-bias, its weights from --seed (a config
    from before --no-bias has a bias)."""
    name, seed, bias = config["model"], config["seed"], config.get("bias", True)
    if name == "mlp":
        sizes = [n_in, *hidden, n_out]
        activation = config["activation"]
        return nn.MLP(sizes, activation=activation, bias=bias, seed=seed, dtype=np.float64)
    return nn.Perceptron(n_in, bias=bias, init="zeros", seed=seed, dtype=np.float64)


def _describe(config: dict, loss: str) -> str:
    model, b = config["model"], " + b" if config["bias"] else ""
    if model == "mlp":
        return f"an MLP, hidden layers {config['hidden']}, {config['activation']} between them"
    if model == "rosenblatt":
        return f"Rosenblatt's perceptron, ŷ = sign(w·x{b})"
    if model == "svm":
        return f"a linear SVM, ŷ = w·x{b}"
    if model == "perceptron" and loss == "logistic":
        return f"logistic regression (a perceptron with a sigmoid): sigmoid(w·x{b})"
    what = {"linear": "linear", "lms": "linear, the LMS rule's", "perceptron": "a perceptron"}
    return f"{what[model]}, ŷ = w·x{b} (no activation)"


def summary(config: dict, run: Run) -> list[str]:
    """What train prints first for a finished run: the model, the inputs, the task (and why)
    and the loss (and whether the user or the model's default chose it)."""
    classes, loss = run.classes, run.loss.__name__
    task = TASKS[_task(classes)]
    if classes is None:
        holds = "real values, not class labels"
    else:
        shown = ", ".join(str(c) for c in classes.tolist()[:10])
        holds = f"{len(classes)} classes: {shown}{', ...' * (len(classes) > 10)}"
    if config["model"] == "rosenblatt":
        chose = f"none: Rosenblatt's rule, {RULE} (labels -1, +1)"
    elif config["loss"] is None:
        chose = f"{loss}, the default of --model {config['model']} for {task} (--loss to change)"
    else:
        chose = f"{loss}, chosen by --loss"
    inputs = "standardized (the training rows' mean and standard deviation)"
    return [
        f"model: {_describe(config, loss)}",
        f"inputs: {inputs if config['standardize'] else 'as given (--no-standardize)'}",
        f"task: {task} (the target {run.target_name!r} holds {holds})",
        f"loss function: {chose}",
    ]


def weights(model: nn.Module) -> list[str]:
    """The weights of a one-unit model with at most 10 inputs, one line each; none otherwise."""
    if not isinstance(model, nn.Perceptron) or model.n_inputs > 10:
        return []
    lines = [f"w: {', '.join(f'{v:.6g}' for v in model.weight.data.tolist())}"]
    if model.bias is not None:
        lines.append(f"b: {float(model.bias.data):.6g}")
    return lines


def check_moved(initial: dict, model: nn.Module, epochs: int, config: dict) -> None:
    """Warn when training ended with every weight where it started: the loss never moved."""
    final = model.state_dict()
    if any(not np.array_equal(initial[name], final[name]) for name in initial):
        return
    lr = config["lr"]
    if config["optimizer"] == "lbfgs":
        why = (
            "no step of L-BFGS's line search lowered the loss; try a smaller --lr (this "
            f"run's: {lr:g})"
        )
    else:
        why = (
            "each step was too small to change them in float64, or the gradient was 0; try a "
            f"larger --lr (this run's: {lr:g})"
        )
    warnings.warn(f"the weights did not change in {epochs} epochs: {why}", stacklevel=2)


def diverged(bad: dict, checkpoint: str, lr: float) -> str:
    """The line of a run that reached a non-finite quantity `bad`, and whether its
    `checkpoint` (of the last good epoch) was written."""
    where = f"at epoch {bad['epoch']}, step {bad['step']}"
    if bad["quantity"].startswith("parameter"):
        where = "after the update " + where
    if os.path.exists(checkpoint):
        kept = f"{checkpoint} keeps the last good epoch, {bad['epoch'] - 1}"
    else:
        kept = "no epoch had finished, so there is no checkpoint"
    return (
        f"training diverged: the {bad['quantity']} became {bad['value']} {where}; {kept}. "
        f"Try a smaller --lr (this run's: {lr:g})"
    )
