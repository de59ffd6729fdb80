"""Checkpoints: a model with its optimizer, History, counters and data order, to resume exactly.

A checkpoint is a model file (see wengert.io) whose `__metadata__["state"]` holds, as JSON, the
optimizer's class, hyperparameters and step counts t, the History, the epoch and step counters
and the DataLoader's position; the optimizer's arrays are tensors named "optimizer.<i>.<name>".
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from numbers import Integral

import numpy as np

from wengert._checks import PATH, InstanceOf, Interval, check, refusal, what_came
from wengert.data import DataLoader
from wengert.io.bounded_json import check_nesting
from wengert.io.fingerprint import data_fingerprint
from wengert.io.models import (
    FORMAT,
    MAX_JSON_DEPTH,
    VERSION,
    _load_weights,
    _model_from,
    _read_wengert,
    describe,
)
from wengert.io.safetensors import VERSION_KEY, ModelFileError, write_safetensors
from wengert.io.state_checks import (
    check_against_parameters,
    check_state,
    check_tensor_names,
    decode_optimizer_state,
    used_tensor_names,
)
from wengert.nn.module import Module
from wengert.optim.optimizer import Optimizer
from wengert.optim.schedules import Schedule
from wengert.train.checkpoints import FitCheckpoints, loader_state, use_checkpoint_files
from wengert.train.state import History


def save(
    model: Module,
    path: str | os.PathLike,
    optimizer: Optimizer | None = None,
    history: History | None = None,
    **metadata: object,
) -> None:
    """Write `model` (architecture and weights) to `path`, a safetensors file; atomically.

    optimizer, history: saved with it when given (see `save_checkpoint` for resuming).
    metadata: any JSON values, returned by `load_metadata`. A model with a custom activation
    function is refused (a file stores activations by name, never code); nothing is written.
    """
    save_checkpoint(path, model, optimizer, history=history, kind="model", **metadata)


@dataclass
class Checkpoint:
    """What `load_checkpoint` read: the model (restored or rebuilt), the History, the counters
    (epochs and optimizer steps completed), the data loader's position, and the metadata."""

    model: Module
    history: object = None
    epoch: int = 0
    step: int = 0
    loader: dict | None = None
    optimizer: dict | None = None
    metadata: dict = field(default_factory=dict)


def save_checkpoint(
    path: str | os.PathLike,
    model: Module,
    optimizer: Optimizer | None = None,
    *,
    history: History | None = None,
    epoch: int = 0,
    step: int = 0,
    loader: DataLoader | None = None,
    kind: str = "checkpoint",
    **metadata: object,
) -> None:
    """Write everything a run needs to continue exactly: the model, the optimizer (class,
    hyperparameters, per-parameter state and each group's step count t, which is the schedule's
    position), the History, the epoch and step counters and the DataLoader's position (seed,
    epoch, generator state). One safetensors file, written atomically; refused (nothing
    written) when something in it cannot be stored as data, e.g. a learning rate that is a
    plain function rather than a wengert.optim.schedules Schedule."""
    owner = "save" if kind == "model" else "save_checkpoint"
    _check_arguments(owner, path, model, optimizer, history)
    check(owner, "epoch", epoch, COUNTER)
    check(owner, "step", step, COUNTER)
    check(owner, "loader", loader, InstanceOf(DataLoader, "a wengert.data.DataLoader"), None)
    loader_json = None if loader is None else loader_state(loader)
    _write_checkpoint(path, model, optimizer, history, epoch, step, loader_json, kind, metadata)


COUNTER = Interval(Integral, 0, None)
MODEL = InstanceOf(Module, "a wengert.nn.Module")
OPTIMIZER = InstanceOf(Optimizer, "a wengert.optim optimizer")


def _check_arguments(owner: str, path, model, optimizer, history=None) -> None:
    """The kinds of the arguments that save, save_checkpoint and load_checkpoint share."""
    check(owner, "path", path, PATH)
    check(owner, "model", model, MODEL, *([None] if owner == "load_checkpoint" else []))
    check(owner, "optimizer", optimizer, OPTIMIZER, None)
    check(owner, "history", history, InstanceOf(History, "a wengert.train.History"), None)


def _write_checkpoint(path, model, optimizer, history, epoch, step, loader_json, kind, metadata):
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    state = {
        "optimizer": None if optimizer is None else _optimizer_json(optimizer, tensors),
        "history": None if history is None else history.as_dict(),
        "epoch": int(epoch),
        "step": int(step),
        "loader": loader_json,
    }
    meta = {"format": FORMAT, "version": VERSION, "kind": kind, VERSION_KEY: _version()}
    meta["model"] = check_nesting(json.dumps(describe(model)), MAX_JSON_DEPTH, "a model")
    meta["state"] = json.dumps(state)
    try:
        text = json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as e:
        raise refusal(
            "save",
            "metadata",
            "JSON values (str, finite numbers, bool, None, lists and dicts of them)",
            f"a value that JSON cannot hold ({str(e).rstrip('.')})",
            TypeError,
        ) from None
    meta["metadata"] = check_nesting(text, MAX_JSON_DEPTH, "metadata")
    write_safetensors(path, tensors, meta)


def _version() -> str:
    import wengert  # the package is whole by the time anything is saved

    return str(getattr(wengert, "__version__", "unknown"))


def load_checkpoint(
    path: str | os.PathLike, model: Module | None = None, optimizer: Optimizer | None = None
) -> Checkpoint:
    """Read a checkpoint; restore into `model` and `optimizer` when given (they must have the
    saved architecture and hyperparameters: an error names the first difference, and nothing
    is changed), else rebuild the model from the file."""
    _check_arguments("load_checkpoint", path, model, optimizer)
    tensors, meta = _read_wengert(path, "load_checkpoint")
    state = meta["state"]
    check_state(state, f"{path}")
    saved_optimizer = state["optimizer"]
    opt_state = None
    if saved_optimizer is not None:
        opt_state = decode_optimizer_state(saved_optimizer, tensors, f"{path}")
        check_tensor_names(tensors, used_tensor_names(saved_optimizer), f"{path}")
    # Every check comes before any write: a refused checkpoint changes nothing.
    if model is not None:
        _check_same("model", meta["model"], describe(model), path)
    if optimizer is not None:
        _check_optimizer(optimizer, saved_optimizer, path)
        check_against_parameters(opt_state, optimizer, f"{path}")
    if model is None:
        model = _model_from(tensors, meta, path)
    else:
        _load_weights(model, tensors, path)
    if optimizer is not None:
        _restore_optimizer(optimizer, saved_optimizer, opt_state, path)
    history = None if state["history"] is None else History.from_dict(state["history"])
    return Checkpoint(
        model,
        history,
        state["epoch"],
        state["step"],
        state["loader"],
        saved_optimizer,
        meta["metadata"],
    )


def _hyper_json(value, where: str):
    if isinstance(value, Schedule):
        params = {k: _hyper_json(v, where) for k, v in value.params.items()}
        return {"schedule": value.name, "params": params}
    if isinstance(value, (tuple, list)):
        return [_hyper_json(v, where) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise refusal(
        "save_checkpoint",
        where,
        "a number or a wengert.optim.schedules schedule (a checkpoint stores data, never code)",
        what_came(value),
        TypeError,
    )


def _optimizer_json(optimizer, tensors: dict) -> dict:
    sd = optimizer.state_dict()
    groups = [
        {k: _hyper_json(v, f"hyperparameter {k!r} of param group {i}") for k, v in g.items()}
        for i, g in enumerate(sd["param_groups"])
    ]
    state = {str(i): _encode(s, f"optimizer.{i}", tensors) for i, s in sd["state"].items()}
    return {"class": type(optimizer).__name__, "param_groups": groups, "state": state}


def _encode(value, key: str, tensors: dict):
    """JSON for an optimizer state value; its arrays go to `tensors` under `key`."""
    if isinstance(value, (np.ndarray, np.generic)):  # a NumPy scalar keeps its dtype too
        tensors[key] = np.asarray(value)
        return {"tensor": key}
    if isinstance(value, dict):
        return {"dict": {str(k): _encode(v, f"{key}.{k}", tensors) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"list": [_encode(v, f"{key}.{j}", tensors) for j, v in enumerate(value)]}
    return _hyper_json(value, f"optimizer state {key}")


def _check_optimizer(optimizer, saved, path) -> None:
    if saved is None:
        raise ModelFileError(f"{path} holds no optimizer state to restore")
    here = _optimizer_json(optimizer, {})
    _check_same("optimizer", _settings(saved), _settings(here), path)


def _restore_optimizer(optimizer, saved, opt_state, path) -> None:
    """Put the checked `opt_state` and each group's step count t into `optimizer`."""
    sd = optimizer.state_dict()
    for group, saved_group in zip(sd["param_groups"], saved["param_groups"], strict=True):
        group["t"] = saved_group["t"]
    sd["state"] = opt_state
    try:
        optimizer.load_state_dict(sd)
    except (TypeError, ValueError, KeyError) as e:
        raise ModelFileError(f"{path}: the optimizer state does not fit: {e}") from e


def _settings(opt_json: dict) -> dict:
    """Class and hyperparameters, without the counters and per-parameter state."""
    groups = [{k: v for k, v in g.items() if k != "t"} for g in opt_json["param_groups"]]
    return {"class": opt_json["class"], "param_groups": groups}


def _check_same(what: str, saved, here, path) -> None:
    difference = _difference(json.loads(json.dumps(saved)), json.loads(json.dumps(here)), what)
    if difference:
        raise ModelFileError(
            f"{path} does not fit this {what}: {difference}. Rebuild the {what} as it was "
            f"saved (or start afresh)"
        )


def _difference(a, b, where: str) -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                x, y = a.get(k, "(absent)"), b.get(k, "(absent)")
                return f"{where}.{k} is {x!r} in the file, {y!r} here"
            found = _difference(a[k], b[k], f"{where}.{k}")
            if found:
                return found
        return ""
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for j, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _difference(x, y, f"{where}[{j}]")
            if found:
                return found
        return ""
    return "" if a == b else f"{where} is {a!r} in the file, {b!r} here"


# ------------------------------------------------------------- the files of fit()'s checkpoints
class _FitCheckpointFiles:
    """What fit()'s checkpoints (wengert.train.checkpoints) read and write: this format."""

    load = staticmethod(load_checkpoint)

    @staticmethod
    def fingerprint(X, y) -> str:
        return data_fingerprint(X, y)

    @staticmethod
    def read_fit_state(path) -> dict:
        state = _read_wengert(path)[1]["state"]
        check_state(state, f"{path}")
        if state["history"] is None or state["loader"] is None:
            raise ModelFileError(
                f"{path} is not a fit() checkpoint (it has no History or data loader "
                f"position) and cannot be resumed from"
            )
        return state

    @staticmethod
    def write(path, run, loader_json) -> None:
        model, optimizer, history = run.model, run.optimizer, run.history
        args = (run.epoch, run.step, loader_json, "checkpoint", {})
        _write_checkpoint(path, model, optimizer, history, *args)


use_checkpoint_files(_FitCheckpointFiles())

__all__ = ["Checkpoint", "FitCheckpoints", "load_checkpoint", "save", "save_checkpoint"]
