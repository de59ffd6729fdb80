"""Malformed, hostile and corrupt model files: each is refused by name as a ModelFileError, and the
checksums catch what the header's own checks cannot."""

import json
import pickle
import struct

import numpy as np
import pytest
from io_helpers import edited_file, read_header, rewrite_header

import wengert as wg
from wengert import io
from wengert.nn import MLP


# ----------------------------------------------------------------------- bad files
def _good_bytes(tmp_path) -> bytes:
    """A model file without its header checksum and wengert version, as hand-edited files or
    files from other writers are: what the header's own checks must catch."""
    path = tmp_path / "good.safetensors"
    io.save(MLP([2, 4, 3], seed=0), path)
    return rewrite_header(path.read_bytes(), lambda header: None)


def _set_model(header, sizes):
    model = json.loads(header["__metadata__"]["model"])
    model["config"]["sizes"] = sizes
    header["__metadata__"]["model"] = json.dumps(model)


def _set_dtype(header):
    model = json.loads(header["__metadata__"]["model"])
    model["config"]["dtype"] = "float64"
    header["__metadata__"]["model"] = json.dumps(model)


def _set_class(header):
    header["__metadata__"]["model"] = json.dumps({"class": "Evil", "config": {}})


def _set_entry(header, key, value):
    header["model.layers.0.weight"][key] = value


def _rename(header):
    header["model.layers.9.weight"] = header.pop("model.layers.1.weight")


def _format(header):
    header["__metadata__"]["format"] = "pt"


def _flip(raw: bytes, at: int) -> bytes:
    return raw[:at] + bytes([raw[at] ^ 0xFF]) + raw[at + 1 :]


class _SideEffect:
    """Unpickling it would create the file `marker` (open(marker, "w"))."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


BAD_FILES = [
    ("empty", lambda raw, tmp: b"", "truncated: 0 bytes"),
    ("cut_in_length", lambda raw, tmp: raw[:5], "truncated: 5 bytes"),
    ("cut_in_header", lambda raw, tmp: raw[:40], "truncated or not a safetensors file"),
    ("cut_in_data", lambda raw, tmp: raw[: len(raw) - 30], "truncated"),
    ("last_byte_missing", lambda raw, tmp: raw[:-1], "truncated"),
    ("extra_bytes", lambda raw, tmp: raw + b"\0" * 4, "holds"),
    ("flipped_brace", lambda raw, tmp: _flip(raw, 8), "header is not valid JSON"),
    (
        "flipped_shape",
        lambda raw, tmp: raw.replace(b'"shape":[2,4]', b'"shape":[2,5]', 1),
        "do not fit its dtype F32 and shape",
    ),
    ("wrong_magic", lambda raw, tmp: b"GARBAGE!" + raw[8:], "truncated or not a safetensors"),
    ("not_wengert", lambda raw, tmp: rewrite_header(raw, _format), "not a wengert model file"),
    (
        "header_sizes_differ",
        lambda raw, tmp: rewrite_header(raw, lambda h: _set_model(h, [2, 5, 3])),
        "the header's model has 33 weights; the file holds 27",
    ),
    (
        "header_dtype_differs",
        lambda raw, tmp: rewrite_header(raw, _set_dtype),
        r"float32\[2, 4\] in the file; .* needs float64\[2, 4\]",
    ),
    (
        "weight_names_differ",
        lambda raw, tmp: rewrite_header(raw, _rename),
        r"missing \['layers.1.weight'\], unexpected \['layers.9.weight'\]",
    ),
    (
        "bad_model_class",
        lambda raw, tmp: rewrite_header(raw, _set_class),
        "is not {'class': one of",
    ),
    (
        "offsets_not_ints",
        lambda raw, tmp: rewrite_header(raw, lambda h: _set_entry(h, "data_offsets", "0-32")),
        r"data_offsets '0-32'; expected \[begin, end\], ints",
    ),
    (
        "unknown_dtype",
        lambda raw, tmp: rewrite_header(raw, lambda h: _set_entry(h, "dtype", "BF16")),
        "has dtype 'BF16'; expected one of",
    ),
    (
        "bad_metadata_json",
        lambda raw, tmp: rewrite_header(raw, lambda h: h["__metadata__"].update(state="{")),
        r"__metadata__\['state'\] is not valid JSON",
    ),
    ("pickle", lambda raw, tmp: pickle.dumps({"w": np.ones(3)}), "pickle .* never unpickles"),
    ("pickle_v0", lambda raw, tmp: pickle.dumps([1.0], protocol=0), "truncated or not a safe"),
    ("pickle_side_effect", lambda raw, tmp: pickle.dumps(_SideEffect(tmp / "pwned")), "pickle"),
    ("npy", lambda raw, tmp: b"\x93NUMPY" + raw, "NumPy"),
]


@pytest.mark.parametrize(("kind", "make", "match"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_are_refused_by_name(tmp_path, kind, make, match):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(make(_good_bytes(tmp_path), tmp_path))
    before = sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir())
    with pytest.raises(io.ModelFileError, match=match):
        io.load(path)
    with pytest.raises(io.ModelFileError):
        io.load_checkpoint(path)
    assert sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir()) == before
    assert not (tmp_path / "pwned").exists()


def test_model_file_error_is_a_value_error_and_a_missing_file_says_so(tmp_path):
    assert issubclass(io.ModelFileError, ValueError)
    with pytest.raises(FileNotFoundError, match="no such model file"):
        io.load(tmp_path / "absent.safetensors")


def test_read_safetensors_takes_a_path_and_never_a_file_descriptor(tmp_path):
    path = tmp_path / "m.safetensors"
    io.save(MLP([2, 3, 1]), path)
    with pytest.raises(TypeError) as caught:
        io.read_safetensors(0)
    assert str(caught.value) == "read_safetensors: path must be a path (str or os.PathLike); got 0."
    with pytest.raises(
        TypeError, match=r"path must be a path \(str or os\.PathLike\); got b'.*\(bytes\)\.$"
    ):
        io.read_safetensors(bytes(path))
    tensors, metadata = io.read_safetensors(str(path))
    assert sorted(tensors) == sorted(f"model.{k}" for k in io.load(path).state_dict())
    assert metadata["format"] == "wengert"


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def _load_everywhere(path):
    """Every reader of model files, each of which must refuse the same way."""
    for read in (io.load, io.load_checkpoint, io.load_metadata):
        with pytest.raises(io.ModelFileError) as caught:
            read(path)
        yield str(caught.value)


def test_a_dimension_of_2_to_the_64_is_a_model_file_error(tmp_path):
    path = edited_file(tmp_path, lambda h: _set_entry(h, "shape", [2**64, 4]))
    for message in _load_everywhere(path):
        assert "has shape [18446744073709551616, 4], too large for any file" in message


@pytest.mark.parametrize("where", ["header", "model", "state", "metadata"])
def test_json_nested_a_thousand_deep_is_a_model_file_error(tmp_path, where):
    def edit(header):
        if where == "header":
            header["deep"] = "DEEP"
        else:
            header["__metadata__"][where] = _deep(1000)

    good = tmp_path / "good.safetensors"
    io.save(MLP([2, 4, 3], seed=0), good)
    raw = rewrite_header(good.read_bytes(), edit, (b'"DEEP"', _deep(1000).encode()))
    path = tmp_path / "bad.safetensors"
    path.write_bytes(raw)
    limit = 8 if where == "header" else 200
    for message in _load_everywhere(path):
        assert f"nests JSON more than {limit} levels deep" in message


@pytest.mark.parametrize(
    ("sizes", "weights"), [([2, 10**7, 1], 40_000_001), ([2, 10**12, 1], 4 * 10**12 + 1)]
)
def test_a_huge_architecture_is_refused_before_anything_is_allocated(tmp_path, sizes, weights):
    import tracemalloc

    path = edited_file(tmp_path, lambda h: _set_model(h, sizes))
    tracemalloc.start()
    try:
        with pytest.raises(
            io.ModelFileError, match=f"model has {weights} weights; the file holds 27"
        ):
            io.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


def test_cli_predict_and_resume_refuse_a_malformed_file_in_one_line(tmp_path):
    from click.testing import CliRunner

    from wengert.cli import main

    run = tmp_path / "run"
    args = ["train", "--data", "xor", "--hidden", "4", "--epochs", "1", "--out", str(run)]
    assert CliRunner().invoke(main, args).exit_code == 0
    table = tmp_path / "x.csv"
    table.write_text("x0,x1\n0,1\n")
    for name in ("model.safetensors", "checkpoint.safetensors"):
        path = run / name
        path.write_bytes(rewrite_header(path.read_bytes(), lambda h: _set_entry(h, "shape", [-1])))
    commands = {
        "predict": ["predict", "--model", str(run / "model.safetensors"), "--data", str(table)],
        "resume": ["resume", str(run), "--epochs", "1"],
    }
    for command, args in commands.items():
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(f"wengert {command}: error: ")
        assert "has shape [-1]; expected a list of at most 32 ints >= 0" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


# ----------------------------------------------------------------------- integrity
def test_a_file_records_checksums_of_data_and_header_and_the_version(tmp_path):
    import hashlib

    path = tmp_path / "m.safetensors"
    io.save(MLP([2, 3, 1], seed=0), path)
    header, data, _ = read_header(path)
    meta = header["__metadata__"]
    assert meta["data_sha256"] == hashlib.sha256(data).hexdigest()
    assert len(meta["header_sha256"]) == 64
    assert meta["wengert_version"] == wg.__version__


def test_a_flipped_bit_in_the_data_is_caught_by_the_checksum(tmp_path):
    path = tmp_path / "m.safetensors"
    io.save(MLP([2, 3, 1], seed=0), path)
    path.write_bytes(_flip(path.read_bytes(), len(path.read_bytes()) - 3))
    for message in _load_everywhere(path):
        assert "its tensor data does not match the SHA-256 checksum" in message


def test_swapped_offsets_are_caught_by_the_header_checksum(tmp_path):
    path = tmp_path / "m.safetensors"
    io.save(MLP([3, 3, 3], seed=0), path)
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    first, second = header["model.layers.0.weight"], header["model.layers.1.weight"]
    first["data_offsets"], second["data_offsets"] = second["data_offsets"], first["data_offsets"]
    text = json.dumps(header, separators=(",", ":")).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + n :])
    for message in _load_everywhere(path):
        assert "its header does not match the SHA-256 checksum" in message


def test_a_file_without_checksums_still_loads(tmp_path):
    model = MLP([2, 3, 1], seed=0)
    path = tmp_path / "old.safetensors"
    io.save(model, path)

    def strip(header):
        del header["__metadata__"]["data_sha256"]

    path.write_bytes(rewrite_header(path.read_bytes(), strip))
    loaded = io.load(path)
    assert all(np.array_equal(v, loaded.state_dict()[k]) for k, v in model.state_dict().items())
