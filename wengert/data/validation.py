"""The shared checker for a design matrix X and its targets y, used by DataLoader and fit().

Every message has the one shape of wengert._checks: ``"{owner}: {argument} must be {expected};
got {what came}."``, followed by the fix where one is known. Nothing is kept or changed when
input is refused.

Conventions:

- X is 2-D, shape (n_samples, n_features): one row per sample x_i. A 1-D X is refused rather
  than guessed at (one feature or one sample?); the message says which reshape gives which.
- X comes back floating: a floating X keeps its dtype (float32 stays float32) unless `dtype`
  asks for another; integer and boolean X become float64. An ndarray already of the wanted
  dtype is returned as is, not copied.
- y is 1-D (n_samples,) or 2-D (n_samples, n_outputs). With ``y_kind="labels"`` it must be 1-D
  whole numbers (class indices or ±1) and comes back int64; with ``"float"`` it comes back in
  X's dtype; with ``"any"`` (the default) integer and boolean y become int64 and floating y
  follows X's dtype.
- NaN and ±inf are refused in X and y, with their count and the first one's place.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from wengert._checks import Options, check, check_finite, refusal, what_came

__all__ = ["check_X_y", "check_dtype", "convert_y"]

Y_KINDS = ("any", "labels", "float")


def check_X_y(
    X: ArrayLike,
    y: ArrayLike | None = None,
    *,
    owner: str = "check_X_y",
    dtype: DTypeLike = None,
    y_kind: str = "any",
    n_features: int | None = None,
    x_name: str = "X",
) -> tuple[np.ndarray, np.ndarray | None]:
    """Check X (and y) and return them as arrays: (X, y), y None when y is None.

    X: array-like of shape (n_samples, n_features), finite real numbers, n_samples >= 1 and
    n_features >= 1. `dtype` is a floating dtype to convert X to (None keeps a floating X's
    dtype and turns any other into float64). `n_features`, when given, is the number of columns
    X must have (a fitted model's input width).

    y: None or array-like of shape (n_samples,) or (n_samples, n_outputs), finite. `y_kind` is
    "any", "labels" or "float" (module docstring). `owner` starts every message (the public
    function or class that was called); `x_name` is what the messages call X (e.g. "X_test").

    >>> X, y = check_X_y([[1, 2], [3, 4]], [0, 1])
    >>> X.dtype, y.dtype
    (dtype('float64'), dtype('int64'))
    """
    check(owner, "y_kind", y_kind, Options(Y_KINDS))
    dtype = check_dtype(dtype, owner=owner)
    X = _as_real_array(X, x_name, owner)
    _check_X_shape(X, x_name, owner, n_features)
    X = X.astype(dtype if dtype is not None else _float_dtype(X), copy=False)
    check_finite(owner, x_name, X)
    if y is None:
        return X, None
    y = _as_real_array(y, "y", owner)
    _check_y_shape(y, X, x_name, owner, y_kind)
    check_finite(owner, "y", y)
    return X, _convert_y(y, X.dtype, owner, y_kind)


def check_dtype(dtype: DTypeLike, *, owner: str, name: str = "dtype") -> np.dtype | None:
    """Return numpy.dtype(dtype) for a floating dtype, None for None; refuse anything else."""
    if dtype is None:
        return None
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved.kind != "f":
        raise refusal(
            owner, name, "a floating dtype such as numpy.float32 or numpy.float64, or None",
            what_came(dtype), TypeError,
        )  # fmt: skip
    return resolved


def convert_y(y: np.ndarray, float_dtype: DTypeLike, owner: str) -> np.ndarray:
    """y of real numbers as check_X_y(y_kind="any") returns it: whole-number kinds as int64
    (refused outside its range), floating y in `float_dtype`."""
    return _convert_y(y, np.dtype(float_dtype), owner, "any")


def _as_real_array(a, name: str, owner: str) -> np.ndarray:
    try:
        arr = np.asarray(a)
    except ValueError as exc:  # ragged nested lists
        raise refusal(
            owner, name, "an array of numbers with one row per sample",
            f"something NumPy cannot make an array of ({exc})",
        ) from None  # fmt: skip
    if arr.dtype.kind in "biuf":
        return arr
    if arr.dtype.kind == "O":
        try:
            return arr.astype(np.float64)
        except (TypeError, ValueError):
            pass
    fix = ""
    if name == "y" and arr.dtype.kind in "USO":
        fix = "Encode text labels as integers first: np.unique(y, return_inverse=True)[1]."
    got = f"an array of dtype {arr.dtype}"
    raise refusal(owner, name, "an array of real numbers", got, TypeError, fix=fix)


def _check_X_shape(X: np.ndarray, name: str, owner: str, n_features: int | None) -> None:
    expected = "2-D, of shape (n_samples, n_features)"
    got = f"a {X.ndim}-D array of shape {X.shape}"
    if X.ndim == 1:
        fix = (
            f"Use {name}.reshape(-1, 1) if it holds one feature, or {name}.reshape(1, -1) if it "
            f"holds one sample."
        )
        raise refusal(owner, name, expected, got, fix=fix)
    if X.ndim != 2:
        raise refusal(owner, name, expected, got)
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise refusal(
            owner, name, "an array of at least 1 sample and 1 feature", f"shape {X.shape}"
        )
    if n_features is not None and X.shape[1] != n_features:
        raise refusal(
            owner, name, f"an array of {n_features} features (columns), as the data it was fit on",
            f"{X.shape[1]} features",
        )  # fmt: skip


def _check_y_shape(y: np.ndarray, X: np.ndarray, x_name: str, owner: str, y_kind: str) -> None:
    allowed = (1,) if y_kind == "labels" else (1, 2)
    if y.ndim not in allowed:
        shape = "(n_samples,)" if y_kind == "labels" else "(n_samples,) or (n_samples, n_outputs)"
        fix = "Use y.ravel() for a single column." if y.ndim == 2 and y.shape[1] == 1 else ""
        raise refusal(owner, "y", f"of shape {shape}", f"shape {y.shape}", fix=fix)
    if y.shape[0] != X.shape[0]:
        raise refusal(
            owner,
            "y",
            f"an array with one entry per row of {x_name} ({X.shape[0]})",
            f"{y.shape[0]} entries",
        )


def _convert_y(y: np.ndarray, float_dtype, owner: str, y_kind: str) -> np.ndarray:
    if y_kind == "float":
        return y.astype(float_dtype, copy=False)
    if y.dtype.kind in "biu":
        _check_int64_range(y, owner)
        return y.astype(np.int64, copy=False)
    if y_kind == "any":
        return y.astype(float_dtype, copy=False)
    fractional = np.flatnonzero(y != np.round(y))
    if fractional.size:
        i = fractional[0]
        raise refusal(owner, "y", "class labels (whole numbers)", f"{float(y[i])!r} at row {i}")
    _check_int64_range(y, owner)
    return y.astype(np.int64)


def _check_int64_range(y: np.ndarray, owner: str) -> None:
    """Labels become int64: one outside its range would wrap around silently."""
    if y.dtype == np.uint64:
        outside = np.flatnonzero(y > np.iinfo(np.int64).max)
    elif y.dtype.kind == "f":
        outside = np.flatnonzero((y >= 2.0**63) | (y < -(2.0**63)))
    else:
        return
    if outside.size:
        i = outside[0]
        expected = "class labels within int64's range [-2**63, 2**63 - 1]"
        raise refusal(owner, "y", expected, f"{y[i].item()!r} at row {i}")


def _float_dtype(X: np.ndarray):
    return X.dtype if X.dtype.kind == "f" else np.dtype(np.float64)
