"""The lecture's incremental rule (LMS, Widrow-Hoff) for the world's smallest perceptron."""

from __future__ import annotations

import math
import warnings

import numpy as np
from numpy.typing import ArrayLike

from wengert._checks import COUNT, POSITIVE, Options, as_generator, check
from wengert.classic._base import LinearModel
from wengert.classic._checks import (
    FLAG,
    DivergenceWarning,
    check_X,
    check_y,
)

SCHEDULES = (None, "inverse_sqrt")


class LMS(LinearModel):
    """The least-mean-squares rule (Widrow and Hoff, 1960): a linear perceptron, sample by sample.

    The lecture's "world's smallest perceptron" ŷ = w·x (+ b), trained by its one line of code.
    For each sample, in the given order (or one drawn from `seed` when shuffle=True):

        ŷ = w·x_i + b,   w ← w + η_t (y_i - ŷ) x_i,   b ← b + η_t (y_i - ŷ)

    starting from w = 0, b = 0. It is gradient descent on one sample's loss L_i = ½ (y_i - ŷ)²,
    whose gradient is dL_i/dw = -(y_i - ŷ) x_i. The learning rate is η_t = lr (schedule=None,
    as on the slide) or η_t = lr / √t (schedule="inverse_sqrt"), with t = 1, 2, ... counting the
    samples seen across epochs.

    What it converges to. The minimiser of the mean loss is the least-squares answer; for the
    lecture's table (x = 10, 2, 3.5, 1; y = 10.1, 1.9, 3.4, 1.1, no intercept) it is
    w* = Σ x y / Σ x² = 1.004691. With η_t = 0.01/√t, 30 epochs in the table's order reach
    w = 1.004682. A constant η never settles there: the rule ends each epoch on a fixed cycle
    that misses w* by O(η) (for lr=0.01 it ends every epoch at 1.004137, for lr=0.005 at
    1.004428). Too large an η diverges: each visit of x multiplies the error along x by
    1 - η‖x‖², which grows in size when η > 2/‖x‖² (η = 1, the slide's, gives -99 at x = 10).
    Then `fit` stops at the first epoch whose weights or loss are not finite, keeps the weights
    of the epoch before and warns with a DivergenceWarning.

    score(X, y) is R² = 1 - Σ (y - ŷ)² / Σ (y - ȳ)², as for scikit-learn's regressors (1 is a
    perfect fit; 0 is no better than predicting the mean; for a constant y, 1.0 if the fit is
    exact, else 0.0). `history_["loss"]` holds the mean squared error ½ mean (y - ŷ)² of the whole
    training set at the end of each epoch.

    Parameters
    ----------
    lr : float > 0
        η (schedule=None) or η₀ (schedule="inverse_sqrt").
    epochs : int >= 1
        Passes over the data; there is no early stop.
    schedule : None or "inverse_sqrt"
    shuffle : bool
        Visit the samples in a new random order each epoch; False (the default) keeps the order
        of the rows, as the lecture does.
    seed : int >= 0, numpy.random.Generator or None
        Where the orders come from when shuffle=True.
    fit_intercept : bool
        Learn b; False (the default) is the lecture's ŷ = w x.

    Attributes
    ----------
    w_ : ndarray of shape (n_features,), float64
    b_ : float
    n_features_in_ : int
    n_epochs_ : int, the epochs completed (less than `epochs` only after a divergence)
    w_history_ : ndarray of shape (n_epochs_ + 1, n_features): w at the start, then after each epoch
    b_history_ : ndarray of shape (n_epochs_ + 1,)
    diverged_ : bool
    history_ : dict of lists, {"epoch": [1, ...], "loss": [...], "lr": [η at the epoch's end]}

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[10.0], [2.0], [3.5], [1.0]])
    >>> y = np.array([10.1, 1.9, 3.4, 1.1])
    >>> model = LMS(lr=0.01, epochs=30, schedule="inverse_sqrt").fit(x, y)
    >>> round(float(model.w_[0]), 5)
    1.00468
    """

    def __init__(
        self,
        lr: float = 0.01,
        epochs: int = 30,
        schedule: str | None = None,
        shuffle: bool = False,
        seed=0,
        fit_intercept: bool = False,
    ) -> None:
        self.lr = lr
        self.epochs = epochs
        self.schedule = schedule
        self.shuffle = shuffle
        self.seed = seed
        self.fit_intercept = fit_intercept

    def fit(self, X: ArrayLike, y: ArrayLike) -> LMS:
        """Run the incremental rule for `epochs` passes over (X, y)."""
        lr = float(check("LMS", "lr", self.lr, POSITIVE))
        epochs = int(check("LMS", "epochs", self.epochs, COUNT))
        schedule = check("LMS", "schedule", self.schedule, Options(SCHEDULES[1:]), None)
        shuffle = bool(check("LMS", "shuffle", self.shuffle, FLAG))
        fit_b = bool(check("LMS", "fit_intercept", self.fit_intercept, FLAG))
        rng = as_generator(self.seed, "LMS")
        X, y = self._fit_data(X, y)

        n_samples, n_features = X.shape
        w, b, t = np.zeros(n_features), 0.0, 0
        w_path, b_path = [w.copy()], [b]
        history: dict[str, list] = {"epoch": [], "loss": [], "lr": []}
        diverged = False
        for epoch in range(1, epochs + 1):
            order = rng.permutation(n_samples) if shuffle else range(n_samples)
            # Overflow is not an error here: it is looked for once an epoch, just below.
            with np.errstate(over="ignore", invalid="ignore"):
                w_new, b_new, t = lms_epoch(X, y, order, w.copy(), b, t, lr, schedule, fit_b)
                loss = float(0.5 * np.mean((y - X @ w_new - b_new) ** 2))
            if not (np.all(np.isfinite(w_new)) and math.isfinite(b_new) and math.isfinite(loss)):
                diverged = True
                self._warn_divergence(epoch, lr, schedule, X)
                break
            w, b = w_new, b_new
            w_path.append(w.copy())
            b_path.append(b)
            history["epoch"].append(epoch)
            history["loss"].append(loss)
            history["lr"].append(_eta(lr, schedule, t))
        self.w_, self.b_, self.n_features_in_ = w, float(b), n_features
        self.n_epochs_ = len(w_path) - 1
        self.w_history_, self.b_history_ = np.array(w_path), np.array(b_path)
        self.diverged_ = diverged
        self.history_ = history
        return self

    def _fit_data(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        X = check_X(X, "LMS.fit")
        return X, check_y(y, X.shape[0], "LMS.fit", numeric=True)

    @staticmethod
    def _warn_divergence(epoch: int, lr: float, schedule, X: np.ndarray) -> None:
        stable = 2.0 / float(np.max(np.sum(X * X, axis=1)))
        warnings.warn(
            f"LMS diverged: the weights or the loss became infinite or NaN during epoch {epoch} "
            f"(lr={lr}, "
            f"schedule={schedule!r}); training stopped and kept the weights after epoch "
            f"{epoch - 1}. Try a smaller lr: each step is stable when lr < 2/‖x‖², here "
            f"lr < {stable:.3g}.",
            DivergenceWarning,
            stacklevel=3,
        )

    def predict(self, X: ArrayLike) -> np.ndarray:
        """ŷ = X w_ + b_, shape (n_samples,)."""
        return self._linear(X, "predict")

    def score(self, X: ArrayLike, y: ArrayLike) -> float:
        """R² = 1 - Σ (y - ŷ)² / Σ (y - ȳ)² (for a constant y: 1.0 if exact, else 0.0)."""
        y_hat = self.predict(X)
        y = check_y(y, len(y_hat), "LMS.score", numeric=True)
        ss_res = float(np.sum((y - y_hat) ** 2))
        ss_tot = float(np.sum((y - y.mean()) ** 2))
        if ss_tot == 0.0:
            return 1.0 if ss_res == 0.0 else 0.0
        return 1.0 - ss_res / ss_tot


def _eta(lr: float, schedule, t: int) -> float:
    """η_t: lr, or lr/√t for schedule="inverse_sqrt" (t = 1, 2, ... counts samples seen)."""
    return lr / math.sqrt(t) if schedule == "inverse_sqrt" else lr


def lms_epoch(
    X: np.ndarray,
    y: np.ndarray,
    order: np.ndarray,
    w: np.ndarray,
    b: float,
    t: int,
    lr: float,
    schedule: str | None,
    fit_intercept: bool,
) -> tuple[np.ndarray, float, int]:
    """One pass of the incremental rule over the samples in `order`; t counts samples seen.

    Updates w in place; returns w, the new b and the new t.
    """
    for i in order:
        t += 1
        eta = _eta(lr, schedule, t)
        error = y[i] - (X[i] @ w + b)  # y - ŷ
        w += eta * error * X[i]
        if fit_intercept:
            b += eta * error
    return w, b, t


__all__ = ["LMS", "SCHEDULES", "lms_epoch"]
