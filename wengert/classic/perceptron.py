"""Rosenblatt's perceptron: a sign activation, and an update only on mistakes."""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike

from wengert._checks import COUNT, POSITIVE, ConvergenceWarning, as_generator, check
from wengert.classic._base import LinearClassifier
from wengert.classic._checks import FLAG


class Perceptron(LinearClassifier):
    """Rosenblatt's perceptron (1958), trained one sample at a time until an epoch has no mistake.

    The model is ŷ = sign(w·x + b), with labels y = ±1 (any two classes are accepted and mapped:
    the first of the sorted `classes_` to -1, the second to +1). For each sample, in an order drawn
    from `seed` (or the given order when shuffle=False):

        if sign(w·x_i + b) ≠ y_i:   w ← w + η y_i x_i,   b ← b + η y_i

    with w = 0, b = 0 at the start and η = `lr`. sign(0) = 0 counts as a mistake for either
    label (the condition is y_i (w·x_i + b) ≤ 0), so the first sample always updates. Training
    stops at the first epoch without a mistake; then every training point is on its side of the
    hyperplane, y_i (w·x_i + b) > 0. predict gives classes_[1] where w·x + b > 0, else classes_[0].

    The lecture's rule. The lecture writes one update for every sample, w ← w + η (y - ŷ) x.
    With ŷ = sign(w·x + b) ∈ {-1, +1} it is zero on a correct sample and 2η y x on a mistake
    (y - ŷ = 2y): the same rule with the learning rate doubled. And because w and b start at 0
    and every step is a multiple of η, the weights learned with any η are η times those learned
    with η = 1, so the predictions, the mistakes and the number of epochs do not depend on η.

    Convergence (Novikoff, 1962). Write x̃ = (x, 1) and w̃ = (w, b), so that the intercept is one
    more weight. If the data are linearly separable with margin γ > 0, that is, some unit vector
    ũ has y_i ũ·x̃_i ≥ γ for every i, and every ‖x̃_i‖ ≤ R, the rule makes at most (R/γ)²
    mistakes in all, in any order: it stops after finitely many epochs. On data that are not
    separable it never stops: `fit` ends after `max_epochs`, keeps the last epoch's weights and
    warns with a ConvergenceWarning.

    Parameters
    ----------
    lr : float > 0
        η, the step on a mistake (see above: it scales w and b, not the predictions).
    max_epochs : int >= 1
        The most passes over the data.
    shuffle : bool
        Visit the samples in a new random order each epoch (drawn from `seed`).
    seed : int >= 0, numpy.random.Generator or None
        Where the orders come from; an int gives the same orders at every fit.
    fit_intercept : bool
        Learn b; with False, b_ stays 0 and the hyperplane passes through the origin.

    Attributes
    ----------
    w_ : ndarray of shape (n_features,), float64
    b_ : float
    classes_ : ndarray of the two labels, sorted; classes_[1] is the +1 class
    n_features_in_ : int
    n_epochs_ : int, the epochs run
    mistakes_ : ndarray of int, shape (n_epochs_,), the mistakes (updates) in each epoch
    converged_ : bool, whether the last epoch had no mistake
    history_ : dict of lists, {"epoch": [1, 2, ...], "mistakes": [...]}

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[2.0, 1.0], [1.0, 3.0], [-1.0, -1.0], [-2.0, 1.0]])
    >>> y = np.array([1, 1, 0, 0])
    >>> clf = Perceptron(shuffle=False).fit(X, y)
    >>> clf.predict(X).tolist(), clf.converged_
    ([1, 1, 0, 0], True)
    """

    def __init__(
        self,
        lr: float = 1.0,
        max_epochs: int = 1000,
        shuffle: bool = True,
        seed=0,
        fit_intercept: bool = True,
    ) -> None:
        self.lr = lr
        self.max_epochs = max_epochs
        self.shuffle = shuffle
        self.seed = seed
        self.fit_intercept = fit_intercept

    def fit(self, X: ArrayLike, y: ArrayLike) -> Perceptron:
        """Run Rosenblatt's rule on (X, y) until an epoch has no mistake, or for max_epochs."""
        lr = float(check("Perceptron", "lr", self.lr, POSITIVE))
        max_epochs = int(check("Perceptron", "max_epochs", self.max_epochs, COUNT))
        shuffle = bool(check("Perceptron", "shuffle", self.shuffle, FLAG))
        fit_intercept = bool(check("Perceptron", "fit_intercept", self.fit_intercept, FLAG))
        rng = as_generator(self.seed, "Perceptron")
        X, classes, y_pm = self._fit_data(X, y)

        n_samples, n_features = X.shape
        w = np.zeros(n_features)
        b = 0.0
        mistakes: list[int] = []
        for _ in range(max_epochs):
            order = rng.permutation(n_samples) if shuffle else range(n_samples)
            b, m = perceptron_epoch(X, y_pm, order, w, b, lr, fit_intercept)
            mistakes.append(m)
            if m == 0:
                break
        if mistakes[-1] > 0:
            warnings.warn(
                f"Perceptron did not converge: epoch {len(mistakes)} of max_epochs={max_epochs} "
                f"still made {mistakes[-1]} mistakes. The data may not be linearly separable, and "
                "then the rule never stops; the last epoch's weights are kept. Raise max_epochs, "
                "or use LinearSVM, which minimises the hinge loss on any data.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.w_, self.b_ = w, float(b)
        self.classes_, self.n_features_in_ = classes, n_features
        self.n_epochs_ = len(mistakes)
        self.mistakes_ = np.array(mistakes, dtype=np.int64)
        self.converged_ = mistakes[-1] == 0
        self.history_ = {"epoch": list(range(1, len(mistakes) + 1)), "mistakes": mistakes}
        return self


def perceptron_epoch(
    X: np.ndarray,
    y: np.ndarray,
    order: np.ndarray,
    w: np.ndarray,
    b: float,
    lr: float,
    fit_intercept: bool,
) -> tuple[float, int]:
    """One pass of Rosenblatt's rule over the samples in `order`, with labels y = ±1.

    Updates w in place; returns the new b and the number of mistakes (= updates) made.
    """
    mistakes = 0
    for i in order:
        # sign(w·x + b) ≠ y, with sign(0) = 0 a mistake for both labels.
        if y[i] * (X[i] @ w + b) <= 0:
            w += lr * y[i] * X[i]
            if fit_intercept:
                b += lr * y[i]
            mistakes += 1
    return b, mistakes


__all__ = ["Perceptron", "perceptron_epoch"]
