"""Model files against hostile JSON numbers and sizes, removed checksums, and resuming.

Integers of thousands of digits, NaN and 1e999 in the header or the metadata strings; headers
of millions of brackets, scanned at C speed; checksums stripped from a file that records the
wengert version; fit(resume=True) with seed=None; the refusal to resume on other data.
"""

from __future__ import annotations

import json
import math
import struct
import time

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import wengert as wg
from wengert import io
from wengert.cli import main
from wengert.io import bounded_json
from wengert.io.bounded_json import fits_layout, nesting_depth
from wengert.io.safetensors import _header_digest
from wengert.losses import cross_entropy
from wengert.nn import MLP
from wengert.optim import SGD

BIG = "7" * 5000


def _header_of(raw: bytes) -> tuple[dict, int]:
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n]), n


def _with_header(raw: bytes, text: str) -> bytes:
    data = raw[8 + _header_of(raw)[1] :]
    return struct.pack("<Q", len(text.encode())) + text.encode() + data


def _saved(tmp_path, edit=None, checksum=True) -> object:
    """A saved model file, its header edited by `edit` and its header checksum recomputed
    (`checksum`), as a file whose checksums vouch for it."""
    path = tmp_path / "m.safetensors"
    io.save(MLP([2, 3, 1], seed=0), path, note="n")
    if edit is not None:
        raw = path.read_bytes()
        header = _header_of(raw)[0]
        edit(header["__metadata__"])
        if checksum:
            header["__metadata__"]["header_sha256"] = _header_digest(header)
        path.write_bytes(_with_header(raw, json.dumps(header, separators=(",", ":"))))
    return path


def _refusals(path) -> list[str]:
    messages = []
    for read in (io.load, io.load_checkpoint, io.load_metadata):
        with pytest.raises(io.ModelFileError) as caught:
            read(path)
        messages.append(str(caught.value))
    return messages


# ----------------------------------------------------------------------- numbers in JSON
def test_an_integer_of_5000_digits_in_the_header_is_a_model_file_error(tmp_path):
    path = _saved(tmp_path)
    raw = path.read_bytes()
    text = json.dumps(_header_of(raw)[0], separators=(",", ":"))
    assert text.count('"shape":[') == 4
    path.write_bytes(_with_header(raw, text.replace('"shape":[', f'"shape":[{BIG},', 1)))
    for message in _refusals(path):
        assert message == (
            f"{path}: an integer in the header has more than 4300 digits; corrupted or hostile file"
        )


@pytest.mark.parametrize("key", ["model", "metadata", "state"])
def test_an_integer_of_5000_digits_in_a_metadata_string_is_a_model_file_error(tmp_path, key):
    path = _saved(tmp_path, lambda meta: meta.update({key: f'{{"n": {BIG}}}'}))
    for message in _refusals(path):
        assert message == (
            f"{path}: an integer in __metadata__[{key!r}] has more than 4300 digits; corrupted "
            f"or hostile file"
        )


def test_predict_says_what_is_wrong_without_python_s_own_words(tmp_path):
    path = _saved(tmp_path, lambda meta: meta.update(metadata=f'{{"n": {BIG}}}'))
    data = tmp_path / "x.csv"
    data.write_text("a,b\n1,2\n")
    result = CliRunner().invoke(main, ["predict", "--model", str(path), "--data", str(data)])
    assert result.exit_code == 2
    assert result.output == (
        f"wengert predict: error: {path}: an integer in __metadata__['metadata'] has more than "
        f"4300 digits; corrupted or hostile file\n"
    )


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("NaN", "NaN stands where a number must be finite"),
        ("-Infinity", "-Infinity stands where a number must be finite"),
        ("1e999", "a number is too large for a float"),
    ],
)
@pytest.mark.parametrize("key", ["model", "metadata"])
def test_nan_and_infinities_in_the_model_or_metadata_are_refused(tmp_path, key, number, reason):
    def edit(meta):
        value = json.loads(meta[key])
        value["config" if key == "model" else "note"] = "@"
        meta[key] = json.dumps(value).replace('"@"', f'{{"x": [{number}]}}')

    path = _saved(tmp_path, edit)
    for message in _refusals(path):
        assert message == (f"{path}: in __metadata__[{key!r}], {reason}; corrupted or hostile file")


def test_a_checkpoint_state_may_hold_infinities(tmp_path):
    path = tmp_path / "c.safetensors"
    history = wg.History(step_loss=[0.5], lr=[0.1], epoch_loss=[0.5], val_loss=[math.inf])
    io.save_checkpoint(path, MLP([2, 1], seed=0), history=history)
    assert io.load_checkpoint(path).history.val_loss == [math.inf]


# ----------------------------------------------------------------------- the nesting scan
def test_a_header_of_a_million_empty_lists_is_refused_at_once(tmp_path):
    path = _saved(tmp_path)
    path.write_bytes(_with_header(path.read_bytes(), "[" + ",".join(["[]"] * 1_000_000) + "]"))
    start = time.perf_counter()
    with pytest.raises(io.ModelFileError, match="the header is not a JSON object of objects"):
        io.load(path)
    assert time.perf_counter() - start < 1.0  # loosely: it takes a few tens of milliseconds


def test_megabytes_of_brackets_in_strings_are_accepted(tmp_path):
    path = tmp_path / "m.safetensors"
    note = '[{\\"' * 500_000  # in the header, every quote of it is escaped twice
    io.save(MLP([2, 1], seed=0), path, note=note)
    start = time.perf_counter()
    assert io.load_metadata(path) == {"note": note}
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize(
    ("text", "depth", "fits"),
    [
        ("", 0, True),
        ("7", 0, True),
        ("[]", 1, False),
        ('{"a": {"b": [1, 2]}}', 3, True),
        ('{"a": [[1]]}', 3, False),
        ('{"a": {"b": {"c": 1}}}', 3, False),
        ('{"[[[": "]]]{"}', 1, True),
        ('["\\"[", []]', 2, False),  # an escaped quote does not end the string
        ('["\\\\", [[]]]', 3, False),  # an escaped backslash does not escape the quote
        ('["\\\\\\"[[", {}]', 2, False),
        ('["\ud800[", [[]]]', 3, False),  # a lone surrogate
        ("]]][[", 0, False),  # invalid: json.loads stops at the first ]
        ('["[[[[[', 1, False),  # a string never closed
    ],
)
def test_nesting_depth_and_layout_of_tricky_texts(text, depth, fits):
    assert nesting_depth(text, 8) == depth
    assert nesting_depth(text.encode("utf-8", "surrogatepass"), 8) == depth
    assert fits_layout(text, b"{{[") is fits


def test_the_depth_counts_to_the_limit_plus_one():
    assert nesting_depth("[" * 10_000 + "]" * 10_000, 8) == 9
    assert nesting_depth("[" * 8 + "]" * 8, 8) == 8


JSON = st.recursive(
    st.none() | st.integers() | st.text(alphabet='[]{}"\\ a\u00e9'),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text("[{\"\\'"), inner),
    max_leaves=30,
)


def _depth(value) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


@settings(max_examples=150, deadline=None)
@given(JSON, st.booleans(), st.integers(1, 9))
def test_nesting_depth_of_valid_json_is_exact_in_any_chunks(value, ascii_only, chunk):
    text = json.dumps(value, ensure_ascii=ascii_only)
    expected = min(_depth(value), 21)
    assert nesting_depth(text, 20) == expected
    original = bounded_json._CHUNK
    bounded_json._CHUNK = chunk  # the carry of depth and string state across chunks
    try:
        assert nesting_depth(text, 20) == expected
    finally:
        bounded_json._CHUNK = original


# ----------------------------------------------------------------------- removed checksums
@pytest.mark.parametrize(
    "removed", [("data_sha256",), ("header_sha256",), ("data_sha256", "header_sha256")]
)
def test_a_file_with_a_version_and_without_its_checksums_is_refused(tmp_path, removed):
    def strip(meta):
        for key in removed:
            del meta[key]

    path = _saved(tmp_path, strip, checksum=False)
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 1  # a flipped bit in the data, which the checksum would have caught
    path.write_bytes(bytes(raw))
    version = wg.__version__
    for message in _refusals(path):
        assert message == (
            f"{path} has been tampered with or damaged: its checksums were removed (it records "
            f"wengert_version {version!r}, whose files carry data_sha256 and header_sha256, but "
            f"lacks {' and '.join(removed)}); restore the file from a copy"
        )


def test_an_old_file_without_checksums_or_version_still_loads(tmp_path):
    def strip(meta):
        del meta["data_sha256"], meta["header_sha256"], meta["wengert_version"]

    path = _saved(tmp_path, strip, checksum=False)
    loaded = io.load(path)
    expected = MLP([2, 3, 1], seed=0).state_dict()
    assert all(np.array_equal(v, loaded.state_dict()[k]) for k, v in expected.items())
    assert io.load_metadata(path) == {"note": "n"}


# ----------------------------------------------------------------------- resuming
def _xy(data_seed=0):
    rng = np.random.default_rng(data_seed)
    X = rng.normal(size=(30, 2)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(int)


def _fit(directory, epochs, seed=None, loader=False, data_seed=0, **other):
    X, y = _xy(data_seed)
    model = MLP([2, 4, 2], seed=1)
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    data = wg.data.DataLoader(X, y, batch_size=8, seed=seed) if loader else (X, y)
    other.update(batch_size=8, seed=seed, progress=False, checkpoint_dir=directory)
    history = wg.fit(model, cross_entropy, opt, data, epochs, **other)
    return model, history, data


@pytest.mark.parametrize("loader", [False, True], ids=["arrays", "loader"])
def test_a_run_with_seed_none_resumes_bit_for_bit(tmp_path, loader):
    _fit(tmp_path / "run", 2, loader=loader)
    saved_seed = io.load_checkpoint(tmp_path / "run" / "checkpoint.safetensors").loader["seed"]
    model, history, data = _fit(tmp_path / "run", 5, resume=True, loader=loader)
    whole_model, whole, _ = _fit(tmp_path / "whole", 5, seed=saved_seed, loader=loader)
    assert history.step_loss == whole.step_loss and len(whole.step_loss) == 20
    for p, q in zip(model.parameters(), whole_model.parameters(), strict=True):
        assert np.array_equal(p.data, q.data)
    if loader:
        assert data.seed == saved_seed


def test_resuming_with_another_chosen_seed_blames_the_argument_not_the_file(tmp_path):
    _fit(tmp_path, 1, seed=5)
    with pytest.raises(ValueError) as caught:
        _fit(tmp_path, 2, seed=6, resume=True)
    assert not isinstance(caught.value, io.ModelFileError)
    assert str(caught.value) == (
        f"fit(resume=True): the data loader's seed must be 5, as in "
        f"{tmp_path / 'checkpoint.safetensors'}; got 6. Pass seed=5, or seed=None to take the "
        f"saved run's."
    )


def test_the_refusal_to_resume_on_other_data_names_the_fit_argument_last(tmp_path):
    _fit(tmp_path, 1, seed=5)
    with pytest.raises(ValueError) as caught:
        _fit(tmp_path, 2, seed=5, resume=True, data_seed=1)
    path = tmp_path / "checkpoint.safetensors"
    prefix = (
        f"fit(resume=True): the training data must be the data that {path} was trained on; "
        f"got other values of the same shape (fingerprint sha256:"
    )
    message = str(caught.value)
    assert message.startswith(prefix)
    assert message.endswith(
        "in the checkpoint). Resume on the same data; to resume anyway, pass "
        "resume_other_data=True to fit."
    )


def test_a_parameter_index_of_unicode_digits_is_a_model_file_error(tmp_path):
    path = tmp_path / "c.safetensors"
    io.save_checkpoint(path, MLP([2, 1], seed=0), SGD(MLP([2, 1], seed=0).parameters(), lr=0.1))
    raw = path.read_bytes()
    header = _header_of(raw)[0]
    state = json.loads(header["__metadata__"]["state"])
    state["optimizer"]["state"] = {"²": {"dict": {}}}  # str.isdigit() says yes, int() says no
    header["__metadata__"]["state"] = json.dumps(state)
    header["__metadata__"]["header_sha256"] = _header_digest(header)
    path.write_bytes(_with_header(raw, json.dumps(header, separators=(",", ":"))))
    with pytest.raises(io.ModelFileError) as caught:
        io.load_checkpoint(path)
    assert str(caught.value) == (
        f"{path}: state.optimizer.state must be an object keyed by parameter index; "
        "got {'²': {'dict': {}}}. Corrupted file"
    )


@pytest.mark.parametrize("name", [["MLP"], {"MLP": 1}, "Conv2d", None])
def test_build_refuses_a_class_that_is_not_a_module_name(name):
    spec = {"class": name, "config": {}}
    with pytest.raises(io.ModelFileError) as caught:
        io.build(spec, "f.safetensors")
    assert str(caught.value) == (
        f"f.safetensors: the model description {spec!r} is not {{'class': one of "
        "['Activation', 'Linear', 'MLP', 'Perceptron', 'Sequential'], 'config': {...}}"
    )


@pytest.mark.parametrize(
    ("read", "noun"),
    [
        (io.load, "model"),
        (io.load_checkpoint, "model"),
        (io.load_metadata, "model"),
        (io.load_state_dict, "state-dict"),
    ],
)
def test_a_missing_file_is_named_by_the_function_that_wanted_it(tmp_path, read, noun):
    path = tmp_path / "absent.safetensors"
    with pytest.raises(FileNotFoundError) as caught:
        read(path)
    assert str(caught.value) == f"{read.__name__}: no such {noun} file: {path}"
