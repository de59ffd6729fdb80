"""Checks at the public boundary of the classic rules, and their error and warning classes.

Every message has one shape: who refused (`Perceptron.fit`), which argument, what was expected,
what came, and the fix where one is known. Nothing is stored on the estimator before the checks
pass, so a refused call leaves it as it was.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


class NotFittedError(ValueError, AttributeError):
    """predict, score or decision_function was called before fit.

    A ValueError and an AttributeError, as scikit-learn's NotFittedError is, so that code written
    for either catches it.
    """


class DivergenceWarning(RuntimeWarning):
    """The weights became NaN or infinite; training stopped and kept the last finite weights.

    Raised by LMS when the learning rate is too large for the data (each step multiplies the
    error along x by 1 - lr·‖x‖², which grows when lr > 2/‖x‖²). Turn it into an error with
    `warnings.simplefilter("error", DivergenceWarning)`.
    """


# ----------------------------------------------------------------------------- hyperparameters
def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_positive(value, name: str, who: str) -> float:
    """A finite real number > 0 (a learning rate, C)."""
    if not _is_real(value) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{who}: {name} must be a positive finite number; got {name}={value!r}")
    return float(value)


def check_int(value, name: str, who: str, minimum: int = 1) -> int:
    """An integer >= minimum (epochs)."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{who}: {name} must be an integer >= {minimum}; got {name}={value!r}")
    return int(value)


def check_bool(value, name: str, who: str) -> bool:
    """True or False, nothing that merely converts to one."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{who}: {name} must be True or False; got {name}={value!r}")
    return bool(value)


def check_choice(value, name: str, who: str, choices: tuple) -> object:
    """One of a few allowed values."""
    if not any(value is c or (isinstance(c, str) and value == c) for c in choices):
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{who}: {name} must be one of {allowed}; got {name}={value!r}")
    return value


# ----------------------------------------------------------------------------- data
def check_X(X, who: str, n_features: int | None = None) -> np.ndarray:
    """X as a finite float64 array of shape (n_samples, n_features), n_samples >= 1.

    `n_features`, when given, is the count seen by fit: predict refuses a different one.
    """
    X = _as_numeric(X, "X", who)
    if X.ndim != 2:
        fix = "; for a single feature use X.reshape(-1, 1)" if X.ndim == 1 else ""
        raise ValueError(
            f"{who}: X must be a 2-D array of shape (n_samples, n_features); "
            f"got shape {X.shape}{fix}"
        )
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{who}: X must have at least one sample and one feature; got {X.shape}")
    _check_finite(X, "X", who)
    if n_features is not None and X.shape[1] != n_features:
        owner = who.split(".")[0]
        raise ValueError(
            f"{who}: X has {X.shape[1]} features, but {owner} was fitted with {n_features} features"
        )
    return X


def check_y(y, n_samples: int, who: str, numeric: bool) -> np.ndarray:
    """y as a 1-D array with one entry per row of X (float64 and finite when `numeric`)."""
    y = _as_numeric(y, "y", who) if numeric else np.asarray(y)
    if y.ndim != 1:
        fix = "; use y.ravel() for a column" if y.ndim == 2 and y.shape[1] == 1 else ""
        raise ValueError(f"{who}: y must be a 1-D array of shape (n_samples,); got {y.shape}{fix}")
    if y.shape[0] != n_samples:
        raise ValueError(
            f"{who}: X and y must have the same number of samples; got X with {n_samples} rows "
            f"and y with {y.shape[0]} entries"
        )
    if y.dtype.kind in "fc" or numeric:
        _check_finite(y, "y", who)
    return y


def encode_binary(y: np.ndarray, who: str) -> tuple[np.ndarray, np.ndarray]:
    """classes_ (sorted) and y as ±1: classes_[0] -> -1, classes_[1] -> +1.

    So labels {-1, 1} keep their values, {0, 1} become {-1, +1}, and two strings map in sorted
    order.
    """
    classes, codes = np.unique(y, return_inverse=True)
    if len(classes) != 2:
        plural = "class" if len(classes) == 1 else "classes"
        shown = _show(classes)
        if len(classes) < 2:
            raise ValueError(f"{who} needs two classes to separate; y has 1 {plural}: {shown}")
        raise ValueError(f"{who} is a binary classifier; y has {len(classes)} {plural}: {shown}")
    return classes, np.where(codes == 1, 1.0, -1.0)


def _as_numeric(a, name: str, who: str) -> np.ndarray:
    try:
        arr = np.asarray(a)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"{who}: {name} must be a rectangular numeric array; {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{who}: {name} must hold real numbers; got dtype {arr.dtype}")
    return arr.astype(np.float64, copy=False)


def _check_finite(a: np.ndarray, name: str, who: str) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        at = f"row {where[0]}" + (f", column {where[1]}" if len(where) > 1 else "")
        raise ValueError(
            f"{who}: {name} contains NaN or infinite values ({int(bad.sum())} of them, the first "
            f"at {at}); remove or impute them"
        )


def _show(classes: np.ndarray, limit: int = 10) -> str:
    items = [c.item() if isinstance(c, np.generic) else c for c in classes[:limit]]
    more = f" ... ({len(classes) - limit} more)" if len(classes) > limit else ""
    return f"{items}{more}"
