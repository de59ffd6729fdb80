"""The safetensors format, read and written with NumPy alone: no code runs when a file loads.

    8 bytes     N, the header's length, an unsigned little-endian integer
    N bytes     a JSON object: for each tensor {"dtype": "F32", "shape": [2, 4],
                "data_offsets": [begin, end]} (byte offsets into the data that follows), and
                "__metadata__": a map of strings to strings
    the data    each tensor's bytes, little-endian, C order, back to back

Writes are atomic (wengert.io.atomic.atomic_write): a temporary file in the same directory,
flushed and fsynced, then renamed over the target (os.replace) and the directory fsynced. The
writer adds to `__metadata__` "data_sha256", the SHA-256 (hex) of the data, and "header_sha256",
that of the header in canonical JSON (sorted keys, no spaces, without "header_sha256"); a reader
refuses a file that does not match them. Files written before checksums existed carry neither
them nor "wengert_version", and load unchecked; a file that records "wengert_version" was
written with both checksums, and is refused when either is missing (they were removed).

Reading checks the whole header against the file's size before it allocates anything: the
header's length, how deeply its JSON nests and that it is an object of objects (both before
it is parsed, at C speed), every entry's dtype, shape and offsets, and that
the tensors tile the data exactly. Whatever is wrong raises `ModelFileError`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import struct

import numpy as np

from wengert._checks import PATH, check, refusal
from wengert.io.atomic import atomic_write
from wengert.io.bounded_json import loads
from wengert.io.errors import ModelFileError

_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "U8": "u1"}
_CODES = {np.dtype(v).str: k for k, v in _DTYPES.items()}
_ITEMSIZES = {k: np.dtype(v).itemsize for k, v in _DTYPES.items()}
STORED_DTYPES = tuple(np.dtype(v).name for v in _DTYPES.values())  # float64 ... uint8
_MAX_HEADER = 100_000_000  # safetensors' own limit
_MAX_HEADER_DEPTH = 8  # {tensors: {entry: [shape]}} is 3 deep
_HEADER_LAYOUT = (b"{{[", "a JSON object of objects ({name: {dtype, shape, data_offsets}})")
_MAX_NDIM = 32  # NumPy allows 64
_MAX_NBYTES = 2**62  # of any tensor, counting a zero-length axis as 1
CHECKSUM_KEY = "data_sha256"
HEADER_CHECKSUM_KEY = "header_sha256"
VERSION_KEY = "wengert_version"  # recorded by every version that writes the checksums
_HEX64 = re.compile(r"[0-9a-f]{64}")


def write_safetensors(
    path: str | os.PathLike, tensors: dict[str, np.ndarray], metadata: dict[str, str]
) -> None:
    """Write `tensors` and the string map `metadata` to `path` atomically (see the docstring),
    with the data's SHA-256 added to the metadata as "data_sha256"."""
    header, offset, blobs = {}, 0, []
    digest = hashlib.sha256()
    for name, array in tensors.items():
        array = np.asarray(array)  # (np.ascontiguousarray would make a 0-d array 1-d)
        code = _CODES.get(array.dtype.newbyteorder("<").str)
        if code is None:
            stored = ", ".join(sorted(STORED_DTYPES))
            raise refusal(
                "save",
                f"tensor {name!r}",
                f"of one of the dtypes {stored}",
                str(array.dtype),
                TypeError,
            )
        blob = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes(order="C")
        header[name] = {"dtype": code, "shape": list(array.shape)}
        header[name]["data_offsets"] = [offset, offset + len(blob)]
        offset += len(blob)
        digest.update(blob)
        blobs.append(blob)
    header["__metadata__"] = {**metadata, CHECKSUM_KEY: digest.hexdigest()}
    header["__metadata__"][HEADER_CHECKSUM_KEY] = _header_digest(header)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned, as safetensors pads it
    atomic_write(path, b"".join([struct.pack("<Q", len(text)), text, *blobs]))


def read_safetensors(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The tensors and `__metadata__` of the safetensors file at `path`, every field checked
    before anything is allocated; `ModelFileError` says what is wrong."""
    check("read_safetensors", "path", path, PATH)  # an int would open a file descriptor
    where = f"{path}"
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        n = _header_length(where, f.read(8), size)
        header = _parse_header(where, f.read(n))
        metadata = header.get("__metadata__", {})
        if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
            raise ModelFileError(f"{where}: __metadata__ must be a map of strings to strings")
        _check_checksums_present(where, metadata)
        _check_header_checksum(where, header)
        header.pop("__metadata__", None)
        layout = _layout(where, header, size - 8 - n)
        data = f.read(size - 8 - n + 1)
    if len(data) != size - 8 - n:
        raise ModelFileError(f"{where} changed while it was read; read it again")
    _check_checksum(where, metadata, data)
    tensors = {}
    for name, dtype, shape, begin, end in layout:
        array = np.frombuffer(
            data, dtype=_DTYPES[dtype], count=(end - begin) // _size(dtype), offset=begin
        ).reshape(shape)
        tensors[name] = array.astype(array.dtype.newbyteorder("="))  # a writable native copy
    return tensors, metadata


def _header_length(where: str, first: bytes, size: int) -> int:
    # A true header length may start with these bytes too (2176 is 80 08 ...): only a length
    # that cannot be right marks a pickle or NumPy/zip file.
    n = struct.unpack("<Q", first)[0] if len(first) == 8 else None
    fits = n is not None and n <= min(_MAX_HEADER, size - 8)
    if not fits and (first[:1] == b"\x80" or first[:2] in (b"PK", b"\x93N")):
        raise ModelFileError(
            f"{where} is a pickle or NumPy/zip file, not a wengert model file; wengert never "
            f"unpickles (it could run code). Save models with wengert.save()"
        )
    if n is None:
        raise ModelFileError(
            f"{where} is truncated: {len(first)} bytes, less than the 8-byte header length"
        )
    if not fits:
        raise ModelFileError(
            f"{where} is truncated or not a safetensors file: the header length says {n} bytes, "
            f"the file has {size - 8} after the first 8 (at most {_MAX_HEADER} allowed)"
        )
    return n


def _parse_header(where: str, text: bytes) -> dict:
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ModelFileError(f"{where}: the header is not valid JSON ({e}); corrupted file") from e
    # Floats are not refused here: no field of a header holds one, and each field is checked.
    header = loads(decoded, _MAX_HEADER_DEPTH, where, "the header", False, _HEADER_LAYOUT)
    if not isinstance(header, dict):
        raise ModelFileError(f"{where}: the header is not a JSON object; corrupted file")
    return header


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _size(dtype: str) -> int:
    return _ITEMSIZES[dtype]


def _entry(where: str, name: str, entry) -> tuple:
    """(name, dtype, shape, begin, end) of one header entry, each field checked."""
    bad = f"{where}: tensor {name!r}"
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise ModelFileError(f"{bad}: a header entry needs exactly dtype, shape, data_offsets")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_int(o) for o in offsets)):
        raise ModelFileError(f"{bad} has data_offsets {offsets!r}; expected [begin, end], ints")
    if not isinstance(dtype, str) or dtype not in _DTYPES:
        raise ModelFileError(f"{bad} has dtype {dtype!r}; expected one of {sorted(_DTYPES)}")
    ok = isinstance(shape, list) and len(shape) <= _MAX_NDIM
    if not (ok and all(_is_int(d) and d >= 0 for d in shape)):
        raise ModelFileError(
            f"{bad} has shape {shape!r}; expected a list of at most {_MAX_NDIM} ints >= 0"
        )
    if math.prod(max(d, 1) for d in shape) * _size(dtype) > _MAX_NBYTES:
        raise ModelFileError(f"{bad} has shape {shape}, too large for any file; corrupted header")
    size = math.prod(shape) * _size(dtype)
    begin, end = offsets
    if end - begin != size:
        raise ModelFileError(
            f"{bad}: data_offsets [{begin}, {end}] do not fit its dtype {dtype} and shape "
            f"{shape} ({size} bytes); corrupted header"
        )
    return name, dtype, tuple(shape), begin, end


def _layout(where: str, header: dict, data_size: int) -> list[tuple]:
    """Every entry checked, in data order; the tensors must tile the data exactly."""
    layout = sorted((_entry(where, k, v) for k, v in header.items()), key=lambda e: e[3])
    position = 0
    for name, _, _, begin, end in layout:
        if begin != position:
            raise ModelFileError(
                f"{where}: tensor {name!r} has data_offsets [{begin}, {end}]; expected it to "
                f"begin at byte {position}, after the tensor before it (offsets overlap, leave "
                f"a gap or are negative); corrupted header"
            )
        position = end
    if position != data_size:
        raise ModelFileError(
            f"{where} is truncated or corrupted: the header describes {position} bytes of "
            f"tensor data, the file holds {data_size}"
        )
    return layout


def _header_digest(header: dict) -> str:
    """SHA-256 of the header in one canonical JSON form, without the header checksum itself."""
    metadata = {k: v for k, v in header["__metadata__"].items() if k != HEADER_CHECKSUM_KEY}
    canonical = {**header, "__metadata__": metadata}
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _expected_digest(where: str, metadata: dict, key: str) -> str | None:
    expected = metadata.get(key)
    if expected is not None and not _HEX64.fullmatch(expected):
        raise ModelFileError(
            f"{where}: __metadata__[{key!r}] must be 64 hex digits; got {expected[:80]!r}"
        )
    return expected  # None: written before files carried checksums


def _check_checksums_present(where: str, metadata: dict) -> None:
    """A file that records the wengert version was written with both checksums: refuse one
    that lacks either (an old file has neither checksums nor the version, and loads)."""
    missing = [k for k in (CHECKSUM_KEY, HEADER_CHECKSUM_KEY) if k not in metadata]
    if VERSION_KEY in metadata and missing:
        raise ModelFileError(
            f"{where} has been tampered with or damaged: its checksums were removed (it "
            f"records {VERSION_KEY} {metadata[VERSION_KEY][:40]!r}, whose files carry "
            f"{CHECKSUM_KEY} and {HEADER_CHECKSUM_KEY}, but lacks {' and '.join(missing)}); "
            f"restore the file from a copy"
        )


def _check_header_checksum(where: str, header: dict) -> None:
    expected = _expected_digest(where, header.get("__metadata__", {}), HEADER_CHECKSUM_KEY)
    if expected is not None and _header_digest(header) != expected:
        raise ModelFileError(
            f"{where} is corrupted: its header does not match the SHA-256 checksum stored in "
            f"it; restore the file from a copy"
        )


def _check_checksum(where: str, metadata: dict, data: bytes) -> None:
    expected = _expected_digest(where, metadata, CHECKSUM_KEY)
    if expected is None:
        return
    if hashlib.sha256(data).hexdigest() != expected:
        raise ModelFileError(
            f"{where} is corrupted: its tensor data does not match the SHA-256 checksum in its "
            f"header; restore the file from a copy"
        )


__all__ = [
    "CHECKSUM_KEY",
    "HEADER_CHECKSUM_KEY",
    "STORED_DTYPES",
    "VERSION_KEY",
    "ModelFileError",
    "read_safetensors",
    "write_safetensors",
]
