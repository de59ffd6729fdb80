"""ChunkedLoader on the inputs a demanding user gives it: files of every real dtype and both
orders, mappings opened "r+" and "c", Dask arrays with uneven, empty or unknown chunks, targets
as lists, and passes started twice or cut short."""

import re
from fractions import Fraction

import numpy as np
import pytest

from wengert.data import ChunkedLoader, Columns, DataLoader

N = 23


def _mapped(tmp_path, array, mode="r"):
    np.save(tmp_path / "a.npy", array)
    return np.load(tmp_path / "a.npy", mmap_mode=mode)


def _pass(loader):
    """One pass as lists: (X batch, y batch) pairs."""
    return [(xb.tolist(), yb.tolist()) for xb, yb in loader]


@pytest.mark.parametrize("dtype", [np.int32, np.uint8, np.bool_, np.float16, np.float32])
@pytest.mark.parametrize("order", ["C", "F"])
def test_every_real_dtype_and_order_gives_the_in_memory_batches(tmp_path, dtype, order):
    X = np.asarray((np.arange(N * 3).reshape(N, 3) % 7), dtype=dtype, order=order)
    y = np.arange(N) % 3
    chunked = DataLoader(_mapped(tmp_path, X), y, batch_size=5, shuffle=False, chunk_size=7)
    assert isinstance(chunked, ChunkedLoader)
    in_memory = DataLoader(X, y, batch_size=5, shuffle=False)
    assert [xb.dtype for xb, _ in chunked] == [in_memory.X.dtype] * 5
    assert _pass(chunked) == _pass(in_memory)


@pytest.mark.parametrize("mode", ["r+", "c"])
def test_a_mapping_opened_for_writing_is_read_and_left_unchanged(tmp_path, mode):
    X = np.arange(N * 2, dtype=np.float64).reshape(N, 2)
    mapped = _mapped(tmp_path, X, mode)
    loader = DataLoader(mapped, None, batch_size=4, shuffle=False, chunk_size=6)
    assert np.array_equal(np.concatenate(list(loader)), X)
    assert np.array_equal(mapped, X)
    assert np.array_equal(np.load(tmp_path / "a.npy"), X)


def test_uneven_and_empty_dask_chunks_give_every_row_once():
    da = pytest.importorskip("dask.array")
    X = np.arange(N * 2, dtype=np.float64).reshape(N, 2)
    dX = da.from_array(X, chunks=((3, 0, 1, 19), (1, 1)))
    loader = DataLoader(dX, np.arange(N), batch_size=4, seed=0)
    assert loader.chunk_bounds == [(0, 3), (3, 3), (3, 4), (4, 23)]
    batches = _pass(loader)
    assert [len(xb) for xb, _ in batches] == [4, 4, 4, 4, 4, 3]
    rows = [row for _, yb in batches for row in yb]
    assert sorted(rows) == list(range(N))
    assert all(xb[k] == X[yb[k]].tolist() for xb, yb in batches for k in range(len(yb)))


@pytest.mark.parametrize("which", ["X", "y"])
def test_a_dask_array_of_unknown_chunk_sizes_is_refused_by_name(which):
    da = pytest.importorskip("dask.array")
    X = da.from_array(np.ones((N, 2)), chunks=(5, 2))
    y = da.from_array(np.arange(N), chunks=5)
    unknown = {"X": X[X[:, 0] > 0], "y": y[y >= 0]}[which]
    shape = "(nan, 2)" if which == "X" else "(nan,)"
    message = (
        f"DataLoader: {which} must be an array of known shape; got a Dask array of shape "
        f"{shape}, whose chunk sizes are unknown. Compute them first: {which} = "
        f"{which}.compute_chunk_sizes()."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        DataLoader(unknown if which == "X" else X, unknown if which == "y" else y)


def test_y_as_a_list_is_taken_as_a_loader_in_memory_takes_it(tmp_path):
    X = np.column_stack([np.arange(N, dtype=np.float64) * 2, np.ones(N)])
    mapped = _mapped(tmp_path, X)
    fractions = [Fraction(k, 4) for k in range(N)]
    chunked = DataLoader(mapped, fractions, batch_size=6, seed=3, chunk_size=7)
    assert chunked.y.dtype == np.float64
    assert all(yb == [x / 8 for x, _ in xb] for xb, yb in _pass(chunked))
    assert sorted(y for _, yb in _pass(chunked) for y in yb) == [k / 4 for k in range(N)]
    message = "DataLoader: y must be an array of numbers with one row per sample; got something"
    with pytest.raises(ValueError, match=re.escape(message)):
        DataLoader(mapped, [[0], [1, 2]] + [[0]] * (N - 2))


COLUMNS_EXPECTED = (
    "Columns: columns must be a column index or a list of them, each an int in [-3, 2]"
)


@pytest.mark.parametrize(
    ("columns", "error", "got"),
    [
        (1.5, TypeError, "1.5"),
        (True, TypeError, "True (bool)"),
        ("a", TypeError, "'a'"),
        ([[0, 1]], TypeError, "[[0, 1]]"),
        ([3], ValueError, "[3]"),
        ([-4], ValueError, "[-4]"),
        ([], ValueError, "[]"),
    ],
)
def test_columns_out_of_range_or_not_whole_are_refused_by_name(columns, error, got):
    with pytest.raises(error, match=re.escape(f"{COLUMNS_EXPECTED}; got {got}.")):
        Columns(np.zeros((4, 3)), columns)


def test_columns_of_an_array_that_is_not_2d_are_refused_by_name():
    message = "Columns: array must be a 2-D array of shape (n_rows, n_cols); got an array of shape"
    with pytest.raises(ValueError, match=re.escape(message)):
        Columns(np.zeros(4), [0])
    assert Columns(np.zeros((4, 3)), [-1, 0]).shape == (4, 2)


@pytest.mark.parametrize(
    ("transforms", "message"),
    [
        (
            {"transform": lambda X: np.vstack([X, X])},
            "transform must be a function that returns a 2-D array of one row per row of its "
            "chunk (4 rows); got an array of shape (8, 2).",
        ),
        (
            {"transform": lambda X: X[:, 0]},
            "transform must be a function that returns a 2-D array of one row per row of its "
            "chunk (4 rows); got an array of shape (4,).",
        ),
        (
            {"target_transform": lambda y: y[:-1]},
            "target_transform must be a function that returns a 1-D or 2-D array of one row per "
            "row of its chunk (4 rows); got an array of shape (3,).",
        ),
    ],
)
def test_a_transform_that_does_not_keep_the_rows_is_refused_by_name(tmp_path, transforms, message):
    mapped = _mapped(tmp_path, np.arange(16.0).reshape(8, 2))
    loader = DataLoader(
        mapped, np.arange(8), chunk_size=4, batch_size=3, shuffle=False, **transforms
    )
    with pytest.raises(ValueError, match=re.escape(f"DataLoader: {message}")):
        list(loader)


def test_a_transform_may_change_the_columns(tmp_path):
    mapped = _mapped(tmp_path, np.arange(16.0).reshape(8, 2))
    loader = DataLoader(
        mapped,
        np.arange(8),
        chunk_size=3,
        batch_size=4,
        shuffle=False,
        transform=lambda X: X[:, ::-1],
    )
    assert np.array_equal(
        np.concatenate([xb for xb, _ in loader]), np.arange(16.0).reshape(8, 2)[:, ::-1]
    )


def test_a_file_of_named_fields_is_refused_for_its_dtype_with_the_fix(tmp_path):
    table = np.zeros(N, dtype=[("a", "f8"), ("b", "i4")])
    message = (
        "DataLoader: X must be an array of real numbers; got an array of dtype "
        "[('a', '<f8'), ('b', '<i4')]. Give its fields as columns: "
        "numpy.lib.recfunctions.structured_to_unstructured."
    )
    with pytest.raises(TypeError, match=re.escape(message)):
        DataLoader(_mapped(tmp_path, table))


def test_a_number_beyond_the_loaders_dtype_is_refused_as_such_not_as_infinity(tmp_path):
    X = np.ones((N, 2), dtype=np.int32)
    X[17, 1] = 100_000  # above float16's largest, 65504
    message = (
        "DataLoader: X must be within the range of the loader's dtype, float16; got 100000 at "
        "row 17, column 1. Choose a wider dtype, such as numpy.float64."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        DataLoader(_mapped(tmp_path, X), None, dtype=np.float16, chunk_size=5)
