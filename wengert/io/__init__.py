"""Model files and checkpoints: weights in the safetensors format, the architecture as JSON.

A file is a safetensors file (https://github.com/huggingface/safetensors), written and read here
with NumPy alone, so that loading can never run code (no pickle anywhere):

    8 bytes     N, the header's length, an unsigned little-endian integer
    N bytes     a JSON object: for each tensor {"dtype": "F32", "shape": [2, 4],
                "data_offsets": [begin, end]} (byte offsets into the data that follows), and
                "__metadata__": a map of strings to strings
    the data    each tensor's bytes, little-endian, C order, back to back

wengert's `__metadata__` holds {"format": "wengert", "version": "1", "kind": "model" or
"checkpoint", "model": JSON of {"class": "MLP", "config": {...}}, "wengert_version": ...,
"data_sha256" and "header_sha256": checksums of the data and of the header, ...}. Every write
goes through `atomic_write`: a temporary file in the same directory, flushed and fsynced, then
renamed over the target (os.replace), so a crash leaves the old file or the new one, never half
of one. A file that is cut short, corrupted (its checksums do not match), not wengert's, nested
too deeply, or whose header does not match its size or its weights raises `ModelFileError`,
saying what is wrong, before anything is allocated for it.

A Module of the user's own class has no architecture a file can name: `save_state_dict` writes
its `state_dict()` alone ("kind": "state_dict", same checksums), `load_state_dict` reads it back.

Checksums: files written before wengert stored them carry neither the checksums nor
"wengert_version", and still load, unchecked. Every version that records "wengert_version"
writes both checksums, so a file that records it and lacks either checksum is refused with
`ModelFileError` ("its checksums were removed"). (The checksums find damage, not a forger: one
who removes "wengert_version" too makes the file look old.)

The JSON of the header and of the `__metadata__` strings is bounded before it is parsed (see
wengert.io.bounded_json): nesting depth, the header's layout ({name: {...}}), integers of more
digits than Python converts, and NaN, Infinity or 1e999 in the model description and the user
metadata are refused with `ModelFileError`. The checkpoint state may hold NaN and infinities
(a History's losses), so its fields are checked one by one (wengert.io.state_checks).

Layer: integrations, with sklearn and plot; it imports the layers above it (checks through
classic) and the other integrations, never the interfaces (wengert.cli).
"""

from wengert.io.atomic import atomic_write
from wengert.io.checkpoint import (
    Checkpoint,
    FitCheckpoints,
    load_checkpoint,
    save,
    save_checkpoint,
)
from wengert.io.models import MODULES, build, describe, load, load_metadata
from wengert.io.safetensors import ModelFileError, read_safetensors, write_safetensors
from wengert.io.state_dict import load_state_dict, save_state_dict

__all__ = [
    "MODULES",
    "Checkpoint",
    "FitCheckpoints",
    "ModelFileError",
    "atomic_write",
    "build",
    "describe",
    "load",
    "load_checkpoint",
    "load_metadata",
    "load_state_dict",
    "read_safetensors",
    "save",
    "save_checkpoint",
    "save_state_dict",
    "write_safetensors",
]
