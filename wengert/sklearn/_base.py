"""What the four estimators share: parameter checks, data checks, the training run, predictions.

Conventions (scikit-learn's estimator contract): `__init__` only stores its arguments; `fit`
checks them and the data (sklearn's `validate_data`), trains and returns `self`; learned
attributes end in `_` and appear only when a fit succeeds. Training is wengert's own `fit()`
on a wengert Module (`model_`) with a wengert optimizer; one epoch is one pass over the data
(scikit-learn's `max_iter` for the stochastic solvers; one L-BFGS iteration for "lbfgs").
"""

from __future__ import annotations

import functools
import numbers
import threading
import warnings
from collections.abc import Callable
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from wengert._checks import (
    COUNT,
    NON_NEGATIVE,
    POSITIVE,
    Boolean,
    Constraint,
    Interval,
    Options,
    check_params,
)
from wengert.autodiff.mode import no_grad
from wengert.autodiff.ops import sum as wg_sum
from wengert.optim import LBFGS, SGD, Adam
from wengert.train import ConvergenceWarning as WengertConvergenceWarning
from wengert.train import EarlyStopping, fit

SOLVERS = ("adam", "sgd", "lbfgs")
_MAX_SEED = 2**31 - 1
# The estimators train and predict one at a time in a process: the engine's switches belong to
# a thread (wengert.autodiff.mode), but the warning filters that fit and the estimators set
# (warnings.catch_warnings) belong to the whole process, and a thread restoring its filters
# would undo another's. Threads (joblib's "threading" backend, a Dask worker's threads) take
# turns and get the numbers of a sequential run; processes (loky, Dask workers, Ray) run in
# parallel.
_ENGINE = threading.RLock()


def _one_at_a_time(method: Callable) -> Callable:
    """`method`, run while holding the estimators' engine lock."""

    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with _ENGINE:
            return method(self, *args, **kwargs)

    return locked


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class FloatDtype(Constraint):
    """numpy.float32 or numpy.float64, in any spelling numpy.dtype understands."""

    description = "numpy.float32 or numpy.float64"

    def accepts(self, value) -> bool:
        try:
            return np.dtype(value) in (np.float32, np.float64)
        except TypeError:
            return False


# The hyperparameters every estimator here shares; each is checked at fit, never in __init__.
CONSTRAINTS = {
    "solver": [Options(SOLVERS)],
    "alpha": [NON_NEGATIVE],
    "batch_size": [Options(["auto"]), COUNT],
    "learning_rate_init": [POSITIVE],
    "max_iter": [COUNT],
    "tol": [NON_NEGATIVE],
    "n_iter_no_change": [COUNT],
    "momentum": [Interval(Real, 0, 1, closed="left")],
    "shuffle": [Boolean()],
    "early_stopping": [Boolean()],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "dtype": [FloatDtype(), None],
}


class _EpochPrinter:
    """verbose=True: scikit-learn's line per epoch, on stdout."""

    def on_epoch_end(self, run) -> None:
        print(f"Iteration {run.epoch}, loss = {run.history.history['loss'][-1]:.8f}")


class WengertEstimator(BaseEstimator):
    """The shared machinery; subclasses define `_encode`, `_build`, `_data_loss`.

    Subclass hooks: `_encode(y, reset, classes)` -> targets for the loss (and sets classes_ or
    n_outputs_); `_n_outputs()`; `_build(n_features, rng)` -> Module; `_data_loss(out, y)`;
    `_penalty_per_sample`: True for scikit-learn's MLP convention α/(2B)·Σ‖W‖² (B the batch
    size), False for SGDClassifier's α/2·‖W‖².
    """

    _penalty_per_sample = True
    _is_regressor = False

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        check_params(type(self).__name__, vars(self), CONSTRAINTS)

    def _validate(self, X, y=None, *, reset: bool):
        """X (and y) checked by scikit-learn's validate_data; X floating (float32 kept)."""
        kwargs = dict(reset=reset, dtype=[np.float64, np.float32])
        if y is None and not reset:
            return validate_data(self, X, **kwargs)
        return validate_data(
            self, X, y, multi_output=self._is_regressor, y_numeric=self._is_regressor, **kwargs
        )

    def _model_dtype(self, X) -> np.dtype:
        return np.dtype(self.dtype) if self.dtype is not None else X.dtype

    # ------------------------------------------------------------------ training
    @_one_at_a_time
    def fit(self, X, y):
        """Train a new model on (X, y) for up to max_iter epochs; returns self."""
        self._check_params()
        X, y = self._validate(X, y, reset=True)
        target = self._encode(y, reset=True)
        self._start(X)
        val_data = None
        if self.early_stopping:
            X, target, val_data = self._split(X, target)
        history = self._run(X, target, self.max_iter, val_data=val_data)
        self._record(history, reset=True)
        self._warn_if_unfinished(history)
        return self

    @_one_at_a_time
    def _partial_fit(self, X, y, classes=None):
        first = not hasattr(self, "model_")
        if first:
            self._check_params()
        X, y = self._validate(X, y, reset=first)
        target = self._encode(y, reset=first, classes=classes)
        if first:
            self._start(X)
        history = self._run(X, target, 1, val_data=None)
        self._record(history, reset=first)
        return self

    def _start(self, X) -> None:
        """A new model and optimizer; every random draw comes from random_state."""
        seeds = check_random_state(self.random_state).randint(0, _MAX_SEED, size=2)
        self._rng = np.random.default_rng(int(seeds[1]))  # shuffles and the validation split
        dtype = self._model_dtype(X)
        self.model_ = self._build(X.shape[1], np.random.default_rng(int(seeds[0])), dtype)
        self._optimizer = self._make_optimizer(self.model_)

    def _make_optimizer(self, model):
        params, lr = model.parameters(), float(self.learning_rate_init)
        if self.solver == "adam":
            return Adam(params, lr=lr)
        if self.solver == "sgd":
            return SGD(params, lr=lr, momentum=float(self.momentum), momentum_form="lecture")
        # One L-BFGS iteration per epoch: max_iter counts iterations, as in scikit-learn.
        return LBFGS(params, lr=1.0, max_iter=1, line_search="strong_wolfe")

    def _split(self, X, target):
        stratify = None if self._is_regressor else self._stratify(target)
        seed = int(self._rng.integers(_MAX_SEED))
        X_tr, X_val, t_tr, t_val = train_test_split(
            X, target, test_size=self.validation_fraction, random_state=seed, stratify=stratify
        )
        return X_tr, t_tr, (X_val, t_val)

    def _objective(self):
        """The data loss plus the L2 penalty on the weights (not the biases)."""
        weights = [p for name, p in self.model_.named_parameters() if name.endswith("weight")]
        alpha, per_sample = float(self.alpha), self._penalty_per_sample

        def loss(out, y):
            value = self._data_loss(out, y)
            if alpha == 0.0:
                return value
            scale = 0.5 * alpha / (len(y) if per_sample else 1)
            return value + scale * sum(wg_sum(w * w) for w in weights)

        return loss

    def _batch_size(self, n_samples: int):
        if self.solver == "lbfgs":
            return None  # full batch: L-BFGS needs the same function at every evaluation
        return min(200, n_samples) if self.batch_size == "auto" else self.batch_size

    def _run(self, X, target, epochs, val_data):
        callbacks = [_EpochPrinter()] if self.verbose else []
        tol = self.tol
        if val_data is not None:
            callbacks.append(EarlyStopping(self.n_iter_no_change, float(self.tol)))
            tol = None
        if epochs == 1:  # partial_fit: no stopping rule, no warning
            tol = None
        with warnings.catch_warnings():
            # The epoch limit is reported below, as scikit-learn's ConvergenceWarning.
            warnings.simplefilter("ignore", WengertConvergenceWarning)
            return fit(
                self.model_, self._objective(), self._optimizer, (X, target), epochs=epochs,
                val_data=val_data, batch_size=self._batch_size(len(X)), shuffle=self.shuffle,
                seed=int(self._rng.integers(_MAX_SEED)), callbacks=callbacks,
                tol=None if tol is None else float(tol),
                n_iter_no_change=self.n_iter_no_change, progress=False,
            )  # fmt: skip

    def _record(self, history, reset: bool) -> None:
        if reset:
            self.loss_curve_, self.n_iter_ = [], 0
            val_loss = history.history.get("val_loss")
            self.validation_loss_curve_ = list(val_loss) if val_loss else None
        self.loss_curve_ = self.loss_curve_ + list(history.history["loss"])
        self.n_iter_ += history.epochs
        self.history_ = history

    def _warn_if_unfinished(self, history) -> None:
        reason = history.stop_reason
        if reason and reason != "epoch limit":
            if reason.startswith("interrupted"):
                warnings.warn(f"{type(self).__name__}: {reason}", ConvergenceWarning, 3)
            return
        warnings.warn(
            f"{type(self).__name__}: reached max_iter={self.max_iter} epochs before the "
            f"training loss stopped improving by tol={self.tol:g} for "
            f"{self.n_iter_no_change} epochs; raise max_iter or learning_rate_init.",
            ConvergenceWarning,
            stacklevel=3,
        )

    # ------------------------------------------------------------------ predictions
    @_one_at_a_time
    def _scores(self, X) -> np.ndarray:
        """The model's output on X, shape (n_samples, n_outputs), in the model's dtype."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        X = X.astype(self.model_.dtype, copy=False)
        with no_grad():
            return self.model_(X).data


__all__ = ["SOLVERS", "WengertEstimator"]
