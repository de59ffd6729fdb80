"""from_csv: a table of numbers in a CSV file as (X, y), with errors that say where and what.

Read with the standard library's csv module (no pandas): every cell is parsed by Python's
float(), so "1", "1.5", "-2e-3" are numbers and anything else (an empty cell, "NaN", "inf",
"yes") is refused with its line number and column. Blank lines are skipped, cells are stripped
of surrounding spaces, and a UTF-8 byte-order mark (as spreadsheet programs write) is ignored.
"""

from __future__ import annotations

import csv
import math
import numbers
import os

import numpy as np

__all__ = ["from_csv", "read_table"]


def from_csv(path, target=-1, delimiter: str = ",", header: bool = True, *, y_dtype=np.float64):
    """Read a CSV file of numbers: the `target` column becomes y, the other columns X.

    target: a column name (needs header=True) or a column index (negative counts from the
    end); by default the last column. header: whether the first non-blank line holds column
    names. y_dtype: the dtype of y, float64 by default; an integer dtype (e.g. int) for class
    labels, which must then be whole numbers.

    Returns X float64 of shape (n_rows, n_columns - 1), the columns in file order without the
    target, and y of shape (n_rows,). Line numbers in messages count every line of the file
    from 1, header and blank lines included, as an editor shows them.
    """
    owner = "from_csv"
    y_dtype = _check_y_dtype(y_dtype)
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ValueError(f"{owner}: delimiter must be one character; got delimiter={delimiter!r}")
    if not isinstance(header, bool):
        raise TypeError(f"{owner}: header must be True or False; got header={header!r}")
    name = os.fspath(path)
    names, data, n_columns = _table_rows(name, delimiter, header)
    if n_columns < 2:
        raise ValueError(
            f"{owner}: {name} needs at least 2 columns (features and the target); got 1"
        )
    column = _target_column(target, names, n_columns, name)
    table = _parse(data, names, n_columns, name, column)
    y = _target_values(table[:, column], data, _column_label(column, names), y_dtype, name)
    return np.delete(table, column, axis=1), y


def read_table(path, delimiter: str = ",", header: bool = True):
    """Every column of a CSV file of numbers: (column names, or None without a header, and a
    float64 array of shape (n_rows, n_columns)), with from_csv's checks and messages.

    For data without a target column, such as the inputs of a trained model.
    """
    name = os.fspath(path)
    names, data, n_columns = _table_rows(name, delimiter, header)
    return names, _parse(data, names, n_columns, name, target=n_columns)  # no target column


def _table_rows(name: str, delimiter: str, header: bool):
    """(column names or None, the data rows with their line numbers, the column count)."""
    lines = _read_rows(name, delimiter)
    if not lines:
        raise ValueError(f"from_csv: {name} is empty; expected rows of comma-separated numbers")
    names = [cell.strip() for cell in lines[0][1]] if header else None
    data = lines[1:] if header else lines
    if not data:
        raise ValueError(f"from_csv: {name} has a header line but no data rows")
    return names, data, len(lines[0][1])


def _read_rows(name: str, delimiter: str) -> list[tuple[int, list[str]]]:
    with open(name, newline="", encoding="utf-8-sig") as file:
        reader = csv.reader(file, delimiter=delimiter)
        return [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]


def _target_column(target, names: list[str] | None, n_columns: int, name: str) -> int:
    columns = ", ".join(repr(n) for n in names) if names else f"0 .. {n_columns - 1} (no header)"
    if isinstance(target, str):
        if names is None:
            raise ValueError(
                f"from_csv: target={target!r} is a column name, but header=False; "
                "give the column's index instead"
            )
        matches = [j for j, n in enumerate(names) if n == target]
        if not matches:
            raise ValueError(
                f"from_csv: {name} has no column named {target!r}; the columns are {columns}"
            )
        if len(matches) > 1:
            raise ValueError(
                f"from_csv: {name} has {len(matches)} columns named {target!r} (at {matches}); "
                "give the target's index instead"
            )
        return matches[0]
    if isinstance(target, numbers.Integral) and not isinstance(target, bool):
        if not -n_columns <= target < n_columns:
            raise ValueError(
                f"from_csv: target={target} is out of range for {n_columns} columns "
                f"(0 .. {n_columns - 1}, or -{n_columns} .. -1); the columns are {columns}"
            )
        return int(target) % n_columns
    raise TypeError(
        f"from_csv: target must be a column name (str) or index (int); got target={target!r}"
    )


def _parse(data, names, n_columns: int, name: str, target: int) -> np.ndarray:
    table = np.empty((len(data), n_columns), dtype=np.float64)
    for i, (line, row) in enumerate(data):
        if len(row) != n_columns:
            first = "the header" if names is not None else "the first row"
            raise ValueError(
                f"from_csv: {name} line {line} has {len(row)} cells; expected {n_columns}, "
                f"as {first} has"
            )
        for j, cell in enumerate(row):
            table[i, j] = _number(cell, line, _column_label(j, names), name, j == target)
    return table


def _number(cell: str, line: int, column: str, name: str, is_target: bool) -> float:
    text = cell.strip()
    try:
        value = float(text)
    except ValueError:
        what = "an empty cell" if not text else f"{text!r}"
        fix = "; encode class names as integers 0 .. k-1" if is_target and text else ""
        raise ValueError(
            f"from_csv: {name} line {line}, {column}: {what} is not a number{fix}"
        ) from None
    if not math.isfinite(value):
        raise ValueError(f"from_csv: {name} line {line}, {column}: {text!r} is not a finite number")
    return value


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
    return values.astype(y_dtype)


def _column_label(j: int, names: list[str] | None) -> str:
    return f"column {j} ({names[j]!r})" if names else f"column {j}"


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
