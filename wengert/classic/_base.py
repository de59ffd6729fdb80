"""What the three classic rules share: parameters, the linear output a = X w + b, and scores.

The estimator contract is scikit-learn's: `__init__` only stores its arguments, `fit(X, y)`
checks them and the data, trains and returns `self`; learned attributes end in `_` and appear
only when a fit succeeds (all at once, at its end).
"""

from __future__ import annotations

import inspect

import numpy as np
from numpy.typing import ArrayLike

from wengert._checks import refusal
from wengert.classic._checks import NotFittedError, check_X, check_y, encode_binary


class LinearModel:
    """Bookkeeping for a model whose output is the affine a = X w_ + b_."""

    w_: np.ndarray
    b_: float
    n_features_in_: int

    @classmethod
    def _param_names(cls) -> list[str]:
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict:
        """The constructor's arguments, by name (scikit-learn's contract; `deep` is unused)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> LinearModel:
        """Set constructor arguments by name; they are checked at the next fit."""
        names = self._param_names()
        for name, value in params.items():
            if name not in names:
                raise refusal(
                    f"{type(self).__name__}.set_params", "each parameter's name",
                    f"one of {names}", repr(name),
                )  # fmt: skip
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _check_fitted(self, method: str) -> None:
        if not hasattr(self, "w_"):
            name = type(self).__name__
            raise NotFittedError(f"This {name} is not fitted yet: call fit(X, y) before {method}()")

    def _linear(self, X, method: str) -> np.ndarray:
        """a = X w_ + b_, after checking that fit has run and X has its feature count."""
        self._check_fitted(method)
        X = check_X(X, f"{type(self).__name__}.{method}", n_features=self.n_features_in_)
        return X @ self.w_ + self.b_


class LinearClassifier(LinearModel):
    """A binary linear classifier: predicts classes_[1] where a > 0, classes_[0] elsewhere.

    At a = 0 exactly, the prediction is classes_[0], as in scikit-learn's linear classifiers.
    """

    classes_: np.ndarray

    def _fit_data(self, X, y) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Checked X (float64), the classes and y as ±1 (classes_[0] -> -1, classes_[1] -> +1)."""
        owner = f"{type(self).__name__}.fit"
        X = check_X(X, owner)
        y = check_y(y, X.shape[0], owner, numeric=False)
        classes, y_pm = encode_binary(y, type(self).__name__)
        return X, classes, y_pm

    def decision_function(self, X: ArrayLike) -> np.ndarray:
        """The signed activation a = X w_ + b_, shape (n_samples,); a > 0 means classes_[1]."""
        return self._linear(X, "decision_function")

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The class of each row of X: classes_[1] where a > 0, else classes_[0]."""
        a = self._linear(X, "predict")
        return self.classes_[(a > 0).astype(np.intp)]

    def score(self, X: ArrayLike, y: ArrayLike) -> float:
        """Accuracy: the fraction of rows whose predicted class equals y."""
        y_hat = self.predict(X)
        y = check_y(y, len(y_hat), f"{type(self).__name__}.score", numeric=False)
        return float(np.mean(y_hat == y))

    def geometric_margin(self, X, y) -> float:
        """2 min_i y_i (w_·x_i + b_) / ‖w_‖ over the rows of X, with y_i = ±1.

        The width of the widest band centred on the separating hyperplane that holds no point of
        (X, y); negative when some point is misclassified. Measured this way for any classifier,
        it compares a perceptron's line with an SVM's. An SVM's `margin_` = 2/‖w_‖ is the width
        between its hyperplanes a = ±1, which equals this only when the closest points sit
        exactly on them. With w_ = 0 (no hyperplane) the result is ±inf or nan.
        """
        a = self._linear(X, "geometric_margin")
        y = check_y(y, len(a), f"{type(self).__name__}.geometric_margin", numeric=False)
        known = np.isin(y, self.classes_)
        if not known.all():
            label = y[~known][0]
            label = label.item() if isinstance(label, np.generic) else label
            raise refusal(
                f"{type(self).__name__}.geometric_margin", "y's labels",
                f"among the classes fitted, {self.classes_.tolist()}", repr(label),
            )  # fmt: skip
        y_pm = np.where(y == self.classes_[1], 1.0, -1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(2.0 * np.min(y_pm * a) / np.linalg.norm(self.w_))
