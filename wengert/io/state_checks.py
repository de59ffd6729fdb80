"""Checks of a checkpoint's `state` JSON, field by field, before anything is restored from it.

A checkpoint's `__metadata__["state"]` holds the optimizer (class, param groups, per-parameter
state whose arrays are tensors of the file), the History, the epoch and step counters and the
DataLoader's position. Every field's type is checked here; the optimizer's arrays are checked
against the optimizer's parameters (dtype and shape) when one is given. A field that does not
fit raises ModelFileError naming it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from wengert.io.errors import ModelFileError

if TYPE_CHECKING:
    from wengert.optim.optimizer import Optimizer

STATE_KEYS = ("optimizer", "history", "epoch", "step", "loader")
HISTORY_LISTS = ("step_loss", "lr", "epoch_loss", "val_loss")  # before History.history
LOADER_KEYS = ("seed", "epoch", "shuffle", "batch_size", "n_samples", "rng")
_COUNTERS = ("step", "n_iter", "func_evals", "n_pairs", "n_hvp")  # optimizer state ints >= 0
_FLOAT_CODES = ("float16", "float32", "float64")


def _bad(where: str, field: str, expected: str, value) -> ModelFileError:
    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
    return ModelFileError(f"{where}: {field} must be {expected}; got {shown}. Corrupted file")


def _is_int(value, low: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_state(state: object, where: str) -> None:
    """Refuse a `state` whose fields are not of the types save_checkpoint writes."""
    if not isinstance(state, dict) or set(state) != set(STATE_KEYS):
        raise _bad(where, "the checkpoint state", f"an object with the keys {STATE_KEYS}", state)
    for key in ("epoch", "step"):
        if not _is_int(state[key]):
            raise _bad(where, f"state.{key}", "an int >= 0", state[key])
    if state["history"] is not None:
        check_history(state["history"], where)
    if state["loader"] is not None:
        check_loader(state["loader"], where)
    if state["optimizer"] is not None:
        check_optimizer_json(state["optimizer"], where)


def check_history(history: object, where: str) -> None:
    """The saved History: its series by name (or, in files written before History.history,
    epoch_loss, val_loss and metrics), lists of numbers per step, a stop reason, the best epoch."""
    series_key = "metrics" if isinstance(history, dict) and "epoch_loss" in history else "history"
    lists_keys = HISTORY_LISTS if series_key == "metrics" else ("step_loss", "lr")
    keys = {*lists_keys, series_key, "stop_reason", "best_epoch"}
    if not isinstance(history, dict) or not keys <= set(history) <= keys | {"nonfinite"}:
        raise _bad(where, "state.history", f"an object with the keys {sorted(keys)}", history)
    nonfinite = history.get("nonfinite")
    if nonfinite is not None and not isinstance(nonfinite, dict):
        raise _bad(where, "state.history.nonfinite", "null or an object", nonfinite)
    lists = {k: history[k] for k in lists_keys}
    series = history[series_key]
    if not isinstance(series, dict):
        raise _bad(where, f"state.history.{series_key}", "an object of lists", series)
    lists.update({f"{series_key}.{k}": v for k, v in series.items()})
    for key, values in lists.items():
        if not isinstance(values, list) or not all(_is_number(v) for v in values):
            raise _bad(where, f"state.history.{key}", "a list of numbers", values)
    if not isinstance(history["stop_reason"], str):
        raise _bad(where, "state.history.stop_reason", "a string", history["stop_reason"])
    best = history["best_epoch"]
    if best is not None and not _is_int(best):
        raise _bad(where, "state.history.best_epoch", "null or an int >= 0", best)


def check_loader(loader: object, where: str) -> None:
    """The DataLoader's position: seed, epoch, shuffle, batch size, samples, generator state."""
    keys = set(LOADER_KEYS)
    if not isinstance(loader, dict) or not keys <= set(loader) <= keys | {"fingerprint", "ranks"}:
        raise _bad(where, "state.loader", f"an object with the keys {LOADER_KEYS}", loader)
    for key, low in (("seed", 0), ("epoch", 0), ("batch_size", 1), ("n_samples", 1), ("ranks", 1)):
        if not _is_int(loader.get(key, 1), low):
            raise _bad(where, f"state.loader.{key}", f"an int >= {low}", loader.get(key))
    if not isinstance(loader["shuffle"], bool):
        raise _bad(where, "state.loader.shuffle", "true or false", loader["shuffle"])
    fingerprint = loader.get("fingerprint", "")
    if not isinstance(fingerprint, str) or len(fingerprint) > 200:
        raise _bad(where, "state.loader.fingerprint", "a short string", fingerprint)
    rng = loader["rng"]
    try:
        if not isinstance(rng, dict) or rng.get("bit_generator") != "PCG64":
            raise TypeError("not a PCG64 state")
        np.random.PCG64().state = rng  # a throwaway generator: refuses a malformed state
    except (TypeError, ValueError, KeyError, OverflowError) as e:
        raise _bad(where, "state.loader.rng", f"a PCG64 generator state ({e})", rng) from None


def check_optimizer_json(saved: object, where: str) -> None:
    """The optimizer's class, param groups (with their step counts t) and encoded state."""
    keys = {"class", "param_groups", "state"}
    if not isinstance(saved, dict) or set(saved) != keys:
        raise _bad(where, "state.optimizer", f"an object with the keys {sorted(keys)}", saved)
    if not isinstance(saved["class"], str):
        raise _bad(where, "state.optimizer.class", "a class name", saved["class"])
    groups = saved["param_groups"]
    if not isinstance(groups, list) or not groups:
        raise _bad(where, "state.optimizer.param_groups", "a list of objects", groups)
    for i, group in enumerate(groups):
        if not isinstance(group, dict):
            raise _bad(where, f"state.optimizer.param_groups[{i}]", "an object", group)
        if not _is_int(group.get("t")):
            raise _bad(where, f"state.optimizer.param_groups[{i}].t", "an int >= 0", group.get("t"))
    state = saved["state"]
    if not isinstance(state, dict) or not all(
        k.isascii() and k.isdigit() and len(k) < 10 for k in state
    ):
        raise _bad(where, "state.optimizer.state", "an object keyed by parameter index", state)


def decode_optimizer_state(saved: dict, tensors: dict, where: str) -> dict[int, dict]:
    """{parameter index: {name: array or number}} from the encoded state; the tensor names used
    are checked to exist and to hold floating-point numbers."""
    decoded = {}
    for index, encoded in saved["state"].items():
        entries = _decode(encoded, tensors, where, f"state.optimizer.state.{index}")
        if not isinstance(entries, dict):
            raise _bad(where, f"state.optimizer.state.{index}", "an object", entries)
        for name, value in entries.items():
            field = f"optimizer state {name!r} of parameter {index}"
            if name in _COUNTERS and not _is_int(value):
                raise _bad(where, field, "an int >= 0", value)
            if name not in _COUNTERS and isinstance(value, int):
                raise _bad(where, field, "a float or an array", value)
        decoded[int(index)] = entries
    return decoded


def _decode(value, tensors: dict, where: str, field: str):
    if isinstance(value, dict) and set(value) == {"tensor"}:
        name = value["tensor"]
        if not isinstance(name, str) or name not in tensors:
            raise ModelFileError(f"{where}: {field} names tensor {name!r}, which the file lacks")
        if tensors[name].dtype.name not in _FLOAT_CODES:
            raise _bad(where, f"tensor {name!r}", "floating-point", str(tensors[name].dtype))
        return tensors[name]
    if isinstance(value, dict) and set(value) == {"dict"} and isinstance(value["dict"], dict):
        return {k: _decode(v, tensors, where, f"{field}.{k}") for k, v in value["dict"].items()}
    if isinstance(value, dict) and set(value) == {"list"} and isinstance(value["list"], list):
        return [_decode(v, tensors, where, f"{field}[{j}]") for j, v in enumerate(value["list"])]
    if value is None or _is_number(value):
        return value
    raise _bad(where, field, "a tensor reference, a number or null", value)


def check_against_parameters(state: dict[int, dict], optimizer: Optimizer, where: str) -> None:
    """Each state array must have the dtype and shape the optimizer keeps for its parameter:
    the parameter's own (closure optimizers such as L-BFGS keep float64 arrays of their own
    shapes, which their load_state_dict checks)."""
    from wengert.optim.closure import ClosureOptimizer

    params = [p for group in optimizer.param_groups for p in group["params"]]
    closure = isinstance(optimizer, ClosureOptimizer)
    for index, entries in state.items():
        if index >= len(params):
            raise _bad(where, "state.optimizer.state", f"indices < {len(params)}", index)
        theta = params[index].data
        for name, value in _arrays(entries, name=""):
            dtype = np.dtype(np.float64) if closure else theta.dtype
            shape = value.shape if closure else theta.shape
            if value.dtype != dtype or value.shape != shape:
                raise ModelFileError(
                    f"{where}: optimizer state {name!r} of parameter {index} is "
                    f"{value.dtype}{list(value.shape)} in the file; this optimizer keeps "
                    f"{dtype}{list(shape)}. Corrupted file"
                )


def _arrays(value, name: str):
    if isinstance(value, np.ndarray):
        yield name, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _arrays(v, f"{name}.{k}" if name else k)
    elif isinstance(value, list):
        for j, v in enumerate(value):
            yield from _arrays(v, f"{name}[{j}]")


def check_tensor_names(tensors: dict, used: set, where: str) -> None:
    """Every tensor of a checkpoint is a weight ("model.") or named by the optimizer's state."""
    stray = sorted(k for k in tensors if not k.startswith("model.") and k not in used)
    if stray:
        raise ModelFileError(f"{where}: tensors {stray[:5]} belong to nothing. Corrupted file")


def used_tensor_names(saved: dict | None) -> set[str]:
    """The tensor names that the encoded optimizer state refers to."""
    names, todo = set(), [saved["state"]] if saved else []
    while todo:
        value = todo.pop()
        if isinstance(value, dict):
            if set(value) == {"tensor"} and isinstance(value["tensor"], str):
                names.add(value["tensor"])
            else:
                todo.extend(value.values())
        elif isinstance(value, list):
            todo.extend(value)
    return names


__all__ = [
    "check_against_parameters",
    "check_history",
    "check_loader",
    "check_optimizer_json",
    "check_state",
    "check_tensor_names",
    "decode_optimizer_state",
    "used_tensor_names",
]
