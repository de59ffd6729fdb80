"""The classifier half of the contract: classes_, label encoding, predict, partial_fit."""

from __future__ import annotations

import numpy as np
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets

from wengert._checks import refusal
from wengert.sklearn._base import WengertEstimator


def _stochastic(estimator) -> bool:
    """partial_fit exists for the stochastic solvers only (as in scikit-learn's MLP)."""
    if estimator.solver == "lbfgs":
        raise AttributeError(
            f"partial_fit is only available for the stochastic solvers ('sgd', 'adam'); "
            f"{type(estimator).__name__} has solver={estimator.solver!r}"
        )
    return True


class WengertClassifier(WengertEstimator):
    """Classes, in the sorted order of `classes_`, are encoded as indices 0..K-1; subclasses turn
    the indices into the targets of their loss (`_targets`)."""

    def _encode(self, y, reset: bool, classes=None) -> np.ndarray:
        owner = type(self).__name__
        check_classification_targets(y)
        if reset:
            self.classes_ = np.unique(y if classes is None else np.asarray(classes))
            if len(self.classes_) < 2:
                expected = "labels of at least 2 classes to learn from"
                got = f"one class: {self.classes_.tolist()}"
                raise refusal(owner, "y" if classes is None else "classes", expected, got)
        known = np.isin(y, self.classes_)
        if not known.all():
            expected = f"labels among classes_ {self.classes_.tolist()}"
            got = f"{np.unique(np.asarray(y)[~known]).tolist()}"
            fix = "Pass every label in classes= on the first call to partial_fit."
            raise refusal(f"{owner}.partial_fit", "y", expected, got, fix=fix)
        return self._targets(np.searchsorted(self.classes_, y))

    def _n_outputs(self) -> int:
        """One output unit for two classes (its sign or logit picks classes_[1]), else K."""
        return 1 if len(self.classes_) == 2 else len(self.classes_)

    @available_if(_stochastic)
    def partial_fit(self, X, y, classes=None):
        """One epoch on (X, y), continuing the model, optimizer state and shuffling of the last
        call; `classes` (every label that will ever come) is required on the first call."""
        if not hasattr(self, "model_") and classes is None:
            expected = "every label, e.g. np.unique(y_all), on the first call"
            owner = f"{type(self).__name__}.partial_fit"
            raise refusal(owner, "classes", expected, "None")
        return self._partial_fit(X, y, classes)

    def decision_function(self, X) -> np.ndarray:
        """The model's output: shape (n_samples,) for two classes (> 0 means classes_[1]),
        (n_samples, n_classes) otherwise (argmax is the predicted class)."""
        scores = self._scores(X)
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict(self, X) -> np.ndarray:
        """The class of each row: classes_[1] where the score is > 0 (two classes; classes_[0]
        at exactly 0), else the class of the largest score."""
        scores = self._scores(X)
        if scores.shape[1] == 1:
            return self.classes_[(scores[:, 0] > 0).astype(np.intp)]
        return self.classes_[scores.argmax(axis=1)]

    def _stratify(self, target: np.ndarray) -> np.ndarray:
        t = target.reshape(len(target), -1)
        return t.argmax(axis=1) if t.shape[1] > 1 else t[:, 0] > 0


__all__ = ["WengertClassifier"]
