"""State dicts in files: any Module's weights, by name, without its architecture.

`save_state_dict(model.state_dict(), path)` writes the arrays of a state dict to a safetensors
file, atomically, with the checksums and version metadata of a model file ("kind" is
"state_dict"); `load_state_dict(path)` reads them back, every field checked by the same reader,
so that `model.load_state_dict(load_state_dict(path))` restores a Module of the user's own class,
which `save` cannot describe. A file that does not pass raises `ModelFileError`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

from wengert._checks import PATH, InstanceOf, check, refusal, what_came
from wengert.autodiff import Tensor
from wengert.io.checkpoint import _version
from wengert.io.models import FORMAT, VERSION, read_wengert_file
from wengert.io.safetensors import (
    STORED_DTYPES,
    VERSION_KEY,
    ModelFileError,
    write_safetensors,
)

KIND = "state_dict"
_STORED = sorted(STORED_DTYPES)
_ARRAY = f"a NumPy array or Tensor of dtype {', '.join(_STORED[:-1])} or {_STORED[-1]}"
_RESERVED = "__metadata__"  # the safetensors header's own key


def save_state_dict(state: Mapping[str, ArrayLike], path: str | os.PathLike) -> None:
    """Write `state` (a dict name -> array, as `Module.state_dict()` returns) to `path`, a
    safetensors file, atomically; refused, with nothing written, when a name is not a str or a
    value is not an array of a stored dtype."""
    check("save_state_dict", "state", state, InstanceOf(Mapping, "a mapping of str to arrays"))
    check("save_state_dict", "path", path, PATH)
    tensors = {name: _array_of(name, value) for name, value in state.items()}
    meta = {"format": FORMAT, "version": VERSION, "kind": KIND, VERSION_KEY: _version()}
    write_safetensors(path, tensors, meta)


def _array_of(name, value) -> np.ndarray:
    if not isinstance(name, str):
        raise refusal(
            "save_state_dict", "state's keys", "str", f"{name!r} ({type(name).__name__})", TypeError
        )
    if name == _RESERVED:
        raise refusal(
            "save_state_dict", "state's keys", f"names other than {_RESERVED!r}", repr(name)
        )
    array = value.data if isinstance(value, Tensor) else value
    if not isinstance(array, np.ndarray) or array.dtype.name not in _STORED:
        raise refusal("save_state_dict", f"state[{name!r}]", _ARRAY, what_came(value), TypeError)
    return array


def load_state_dict(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays, by name, of the file at `path` written by `save_state_dict`; a file that
    is not one, or is damaged, raises `ModelFileError`."""
    check("load_state_dict", "path", path, PATH)
    tensors, meta = read_wengert_file(path, "load_state_dict", "state-dict")
    if meta.get("kind") != KIND:
        raise ModelFileError(
            f"{path} is not a wengert state-dict file (its __metadata__ has kind="
            f"{meta.get('kind')!r}, not {KIND!r}); a model file loads with wengert.load()"
        )
    if VERSION_KEY not in meta:  # every state-dict file records it, and so carries checksums
        raise ModelFileError(
            f"{path} has been tampered with or damaged: its {VERSION_KEY} and checksums were "
            f"removed; restore the file from a copy"
        )
    return tensors


__all__ = ["load_state_dict", "save_state_dict"]
