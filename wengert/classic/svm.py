"""A linear support vector machine: the hinge loss with L2 regularisation, minimised by Pegasos."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from wengert._checks import COUNT, POSITIVE, as_generator, check
from wengert.classic._base import LinearClassifier
from wengert.classic._checks import FLAG


class LinearSVM(LinearClassifier):
    """A soft-margin linear SVM trained by Pegasos (Shalev-Shwartz, Singer and Srebro, 2007).

    The objective, with labels y = ±1 (any two classes are mapped as in Perceptron) and
    λ = 1/(C n) for n training samples:

        F(w, b) = λ/2 ‖w‖² + (1/n) Σ_i max(0, 1 - y_i (w·x_i + b))

    the lecture's hinge loss ℓ(ŷ, y) = max(0, 1 - y ŷ), averaged, plus a penalty that keeps ‖w‖
    small, which is what widens the margin 2/‖w‖ between the hyperplanes w·x + b = ±1. The
    intercept b is not penalised. Multiplied by C n, F is ½‖w‖² + C Σ_i max(0, 1 - y_i a_i),
    the primal that scikit-learn's `SVC(kernel="linear", C=C)` solves exactly; `LinearSVC(C=C)`
    differs in two conventions: its default loss is the squared hinge (loss="hinge" gives ours),
    and it penalises the intercept, fitted as a weight on a constant feature (intercept_scaling).

    Pegasos, for t = 1, 2, ..., T (epochs × n steps; each epoch visits the samples in a new
    random order drawn from `seed`, where the paper draws them with replacement):

        η_t = 1/(λ t)
        if y_i (w·x_i + b) < 1:   w ← (1 - η_t λ) w + η_t y_i x_i,   b ← b + η_t y_i
        else:                     w ← (1 - η_t λ) w
        if project:               w ← min(1, (1/√λ) / ‖w‖) w

    a stochastic subgradient step on F, taking the subgradient 0 at the kink y a = 1. The
    projection onto the ball ‖w‖ ≤ 1/√λ, which holds the optimum, is optional in the paper and
    keeps the first steps (η_1 = C n) from overshooting: without it, and with an intercept, w and
    b leave those steps large and need far more epochs to settle (on two well-separated blobs,
    1000 epochs against 10). b takes the step of the hinge term
    alone, not shrunk, because it is not penalised; the paper's rate, Õ(1/(λ ε)) steps to an
    ε-accurate w, assumes the strongly convex problem without b, so with fit_intercept=True it
    is an expectation borne out in the tests, not a theorem. Where F is flat in b (every
    sample inside the margin, or on data whose hinge terms balance), the optimal b is not
    unique and Pegasos ends at one of them. The last iterate is returned.

    `margin_` = 2/‖w_‖, the width between the hyperplanes a = ±1. On separable data with C large
    enough that no point lies inside them, it equals the geometric margin
    2 min_i y_i a_i / ‖w_‖ (see `geometric_margin`), the maximum over all separating
    hyperplanes; with points inside (a soft margin) it is larger than the geometric margin.

    Parameters
    ----------
    C : float > 0
        The weight of the hinge loss against ½‖w‖², as in scikit-learn; λ = 1/(C n).
    epochs : int >= 1
        Passes over the data; there is no early stop.
    project : bool
        Project w onto the ball of radius 1/√λ after each step.
    seed : int >= 0, numpy.random.Generator or None
        Where the orders of the samples come from; an int gives the same orders at every fit.
    fit_intercept : bool
        Learn b; with False, b_ stays 0.

    Attributes
    ----------
    w_ : ndarray of shape (n_features,), float64
    b_ : float
    classes_ : ndarray of the two labels, sorted; classes_[1] is the +1 class
    n_features_in_ : int
    lam_ : float, λ = 1/(C n)
    objective_ : float, F(w_, b_)
    margin_ : float, 2/‖w_‖ (inf when w_ = 0)
    history_ : dict of lists, {"epoch": [...], "objective": [F at the epoch's end],
        "errors": [training points misclassified (y a ≤ 0) at the epoch's end]}
    """

    def __init__(
        self,
        C: float = 1.0,
        epochs: int = 100,
        project: bool = True,
        seed=0,
        fit_intercept: bool = True,
    ) -> None:
        self.C = C
        self.epochs = epochs
        self.project = project
        self.seed = seed
        self.fit_intercept = fit_intercept

    def fit(self, X: ArrayLike, y: ArrayLike) -> LinearSVM:
        """Minimise F(w, b) by `epochs` passes of Pegasos over (X, y)."""
        C = float(check("LinearSVM", "C", self.C, POSITIVE))
        epochs = int(check("LinearSVM", "epochs", self.epochs, COUNT))
        project = bool(check("LinearSVM", "project", self.project, FLAG))
        fit_intercept = bool(check("LinearSVM", "fit_intercept", self.fit_intercept, FLAG))
        rng = as_generator(self.seed, "LinearSVM")
        X, classes, y_pm = self._fit_data(X, y)

        n_samples, n_features = X.shape
        lam = 1.0 / (C * n_samples)
        w, b, t = np.zeros(n_features), 0.0, 0
        history: dict[str, list] = {"epoch": [], "objective": [], "errors": []}
        for epoch in range(1, epochs + 1):
            order = rng.permutation(n_samples)
            b, t = pegasos_epoch(X, y_pm, order, w, b, t, lam, project, fit_intercept)
            a = X @ w + b
            history["epoch"].append(epoch)
            history["objective"].append(hinge_objective(w, a, y_pm, lam))
            history["errors"].append(int(np.sum(y_pm * a <= 0)))
        self.w_, self.b_ = w, float(b)
        self.classes_, self.n_features_in_ = classes, n_features
        self.lam_ = lam
        self.objective_ = history["objective"][-1]
        norm = float(np.linalg.norm(w))
        self.margin_ = 2.0 / norm if norm > 0 else math.inf
        self.history_ = history
        return self


def hinge_objective(w: np.ndarray, a: np.ndarray, y: np.ndarray, lam: float) -> float:
    """F = λ/2 ‖w‖² + mean_i max(0, 1 - y_i a_i), with a = X w + b and y = ±1."""
    return float(0.5 * lam * (w @ w) + np.mean(np.maximum(0.0, 1.0 - y * a)))


def pegasos_epoch(
    X: np.ndarray,
    y: np.ndarray,
    order: np.ndarray,
    w: np.ndarray,
    b: float,
    t: int,
    lam: float,
    project: bool,
    fit_intercept: bool,
) -> tuple[float, int]:
    """One pass of Pegasos over the samples in `order`, labels y = ±1; t counts steps taken.

    Updates w in place; returns the new b and the new t.
    """
    radius = 1.0 / math.sqrt(lam)
    for i in order:
        t += 1
        eta = 1.0 / (lam * t)
        violated = y[i] * (X[i] @ w + b) < 1.0  # the subgradient is taken before the step
        w *= 1.0 - eta * lam  # = 1 - 1/t: the gradient step of λ/2 ‖w‖²
        if violated:
            w += eta * y[i] * X[i]
            if fit_intercept:
                b += eta * y[i]
        if project:
            norm = math.sqrt(w @ w)
            if norm > radius:
                w *= radius / norm
    return b, t


__all__ = ["LinearSVM", "hinge_objective", "pegasos_epoch"]
