"""Tables of numbers in CSV files, with errors that say where and what.

    from_csv(path, target)         (X, y): the target column and the others, all numbers
    labelled_table(path, target)   (X, y, feature names, target name); y may hold class names
    read_table(path, usecols=...)  the column names and every (or the named) columns, as numbers

Read with the standard library's csv module (no pandas): every cell is parsed by Python's
float(), so "1", "1.5", "-2e-3" are numbers and anything else (an empty cell, "NaN", "inf",
"yes") is refused with its line and column. So is a number of magnitude over 1e150 (LARGEST):
the squares and sums that standardization takes of a column must stay finite. Blank lines are
skipped, cells are stripped of surrounding spaces, and a UTF-8 byte-order mark (as spreadsheet
programs write) is ignored. The file must be UTF-8; a byte that is not is named by its place.
Line and column numbers in messages both count from 1, as an editor shows them: lines count
every line of the file, header and blank lines included.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import numbers
import os
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import DTypeLike

from wengert._checks import PATH, check

__all__ = ["LARGEST", "LabelledTable", "from_csv", "labelled_table", "read_table"]

# The largest magnitude a cell may have: a column's sum of squares stays far below the
# float64 overflow (1.8e308) for any number of rows a file can hold.
LARGEST = 1e150


class LabelledTable(NamedTuple):
    """What `labelled_table` read: X, y, the feature columns' names and the target's name."""

    X: np.ndarray
    y: np.ndarray
    features: list[str]
    target: str


def from_csv(
    path: str | os.PathLike,
    target: int | str = -1,
    delimiter: str = ",",
    header: bool = True,
    *,
    y_dtype: DTypeLike = np.float64,
) -> tuple[np.ndarray, np.ndarray]:
    """Read a CSV file of numbers: the `target` column becomes y, the other columns X.

    target: a column name (needs header=True) or a column index (negative counts from the
    end); by default the last column. header: whether the first non-blank line holds column
    names. y_dtype: the dtype of y, float64 by default; an integer dtype (e.g. int) for class
    labels, which must then be whole numbers.

    Returns X float64 of shape (n_rows, n_columns - 1), the columns in file order without the
    target, and y of shape (n_rows,).
    """
    owner = "from_csv"
    y_dtype = _check_y_dtype(y_dtype)
    _check_format(delimiter, header, owner)
    name = os.fspath(check(owner, "path", path, PATH))
    names, data, n_columns = _table_rows(name, delimiter, header, owner)
    column = _target_of(target, names, n_columns, name, owner)
    table = _parse(data, names, n_columns, name, range(n_columns), owner, target=column)
    y = _target_values(table[:, column], data, _column_label(column, names), y_dtype, name)
    return np.delete(table, column, axis=1), y


def labelled_table(
    path: str | os.PathLike, target: int | str = -1, delimiter: str = ","
) -> LabelledTable:
    """Read a CSV file with a header for training: the features, the target and their names.

    target: the target column's name or index (as for from_csv). The other columns must hold
    numbers. The target column holds numbers (y float64) or, when some cell of it is not a
    number, class names (y an array of str, each cell stripped; empty cells are refused).

    Returns a LabelledTable (X, y, features, target): X float64 (n_rows, n_columns - 1) in file
    order, y (n_rows,), the feature columns' names and the target column's name.
    """
    owner = "labelled_table"
    _check_format(delimiter, True, owner)
    name = os.fspath(check(owner, "path", path, PATH))
    names, data, n_columns = _table_rows(name, delimiter, True, owner)
    column = _target_of(target, names, n_columns, name, owner)
    features = [j for j in range(n_columns) if j != column]
    X = _parse(data, names, n_columns, name, features, owner)
    y = _labels(data, names, column, name, owner)
    return LabelledTable(X, y, [names[j] for j in features], names[column])


def read_table(
    path: str | os.PathLike,
    delimiter: str = ",",
    header: bool | None = True,
    usecols: Sequence[int | str] | None = None,
) -> tuple[list[str] | None, np.ndarray]:
    """Columns of a CSV file of numbers: (the column names, or None without a header, and a
    float64 array of shape (n_rows, n_columns)), with from_csv's checks and messages.

    For data without a target column, such as the inputs of a trained model.
    header: True, False, or None to decide from the file: the first row is a header unless
    every cell of it is a number and it does not name every column of usecols (a header of
    numbers, such as 1,2, is one when it names them). usecols: names of the columns to read,
    in the order wanted
    (the array's columns follow it); the other columns are not parsed, so they may hold
    anything. A name the header lacks, or holds twice, is refused. Without a header the file
    must have exactly len(usecols) columns, taken to be those, in that order.
    """
    owner = "read_table"
    _check_format(delimiter, header, owner, allow_none=True)
    if usecols is not None and (
        not isinstance(usecols, (list, tuple)) or not all(isinstance(c, str) for c in usecols)
    ):
        raise TypeError(f"read_table: usecols must be a list of column names; got {usecols!r}")
    name = os.fspath(check(owner, "path", path, PATH))
    lines = _read_rows(name, delimiter, owner)
    if header is None:
        header = bool(lines) and _is_header([cell.strip() for cell in lines[0][1]], usecols)
    names, data, n_columns = _split(lines, name, header, owner)
    columns = range(n_columns) if usecols is None else _select(usecols, names, n_columns, name)
    return names, _parse(data, names, n_columns, name, columns, owner)


def _check_format(delimiter, header, owner: str, allow_none: bool = False) -> None:
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ValueError(f"{owner}: delimiter must be one character; got delimiter={delimiter!r}")
    if not (isinstance(header, bool) or (allow_none and header is None)):
        expected = "True, False or None" if allow_none else "True or False"
        raise TypeError(f"{owner}: header must be {expected}; got header={header!r}")


def _is_header(first: list[str], usecols) -> bool:
    """Whether the first row `first` (cells stripped) names columns rather than holds data."""
    named = usecols is not None and set(usecols) <= set(first)
    return named or not all(_is_number(cell) for cell in first)


def _table_rows(name: str, delimiter: str, header: bool, owner: str):
    """(column names or None, the data rows with their line numbers, the column count)."""
    return _split(_read_rows(name, delimiter, owner), name, header, owner)


def _split(lines, name: str, header: bool, owner: str):
    """The rows `lines` as (column names or None, the data rows, the column count)."""
    if not lines:
        raise ValueError(f"{owner}: {name} is empty; expected rows of comma-separated numbers")
    names = [cell.strip() for cell in lines[0][1]] if header else None
    data = lines[1:] if header else lines
    if not data:
        raise ValueError(f"{owner}: {name} has a header line but no data rows")
    return names, data, len(lines[0][1])


def _read_rows(name: str, delimiter: str, owner: str) -> list[tuple[int, list[str]]]:
    with open(name, "rb") as file:
        raw = file.read().removeprefix(codecs.BOM_UTF8)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(_not_utf8(raw, exc.start, name, delimiter, owner)) from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows, start = [], 1
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((start, row))  # where the row begins: a quoted cell may span lines
            start = reader.line_num + 1
    except csv.Error as exc:
        fix = "; no number is that long" if "field limit" in str(exc) else ""
        raise ValueError(f"{owner}: {name} line {start}: {exc}{fix}") from None
    return rows


def _not_utf8(raw: bytes, start: int, name: str, delimiter: str, owner: str) -> str:
    line_start = raw.rfind(b"\n", 0, start) + 1
    before = raw[line_start:start].decode("utf-8")  # the line up to the bad byte decodes
    line = raw.count(b"\n", 0, start) + 1
    column = max(len(next(csv.reader([before], delimiter=delimiter), [])), 1)
    return (
        f"{owner}: {name} line {line}, column {column} (character "
        f"{len(before) + 1}): byte 0x{raw[start]:02x} is not UTF-8; save the file as UTF-8 "
        "(in a spreadsheet: CSV UTF-8)"
    )


def _target_of(target, names: list[str] | None, n_columns: int, name: str, owner: str) -> int:
    if n_columns < 2:
        raise ValueError(
            f"{owner}: {name} needs at least 2 columns (features and the target); got 1"
        )
    columns = ", ".join(repr(n) for n in names) if names else f"0 .. {n_columns - 1} (no header)"
    if isinstance(target, str):
        if names is None:
            raise ValueError(
                f"{owner}: target={target!r} is a column name, but header=False; "
                "give the column's index instead"
            )
        matches = [j for j, n in enumerate(names) if n == target]
        if not matches:
            raise ValueError(
                f"{owner}: {name} has no column named {target!r}; the columns are {columns}"
            )
        if len(matches) > 1:
            raise ValueError(
                f"{owner}: {name} has {len(matches)} columns named {target!r} (at {matches}); "
                "give the target's index instead"
            )
        return matches[0]
    if isinstance(target, numbers.Integral) and not isinstance(target, bool):
        if not -n_columns <= target < n_columns:
            raise ValueError(
                f"{owner}: target={target} is out of range for {n_columns} columns "
                f"(0 .. {n_columns - 1}, or -{n_columns} .. -1); the columns are {columns}"
            )
        return int(target) % n_columns
    raise TypeError(
        f"{owner}: target must be a column name (str) or index (int); got target={target!r}"
    )


def _select(usecols, names: list[str] | None, n_columns: int, name: str) -> list[int]:
    """The indexes of the columns `usecols` (a list of str) names, in its order."""
    wanted = ", ".join(repr(c) for c in usecols)
    if names is None:
        if n_columns != len(usecols):
            raise ValueError(
                f"read_table: {name} has no header (its first row is numbers) and {n_columns} "
                f"columns; expected {len(usecols)}: {wanted}, in this order, or a header line "
                "naming the columns"
            )
        return list(range(n_columns))
    missing = [c for c in usecols if c not in names]
    if missing:
        raise ValueError(
            f"read_table: {name} has no column named {', '.join(repr(c) for c in missing)}; "
            f"its columns are {', '.join(repr(n) for n in names)}; needed: {wanted}"
        )
    twice = [c for c in usecols if names.count(c) > 1]
    if twice:
        raise ValueError(
            f"read_table: {name} has more than one column named "
            f"{', '.join(repr(c) for c in twice)}; rename or remove the copies"
        )
    return [names.index(c) for c in usecols]


def _parse(data, names, n_columns: int, name: str, columns, owner: str, target=None):
    """The cells of `columns` as float64, (n_rows, len(columns)); every row's width checked."""
    columns = list(columns)
    table = np.empty((len(data), len(columns)), dtype=np.float64)
    for i, (line, row) in enumerate(data):
        if len(row) != n_columns:
            first = "the header" if names is not None else "the first row"
            raise ValueError(
                f"{owner}: {name} line {line} has {len(row)} cells; expected {n_columns}, "
                f"as {first} has"
            )
        for k, j in enumerate(columns):
            where = f"{name} line {line}, {_column_label(j, names)}"
            table[i, k] = _number(row[j], where, owner, j == target)
    return table


def _number(cell: str, where: str, owner: str, is_target: bool) -> float:
    text = cell.strip()
    try:
        value = float(text)
    except ValueError:
        what = "an empty cell" if not text else f"{text!r}"
        fix = "; encode class names as integers 0 .. k-1" if is_target and text else ""
        raise ValueError(f"{owner}: {where}: {what} is not a number{fix}") from None
    if not math.isfinite(value):
        raise ValueError(f"{owner}: {where}: {text!r} is not a finite number")
    if abs(value) > LARGEST:
        raise ValueError(
            f"{owner}: {where}: {text} is too large; cells must lie within ±{LARGEST:g}, so "
            "that a column's sums and squares stay finite; rescale the column (other units)"
        )
    return value


def _is_number(cell: str) -> bool:
    try:
        float(cell.strip())
    except ValueError:
        return False
    return True


def _labels(data, names: list[str], column: int, name: str, owner: str) -> np.ndarray:
    """The target column: float64 numbers, or the class names (str) if a cell is not a number."""
    cells = [row[column].strip() for _, row in data]
    if all(_is_number(cell) for cell in cells):
        return _parse(data, names, len(names), name, [column], owner)[:, 0]
    for line, row in data:
        if not row[column].strip():
            raise ValueError(
                f"{owner}: {name} line {line}, {_column_label(column, names)}: an empty cell "
                "is not a class name"
            )
    return np.array(cells, dtype=str)


def _target_values(values: np.ndarray, data, column: str, y_dtype, name: str) -> np.ndarray:
    if y_dtype.kind == "f":
        return values.astype(y_dtype)
    fractional = np.flatnonzero(values != np.round(values))
    if fractional.size:
        i = fractional[0]
        raise ValueError(
            f"from_csv: {name} line {data[i][0]}, {column}: {float(values[i])!r} is not a "
            f"whole number, as y_dtype={y_dtype} needs; pass y_dtype=float for real targets"
        )
    bounds = np.iinfo(y_dtype)
    outside = np.flatnonzero((values < bounds.min) | (values >= bounds.max + 1))
    if outside.size:
        i = outside[0]
        raise ValueError(
            f"from_csv: {name} line {data[i][0]}, {column}: {values[i]:g} is outside "
            f"{bounds.min} .. {bounds.max}, the range of y_dtype={y_dtype}; pass a wider "
            "integer dtype, or y_dtype=float"
        )
    return values.astype(y_dtype)


def _column_label(j: int, names: list[str] | None) -> str:
    """Column j (from 0) as a message names it: counted from 1, with its name if known."""
    return f"column {j + 1} ({names[j]!r})" if names else f"column {j + 1}"


def _check_y_dtype(y_dtype) -> np.dtype:
    try:
        resolved = np.dtype(y_dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved.kind not in "iuf":
        raise TypeError(
            "from_csv: y_dtype must be a numeric dtype, e.g. float (real targets) or int "
            f"(class labels); got y_dtype={y_dtype!r}"
        )
    return resolved
