"""Models in files: the architecture as JSON ({"class": ..., "config": ...}), weights by name."""

from __future__ import annotations

import json
from pathlib import Path

from wengert.io.safetensors import ModelFileError, read_safetensors
from wengert.nn.activations import Activation
from wengert.nn.linear import Linear
from wengert.nn.models import MLP, Perceptron, Sequential
from wengert.nn.module import Module

FORMAT, VERSION = "wengert", "1"
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
            raise TypeError(
                f"save: cannot save a {name}; model files hold {sorted(MODULES)} (and "
                f"Sequentials of them)"
            )
    return {"class": type(model).__name__, "config": model.config()}


def build(spec, where: str = "model file") -> Module:
    """The module that `spec` (from `describe`) describes, with freshly initialised weights."""
    ok = isinstance(spec, dict) and set(spec) == {"class", "config"}
    cls = MODULES.get(spec.get("class")) if ok else None
    if cls is None or not isinstance(spec["config"], dict):
        raise ModelFileError(
            f"{where}: the model description {spec!r} is not {{'class': one of "
            f"{sorted(MODULES)}, 'config': {{...}}}}"
        )
    config = dict(spec["config"])
    try:
        if cls is Sequential:
            return Sequential(*(build(s, where) for s in config.pop("layers")))
        return cls(**config)
    except (TypeError, ValueError, KeyError) as e:
        if isinstance(e, ModelFileError):
            raise
        raise ModelFileError(f"{where}: cannot rebuild {spec['class']} from {config}: {e}") from e


def load(path) -> Module:
    """The model saved at `path` by `save` (or `save_checkpoint`), rebuilt with its weights."""
    return _model_from(*_read_wengert(path), path)


def load_metadata(path) -> dict:
    """The user metadata saved with the file at `path`."""
    return _read_wengert(path)[1]["metadata"]


def _read_wengert(path):
    if not Path(path).is_file():
        raise FileNotFoundError(f"load: no such model file: {path}")
    tensors, meta = read_safetensors(path)
    if meta.get("format") != FORMAT:
        raise ModelFileError(
            f"{path} is a safetensors file but not a wengert model file (its __metadata__ "
            f"has format={meta.get('format')!r}, not {FORMAT!r})"
        )
    if meta.get("version") != VERSION:
        raise ModelFileError(
            f"{path}: format version {meta.get('version')!r}; this reads {VERSION!r}"
        )
    try:
        decoded = {k: json.loads(meta[k]) for k in ("model", "metadata", "state")}
    except (KeyError, json.JSONDecodeError) as e:
        raise ModelFileError(f"{path}: __metadata__ is missing or has bad JSON in {e}") from e
    return tensors, decoded


def _model_from(tensors, meta, path) -> Module:
    model = build(meta["model"], f"{path}")
    _load_weights(model, tensors, path)
    return model


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


__all__ = ["FORMAT", "MODULES", "VERSION", "build", "describe", "load", "load_metadata"]
