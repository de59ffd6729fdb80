"""A playground run's config: JSON in, each field checked, defaults filled in.

`validate(raw)` returns the full config (every field, defaults where the JSON left one out) or
raises ConfigError naming the field. The defaults depend on the dataset: the lecture's table
(`seed_table`) starts as the lecture's y = w·x (one weight, no bias, L2, SGD one sample at a
time, η0/√t); the toy sets start as a small MLP with the logistic loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Integral, Real

from wengert import losses, optim
from wengert._checks import Boolean, Interval, Options, check
from wengert.nn import ACTIVATIONS
from wengert.optim.sgd import MOMENTUM_FORMS
from wengert.playground import limits

__all__ = [
    "DATASETS",
    "FEATURES",
    "LOSSES",
    "OPTIMIZERS",
    "SCHEDULES",
    "ConfigError",
    "defaults",
    "validate",
]

DATASETS = ("xor", "circles", "moons", "spirals", "blobs", "seed_table")
# name -> how the page shows it; seed_table has x1 alone (x), so only the x1 features.
FEATURES = {
    "x1": "x₁",
    "x2": "x₂",
    "x1_sq": "x₁²",
    "x2_sq": "x₂²",
    "x1_x2": "x₁·x₂",
    "sin_x1": "sin x₁",
    "sin_x2": "sin x₂",
}
ONE_D_FEATURES = ("x1", "x1_sq", "sin_x1")
LOSSES = ("l1", "l2", "mse", "hinge", "squared_hinge", "logistic", "cross_entropy")
OPTIMIZERS = tuple(optim.OPTIMIZERS)
SCHEDULES = ("constant", "inverse_sqrt", "inverse_scaling", "exponential", "step_decay", "cosine")
OWNER = "playground"

_TOY = {
    "dataset": "xor",
    "n_samples": 200,
    "noise": 0.1,
    "val_split": 0.2,
    "seed": 0,
    "features": ["x1", "x2"],
    "hidden": [4],
    "activation": "tanh",
    "bias": True,
    "loss": "logistic",
    "margin": 1.0,
    "l2": 0.0,
    "optimizer": "sgd",
    "learning_rate": 0.1,
    "momentum": 0.0,
    "momentum_form": "pytorch",
    "nesterov": False,
    "schedule": "constant",
    "decay": 0.5,
    "decay_steps": 100,
    "batch_size": 10,
    "shuffle": True,
}
_LECTURE = {
    "n_samples": 4,
    "noise": 0.0,
    "val_split": 0.0,
    "features": ["x1"],
    "hidden": [],
    "activation": "identity",
    "bias": False,
    "loss": "l2",
    "learning_rate": 0.01,
    "schedule": "inverse_sqrt",
    "batch_size": 1,
    "shuffle": False,
}


class ConfigError(ValueError):
    """A config field that is not what it must be; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def defaults(dataset: str = "xor") -> dict:
    """Every field's default for `dataset` (the lecture's y = w·x for seed_table)."""
    out = {**_TOY, "dataset": dataset}
    if dataset == "seed_table":
        out.update(_LECTURE)
    return {k: list(v) if isinstance(v, list) else v for k, v in out.items()}


def _number(kind, low=None, high=None, closed="both", fix: str = "") -> Callable:
    return lambda name, v: check(OWNER, name, v, Interval(kind, low, high, closed=closed), fix=fix)


def _options(options) -> Callable:
    return lambda name, v: check(OWNER, name, v, Options(options))


def _boolean(name: str, v: object) -> object:
    return check(OWNER, name, v, Boolean())


def _features(name: str, v: object) -> list:
    expected = f"a non-empty list of distinct names among {', '.join(FEATURES)}"
    if not isinstance(v, list) or not v or len(set(map(str, v))) != len(v):
        raise ConfigError(name, f"{OWNER}: {name} must be {expected}; got {v!r}.")
    for i, item in enumerate(v):
        check(OWNER, f"{name}[{i}]", item, Options(FEATURES))
    return list(v)


def _hidden(name: str, v: object) -> list:
    most = limits.MAX_LAYERS
    if not isinstance(v, list) or len(v) > most:
        expected = f"a list of at most {most} hidden widths ([] for one perceptron)"
        raise ConfigError(name, f"{OWNER}: {name} must be {expected}; got {v!r}.")
    for i, width in enumerate(v):
        fix = f"{limits.MAX_WIDTH} units a layer is the playground's limit."
        check(
            OWNER,
            f"{name}[{i}]",
            width,
            Interval(Integral, 1, limits.MAX_WIDTH, closed="both"),
            fix=fix,
        )
    return [int(w) for w in v]


def _batch_size(name: str, v: object) -> object:
    if v == "full":
        return v
    return check(
        OWNER, name, v, Interval(Integral, 1, limits.MAX_SAMPLES, closed="both"), Options(["full"])
    )


FIELDS: dict[str, Callable] = {
    "dataset": _options(DATASETS),
    "n_samples": _number(
        Integral,
        4,
        limits.MAX_SAMPLES,
        fix=f"{limits.MAX_SAMPLES} samples is the playground's limit.",
    ),
    "noise": _number(Real, 0, 2),
    "val_split": _number(Real, 0, 0.5, closed="both"),
    "seed": _number(Integral, 0, 2**32 - 1),
    "features": _features,
    "hidden": _hidden,
    "activation": _options([a for a in ACTIVATIONS if a not in ("sign", "step")]),
    "bias": _boolean,
    "loss": _options(LOSSES),
    "margin": _number(Real, 0, 100),
    "l2": _number(Real, 0, 10),
    "optimizer": _options(OPTIMIZERS),
    "learning_rate": _number(Real, 0, 100, closed="right"),
    "momentum": _number(Real, 0, 1, closed="left"),
    "momentum_form": _options(MOMENTUM_FORMS),
    "nesterov": _boolean,
    "schedule": _options(SCHEDULES),
    "decay": _number(Real, 0, 1, closed="right"),
    "decay_steps": _number(Integral, 1, 10**6),
    "batch_size": _batch_size,
    "shuffle": _boolean,
}


def validate(raw: object) -> dict:
    """The full config of `raw` (a JSON object): each field checked, defaults filled in.

    Raises ConfigError naming the first field that is wrong (an unknown field included).
    """
    if not isinstance(raw, dict):
        got = type(raw).__name__
        raise ConfigError("config", f"{OWNER}: the config must be a JSON object; got {got}.")
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        known = ", ".join(FIELDS)
        message = f"{OWNER}: {unknown[0]} is not a config field; the fields are {known}."
        raise ConfigError(unknown[0], message)
    dataset = raw.get("dataset", "xor")
    _checked("dataset", dataset)
    config = defaults(dataset)
    for name, value in raw.items():
        config[name] = _checked(name, value)
    if dataset == "seed_table":
        config["n_samples"] = 4  # the lecture's table has four rows
    _check_together(config)
    return config


def _checked(name: str, value: object) -> object:
    try:
        return FIELDS[name](name, value)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(name, str(exc)) from None


def _check_together(config: dict) -> None:
    """The checks that read two fields: features and loss against the data, L-BFGS's rate."""
    if config["dataset"] == "seed_table":
        extra = [f for f in config["features"] if f not in ONE_D_FEATURES]
        if extra:
            expected = f"among {', '.join(ONE_D_FEATURES)} for seed_table (one input x)"
            _refuse("features", expected, repr(extra[0]))
        if "value" not in losses.LOSSES[config["loss"]].targets:
            expected = "a loss of real values (l1, l2 or mse) for seed_table (y is real)"
            _refuse("loss", expected, repr(config["loss"]))
    needs_closure = getattr(optim.OPTIMIZERS[config["optimizer"]], "needs_closure", False)
    if needs_closure and config["schedule"] != "constant":
        expected = f"'constant' for {config['optimizer']} (its line search sets each step)"
        _refuse("schedule", expected, repr(config["schedule"]))
    if config["batch_size"] != "full":
        n_train = config["n_samples"] - _n_validation(config)
        if config["batch_size"] > n_train:
            expected = f"at most the {n_train} training samples, or 'full'"
            _refuse("batch_size", expected, repr(config["batch_size"]))


def _n_validation(config: dict) -> int:
    """How many samples the split keeps for validation (train_test_split's rounding)."""
    split = config["val_split"]
    if split == 0:
        return 0
    return math.ceil(split * config["n_samples"])


def _refuse(field: str, expected: str, got: str) -> None:
    raise ConfigError(field, f"{OWNER}: {field} must be {expected}; got {got}.")
