"""The pieces of a training run, built from the CLI's arguments: data, model, loss, optimizer.

Everything here validates and builds; nothing writes. `prepare(config)` returns a Run that
`wengert train` and `wengert resume` both train, so that a resumed run is rebuilt exactly from
the config.json of the first.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from wengert import data as wdata
from wengert import losses, nn, optim
from wengert.autodiff.tensor import Tensor
from wengert.cli.boundary import check_file
from wengert.cli.models import CHOICES, DEFAULT_LOSSES, MODELS, build_model, loss_spec
from wengert.data.csv import labelled_table
from wengert.losses import LossSpec
from wengert.optim import schedules

__all__ = [
    "DATASETS",
    "DATA_HELP",
    "DEFAULT_LOSSES",
    "LOSSES",
    "MODELS",
    "MODEL_FILE",
    "OPTIMIZERS",
    "SCHEDULES",
    "Run",
    "accuracy_metric",
    "check_memory",
    "load_data",
    "memory_cap",
    "predictions",
    "prepare",
    "run_info",
    "whole_number_classes",
]

DATASETS = {
    "seed_table": wdata.seed_table,
    "blobs": wdata.blobs,
    "xor": wdata.xor,
    "circles": wdata.circles,
    "moons": wdata.moons,
    "spirals": wdata.spirals,
    "digits": wdata.digits,
    "iris": wdata.iris,
    "breast_cancer": wdata.breast_cancer,
    "wine": wdata.wine,
}
# What `wengert train --help` says of --data.
DATA_HELP = (
    "A bundled dataset's name, a CSV file, or a 2-D .npy file, read chunk by chunk (its target "
    "the last column or --target's index; the last --val-split of its rows validate)."
)
# The losses the command line trains with, as wengert.losses declares them (its registry), in
# its order; prepare reads the registry itself, so a loss defined there needs no edit here.
LOSSES = tuple(name for name, spec in losses.LOSSES.items() if spec.trainable)
# The optimizers by command-line name, as each class declares it (wengert.optim's registry).
OPTIMIZERS = optim.OPTIMIZERS
# The trained model's file in a run directory: written by train, read by predict.
MODEL_FILE = "model.safetensors"
SCHEDULES = ("constant", "inverse_sqrt", "inverse_scaling", "cosine")
# Most distinct whole-number targets a CSV may have to be read as class labels.
MAX_CLASSES = 50


@dataclass
class Run:
    """A run ready to train: the model, its loss, optimizer and the prepared data."""

    model: nn.Module
    loss: object
    optimizer: object
    train: tuple
    val: tuple | None
    classes: np.ndarray | None  # the original labels, for a classifier
    mean: np.ndarray
    std: np.ndarray
    label_map: str  # how model outputs map back to labels: "argmax", "logit", "sign", "value"
    features: list[str]  # the feature columns' names, in the order the model takes them
    target_name: str


def _choice(value: str, known, what: str) -> str:
    if value not in known:
        raise ValueError(
            f"--{what}: unknown {what} {value!r}; the known ones are: {', '.join(known)}"
        )
    return value


def load_data(spec: str, target: str | None) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    """X, y, the feature names and the target's name, from a bundled dataset's name or a CSV
    file's path (the target column: by name or index, or the last one; a whole number that is
    also another column's name is refused as ambiguous).

    A CSV file's features are its header's names, which must differ from each other (predict
    matches columns by name); its target may hold numbers or class names. A bundled dataset's
    features are named x1 .. xn in the order of its columns (the lecture's seed_table: x),
    its target y.
    """
    if spec in DATASETS:
        X, y = DATASETS[spec]()
        names = ["x"] if spec == "seed_table" else [f"x{j + 1}" for j in range(X.shape[1])]
        return X, y, names, "y"
    if not spec.lower().endswith(".csv") and not os.path.exists(spec):
        raise ValueError(
            f"--data: unknown dataset {spec!r}; give a CSV file or one of: {', '.join(DATASETS)} "
            "(or a 2-D .npy file)"
        )
    check_file("--data", spec)
    column = _target_column(target)
    X, y, names, target_name = labelled_table(spec, target=column)
    if isinstance(column, int) and target in names:  # "1": a column's index and another's name
        header = names.copy()
        header.insert(column % (len(names) + 1), target_name)
        raise ValueError(
            f"--target {target}: {spec} has a column named {target!r}, and column {target} "
            f"(counting from 0) is {target_name!r}; give the index of the one you mean: "
            f"{header.index(target)} or {header.index(target_name)}"
        )
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(
            f"--data: {spec} has more than one feature column named "
            f"{', '.join(repr(n) for n in twice)}; predict matches columns by name, so give "
            "each its own"
        )
    return X, y, names, target_name


def _target_column(target: str | None) -> int | str:
    """--target as labelled_table takes it: an index if it reads as a whole number, else a
    column's name; the last column when it is not given."""
    if target is None:
        return -1
    try:
        return int(target)
    except ValueError:
        return target


def _as_classes(y: np.ndarray, target_name: str):
    """The class labels of y, or None for a regression target."""
    if y.dtype.kind == "U":  # a CSV's class names
        classes = np.unique(y)
        if len(classes) > MAX_CLASSES:
            raise ValueError(
                f"--target: the column {target_name!r} holds text (e.g. {_text(y)!r}), read as "
                f"class names, but has {len(classes)} different values; at most {MAX_CLASSES} "
                "classes are allowed. A regression target must hold numbers only"
            )
        return classes
    if y.dtype.kind in "iu":
        return np.unique(y)
    return whole_number_classes(np.unique(y), len(y)) if np.all(y == np.round(y)) else None


def whole_number_classes(values: np.ndarray, n_rows: int) -> np.ndarray | None:
    """A target's distinct whole-number `values` over `n_rows` rows as class labels (int64:
    they print as 0, 1, not 0.0, 1.0) when they are few enough, at most MAX_CLASSES and at
    most one per two rows; None when the target is real-valued."""
    return values.astype(np.int64) if len(values) <= min(MAX_CLASSES, n_rows // 2) else None


def _text(y: np.ndarray) -> str:
    """The first of the labels that is not a number."""
    for label in y.tolist():
        try:
            float(label)
        except ValueError:
            return label
    return str(y[0])


def _check_numbers(config: dict) -> list[int]:
    try:
        hidden = [int(h) for h in str(config["hidden"]).split(",")]
    except ValueError:
        raise ValueError(
            f"--hidden must be layer sizes separated by commas, e.g. 64,64; got {config['hidden']}"
        ) from None
    if any(h < 1 for h in hidden):
        raise ValueError(f"--hidden: every layer needs at least 1 unit; got {config['hidden']}")
    if not config["lr"] > 0 or not math.isfinite(config["lr"]):
        raise ValueError(f"--lr must be a positive number; got {config['lr']}")
    if not 0 <= config["momentum"] < 1:
        raise ValueError(f"--momentum must be in [0, 1); got {config['momentum']}")
    if config["momentum"] and config["optimizer"] != "sgd":
        raise ValueError(
            f"--momentum is for --optimizer sgd; {config['optimizer']} has its own averaging"
        )
    if config["schedule"] != "constant" and config["optimizer"] == "lbfgs":
        raise ValueError(
            "--schedule does not apply to --optimizer lbfgs, whose line search chooses each step"
        )
    if not 0 <= config["val_split"] < 1:
        raise ValueError(f"--val-split must be in [0, 1); got {config['val_split']}")
    return hidden


def check_memory(hidden: str, sizes: list[int], rows: int) -> None:
    """Refuse an MLP of layer `sizes` whose training would not fit in memory (ValueError).

    The estimate, in float64 (8 bytes): each parameter 4 times (the weight, its gradient and
    two moments of optimizer state, as Adam keeps), and for each layer 3 arrays of `rows`
    rows (its output, its activation and a gradient), `rows` being a batch or the validation
    set, whichever is larger. The cap is memory_cap()'s.
    """
    parameters = sum((n_in + 1) * n_out for n_in, n_out in itertools.pairwise(sizes))
    need = 8 * (4 * parameters + 3 * rows * sum(sizes[1:]))
    cap, what = memory_cap()
    if need > cap:
        raise ValueError(
            f"--hidden {hidden}: training this MLP needs about {need / 2**30:,.1f} GiB "
            f"({parameters:,} parameters x 8 bytes x 4 for weights, gradients and optimizer "
            f"state, plus the activations of {rows} rows); the cap is {cap / 2**30:,.1f} GiB, "
            f"{what}. Choose smaller layers"
        )


def memory_cap() -> tuple[int, str]:
    """(bytes, where that number comes from): the memory a training run may use, the least of
    the memory available now (Linux's MemAvailable), the machine's memory and this process's
    address-space limit (RLIMIT_AS), where each is known; a fixed 4 GiB where none is."""
    caps = [(limit, what) for limit, what in _memory_limits() if limit > 0]
    return min(caps) if caps else (4 * 2**30, "a fixed cap (this system does not say)")


def _memory_limits() -> list[tuple[int, str]]:
    limits = []
    with contextlib.suppress(AttributeError, ValueError, OSError):
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        limits.append((total, "this machine's memory"))
    with contextlib.suppress(OSError, ValueError, IndexError), open("/proc/meminfo") as file:
        for line in file:
            if line.startswith("MemAvailable:"):
                limits.append((int(line.split()[1]) * 1024, "the memory available now"))
    with contextlib.suppress(ImportError, OSError, ValueError):
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            limits.append((soft, "this process's address-space limit (ulimit -v)"))
    return limits


def _targets(y: np.ndarray, classes: np.ndarray | None, spec: LossSpec) -> tuple[np.ndarray, str]:
    """y encoded for the loss, and the code (wengert.losses.TARGETS) that says how: the values
    (regression), class indices ("argmax"), 0/1 ("logit") or -1/+1 ("sign")."""
    if classes is None:
        return y.astype(np.float64), "value"
    index = np.searchsorted(classes, y)
    if spec.several_outputs:
        return index.astype(np.int64), spec.labels
    if len(classes) != 2:
        raise ValueError(
            f"--loss {spec.name} (one output) separates 2 classes; the data has {len(classes)}. "
            "Use --model mlp --loss cross_entropy"
        )
    if spec.labels == "logit":
        return index.astype(np.int64), "logit"
    return (2 * index - 1).astype(np.float64), "sign"


def _optimizer(config: dict, params, steps: int):
    name, lr = config["optimizer"], config["lr"]
    if getattr(OPTIMIZERS[name], "needs_closure", False):  # its line search sets each step
        return OPTIMIZERS[name](params, lr=lr)
    rate = {
        "constant": lambda: lr,
        "inverse_sqrt": lambda: schedules.inverse_sqrt(lr),
        "inverse_scaling": lambda: schedules.inverse_scaling(lr),
        "cosine": lambda: schedules.cosine(lr, total_steps=max(steps, 1)),
    }[config["schedule"]]()
    if name == "sgd":
        return optim.SGD(params, lr=rate, momentum=config["momentum"])
    return OPTIMIZERS[name](params, lr=rate)


def prepare(config: dict) -> Run:
    """Validate `config` (the CLI's arguments) and build the run; raises ValueError."""
    _choice(config["model"], CHOICES, "model")
    _choice(config["optimizer"], list(OPTIMIZERS), "optimizer")
    _choice(config["schedule"], SCHEDULES, "schedule")
    if config["loss"] is not None:
        _choice(config["loss"], [n for n, spec in losses.LOSSES.items() if spec.trainable], "loss")
    hidden = _check_numbers(config)
    if config["data"].lower().endswith(".npy"):  # read chunk by chunk, never whole
        from wengert.cli.npy_runs import prepare_npy  # it builds on this module

        return prepare_npy(config, hidden)
    X, y, features, target_name = load_data(config["data"], config["target"])
    classes = _as_classes(y, target_name)
    spec = loss_spec(config, classes)
    t, label_map = _targets(y, classes, spec)
    split = config["val_split"]
    if split > 0:
        X_tr, X_va, t_tr, t_va = wdata.train_test_split(
            X, t, test_size=split, stratify=classes is not None, seed=config["seed"]
        )
    else:
        X_tr, X_va, t_tr, t_va = X, None, t, None
    mean, std = _standardization(X_tr, config.get("standardize", True))  # True before the flag
    n_out = len(classes) if label_map == "argmax" else 1
    if config["model"] == "mlp":
        rows = max(min(config["batch_size"], len(t_tr)), 0 if t_va is None else len(t_va))
        check_memory(config["hidden"], [X.shape[1], *hidden, n_out], rows)
    model = build_model(config, hidden, X.shape[1], n_out)
    batches = math.ceil(len(t_tr) / config["batch_size"])
    opt = _optimizer(config, model.parameters(), batches * config["epochs"])
    val = None if X_va is None else ((X_va - mean) / std, t_va)
    loss = _loss_fn(spec)
    train = ((X_tr - mean) / std, t_tr)
    return Run(model, loss, opt, train, val, classes, mean, std, label_map, features, target_name)


def _standardization(X: np.ndarray, standardize: bool) -> tuple[np.ndarray, np.ndarray]:
    """Each feature's mean and standard deviation (1 where it is 0) over the rows of X; with
    standardize False, 0 and 1, which leave the inputs as given."""
    if not standardize:
        return np.zeros(X.shape[1]), np.ones(X.shape[1])
    std = X.std(axis=0)
    return X.mean(axis=0), np.where(std > 0, std, 1.0)


def _loss_fn(spec: LossSpec) -> Callable[[Tensor, np.ndarray], Tensor]:
    """The loss as training calls it, loss(outputs, encoded targets)."""
    if spec.several_outputs:
        return spec.function

    # The MLP keeps its output axis (N, 1); the losses compare with y of shape (N,).
    def loss(y_hat: Tensor, y: np.ndarray) -> Tensor:
        return spec.function(y_hat.reshape(-1) if y_hat.ndim == 2 else y_hat, y)

    loss.__name__ = spec.name
    return loss


def accuracy_metric(label_map: str) -> Callable[[np.ndarray, np.ndarray], float]:
    """The fraction of samples classified right, from model outputs and encoded targets."""

    def accuracy(outputs: np.ndarray, t: np.ndarray) -> float:
        if label_map == "argmax":
            return float(np.mean(outputs.argmax(axis=1) == t))
        return float(np.mean((outputs.reshape(t.shape) > 0) == (t > 0)))

    return accuracy


def run_info(run: Run) -> dict:
    """What predict needs besides the model: the feature columns' names (in the model's order),
    the target's name, the standardization and the labels (numbers or class names)."""
    return {
        "features": list(run.features),
        "target_name": run.target_name,
        "mean": run.mean.tolist(),
        "std": run.std.tolist(),
        "classes": None if run.classes is None else run.classes.tolist(),
        "label_map": run.label_map,
    }


def predictions(run_info: dict, outputs: np.ndarray) -> np.ndarray:
    """Model outputs turned back into the labels (or values) of the data."""
    label_map = run_info["label_map"]
    classes = None if run_info["classes"] is None else np.asarray(run_info["classes"])
    if label_map == "argmax":
        return classes[outputs.argmax(axis=1)]
    outputs = outputs.reshape(-1)
    if label_map in ("logit", "sign"):  # both put the second class above 0
        return classes[(outputs > 0).astype(int)]
    if label_map != "value":
        raise ValueError(
            "predictions: label_map must be 'argmax', 'logit', 'sign' or 'value'; "
            f"got {label_map!r}"
        )
    return outputs


def read_json(path: str) -> dict:
    """The JSON value of the UTF-8 file at `path`."""
    with open(path, encoding="utf-8") as file:
        return json.load(file)
