"""Checks at the public boundary of the classic rules, and their error and warning classes.

Every message has the one shape of wengert._checks: who refused (`Perceptron.fit`), which
argument, what was expected, what came, and the fix where one is known. Nothing is stored on
the estimator before the checks pass, so a refused call leaves it as it was.
"""

from __future__ import annotations

import numpy as np

from wengert._checks import Boolean, check_finite, refusal
from wengert.data.validation import check_X_y


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
FLAG = Boolean()


# ----------------------------------------------------------------------------- data
def check_X(X, owner: str, n_features: int | None = None) -> np.ndarray:
    """X as a finite float64 array of shape (n_samples, n_features), n_samples >= 1: the data
    layer's check_X_y. `n_features`, when given, is the count seen by fit."""
    return check_X_y(X, owner=owner, dtype=np.float64, n_features=n_features)[0]


def check_y(y, n_samples: int, owner: str, numeric: bool) -> np.ndarray:
    """y as a 1-D array with one entry per row of X (float64 and finite when `numeric`;
    otherwise labels of one kind that sort: numbers, or text)."""
    try:
        y = np.asarray(y)
    except ValueError:  # NumPy's word for a ragged list
        raise refusal(owner, "y", "1-D, of shape (n_samples,)", "a ragged sequence") from None
    if numeric:
        if y.dtype.kind not in "biuf":
            raise refusal(owner, "y", "real numbers", f"an array of dtype {y.dtype}", TypeError)
        y = y.astype(np.float64, copy=False)
    if y.ndim != 1:
        fix = "Use y.ravel() for a column." if y.ndim == 2 and y.shape[1] == 1 else ""
        raise refusal(owner, "y", "1-D, of shape (n_samples,)", f"shape {y.shape}", fix=fix)
    if y.shape[0] != n_samples:
        raise refusal(
            owner,
            "y",
            f"an array with one entry per row of X ({n_samples})",
            f"{y.shape[0]} entries",
        )
    check_finite(owner, "y", y)
    if y.dtype == object:
        _check_sortable(y, owner)
    return y


def _check_sortable(y: np.ndarray, owner: str) -> None:
    """Labels held as Python objects must compare with each other (classes_ is sorted)."""
    try:
        np.unique(y)
    except TypeError:
        kinds = ", ".join(sorted({type(v).__name__ for v in y}))
        expected = "labels of one kind (all numbers or all strings)"
        raise refusal(owner, "y", expected, f"a mix of {kinds}", TypeError) from None


def encode_binary(y: np.ndarray, owner: str) -> tuple[np.ndarray, np.ndarray]:
    """classes_ (sorted) and y as ±1: classes_[0] -> -1, classes_[1] -> +1.

    So labels {-1, 1} keep their values, {0, 1} become {-1, +1}, and two strings map in sorted
    order.
    """
    classes, codes = np.unique(y, return_inverse=True)
    if len(classes) != 2:
        plural = "class" if len(classes) == 1 else "classes"
        got = f"{len(classes)} {plural}: {_show(classes)}"
        raise refusal(owner, "y", "labels of exactly two classes (a binary classifier)", got)
    return classes, np.where(codes == 1, 1.0, -1.0)


def _show(classes: np.ndarray, limit: int = 10) -> str:
    items = [c.item() if isinstance(c, np.generic) else c for c in classes[:limit]]
    more = f" ... ({len(classes) - limit} more)" if len(classes) > limit else ""
    return f"{items}{more}"
