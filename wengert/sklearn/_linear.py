"""PerceptronClassifier and LinearSVMClassifier: a wengert Linear layer trained by wengert.fit
on the hinge loss, margin 0 (the perceptron criterion) or 1 (the soft-margin SVM).

Why not wrap wengert.classic's Perceptron and LinearSVM? Those are the lecture's rules written
out, one sample at a time, for two classes, without partial_fit. Here the same two objectives
are minimised by backpropagation, on minibatches, which gives K classes (one-vs-rest: K
outputs, each trained against the rest, in one Linear(n_features, K)), partial_fit, every
solver, and the code path of the MLPs. For two classes the model is the lecture's perceptron,
a = w·x + b, one output, classes_[1] where a > 0.

With labels y_k = +1 for class k and −1 otherwise, the objective is

    F(W, b) = (1/n) Σ_i Σ_k max(0, m − y_ik a_ik) + α/2 ‖W‖²,     a_i = x_i W + b,

m = 0 for PerceptronClassifier (max(0, −y a): zero for a sample on its side, the
perceptron criterion; minibatch SGD on it is Rosenblatt's rule averaged over the batch)
and m = 1 for LinearSVMClassifier (the hinge loss; α = λ = 1/(C n) against scikit-learn's
C). The penalty is SGDClassifier's α/2·‖W‖², not divided by the batch size, and leaves b out.
With m = 0 zero weights get a zero gradient (the hinge's derivative at the kink is taken as
0, see wengert.losses.hinge), so the weights start Xavier-uniform random, from random_state.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin

from wengert.losses import hinge
from wengert.nn import Linear
from wengert.sklearn._classifier import WengertClassifier

_PARAMS_DOC = """
    Parameters
    ----------
    alpha : float >= 0
        The L2 penalty α/2·‖W‖² (weights, not the intercepts).
    solver : {"sgd", "adam", "lbfgs"}, default "sgd"
        SGD with heavy-ball momentum (lecture form), Adam, or full-batch L-BFGS (one iteration
        per epoch).
    batch_size : int >= 1 or "auto" (min(200, n_samples)); learning_rate_init : float > 0,
    default 0.01 (PerceptronClassifier: 1.0); momentum : float in [0, 1), default 0.9;
    max_iter : int >= 1 epochs, default 200; tol : float >= 0, default 1e-4;
    n_iter_no_change : int >= 1, default 10;
    shuffle : bool; early_stopping : bool; validation_fraction : float in (0, 1);
    random_state : None, int or RandomState (initial weights, orders, split); verbose : bool;
    dtype : None (follow X), numpy.float32 or numpy.float64
        As in MLPClassifier.

    Attributes
    ----------
    model_ : wengert.nn.Linear(n_features, 1) for two classes, (n_features, n_classes) else
    coef_ : ndarray (1 or n_classes, n_features); intercept_ : ndarray (1 or n_classes,)
    classes_, n_features_in_, loss_curve_, n_iter_, validation_loss_curve_, history_
"""


class _HingeClassifier(ClassifierMixin, WengertClassifier):
    _margin = 1.0
    _penalty_per_sample = False

    def __init__(
        self,
        *,
        alpha=1e-4,
        solver="sgd",
        batch_size="auto",
        learning_rate_init=0.01,
        momentum=0.9,
        max_iter=200,
        tol=1e-4,
        n_iter_no_change=10,
        shuffle=True,
        early_stopping=False,
        validation_fraction=0.1,
        random_state=None,
        verbose=False,
        dtype=None,
    ) -> None:
        self.alpha = alpha
        self.solver = solver
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.momentum = momentum
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.verbose = verbose
        self.dtype = dtype

    def _targets(self, index: np.ndarray) -> np.ndarray:
        """±1 per output: one column (+1 for classes_[1]) for two classes, one-vs-rest else."""
        if len(self.classes_) == 2:
            return np.where(index == 1, 1, -1).reshape(-1, 1)
        return np.where(index[:, None] == np.arange(len(self.classes_)), 1, -1)

    def _build(self, n_features: int, rng, dtype):
        return Linear(n_features, self._n_outputs(), init="xavier_uniform", seed=rng, dtype=dtype)

    def _data_loss(self, out, y):
        return hinge(out, y, margin=self._margin, reduction="sum") * (1.0 / len(y))

    @property
    def coef_(self) -> np.ndarray:
        """The weights as scikit-learn's linear models store them, (n_outputs, n_features)."""
        return self.model_.weight.data.T.copy()

    @property
    def intercept_(self) -> np.ndarray:
        return self.model_.bias.data.copy()


class PerceptronClassifier(_HingeClassifier):
    """The perceptron criterion max(0, −y·a) (hinge with margin 0), minimised by wengert.fit.

    See the module docstring of wengert.sklearn._linear for the objective and the choices.
    alpha defaults to 0 (scikit-learn's Perceptron has no penalty by default) and
    learning_rate_init to 1 (its eta0): max(0, −y·a) is scale-invariant (doubling W and b
    doubles it), so η only matters against the size of the initial weights, and a step as
    large as they are lets the data, not the random start, set the hyperplane at once.
    The criterion's loss jumps about from epoch to epoch, so the stopping rule (tol,
    n_iter_no_change) may end a run on separable data before the loss reaches 0; raise
    n_iter_no_change (e.g. 50) to let it get there.
    """

    __doc__ += _PARAMS_DOC
    _margin = 0.0

    def __init__(
        self,
        *,
        alpha=0.0,
        solver="sgd",
        batch_size="auto",
        learning_rate_init=1.0,
        momentum=0.9,
        max_iter=200,
        tol=1e-4,
        n_iter_no_change=10,
        shuffle=True,
        early_stopping=False,
        validation_fraction=0.1,
        random_state=None,
        verbose=False,
        dtype=None,
    ) -> None:
        super().__init__(
            alpha=alpha, solver=solver, batch_size=batch_size,
            learning_rate_init=learning_rate_init, momentum=momentum, max_iter=max_iter,
            tol=tol, n_iter_no_change=n_iter_no_change, shuffle=shuffle,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            random_state=random_state, verbose=verbose, dtype=dtype,
        )  # fmt: skip


class LinearSVMClassifier(_HingeClassifier):
    """A soft-margin linear SVM: the hinge loss max(0, 1 − y·a) plus α/2·‖W‖², minimised by
    wengert.fit (one-vs-rest for more than two classes).

    See the module docstring of wengert.sklearn._linear for the objective and the choices.
    alpha defaults to 1e-4, SGDClassifier's.
    """

    __doc__ += _PARAMS_DOC
    _margin = 1.0


__all__ = ["LinearSVMClassifier", "PerceptronClassifier"]
