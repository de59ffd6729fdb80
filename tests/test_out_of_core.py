"""DataLoader over arrays that are not in memory: a numpy.memmap, an .npy opened with
mmap_mode, a Dask array; read chunk by chunk, shuffled chunk then row within chunk."""

import re

import numpy as np
import pytest

from wengert import losses, nn, optim
from wengert.data import ChunkedLoader, Columns, DataLoader
from wengert.data.chunks import read_rows
from wengert.train import fit

N, D, CHUNK = 1003, 3, 100


@pytest.fixture
def arrays(tmp_path):
    """(X, y) in memory and the same rows as .npy files opened with mmap_mode="r"; column 0 of
    X holds the row's index, so that a batch says which rows it holds."""
    rng = np.random.default_rng(0)
    X = np.column_stack([np.arange(N, dtype=np.float64), rng.normal(size=(N, D - 1))])
    y = rng.integers(0, 3, size=N)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    return X, y, np.load(tmp_path / "X.npy", mmap_mode="r"), np.load(tmp_path / "y.npy", "r")


def rows_of(loader):
    """The rows of one pass, batch by batch (column 0 of X)."""
    return [xb[:, 0].astype(int) for xb, _ in loader]


def test_a_memmap_makes_a_chunked_loader_that_never_holds_it(arrays):
    _, _, X_map, y_map = arrays
    loader = DataLoader(X_map, y_map, batch_size=64, seed=0, chunk_size=CHUNK)
    assert type(loader) is ChunkedLoader and isinstance(loader, DataLoader)
    assert loader.X is X_map and loader.y is y_map
    assert loader.chunk_bounds[:2] == [(0, 100), (100, 200)] and loader.chunk_bounds[-1] == (
        1000,
        1003,
    )
    assert len(loader) == 16 and loader.n_samples == N and loader.n_features == D


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("batch_size", [1, 64, 100, 150, None])
def test_in_row_order_the_batches_are_the_in_memory_loaders(arrays, batch_size, drop_last):
    X, y, X_map, y_map = arrays
    settings = {"batch_size": batch_size, "shuffle": False, "drop_last": drop_last}
    mapped = list(DataLoader(X_map, y_map, chunk_size=CHUNK, **settings))
    in_memory = list(DataLoader(X, y, **settings))
    assert len(mapped) == len(in_memory)
    for (xb, yb), (xm, ym) in zip(mapped, in_memory, strict=True):
        assert xb.dtype == xm.dtype and yb.dtype == ym.dtype == np.int64
        np.testing.assert_array_equal(xb, xm)
        np.testing.assert_array_equal(yb, ym)
        assert not xb.flags.writeable


def test_a_shuffled_pass_is_a_permutation_of_chunks_then_of_rows_within_them(arrays):
    _, y, X_map, y_map = arrays
    loader = DataLoader(X_map, y_map, batch_size=64, seed=5, chunk_size=CHUNK)
    batches = list(loader)
    assert [len(xb) for xb, _ in batches] == [64] * 15 + [43]
    order = np.concatenate([xb[:, 0] for xb, _ in batches]).astype(int)
    np.testing.assert_array_equal(np.sort(order), np.arange(N))
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in batches]), y[order])
    # The chunks come in the drawn order; each one's rows together, in an order of their own.
    sizes = [b - a for a, b in loader.chunk_bounds]
    start, seen = 0, []
    for _ in sizes:
        chunk = order[start] // CHUNK
        size = sizes[chunk]
        assert set(order[start : start + size] // CHUNK) == {chunk}
        assert not np.array_equal(order[start : start + size], np.sort(order[start : start + size]))
        seen.append(chunk)
        start += size
    assert sorted(seen) == list(range(11)) and seen != sorted(seen)


def test_the_seed_gives_the_passes_and_set_epoch_replays_one(arrays):
    _, _, X_map, y_map = arrays
    first = DataLoader(X_map, y_map, batch_size=64, seed=7, chunk_size=CHUNK)
    passes = [np.concatenate(rows_of(first)) for _ in range(3)]
    assert not np.array_equal(passes[0], passes[1])
    again = DataLoader(X_map, y_map, batch_size=64, seed=7, chunk_size=CHUNK)
    np.testing.assert_array_equal(np.concatenate(rows_of(again)), passes[0])
    again.set_epoch(2)
    np.testing.assert_array_equal(np.concatenate(rows_of(again)), passes[2])
    assert again.epoch == 3
    again.set_epoch(1)
    np.testing.assert_array_equal(np.concatenate(again.batch_indices()), passes[1])
    other = DataLoader(X_map, y_map, batch_size=64, seed=8, chunk_size=CHUNK)
    assert not np.array_equal(np.concatenate(rows_of(other)), passes[0])


def test_a_dask_array_gives_what_the_memmap_gives_for_the_same_chunks(arrays):
    da = pytest.importorskip("dask.array", reason="Dask is not installed (wengert[dask])")
    X, y, X_map, y_map = arrays
    X_dask, y_dask = da.from_array(X, chunks=(CHUNK, 2)), da.from_array(y, chunks=CHUNK)
    loader = DataLoader(X_dask, y_dask, batch_size=64, seed=3)  # the chunks: Dask's own
    assert type(loader) is ChunkedLoader and len(loader.chunk_bounds) == 11
    mapped = DataLoader(X_map, y_map, batch_size=64, seed=3, chunk_size=CHUNK)
    for _ in range(2):
        for (xb, yb), (xm, ym) in zip(loader, mapped, strict=True):
            np.testing.assert_array_equal(xb, xm)
            np.testing.assert_array_equal(yb, ym)


def test_fit_on_a_memmap_trains_the_weights_of_fit_in_memory(arrays):
    X, y, X_map, y_map = arrays
    weights = []
    for data in ((X, y), (X_map, y_map)):
        model = nn.MLP([D, 8, 3], seed=0)
        loader = DataLoader(*data, batch_size=50, shuffle=False, chunk_size=CHUNK)
        fit(model, losses.cross_entropy, optim.Adam(model.parameters(), lr=0.01), loader, 3)
        weights.append(model.state_dict())
    for name, value in weights[0].items():
        np.testing.assert_allclose(weights[1][name], value, rtol=0, atol=1e-12)
    assert any(not np.allclose(v, nn.MLP([D, 8, 3], seed=0).state_dict()[k]) for k, v in
               weights[0].items())  # fmt: skip


def test_columns_of_one_file_transforms_and_dtype(tmp_path):
    table = np.arange(24, dtype=np.int32).reshape(6, 4)
    np.save(tmp_path / "t.npy", table)
    mapped = np.load(tmp_path / "t.npy", mmap_mode="r")
    loader = ChunkedLoader(
        Columns(mapped, [0, 2, 3]), Columns(mapped, 1), batch_size=4, shuffle=False,
        chunk_size=4, dtype=np.float32, transform=lambda X: X * 2, target_transform=lambda y: -y,
    )  # fmt: skip
    (x1, y1), (x2, y2) = list(loader)
    assert x1.dtype == np.float32 and y1.dtype == np.int64
    np.testing.assert_array_equal(np.vstack([x1, x2]), table[:, [0, 2, 3]] * 2)
    np.testing.assert_array_equal(np.concatenate([y1, y2]), -table[:, 1])
    np.testing.assert_array_equal(read_rows(Columns(mapped, [3, 0]), 1, 3), table[1:3, [3, 0]])
    np.testing.assert_array_equal(np.unique(Columns(mapped, 1)), np.unique(table[:, 1]))


def test_fit_counts_accuracy_on_columns_of_a_mapped_table(arrays, tmp_path):
    X, y, _, _ = arrays
    np.save(tmp_path / "t.npy", np.column_stack([X, y]))
    mapped = np.load(tmp_path / "t.npy", mmap_mode="r")
    loader = DataLoader(Columns(mapped, range(D)), Columns(mapped, D), batch_size=N, seed=0)
    model = nn.MLP([D, 3], seed=0)
    before = model(X).numpy().argmax(axis=1)  # one full batch: accuracy before its step
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    history = fit(model, losses.cross_entropy, optimizer, loader, 1, metrics=["accuracy"])
    expected = np.mean(before == y)
    assert history.history["accuracy"] == [pytest.approx(expected, abs=1e-15)]


def test_reading_a_mapped_block_copies_it(arrays):
    X, _, X_map, _ = arrays
    block = read_rows(X_map, 10, 20)
    assert type(block) is np.ndarray and block.flags.owndata
    np.testing.assert_array_equal(block, X[10:20])


def _with_nan(shape, row, column):
    array = np.zeros(shape)
    array[row, column] = np.nan
    return array


def _save(path, array):
    np.save(path, array)
    return np.load(path, mmap_mode="r")


BAD = [
    ("X3d", lambda d: (_save(d / "a.npy", np.zeros((2, 2, 2))), None), ValueError,
     "DataLoader: X must be 2-D, of shape (n_samples, n_features); got a 3-D array of shape "
     "(2, 2, 2)."),
    ("empty", lambda d: (_save(d / "a.npy", np.zeros((0, 2))), None), ValueError,
     "DataLoader: X must be an array of at least 1 sample and 1 feature; got a 2-D array of "
     "shape (0, 2)."),
    ("text", lambda d: (_save(d / "a.npy", np.array([["a"]])), None), TypeError,
     "DataLoader: X must be an array of real numbers; got an array of dtype <U1."),
    ("nan", lambda d: (_save(d / "a.npy", _with_nan((300, 3), 250, 2)), None), ValueError,
     "DataLoader: X must be finite; got nan at row 250, column 2. Remove or impute the NaN"),
    ("y inf", lambda d: (_save(d / "a.npy", np.zeros((300, 2))),
                         _save(d / "b.npy", np.where(np.arange(300) == 123, np.inf, 0.0))),
     ValueError, "DataLoader: y must be finite; got inf at row 123."),
    ("y short", lambda d: (_save(d / "a.npy", np.zeros((5, 2))), np.zeros(4)), ValueError,
     "DataLoader: y must be an array with one entry per row of X (5); got 4 entries."),
    ("y 3d", lambda d: (_save(d / "a.npy", np.zeros((5, 2))), np.zeros((5, 1, 1))), ValueError,
     "DataLoader: y must be of shape (n_samples,) or (n_samples, n_outputs); got shape "
     "(5, 1, 1)."),
]  # fmt: skip


@pytest.mark.parametrize(("name", "make", "error", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_arrays_are_refused_by_name(tmp_path, name, make, error, message):
    X, y = make(tmp_path)
    with pytest.raises(error, match=re.escape(message)):
        DataLoader(X, y, chunk_size=100)


def test_bad_settings_are_refused_by_name(arrays):
    _, _, X_map, y_map = arrays
    with pytest.raises(ValueError, match=re.escape("DataLoader: chunk_size must be an int >= 1")):
        DataLoader(X_map, y_map, chunk_size=0)
    with pytest.raises(TypeError, match="DataLoader: transform must be a function of an ndarray"):
        ChunkedLoader(X_map, y_map, transform=3)


def test_check_values_false_trusts_the_caller_and_reads_nothing_at_construction(
    tmp_path, monkeypatch
):
    X = np.ones((300, 2))
    X[250, 1] = np.nan  # in the third chunk
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    with pytest.raises(ValueError, match=re.escape("DataLoader: X must be finite; got nan")):
        DataLoader(mapped, chunk_size=100)
    reads = []
    read_pair = ChunkedLoader._read_pair

    def counted(self, index):
        reads.append(index)
        return read_pair(self, index)

    monkeypatch.setattr(ChunkedLoader, "_read_pair", counted)
    DataLoader(mapped[:200], chunk_size=100)  # checked: each chunk read once here
    assert reads == [0, 1]
    reads.clear()
    loader = ChunkedLoader(mapped, chunk_size=100, check_values=False, shuffle=False)
    assert reads == []
    assert [len(xb) for xb in loader][-1] == 300 - 9 * 32 and reads == [0, 1, 2]
    with pytest.raises(TypeError, match=r"DataLoader: check_values must be a bool \(True or"):
        ChunkedLoader(mapped, chunk_size=100, check_values="no")
