"""The safetensors format, read and written with NumPy alone: no code runs when a file loads.

    8 bytes     N, the header's length, an unsigned little-endian integer
    N bytes     a JSON object: for each tensor {"dtype": "F32", "shape": [2, 4],
                "data_offsets": [begin, end]} (byte offsets into the data that follows), and
                "__metadata__": a map of strings to strings
    the data    each tensor's bytes, little-endian, C order, back to back

Writes are atomic (wengert.io.atomic.atomic_write): a temporary file in the same directory,
flushed and fsynced, then renamed over the target (os.replace) and the directory fsynced.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from wengert.io.atomic import atomic_write

_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "U8": "u1"}
_CODES = {np.dtype(v).str: k for k, v in _DTYPES.items()}
_MAX_HEADER = 100_000_000  # safetensors' own limit


class ModelFileError(ValueError):
    """A model or checkpoint file that cannot be read: what is wrong, and where."""


def write_safetensors(path, tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    """Write `tensors` and the string map `metadata` to `path` atomically (see the docstring)."""
    header, offset, blobs = {}, 0, []
    for name, array in tensors.items():
        array = np.asarray(array)  # (np.ascontiguousarray would make a 0-d array 1-d)
        code = _CODES.get(array.dtype.newbyteorder("<").str)
        if code is None:
            raise TypeError(f"save: tensor {name!r} has dtype {array.dtype}, not storable")
        blob = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes(order="C")
        header[name] = {"dtype": code, "shape": list(array.shape)}
        header[name]["data_offsets"] = [offset, offset + len(blob)]
        offset += len(blob)
        blobs.append(blob)
    header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned, as safetensors pads it
    atomic_write(path, b"".join([struct.pack("<Q", len(text)), text, *blobs]))


def read_safetensors(path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The tensors and `__metadata__` of the safetensors file at `path`, every field checked."""
    raw = Path(path).read_bytes()
    where = f"{path}"
    if raw[:1] == b"\x80" or raw[:2] in (b"PK", b"\x93N"):
        raise ModelFileError(
            f"{where} is a pickle or NumPy/zip file, not a wengert model file; wengert never "
            f"unpickles (it could run code). Save models with wengert.save()"
        )
    if len(raw) < 8:
        raise ModelFileError(
            f"{where} is truncated: {len(raw)} bytes, less than the 8-byte header length"
        )
    (n,) = struct.unpack("<Q", raw[:8])
    if n > min(_MAX_HEADER, len(raw) - 8):
        raise ModelFileError(
            f"{where} is truncated or not a safetensors file: the header length says {n} bytes, "
            f"the file has {len(raw) - 8} after the first 8"
        )
    try:
        header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFileError(f"{where}: the header is not valid JSON ({e}); corrupted file") from e
    if not isinstance(header, dict):
        raise ModelFileError(f"{where}: the header is not a JSON object; corrupted file")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ModelFileError(f"{where}: __metadata__ must be a map of strings to strings")
    data = memoryview(raw)[8 + n :]
    tensors, end = {}, 0
    for name, entry in sorted(header.items(), key=lambda kv: _begin(kv[1])):
        tensors[name] = _tensor(where, name, entry, data, end)
        end = entry["data_offsets"][1]
    if end != len(data):
        raise ModelFileError(
            f"{where} is truncated or corrupted: the header describes {end} bytes of tensor "
            f"data, the file holds {len(data)}"
        )
    return tensors, metadata


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _begin(entry) -> int:
    offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
    ok = isinstance(offsets, list) and len(offsets) == 2
    return offsets[0] if ok and isinstance(offsets[0], int) else -1


def _tensor(where: str, name: str, entry, data: memoryview, expected_begin: int) -> np.ndarray:
    bad = f"{where}: tensor {name!r}"
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise ModelFileError(f"{bad}: a header entry needs exactly dtype, shape, data_offsets")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_int(o) for o in offsets)):
        raise ModelFileError(f"{bad} has data_offsets {offsets!r}; expected [begin, end], ints")
    begin, end = offsets
    if dtype not in _DTYPES:
        raise ModelFileError(f"{bad} has dtype {dtype!r}; expected one of {sorted(_DTYPES)}")
    if not (isinstance(shape, list) and all(_is_int(d) and d >= 0 for d in shape)):
        raise ModelFileError(f"{bad} has shape {shape!r}; expected a list of ints >= 0")
    size = int(np.prod(shape, dtype=np.int64)) * np.dtype(_DTYPES[dtype]).itemsize
    if begin != expected_begin or end - begin != size:
        raise ModelFileError(
            f"{bad}: data_offsets [{begin}, {end}] do not fit its dtype {dtype} and shape "
            f"{shape} ({size} bytes from {expected_begin}); corrupted header"
        )
    if end > len(data):
        raise ModelFileError(
            f"{bad} ends at byte {end} of the data, which holds {len(data)}: truncated file"
        )
    array = np.frombuffer(data[begin:end], dtype=_DTYPES[dtype]).reshape(shape)
    return array.astype(array.dtype.newbyteorder("="))  # a writable native-order copy


__all__ = ["ModelFileError", "read_safetensors", "write_safetensors"]
