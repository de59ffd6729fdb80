"""What every rank of a distributed fit() must agree on, described as text and digested.

fit_settings() describes each thing the ranks must share (the model's parameters, the
optimizer, the loss, the data's shape, batching, chunks and a sample of its rows, and fit's
other arguments) as text that is the same in every process for the same thing: functions by
their names, not addresses. Distributed.check_agreement compares the digests over the ranks.
"""

from __future__ import annotations

import hashlib

import numpy as np

from wengert.data import DataLoader


def digest(text: str) -> int:
    """A digest of `text` that is the same in every process (unlike hash()), below 2**62."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little") >> 2


def _describe(value: object) -> str:
    """`value` as text that is the same on every rank: a function by its name, not address."""
    text = repr(value)
    if " at 0x" in text:
        return getattr(value, "__qualname__", type(value).__name__)
    return text


def _sample_digest(loader: DataLoader, rows: int = 64) -> str:
    """A digest of `rows` rows of the loader's X and y, spread evenly: ranks that were given
    different data (each its own part, say) differ here, at the cost of reading a few rows."""
    picked = np.unique(np.linspace(0, loader.n_samples - 1, rows).astype(np.int64))
    hasher = hashlib.blake2b(digest_size=8)
    for array in (loader.X, loader.y):
        if array is not None:
            hasher.update(np.ascontiguousarray(np.asarray(array[picked])).tobytes())
    return f"digest {hasher.hexdigest()} of rows {picked[0]}, ..., {picked[-1]}"


# fit() arguments that must be equal on every rank (the seed may differ: rank 0's is used).
_SAME_ARGUMENTS = (
    "epochs",
    "tol",
    "n_iter_no_change",
    "checkpoint_every",
    "resume",
    "resume_other_data",
    "on_nonfinite",
    "clip_grad_norm",
)


def fit_settings(arguments: dict, loader: DataLoader) -> dict[str, str]:
    """What every rank of a distributed fit() must agree on, each described as text: the
    model's parameters, the optimizer, the loss, the data loader's shape and batching, the
    metrics, the validation data's shape and fit's other arguments (`arguments`: fit's)."""
    model, optimizer = arguments["model"], arguments["optimizer"]
    params = [f"{n} {p.data.shape} {p.data.dtype}" for n, p in model.named_parameters()]
    groups = "; ".join(
        ", ".join(f"{k}={_describe(v)}" for k, v in group.items() if k not in ("params", "t"))
        for group in optimizer.param_groups
    )
    val = arguments["val_data"]
    settings = {
        "the model's parameters (names, shapes, dtypes)": ", ".join(params),
        "the optimizer": f"{type(optimizer).__name__}({groups})",
        "the loss": _describe(arguments["loss"]),
        "the data (rows, features, batch size, shuffle, drop_last)": (
            f"{type(loader).__name__} of {loader.n_samples} rows, {loader.n_features} features,"
            f" batch size {loader.batch_size}, shuffle={loader.shuffle}, "
            f"drop_last={getattr(loader, 'drop_last', False)}"
        ),
        "the data's chunks (start and stop rows)": str(getattr(loader, "chunk_bounds", None)),
        "the data's values (a sample of rows)": _sample_digest(loader),
        "metrics": str([_describe(m) for m in arguments["metrics"]]),
        "val_data": "None" if val is None else f"of {len(val[0])} rows",
        "checkpoint_dir": "None" if arguments["checkpoint_dir"] is None else "a directory",
    }
    settings.update((name, _describe(arguments[name])) for name in _SAME_ARGUMENTS)
    return settings


__all__ = ["digest", "fit_settings"]
