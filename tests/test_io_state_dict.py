"""State-dict files: a Module of the user's own class saved by its weights, checked on reading."""

import re
import struct

import numpy as np
import pytest

import wengert as wg
from wengert import io
from wengert.nn import Linear


class Net(wg.nn.Module):
    """Two Linear layers in a class of the user's own, which a model file cannot name."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.hidden = Linear(3, 4, dtype=np.float64, seed=seed)
        self.out = Linear(4, 2, seed=seed + 1)

    def forward(self, x):
        return self.out(wg.tanh(self.hidden(x)))


def test_a_custom_module_round_trips_bit_for_bit(tmp_path):
    path = tmp_path / "net.safetensors"
    saved = Net(seed=0)
    io.save_state_dict(saved.state_dict(), path)
    loaded = io.load_state_dict(path)
    assert sorted(loaded) == ["hidden.bias", "hidden.weight", "out.bias", "out.weight"]
    restored = Net(seed=5)
    assert not np.array_equal(restored.out.weight.data, saved.out.weight.data)
    restored.load_state_dict(loaded)
    for name, value in saved.state_dict().items():
        got = restored.state_dict()[name]
        assert got.dtype == value.dtype and got.tobytes() == value.tobytes(), name
    x = np.random.default_rng(1).normal(size=(5, 3))
    assert restored(x).data.tobytes() == saved(x).data.tobytes()
    assert wg.save_state_dict is io.save_state_dict and wg.load_state_dict is io.load_state_dict


def test_tensors_and_every_stored_dtype_round_trip(tmp_path):
    path = tmp_path / "s.safetensors"
    state = {f"a.{d}": np.arange(6, dtype=d).reshape(2, 3) for d in ("float16", "uint8", "int32")}
    state["t"] = wg.tensor(np.array(2.5), requires_grad=True)
    io.save_state_dict(state, str(path))
    loaded = io.load_state_dict(str(path))
    assert loaded["t"].shape == () and loaded["t"].dtype == np.float64 and loaded["t"] == 2.5
    for d in ("float16", "uint8", "int32"):
        assert loaded[f"a.{d}"].dtype == np.dtype(d)
        assert loaded[f"a.{d}"].tolist() == [[0, 1, 2], [3, 4, 5]]


def test_a_flipped_data_bit_is_refused_by_the_checksum(tmp_path):
    path = tmp_path / "net.safetensors"
    io.save_state_dict(Net(seed=0).state_dict(), path)
    raw = bytearray(path.read_bytes())
    (n,) = struct.unpack("<Q", raw[:8])
    raw[8 + n + 5] ^= 0x10
    path.write_bytes(bytes(raw))
    message = "is corrupted: its tensor data does not match the SHA-256 checksum in its header"
    with pytest.raises(io.ModelFileError, match=re.escape(message)):
        io.load_state_dict(path)


def test_a_file_without_its_version_and_checksums_is_refused(tmp_path):
    path = tmp_path / "net.safetensors"
    io.save_state_dict({"w": np.ones(2)}, path)
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = raw[8 : 8 + n].decode()
    header = re.sub(r',"(wengert_version|data_sha256|header_sha256)":"[^"]*"', "", header)
    path.write_bytes(struct.pack("<Q", len(header)) + header.encode() + raw[8 + n :])
    with pytest.raises(io.ModelFileError, match="its wengert_version and checksums were removed"):
        io.load_state_dict(path)


def test_model_files_and_state_dict_files_are_not_mistaken_for_each_other(tmp_path):
    model_path, state_path = tmp_path / "m.safetensors", tmp_path / "s.safetensors"
    wg.save(Linear(2, 2, seed=0), model_path)
    io.save_state_dict({"w": np.ones(2)}, state_path)
    with pytest.raises(io.ModelFileError, match=r"not a wengert state-dict file .*kind='model'"):
        io.load_state_dict(model_path)
    with pytest.raises(io.ModelFileError, match=r"is a state-dict file .*load_state_dict\(\)"):
        wg.load(state_path)
    with pytest.raises(FileNotFoundError, match="load_state_dict: no such state-dict file"):
        io.load_state_dict(tmp_path / "absent.safetensors")


@pytest.mark.parametrize(
    "state, error, message",
    [
        ([("w", np.ones(2))], TypeError,
         "state must be a mapping of str to arrays; got [('w', array([1., 1.]))]."),
        ({3: np.ones(2)}, TypeError, "state's keys must be str; got 3 (int)."),
        ({"__metadata__": np.ones(2)}, ValueError,
         "state's keys must be names other than '__metadata__'; got '__metadata__'."),
        ({"w": np.ones(2), "o": np.array([1, "a"], dtype=object)}, TypeError,
         "state['o'] must be a NumPy array or Tensor of dtype float16, float32, float64, int32, "
         "int64 or uint8; got an array of shape (2,) and dtype object."),
        ({"w": [1.0, 2.0]}, TypeError,
         "state['w'] must be a NumPy array or Tensor of dtype float16, float32, float64, int32, "
         "int64 or uint8; got [1.0, 2.0]."),
    ],
)  # fmt: skip
def test_bad_state_is_refused_and_nothing_is_written(tmp_path, state, error, message):
    with pytest.raises(error) as caught:
        io.save_state_dict(state, tmp_path / "s.safetensors")
    assert str(caught.value) == f"save_state_dict: {message}"
    assert list(tmp_path.iterdir()) == []


def test_a_bad_path_is_refused(tmp_path):
    with pytest.raises(TypeError) as caught:
        io.save_state_dict({"w": np.ones(2)}, 3)
    assert str(caught.value) == (
        "save_state_dict: path must be a path (str or os.PathLike); got 3."
    )
    with pytest.raises(TypeError, match=r"^load_state_dict: path must be a path .*; got None\.$"):
        io.load_state_dict(None)


def test_save_of_a_custom_module_names_the_state_dict_functions(tmp_path):
    with pytest.raises(TypeError) as caught:
        wg.save(Net(seed=0), tmp_path / "net.safetensors")
    assert str(caught.value) == (
        "save: model must be built of Activation, Linear, MLP, Perceptron and Sequential "
        "modules; got a Net. A model file stores modules by name, never code; save its weights "
        "with wg.io.save_state_dict(model.state_dict(), path) and restore them with "
        "model.load_state_dict(wg.io.load_state_dict(path))."
    )
    assert list(tmp_path.iterdir()) == []
