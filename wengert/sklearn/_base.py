"""What the four estimators share: parameter checks, data checks, the training run, predictions.

Conventions (scikit-learn's estimator contract): `__init__` only stores its arguments; `fit`
checks them and the data (sklearn's `validate_data`), trains and returns `self`; learned
attributes end in `_` and appear only when a fit succeeds. Training is wengert's own `fit()`
on a wengert Module (`model_`) with a wengert optimizer; one epoch is one pass over the data
(scikit-learn's `max_iter` for the stochastic solvers; one L-BFGS iteration for "lbfgs").
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from wengert.autodiff.mode import no_grad
from wengert.autodiff.ops import sum as wg_sum
from wengert.optim import LBFGS, SGD, Adam
from wengert.train import ConvergenceWarning as WengertConvergenceWarning
from wengert.train import EarlyStopping, fit

SOLVERS = ("adam", "sgd", "lbfgs")
_MAX_SEED = 2**31 - 1


def _invalid(owner: str, name: str, expected: str, value) -> ValueError:
    return ValueError(
        f"The '{name}' parameter of {owner} must be {expected}. Got {value!r} instead."
    )


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_float(owner, name, value, low=0.0, high=np.inf, low_open=False, high_open=False):
    """A real number in [low, high] (each end open or closed), or a ValueError in sklearn's form."""
    ok = _is_real(value) and not np.isnan(value)
    ok = ok and (value > low if low_open else value >= low)
    ok = ok and (value < high if high_open else value <= high)
    if not ok:
        left, right = "(" if low_open else "[", ")" if high_open or high == np.inf else "]"
        raise _invalid(owner, name, f"a float in the range {left}{low}, {high}{right}", value)


def check_int(owner, name, value, low=1):
    if not (_is_int(value) and value >= low):
        raise _invalid(owner, name, f"an int in the range [{low}, inf)", value)


def check_choice(owner, name, value, choices):
    if not (isinstance(value, str) and value in choices):
        allowed = ", ".join(repr(c) for c in choices)
        raise _invalid(owner, name, f"one of {{{allowed}}}", value)


def check_bool(owner, name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise _invalid(owner, name, "an instance of 'bool'", value)


def _is_float_dtype(dtype) -> bool:
    try:
        return np.dtype(dtype) in (np.float32, np.float64)
    except TypeError:
        return False


class _EpochPrinter:
    """verbose=True: scikit-learn's line per epoch, on stdout."""

    def on_epoch_end(self, run) -> None:
        print(f"Iteration {run.epoch}, loss = {run.history.epoch_loss[-1]:.8f}")


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
        owner = type(self).__name__
        check_choice(owner, "solver", self.solver, SOLVERS)
        check_float(owner, "alpha", self.alpha)
        if not (self.batch_size == "auto" or (_is_int(self.batch_size) and self.batch_size >= 1)):
            raise _invalid(owner, "batch_size", "'auto' or an int in the range [1, inf)",
                           self.batch_size)  # fmt: skip
        check_float(owner, "learning_rate_init", self.learning_rate_init, low_open=True)
        check_int(owner, "max_iter", self.max_iter)
        check_float(owner, "tol", self.tol)
        check_int(owner, "n_iter_no_change", self.n_iter_no_change)
        check_float(owner, "momentum", self.momentum, 0.0, 1.0, high_open=True)
        check_bool(owner, "shuffle", self.shuffle)
        check_bool(owner, "early_stopping", self.early_stopping)
        check_float(owner, "validation_fraction", self.validation_fraction, 0.0, 1.0, True, True)
        if self.dtype is not None and not _is_float_dtype(self.dtype):
            raise _invalid(owner, "dtype", "None, numpy.float32 or numpy.float64", self.dtype)

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
            self.validation_loss_curve_ = list(history.val_loss) if history.val_loss else None
        self.loss_curve_ = self.loss_curve_ + list(history.epoch_loss)
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
    def _scores(self, X) -> np.ndarray:
        """The model's output on X, shape (n_samples, n_outputs), in the model's dtype."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        X = X.astype(self.model_.dtype, copy=False)
        with no_grad():
            return self.model_(X).data


__all__ = ["SOLVERS", "WengertEstimator"]
