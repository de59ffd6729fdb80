"""Helpers shared by the model-file tests: read and rewrite a safetensors header."""

import json
import struct
from pathlib import Path

from wengert import io
from wengert.nn import MLP


def read_header(path):
    """(the JSON header, the data bytes, the header's length) of the safetensors file at `path`."""
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n]), raw[8 + n :], n


def rewrite_header(raw: bytes, edit, replace=(b"", b"")) -> bytes:
    """The file bytes `raw` with its header changed by `edit` (in place on the parsed JSON), its
    checksum and version dropped, and `replace` applied to the header's text."""
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    header["__metadata__"].pop("header_sha256", None)
    header["__metadata__"].pop("wengert_version", None)  # else the missing checksum is refused
    edit(header)
    text = json.dumps(header, separators=(",", ":")).encode()
    if replace[0]:
        text = text.replace(*replace)
    return struct.pack("<Q", len(text)) + text + raw[8 + n :]


def edited_file(tmp_path, edit, model=None, **save_kwargs) -> Path:
    """A saved file whose header `edit` changed (its header checksum dropped, as a hand edit or
    another writer would leave it), written to bad.safetensors."""
    good = tmp_path / "good.safetensors"
    io.save_checkpoint(good, model or MLP([2, 4, 3], seed=0), **save_kwargs)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(rewrite_header(good.read_bytes(), edit))
    return bad
