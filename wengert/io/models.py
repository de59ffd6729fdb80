"""Models in files: the architecture as JSON ({"class": ..., "config": ...}), weights by name."""

from __future__ import annotations

import itertools
import math
import os
from pathlib import Path

import numpy as np

from wengert._checks import PATH, check, refusal
from wengert.io.bounded_json import loads
from wengert.io.safetensors import STORED_DTYPES, ModelFileError, read_safetensors
from wengert.nn.activations import Activation
from wengert.nn.linear import Linear
from wengert.nn.models import MLP, Perceptron, Sequential
from wengert.nn.module import Module

FORMAT, VERSION = "wengert", "1"
MAX_JSON_DEPTH = 200  # of the JSON in each __metadata__ string: 60 nested Sequentials and more
MODULES: dict[str, type[Module]] = {
    "Activation": Activation,
    "Linear": Linear,
    "MLP": MLP,
    "Perceptron": Perceptron,
    "Sequential": Sequential,
}


def describe(model: Module) -> dict:
    """{"class": name, "config": model.config()}: the architecture, as JSON values."""
    for module in model.modules():  # a Sequential's layers too
        name = type(module).__name__
        if MODULES.get(name) is not type(module):
            *names, last = sorted(MODULES)
            inside = "" if module is model else f" inside a {type(model).__name__}"
            raise refusal(
                "save",
                "model",
                f"built of {', '.join(names)} and {last} modules",
                f"a {name}{inside}",
                TypeError,
                fix=(
                    "A model file stores modules by name, never code; save its weights with "
                    "wg.io.save_state_dict(model.state_dict(), path) and restore them with "
                    "model.load_state_dict(wg.io.load_state_dict(path))."
                ),
            )
    return {"class": type(model).__name__, "config": model.config()}


def build(spec: object, where: str = "model file") -> Module:
    """The module that `spec` (from `describe`) describes, with freshly initialised weights."""
    name, config = _class_and_config(spec, where)
    cls, config = MODULES[name], dict(config)
    try:
        if cls is Sequential:
            return Sequential(*(build(s, where) for s in config.pop("layers")))
        return cls(**config)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError) as e:
        if isinstance(e, ModelFileError):
            raise
        raise ModelFileError(f"{where}: cannot rebuild {spec['class']} from {config}: {e}") from e


def parameter_count(spec: object, where: str = "model file") -> int:
    """How many weights the module that `spec` describes holds, computed from the description
    alone (nothing is allocated); ModelFileError when a size is not an int >= 1."""
    name, config = _class_and_config(spec, where)
    _check_dtype_name(config, name, where)
    bias = config.get("bias", True)
    if not isinstance(bias, bool):
        raise ModelFileError(f"{where}: {name}'s bias must be true or false; got {bias!r}")
    if name == "Sequential":
        layers = config.get("layers")
        if not isinstance(layers, list):
            raise ModelFileError(f"{where}: Sequential's layers must be a list; got {layers!r}")
        return sum(parameter_count(layer, where) for layer in layers)
    if name == "Linear":
        n_in, n_out = (_size_of(config.get(k), k, name, where) for k in ("n_inputs", "n_outputs"))
        return n_in * n_out + bias * n_out
    if name == "Perceptron":
        return _size_of(config.get("n_inputs"), "n_inputs", name, where) + bias
    if name == "MLP":
        sizes = config.get("sizes")
        if not isinstance(sizes, list) or len(sizes) < 2:
            raise ModelFileError(f"{where}: MLP's sizes must be a list of 2 or more ints")
        sizes = [_size_of(n, "sizes", name, where) for n in sizes]
        return sum(a * b + bias * b for a, b in itertools.pairwise(sizes))
    return 0  # an Activation


def _class_and_config(spec, where: str) -> tuple[str, dict]:
    """The class name (one of MODULES) and config of a model description, or ModelFileError."""
    ok = isinstance(spec, dict) and set(spec) == {"class", "config"}
    name, config = (spec["class"], spec["config"]) if ok else (None, None)
    if not isinstance(name, str) or name not in MODULES or not isinstance(config, dict):
        raise ModelFileError(
            f"{where}: the model description {spec!r} is not {{'class': one of "
            f"{sorted(MODULES)}, 'config': {{...}}}}"
        )
    return name, config


def _size_of(value, key: str, owner: str, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ModelFileError(f"{where}: {owner}'s {key} must hold ints >= 1; got {value!r}")
    return value


def _check_dtype_name(config: dict, owner: str, where: str) -> None:
    dtype = config.get("dtype", "float32")
    if dtype not in STORED_DTYPES:
        raise ModelFileError(
            f"{where}: {owner}'s dtype must be one of {list(STORED_DTYPES)}; got {dtype!r}"
        )


def load(path: str | os.PathLike) -> Module:
    """The model saved at `path` by `save` (or `save_checkpoint`), rebuilt with its weights."""
    check("load", "path", path, PATH)
    return _model_from(*_read_wengert(path), path)


def load_metadata(path: str | os.PathLike) -> dict:
    """The user metadata saved with the file at `path`."""
    check("load_metadata", "path", path, PATH)
    return _read_wengert(path, "load_metadata")[1]["metadata"]


def read_wengert_file(path: str | os.PathLike, owner: str, noun: str) -> tuple[dict, dict]:
    """The tensors and `__metadata__` of the wengert file at `path`, its format and version
    checked; FileNotFoundError names `owner` and the `noun` of file it wanted."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{owner}: no such {noun} file: {path}")
    tensors, meta = read_safetensors(path)
    if meta.get("format") != FORMAT:
        raise ModelFileError(
            f"{path} is a safetensors file but not a wengert {noun} file (its __metadata__ "
            f"has format={meta.get('format')!r}, not {FORMAT!r})"
        )
    if meta.get("version") != VERSION:
        raise ModelFileError(
            f"{path}: format version {meta.get('version')!r}; this reads {VERSION!r}"
        )
    return tensors, meta


def _read_wengert(path, owner: str = "load"):
    tensors, meta = read_wengert_file(path, owner, "model")
    if meta.get("kind") == "state_dict":
        raise ModelFileError(
            f"{path} is a state-dict file (weights without an architecture); read it with "
            f"wengert.io.load_state_dict() into a model built first"
        )
    decoded = {}
    for key in ("model", "metadata", "state"):
        if key not in meta:
            raise ModelFileError(f"{path}: __metadata__ has no {key!r}; not a complete file")
        # The state may hold NaN or an infinity (a History's losses): its fields are checked
        # one by one; the model description and the user's metadata never do.
        finite = key != "state"
        what = f"__metadata__[{key!r}]"
        decoded[key] = loads(meta[key], MAX_JSON_DEPTH, f"{path}", what, finite)
    for key in ("metadata", "state"):
        if not isinstance(decoded[key], dict):
            raise ModelFileError(
                f"{path}: __metadata__[{key!r}] must hold a JSON object; got "
                f"{type(decoded[key]).__name__}"
            )
    return tensors, decoded


def _model_from(tensors, meta, path) -> Module:
    check_parameter_count(meta["model"], tensors, path)  # before build() allocates anything
    model = build(meta["model"], f"{path}")
    _load_weights(model, tensors, path)
    return model


def check_parameter_count(
    spec: object, tensors: dict[str, np.ndarray], path: str | os.PathLike
) -> None:
    """Refuse a description whose weights are not the ones the file holds, by number."""
    wanted = parameter_count(spec, f"{path}")
    held = sum(math.prod(v.shape) for k, v in tensors.items() if k.startswith("model."))
    if wanted != held:
        raise ModelFileError(
            f"{path}: the header's model has {wanted} weights; the file holds {held}. "
            f"Corrupted header"
        )


def _load_weights(model: Module, tensors: dict, path) -> None:
    params = dict(model.named_parameters())
    weights = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    missing, extra = sorted(set(params) - set(weights)), sorted(set(weights) - set(params))
    if missing or extra:
        raise ModelFileError(
            f"{path}: the weights do not match the header's model: missing {missing}, "
            f"unexpected {extra}"
        )
    for name, p in params.items():
        w = weights[name]
        if w.shape != p.shape or w.dtype != p.dtype:
            raise ModelFileError(
                f"{path}: weight {name!r} is {w.dtype}{list(w.shape)} in the file; the model "
                f"the header describes needs {p.dtype}{list(p.shape)}"
            )
    model.load_state_dict(weights)


__all__ = [
    "FORMAT",
    "MODULES",
    "VERSION",
    "build",
    "check_parameter_count",
    "describe",
    "load",
    "load_metadata",
    "parameter_count",
    "read_wengert_file",
]
