"""MLPClassifier and MLPRegressor: wengert's MLP behind scikit-learn's MLP interface."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.metaestimators import available_if

from wengert._checks import COUNT, Options, check, refusal, what_came
from wengert.losses import cross_entropy, l2, logistic
from wengert.nn import MLP
from wengert.sklearn._base import WengertEstimator, _is_int
from wengert.sklearn._classifier import WengertClassifier, _stochastic

# scikit-learn's names for the activations; "logistic" is wengert's "sigmoid".
ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}

_PARAMS_DOC = """
    Parameters (scikit-learn's names and defaults, except `dtype`)
    ----------
    hidden_layer_sizes : tuple of int >= 1, default (100,)
        The width of each hidden layer; () gives a linear model.
    activation : {"relu", "tanh", "logistic", "identity"}, default "relu"
        The hidden layers' activation ("logistic" is the sigmoid).
    solver : {"adam", "sgd", "lbfgs"}, default "adam"
        wengert.optim.Adam (lr=learning_rate_init, PyTorch's defaults otherwise), SGD with
        heavy-ball `momentum` in the lecture's form (v ← μv − ηg; scikit-learn's default
        is Nesterov's), or LBFGS on the full batch with a strong Wolfe line search, one
        iteration per epoch.
    alpha : float >= 0, default 1e-4
        L2 penalty α/(2B)·Σ‖W‖² added to the mean loss of each batch of B samples, on the
        weights and not the biases: scikit-learn's MLP convention.
    batch_size : int >= 1 or "auto", default "auto"
        Samples per step; "auto" is min(200, n_samples). lbfgs always uses the full batch.
    learning_rate_init : float > 0, default 1e-3
    max_iter : int >= 1, default 200
        Epochs (passes over the data); lbfgs: iterations.
    shuffle : bool, default True
    random_state : None, int or numpy.random.RandomState
        Draws the initial weights, the order of the samples in each epoch and the validation
        split; an int makes two fits identical.
    tol : float >= 0, default 1e-4; n_iter_no_change : int >= 1, default 10
        Stop when the training loss (with early_stopping, the validation loss) has not
        improved by tol for n_iter_no_change epochs.
    verbose : bool, default False
        Print the loss of each epoch.
    momentum : float in [0, 1), default 0.9
        For solver="sgd".
    early_stopping : bool, default False; validation_fraction : float in (0, 1), default 0.1
        Hold out validation_fraction of the training set (stratified for classifiers) and stop
        when its *loss* stops improving (scikit-learn watches its score), restoring the
        weights of the best epoch.
    dtype : None, numpy.float32 or numpy.float64, default None
        The model's precision; None follows X (float32 stays float32, anything else float64),
        as scikit-learn does.

    Attributes
    ----------
    model_ : wengert.nn.MLP, the trained network
    loss_curve_ : list of float, the training loss of each epoch (penalty included)
    n_iter_ : int, the epochs run (summed over partial_fit calls)
    n_features_in_ : int;  feature_names_in_ : when X has string column names
    validation_loss_curve_ : list of float, or None without early_stopping
    history_ : wengert.train.History of the last fit or partial_fit call
"""


class _MLPBase(WengertEstimator):
    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate_init=1e-3,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        momentum=0.9,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        dtype=None,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.momentum = momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.dtype = dtype

    def _check_params(self) -> None:
        super()._check_params()
        owner = type(self).__name__
        check(owner, "activation", self.activation, Options(ACTIVATIONS))
        sizes = self._hidden()
        if not all(COUNT.accepts(n) for n in sizes):
            kind_ok = all(COUNT.right_kind(n) for n in sizes)
            raise refusal(
                owner, "hidden_layer_sizes", "an int >= 1 or a tuple of ints >= 1",
                what_came(self.hidden_layer_sizes), ValueError if kind_ok else TypeError,
            )  # fmt: skip

    def _hidden(self) -> list:
        sizes = self.hidden_layer_sizes
        if _is_int(sizes):
            return [sizes]
        try:
            return list(sizes)
        except TypeError:
            return [None]

    def _build(self, n_features: int, rng, dtype):
        sizes = [n_features, *(int(n) for n in self._hidden()), self._n_outputs()]
        return MLP(sizes, activation=ACTIVATIONS[self.activation], seed=rng, dtype=dtype)


class MLPClassifier(ClassifierMixin, _MLPBase, WengertClassifier):
    """A multi-layer perceptron classifier: wengert.nn.MLP trained by wengert.fit.

    Two classes: one output unit, its logit z trained with the logistic loss (classes_[1] is
    y = 1), P(classes_[1]) = σ(z). K > 2 classes: K outputs trained with softmax
    cross-entropy, probabilities softmax(z). decision_function gives the logits.
    """

    __doc__ += _PARAMS_DOC

    def _targets(self, index: np.ndarray) -> np.ndarray:
        return index.reshape(-1, 1) if len(self.classes_) == 2 else index

    def _data_loss(self, out, y):
        return logistic(out, y) if out.shape[1] == 1 else cross_entropy(out, y)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns in the order of classes_;
        computed in float64 from the logits, so each row sums to 1 to rounding."""
        z = self._scores(X).astype(np.float64)
        if z.shape[1] == 1:
            p1 = np.exp(-np.logaddexp(0.0, -z[:, 0]))  # σ(z), without overflow
            return np.column_stack([1.0 - p1, p1])
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


class MLPRegressor(RegressorMixin, _MLPBase):
    """A multi-layer perceptron regressor: wengert.nn.MLP, identity output, trained by
    wengert.fit on the lecture's L2 loss ½(ŷ − y)² averaged over samples and outputs (the
    squared error / 2 of scikit-learn's MLPRegressor). y may have several columns.
    """

    __doc__ += _PARAMS_DOC
    _is_regressor = True

    def _encode(self, y, reset: bool, classes=None) -> np.ndarray:
        y = np.asarray(y)
        n_outputs = 1 if y.ndim == 1 else y.shape[1]
        if reset:
            self.n_outputs_ = n_outputs
        elif n_outputs != self.n_outputs_:
            expected = f"of {self.n_outputs_} output column(s), as in the first fit"
            raise refusal(type(self).__name__, "y", expected, f"{n_outputs} column(s)")
        return y.reshape(len(y), -1).astype(np.float64, copy=False)

    def _n_outputs(self) -> int:
        return self.n_outputs_

    def _data_loss(self, out, y):
        return l2(out, y)

    @available_if(_stochastic)
    def partial_fit(self, X, y):
        """One epoch on (X, y), continuing the model and optimizer state of the last call."""
        return self._partial_fit(X, y)

    def predict(self, X) -> np.ndarray:
        """Predictions, shape (n_samples,) for one output, else (n_samples, n_outputs)."""
        out = self._scores(X)
        return out[:, 0] if out.shape[1] == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


__all__ = ["ACTIVATIONS", "MLPClassifier", "MLPRegressor"]
