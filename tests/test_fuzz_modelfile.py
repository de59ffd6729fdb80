"""Model files, mutated: each one must raise ModelFileError or load exactly the original weights.

A seeded mutator makes files from a model file and from checkpoints (Adam with a data loader's
position; L-BFGS): truncations, appended bytes, bit flips anywhere or in the data, header length
edits, and header edits (huge, negative and odd shapes; offsets that overlap or run past the
end; other dtypes; JSON nested a thousand deep; huge architectures; metadata values of other
types; any field of the architecture or of the checkpoint state replaced by an odd value;
checksums removed). A header edit drops the header checksum and the wengert version half the
time, as in a file from before checksums or from another writer, so that the checks behind
them are reached. Every reader runs on every file, under tracemalloc: it
must raise ModelFileError or give the original weights (and optimizer state), take at most a
second and grow memory by at most a few MB. 500 files in the default run, 10,000 in the slow one.
"""

from __future__ import annotations

import json
import struct
import time
import tracemalloc
import warnings
from dataclasses import dataclass, field

import numpy as np
import pytest

import wengert as wg
from wengert import io
from wengert.losses import mse
from wengert.nn import MLP, Activation, Linear, Perceptron, Sequential
from wengert.optim import LBFGS, Adam
from wengert.train import ConvergenceWarning

DEEP = "[" * 1000 + "]" * 1000
_DEEP_MARK = "@@deep@@"
MAX_PEAK_BYTES = 3_000_000
MAX_SECONDS = 1.0
ODD_VALUES = [
    None, True, False, 0, -1, 1, 3, 2**31, 2**63, 2**64, 10**30, -(2**64), 1.5, -0.0, 1e308,
    float("nan"), "", "x", "F64", "float64", [], {}, [1, 2], [2**64], {"a": 1}, {"tensor": "x"},
    {"dict": {}}, {"list": [1]}, _DEEP_MARK, "null",
]  # fmt: skip
SHAPES = [
    [2**64], [2**64, 1], [10**30, 0], [0, 2**70, 2**70], [-1, 4], [1.5], ["2"], [[2]], [True],
    [1] * 40, [], [2**31, 2**31], [10**7], None, "2,4",
]  # fmt: skip
DTYPES = ["F64", "F32", "F16", "I64", "I32", "U8", "BF16", "f4", 5, None, ["F32"]]
ARCHITECTURES = [
    {"class": "MLP", "config": {"sizes": [3, 10**7, 2]}},
    {"class": "MLP", "config": {"sizes": [3, 10**12, 2]}},
    {"class": "MLP", "config": {"sizes": [1] * 5_000}},
    {"class": "MLP", "config": {"sizes": [2**64, 2]}},
    {"class": "Linear", "config": {"n_inputs": 10**9, "n_outputs": 10**9}},
    {"class": "Perceptron", "config": {"n_inputs": -3}},
    {"class": "Sequential", "config": {"layers": [{"class": "Linear", "config": {}}] * 300}},
    {"class": "MLP", "config": {"sizes": [3, 4, 2], "dtype": "object"}},
    {"class": "MLP", "config": {"sizes": [3, 4, 2], "activation": [1]}},
]


@dataclass
class Original:
    """A saved file, the weights (and optimizer state) it holds, and how to load into it."""

    name: str
    raw: bytes
    weights: dict
    optimizer_state: dict | None = None
    make: object = None  # () -> (model, optimizer) to restore into, like the saved ones
    header: dict = field(default_factory=dict)


def _originals(tmp_path) -> list[Original]:
    X = np.random.default_rng(0).normal(size=(12, 3))
    made = []
    plain = MLP([3, 4, 2], activation="tanh", seed=0)
    made.append(("model", plain, None, None, {}))
    adam_model = Sequential(Linear(3, 4, dtype=np.float64, seed=1), Activation("relu"),
                            Perceptron(4, dtype=np.float64, seed=2))  # fmt: skip

    def make_adam():
        model = Sequential(Linear(3, 4, dtype=np.float64, seed=7), Activation("relu"),
                           Perceptron(4, dtype=np.float64, seed=8))  # fmt: skip
        return model, Adam(model.parameters(), lr=0.01)

    adam = Adam(adam_model.parameters(), lr=0.01)
    loader = wg.data.DataLoader(X, X[:, 0], batch_size=4, seed=3)
    for _ in loader:
        pass
    history = wg.History(step_loss=[0.5, 0.25], lr=[0.01, 0.01], epoch_loss=[0.4])
    extra = {"history": history, "epoch": 1, "step": 2, "loader": loader}
    made.append(("adam", adam_model, adam, make_adam, extra))
    lbfgs_model = MLP([3, 2, 1], dtype=np.float64, seed=4)

    def make_lbfgs():
        model = MLP([3, 2, 1], dtype=np.float64, seed=9)
        return model, LBFGS(model.parameters(), history_size=3)

    lbfgs = LBFGS(lbfgs_model.parameters(), history_size=3)
    made.append(("lbfgs", lbfgs_model, lbfgs, make_lbfgs, {"epoch": 1, "step": 1}))
    for model, opt in ((adam_model, adam), (lbfgs_model, lbfgs)):
        _train(model, opt, X)
    originals = []
    for name, model, opt, make, extra in made:
        path = tmp_path / f"{name}.safetensors"
        io.save_checkpoint(path, model, opt, user={"note": "fuzz"}, **extra)
        raw = path.read_bytes()
        state = None if opt is None else opt.state_dict()["state"]
        originals.append(Original(name, raw, model.state_dict(), state, make, _header(raw)[0]))
    return originals


def _train(model, opt, X) -> None:
    def closure():
        opt.zero_grad()
        out = model(X)
        loss = mse(out, X[:, :1] if out.data.ndim == 2 else X[:, 0])
        loss.backward()
        return loss

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # two steps: state to save, no more
        for _ in range(2):
            opt.step(closure)


def _header(raw: bytes) -> tuple[dict, int]:
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n]), n


# ----------------------------------------------------------------------- the mutator
def mutate(original: Original, rng: np.random.Generator) -> tuple[str, bytes]:
    """One mutation of `original`: (its kind, the file's bytes)."""
    raw = original.raw
    kind = str(rng.choice(list(_RAW) + ["header"] * 3))
    if kind != "header":
        return kind, _RAW[kind](raw, rng)
    header = json.loads(json.dumps(original.header))
    edit = str(rng.choice(list(_EDITS)))
    _EDITS[edit](header, rng)
    if rng.random() < 0.5:  # as an old file, which loads unchecked, or another writer's
        header["__metadata__"].pop("header_sha256", None)
        header["__metadata__"].pop("wengert_version", None)
    text = json.dumps(header, separators=(",", ":")).replace(f'"{_DEEP_MARK}"', DEEP)
    data = raw[8 + _header(raw)[1] :]
    return f"header:{edit}", struct.pack("<Q", len(text.encode())) + text.encode() + data


def _flip_bits(raw: bytes, rng, low: int = 0) -> bytes:
    out = bytearray(raw)
    for _ in range(int(rng.integers(1, 4))):
        at = int(rng.integers(low, len(out)))
        out[at] ^= 1 << int(rng.integers(0, 8))
    return bytes(out)


def _length(raw: bytes, rng) -> bytes:
    n = _header(raw)[1]
    values = [0, 1, 7, n - 1, n + 1, n + 8, len(raw), 2**63, 2**64 - 1, 100_000_001]
    return struct.pack("<Q", int(values[int(rng.integers(len(values)))])) + raw[8:]


_RAW = {
    "truncate": lambda raw, rng: raw[: int(rng.integers(0, len(raw)))],
    "append": lambda raw, rng: raw + rng.bytes(int(rng.integers(1, 64))),
    "flip_anywhere": lambda raw, rng: _flip_bits(raw, rng),
    "flip_data": lambda raw, rng: _flip_bits(raw, rng, low=8 + _header(raw)[1]),
    "length": _length,
}


def _tensor_names(header: dict) -> list[str]:
    return sorted(k for k in header if k != "__metadata__")


def _pick(rng, items):
    return items[int(rng.integers(len(items)))]


def _entry(header, rng) -> dict:
    return header[_pick(rng, _tensor_names(header))]


def _offsets(header, rng) -> None:
    entry = _entry(header, rng)
    begin, end = entry["data_offsets"]
    total = max(e["data_offsets"][1] for k, e in header.items() if k != "__metadata__")
    choices = [[end, begin], [0, 2**64], [-8, end - begin - 8], [begin, total + 8],
               [begin - 4, end - 4], [begin + 4, end + 4], ["0", end], [begin], None]  # fmt: skip
    entry["data_offsets"] = _pick(rng, choices)


def _random_path_edit(value, rng):
    """`value` with one node, reached by a random walk, replaced by an odd value."""
    if not isinstance(value, (dict, list)) or not value or rng.random() < 0.2:
        return _pick(rng, ODD_VALUES)
    key = _pick(rng, list(value)) if isinstance(value, dict) else int(rng.integers(len(value)))
    value[key] = _random_path_edit(value[key], rng)
    return value


def _json_field(key: str):
    def edit(header, rng):
        meta = header["__metadata__"]
        meta[key] = json.dumps(_random_path_edit(json.loads(meta[key]), rng))

    return edit


def _metadata_type(header, rng) -> None:
    meta = header["__metadata__"]
    key = _pick(rng, sorted(meta))
    if rng.random() < 0.3:
        del meta[key]
    else:
        meta[key] = _pick(rng, [5, None, [], {}, "", "null", "[]", "1", DEEP, "{", "x" * 64])


_EDITS = {
    "shape": lambda h, rng: _entry(h, rng).update(shape=_pick(rng, SHAPES)),
    "offsets": _offsets,
    "dtype": lambda h, rng: _entry(h, rng).update(dtype=_pick(rng, DTYPES)),
    "entry": lambda h, rng: h.update({_pick(rng, _tensor_names(h)): _pick(rng, ODD_VALUES)}),
    "drop_tensor": lambda h, rng: h.pop(_pick(rng, _tensor_names(h))),
    "rename": lambda h, rng: h.update({"model.x": h.pop(_pick(rng, _tensor_names(h)))}),
    "deep_header": lambda h, rng: h.update(deep=_DEEP_MARK),
    "deep_metadata": lambda h, rng: h["__metadata__"].update(
        {_pick(rng, ["model", "state", "metadata"]): DEEP}
    ),
    "architecture": lambda h, rng: h["__metadata__"].update(
        model=json.dumps(_pick(rng, ARCHITECTURES))
    ),
    "metadata_type": _metadata_type,
    "model_field": _json_field("model"),
    "state_field": _json_field("state"),
    "state_field_again": _json_field("state"),
    "user_metadata": _json_field("metadata"),
    "strip_checksums": lambda h, rng: h["__metadata__"].pop(
        _pick(rng, ["data_sha256", "header_sha256"])
    ),
}


# ----------------------------------------------------------------------- the check
def _same(a: dict, b: dict) -> bool:
    return set(a) == set(b) and all(
        a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k], equal_nan=True) for k in a
    )


def _same_state(a, b, numbers: list) -> bool:
    """Whether optimizer states `a` and `b` hold the same arrays (dtype and values); numbers
    kept as JSON in the header that differ are noted in `numbers`."""
    if isinstance(a, dict) and isinstance(b, dict):
        return set(a) == set(b) and all(_same_state(a[k], b[k], numbers) for k in a)
    arrays = isinstance(a, (np.ndarray, np.generic)), isinstance(b, (np.ndarray, np.generic))
    if any(arrays):
        x, y = np.asarray(a), np.asarray(b)
        return all(arrays) and x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True)
    if type(a) is not type(b) or a != b:
        numbers.append((a, b))
    return True


def _outcomes(path, original: Original) -> list[str]:
    """Each reader's outcome: "error" (ModelFileError), "same", "different" (other weights or
    optimizer arrays), or "numbers" (the same arrays, other plain numbers of the optimizer's
    state: possible only in a file without its header checksum, whose JSON numbers nothing
    else can vouch for)."""
    results = []
    readers = [io.load, lambda p: io.load_checkpoint(p).model]
    if original.make is not None:
        readers.append(lambda p: _restore(p, original))
    for read in readers:
        try:
            loaded = read(path)
        except io.ModelFileError:
            results.append("error")
            continue
        except Exception as e:  # counted: every one is a defect
            results.append(f"escaped {type(e).__name__}")
            continue
        if isinstance(loaded, tuple):
            model, state = loaded
            numbers = []
            same = _same_state(state, original.optimizer_state, numbers)
            same = same and _same(model.state_dict(), original.weights)
            results.append("numbers" if same and numbers else "same" if same else "different")
        else:
            results.append("same" if _same(loaded.state_dict(), original.weights) else "different")
    return results


def _restore(path, original: Original):
    model, opt = original.make()
    io.load_checkpoint(path, model, opt)
    return model, opt.state_dict()["state"]


@dataclass
class Report:
    files: int = 0
    errors: int = 0
    loads: int = 0
    different: list = field(default_factory=list)
    escaped: list = field(default_factory=list)  # (file, mutation, exception type)
    peak: int = 0
    slowest: float = 0.0
    slowest_kind: str = ""
    unchecked_numbers: int = 0  # files that restored other JSON numbers of an optimizer
    numbers: int = 0  # of those, files that still had their header checksum (must be none)
    kinds: dict = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"{self.files} files: {self.errors} readings raised ModelFileError, "
            f"{len(self.escaped)} another exception, {self.loads} "
            f"loaded the original weights, {len(self.different)} loaded other weights, "
            f"{self.unchecked_numbers} other optimizer numbers in files without a header "
            f"checksum ({self.numbers} with one); peak "
            f"memory {self.peak / 1e6:.2f} MB; slowest file {self.slowest * 1e3:.1f} ms "
            f"({self.slowest_kind})"
        )


def fuzz(tmp_path, n_files: int, seed: int = 0) -> Report:
    """Mutate, write and read `n_files` files; what happened, in numbers."""
    rng = np.random.default_rng(seed)
    originals = _originals(tmp_path)
    path = tmp_path / "mutated.safetensors"
    report = Report()
    for i in range(n_files):
        original = originals[i % len(originals)]
        kind, raw = mutate(original, rng)
        path.write_bytes(raw)
        tracemalloc.start()  # traces the reading alone
        start = time.perf_counter()
        try:
            outcomes = _outcomes(path, original)
            elapsed = time.perf_counter() - start
            report.peak = max(report.peak, tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        if elapsed > report.slowest:
            report.slowest, report.slowest_kind = elapsed, f"{original.name} {kind}"
        report.files += 1
        report.errors += outcomes.count("error")
        report.loads += outcomes.count("same")
        report.kinds[kind] = report.kinds.get(kind, 0) + 1
        if "different" in outcomes:
            report.different.append((i, original.name, kind))
        report.escaped += [(i, kind, o) for o in outcomes if o.startswith("escaped")]
        if "numbers" in outcomes:
            report.unchecked_numbers += 1
            report.numbers += b"header_sha256" in raw
    return report


def _check(report: Report) -> None:
    print(report.summary())
    assert report.escaped == []
    assert report.different == []
    assert report.numbers == 0
    assert report.peak <= MAX_PEAK_BYTES, report.summary()
    assert report.slowest <= MAX_SECONDS, report.summary()
    assert report.errors > report.files  # most mutations are caught, by several readers


def test_500_mutated_model_files_raise_model_file_error_or_load_the_original(tmp_path):
    report = fuzz(tmp_path, 500)
    _check(report)
    assert report.files == 500 and len(report.kinds) >= 15


@pytest.mark.slow
def test_10000_mutated_model_files_raise_model_file_error_or_load_the_original(tmp_path):
    report = fuzz(tmp_path, 10_000, seed=1)
    _check(report)
    assert report.files == 10_000


def test_the_mutator_is_deterministic(tmp_path):
    original = _originals(tmp_path)[1]
    first = [mutate(original, np.random.default_rng(5)) for _ in range(3)]
    again = [mutate(original, np.random.default_rng(5)) for _ in range(3)]
    assert first == again
    assert _originals(tmp_path)[1].raw == original.raw
