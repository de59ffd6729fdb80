"""from_csv and read_table: features and target read back, headers, delimiters and a BOM, and
bad files refused with a message. Where in a file a bad cell is found is in test_csv.py.
"""

import numpy as np
import pytest

from wengert.data import (
    from_csv,
)


def _write(tmp_path, text, name="data.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def test_from_csv_reads_features_and_target(tmp_path):
    path = _write(tmp_path, "x1,label,x2\n1,0,2.5\n\n 3 , 1 , -4e-1 \n5,1,6\n")
    X, y = from_csv(path, target="label")
    np.testing.assert_array_equal(X, [[1.0, 2.5], [3.0, -0.4], [5.0, 6.0]])
    np.testing.assert_array_equal(y, [0.0, 1.0, 1.0])
    assert X.dtype == np.float64 and y.dtype == np.float64
    X_idx, y_idx = from_csv(str(path), target=1, y_dtype=int)
    np.testing.assert_array_equal(X_idx, X)
    assert y_idx.dtype == np.int64
    X_last, y_last = from_csv(path)
    np.testing.assert_array_equal(y_last, [2.5, -0.4, 6.0])
    np.testing.assert_array_equal(X_last, [[1.0, 0.0], [3.0, 1.0], [5.0, 1.0]])


def test_from_csv_without_header_other_delimiter_and_bom(tmp_path):
    path = _write(tmp_path, "1;2;3\n4;5;6\n")
    X, y = from_csv(path, target=0, delimiter=";", header=False)
    np.testing.assert_array_equal(X, [[2.0, 3.0], [5.0, 6.0]])
    np.testing.assert_array_equal(y, [1.0, 4.0])
    bom = _write(tmp_path, "a,b\n1,2\n", name="bom.csv", encoding="utf-8-sig")
    X, y = from_csv(bom, target="a")
    np.testing.assert_array_equal(X, [[2.0]])


CSV_BAD_FILES = [
    ("", {}, "data.csv is empty"),
    ("\n  \n", {}, "data.csv is empty"),
    ("a,b\n", {}, "data.csv has a header line but no data rows"),
    ("a\n1\n", {}, "data.csv needs at least 2 columns \\(features and the target\\); got 1"),
    (
        "a,b\n1,2\n3,abc\n",
        {},
        "data.csv line 3, column 2 \\('b'\\): 'abc' is not a number; encode class names",
    ),
    (
        "a,b,c\n1,2,3\n\n4,,6\n",
        {"target": "c"},
        "data.csv line 4, column 2 \\('b'\\): an empty cell is not a number$",
    ),
    (
        "a,b\n1,nan\n",
        {"target": 0},
        "data.csv line 2, column 2 \\('b'\\): 'nan' is not a finite number",
    ),
    ("a,b\n1,2\n3,4,5\n", {}, "data.csv line 3 has 3 cells; expected 2, as the header has"),
    (
        "1,2\n3\n",
        {"header": False},
        "data.csv line 2 has 1 cells; expected 2, as the first row has",
    ),
    (
        "x1,x2,y\n1,2,3\n",
        {"target": "label"},
        "data.csv has no column named 'label'; the columns are 'x1', 'x2', 'y'",
    ),
    ("y,x,y\n1,2,3\n", {"target": "y"}, "data.csv has 2 columns named 'y' \\(at \\[0, 2\\]\\)"),
    (
        "a,b\n1,2\n",
        {"target": 2},
        "target=2 is out of range for 2 columns \\(0 .. 1, or -2 .. -1\\)",
    ),
    ("1,2\n", {"target": "a", "header": False}, "target='a' is a column name, but header=False"),
    (
        "a,b\n1,2\n",
        {"target": 1.0},
        "target must be a column name \\(str\\) or index \\(int\\); got target=1.0",
    ),
    (
        "a,b\n1,2.5\n",
        {"y_dtype": int},
        "data.csv line 2, column 2 \\('b'\\): 2.5 is not a whole number, as y_dtype=int64 needs",
    ),
    (
        "a,b\n1,2\n2,-1\n",
        {"y_dtype": np.uint8},
        "data.csv line 3, column 2 \\('b'\\): -1 is outside 0 .. 255, the range of y_dtype=uint8",
    ),
    (
        "a,b\n1,9223372036854775808\n",
        {"y_dtype": np.int64},
        "data.csv line 2, column 2 \\('b'\\): 9.22337e\\+18 is outside -9223372036854775808 .. "
        "9223372036854775807",
    ),
    ("a,b\n1,2\n", {"y_dtype": str}, "y_dtype must be a numeric dtype.*got y_dtype=<class 'str'>"),
    ("a,b\n1,2\n", {"delimiter": ", "}, "delimiter must be one character; got delimiter=', '"),
    ("a,b\n1,2\n", {"header": "yes"}, "header must be True or False; got header='yes'"),
]


@pytest.mark.parametrize(("text", "kwargs", "message"), CSV_BAD_FILES)
def test_from_csv_refuses_bad_files(tmp_path, text, kwargs, message):
    path = _write(tmp_path, text)
    with pytest.raises((ValueError, TypeError), match=f"^from_csv: (.*/)?{message}"):
        from_csv(path, **kwargs)


def test_from_csv_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nothing\.csv"):
        from_csv(tmp_path / "nothing.csv")


def test_read_table_returns_every_column(tmp_path):
    from wengert.data.csv import read_table

    path = tmp_path / "points.csv"
    path.write_text("a,b\n1,2.5\n-3,4e-1\n")
    names, table = read_table(path)
    assert names == ["a", "b"]
    np.testing.assert_array_equal(table, [[1.0, 2.5], [-3.0, 0.4]])
    path.write_text("a,b\n1,x\n")
    with pytest.raises(ValueError, match=r"line 2, column 'b' \(|line 2, .*'x' is not a number"):
        read_table(path)
