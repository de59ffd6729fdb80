"""CSV files: where a bad cell, byte or line is (line and column from 1), class names in the
target, columns chosen by name, and files without a header."""

import numpy as np
import pytest

from wengert.data.csv import LARGEST, from_csv, labelled_table, read_table


def _write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


BAD_CELLS = [
    # (file content, reader, message after the file's name)
    ("a,b\n1,1e308\n", from_csv, "line 2, column 2 \\('b'\\): 1e308 is too large; cells must lie "
     "within ±1e\\+150"),
    ("a,b\n-1e151,2\n", read_table, "line 2, column 1 \\('a'\\): -1e151 is too large"),
    ("a,b,y\n1,2,3\n\n4,5,1E200\n", labelled_table, "line 4, column 3 \\('y'\\): 1E200 is too"),
    ("a,b\n1,1e999\n", from_csv, "line 2, column 2 \\('b'\\): '1e999' is not a finite number"),
    ("a,b\n1,2\n3," + "9" * 140_000 + "\n", from_csv,
     "line 3: field larger than field limit \\(131072\\); no number is that long"),
    (b"a,b\n1,2\n3,4\xff5\n", from_csv,
     "line 3, column 2 \\(character 4\\): byte 0xff is not UTF-8; save the file as UTF-8"),
    (b"\xe9,b\n1,2\n", read_table, "line 1, column 1 \\(character 1\\): byte 0xe9 is not UTF-8"),
    (b"a,b\n\"x\xffy\",2\n", read_table, "line 2, column 1 \\(character 3\\): byte 0xff"),
    ("a,b,c\n1,2,3\n4,x,6\n", read_table, "line 3, column 2 \\('b'\\): 'x' is not a number$"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "reader", "message"), BAD_CELLS)
def test_bad_cells_are_named_by_line_and_column_from_1(tmp_path, text, reader, message):
    path = _write(tmp_path, text)
    with pytest.raises(ValueError, match=f"^{reader.__name__}: {path} {message}"):
        reader(path)


def test_the_largest_allowed_value_reads_and_standardizes_finitely(tmp_path):
    rows = "".join(f"{s * LARGEST!r},{i}\n" for i, s in enumerate([1, -1] * 10_000))
    X, _ = from_csv(_write(tmp_path, "a,b\n" + rows))
    assert X[0, 0] == 1e150 and X[1, 0] == -1e150
    assert np.isfinite(X.std(axis=0)).all() and X.std(axis=0)[0] == pytest.approx(1e150)


def test_columns_count_from_1_without_a_header_too(tmp_path):
    path = _write(tmp_path, "1,2\n3,\n")
    with pytest.raises(ValueError, match=r"line 2, column 2: an empty cell is not a number$"):
        from_csv(path, header=False)


def test_labelled_table_reads_class_names_and_numbers(tmp_path):
    path = _write(tmp_path, "area,kind,rooms\n1.5, cat ,2\n2,dog,3\n4,0,5\n")
    X, y, features, target = labelled_table(path, target="kind")
    np.testing.assert_array_equal(X, [[1.5, 2.0], [2.0, 3.0], [4.0, 5.0]])
    assert y.tolist() == ["cat", "dog", "0"] and y.dtype.kind == "U"
    assert features == ["area", "rooms"] and target == "kind"
    numbers = _write(tmp_path, "area,rooms\n1.5,2\n4,5\n", "numbers.csv")
    X, y, features, target = labelled_table(numbers, target=0)
    assert y.dtype == np.float64 and y.tolist() == [1.5, 4.0] and target == "area"
    assert X.tolist() == [[2.0], [5.0]] and features == ["rooms"]


def test_labelled_table_refuses_an_empty_class_name(tmp_path):
    path = _write(tmp_path, "a,kind\n1,cat\n2, \n")
    with pytest.raises(ValueError, match=r"line 3, column 2 \('kind'\): an empty cell is not a "):
        labelled_table(path)


def test_read_table_chooses_columns_by_name_and_skips_the_others(tmp_path):
    path = _write(tmp_path, "id,age,area,rooms\nx17,10,120,3\nx18,40,50,2\n")
    names, table = read_table(path, usecols=["area", "rooms", "age"])
    assert names == ["id", "age", "area", "rooms"]
    np.testing.assert_array_equal(table, [[120, 3, 10], [50, 2, 40]])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("area,rooms\n1,2\n", "has no column named 'age'; its columns are 'area', 'rooms'; "
         "needed: 'area', 'rooms', 'age'"),
        ("age,area,age,rooms\n1,2,3,4\n", "has more than one column named 'age'"),
        ("1,2\n3,4\n", "has no header \\(its first row is numbers\\) and 2 columns; expected 3: "
         "'area', 'rooms', 'age', in this order"),
    ],
)  # fmt: skip
def test_read_table_refuses_missing_twice_named_or_unnamed_columns(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(ValueError, match=f"^read_table: {path} {message}"):
        read_table(path, header=None, usecols=["area", "rooms", "age"])


def test_read_table_detects_a_missing_header_and_keeps_the_first_row(tmp_path):
    path = _write(tmp_path, "120,3,10\n50,2,40\n")
    names, table = read_table(path, header=None, usecols=["area", "rooms", "age"])
    assert names is None
    np.testing.assert_array_equal(table, [[120, 3, 10], [50, 2, 40]])
    names, table = read_table(_write(tmp_path, "a,1\n2,3\n", "h.csv"), header=None)
    assert names == ["a", "1"] and table.tolist() == [[2.0, 3.0]]
    with pytest.raises(TypeError, match="header must be True, False or None; got header='auto'"):
        read_table(path, header="auto")


def test_read_table_takes_a_first_row_of_numbers_naming_every_usecol_as_the_header(tmp_path):
    path = _write(tmp_path, "2, 1\n5,6\n")
    names, table = read_table(path, header=None, usecols=["1", "2"])
    assert names == ["2", "1"]
    np.testing.assert_array_equal(table, [[6, 5]])
    names, table = read_table(path, header=None, usecols=["1", "4"])  # not every one named
    assert names is None
    np.testing.assert_array_equal(table, [[2, 1], [5, 6]])
    names, table = read_table(path, header=None)
    assert names is None and table.shape == (2, 2)


@pytest.mark.parametrize("usecols", ["area", 3, ["area", 1]])
def test_read_table_refuses_usecols_that_are_not_a_list_of_names(tmp_path, usecols):
    path = _write(tmp_path, "area,rooms\n1,2\n")
    message = f"^read_table: usecols must be a list of column names; got {usecols!r}$"
    with pytest.raises(TypeError, match=message.replace("[", "\\[").replace("]", "\\]")):
        read_table(path, usecols=usecols)


def test_a_quoted_cell_over_several_lines_is_named_by_the_line_it_starts_on(tmp_path):
    path = tmp_path / "multi.csv"
    path.write_text('a,b,y\n1,2,0\n"3\n4",5,1\n6,7,0\n')
    with pytest.raises(ValueError, match=r"multi\.csv line 3, column 1 \('a'\): '3\\n4' is not"):
        read_table(str(path))
    path.write_text('a,b\n"1\n\n",2\n3,x\n')  # the rows after it keep their own lines
    with pytest.raises(ValueError, match=r"multi\.csv line 5, column 2 \('b'\): 'x' is not"):
        read_table(str(path))


@pytest.mark.parametrize("reader", [from_csv, labelled_table, read_table])
def test_a_path_that_is_not_a_path_is_refused_in_the_readers_name(reader):
    with pytest.raises(TypeError) as caught:
        reader(3)
    assert (
        str(caught.value) == f"{reader.__name__}: path must be a path (str or os.PathLike); got 3."
    )
