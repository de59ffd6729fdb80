"""Two-class (and k-class) point sets in the plane, for pictures of decision boundaries.

Every set is drawn from ``numpy.random.default_rng(seed)`` alone: the same seed gives the same
points, on every platform NumPy supports. Each returns ``(X, y)``: X float64 of shape (n, 2)
(blobs: (n, n_features)), y int64 of shape (n,). The rows come in random order (the classes are
interleaved), so that X[:k] is not one class.

Labels: ``labels="01"`` gives classes 0 and 1 (for the logistic and cross-entropy losses),
``labels="pm1"`` gives -1 and +1 (for the perceptron criterion and the hinge loss); class 0
becomes -1. A k-class blobs set is labelled 0 .. k-1.
"""

from __future__ import annotations

import numbers
from numbers import Integral, Real

import numpy as np
from numpy.typing import ArrayLike

from wengert._checks import Interval, Options, as_generator, check, check_finite, refusal

__all__ = ["blobs", "circles", "moons", "spirals", "xor"]

LABELS = ("01", "pm1")


def blobs(
    n: int = 200,
    centers: int | ArrayLike = 2,
    spread: float = 0.5,
    n_features: int = 2,
    labels: str = "01",
    seed: int | np.random.Generator = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic Gaussian clusters, one per class: x = c_k + spread · z, z ~ N(0, I).

    centers: an int k >= 2, for k centers evenly spaced on the circle of radius 2.5 in the
    first two coordinates (the others 0), the first at angle π/4; or an array (k, n_features)
    of centers. Class k gets n // k samples, the first n % k classes one more.

    With the default spread the two default classes are linearly separable: the centers are
    5 apart, so each lies 2.5 = 5 · spread from the perpendicular bisector, and a sample
    crosses it with probability Φ(-5) ≈ 3e-7.
    """
    owner = "blobs"
    n = _check_count(n, "n", owner, minimum=2)
    spread = _check_nonnegative(spread, "spread", owner)
    n_features = _check_count(n_features, "n_features", owner, minimum=2)
    centers = _centers(centers, n_features, owner)
    k = len(centers)
    _check_labels(labels, owner, n_classes=k)
    rng = as_generator(seed, owner, allow_none=False)
    y = np.repeat(np.arange(k), _split_counts(n, k))
    X = centers[y] + spread * rng.standard_normal((n, n_features))
    return _finish(X, y, labels, rng)


def xor(
    n: int = 200, noise: float = 0.1, labels: str = "01", seed: int | np.random.Generator = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem: x uniform in the square [-1, 1]², class 1 where x_1 x_2 < 0.

    The label is the exclusive or of (x_1 > 0) and (x_2 > 0), decided before Gaussian noise of
    standard deviation `noise` moves the points (so some cross the axes). No line separates the
    classes; one hidden layer of two units can.
    """
    owner = "xor"
    n = _check_count(n, "n", owner, minimum=1)
    noise = _check_nonnegative(noise, "noise", owner)
    _check_labels(labels, owner, n_classes=2)
    rng = as_generator(seed, owner, allow_none=False)
    X = rng.uniform(-1.0, 1.0, size=(n, 2))
    y = ((X[:, 0] > 0) != (X[:, 1] > 0)).astype(np.int64)
    X += noise * rng.standard_normal((n, 2))
    return _finish(X, y, labels, rng)


def circles(
    n: int = 200,
    noise: float = 0.05,
    factor: float = 0.5,
    labels: str = "01",
    seed: int | np.random.Generator = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric circles: class 0 on the unit circle, class 1 on the circle of radius
    `factor` (0 < factor < 1), at evenly spaced angles, plus Gaussian noise of std `noise`.

    Class 0 gets n // 2 points (the outer circle, as in scikit-learn's make_circles).
    """
    owner = "circles"
    n = _check_count(n, "n", owner, minimum=2)
    noise = _check_nonnegative(noise, "noise", owner)
    check(owner, "factor", factor, Interval(Real, 0, 1, closed="neither"))
    _check_labels(labels, owner, n_classes=2)
    rng = as_generator(seed, owner, allow_none=False)
    n_outer = n // 2
    parts, classes = [], []
    for label, count, radius in ((0, n_outer, 1.0), (1, n - n_outer, float(factor))):
        angle = np.linspace(0.0, 2.0 * np.pi, count, endpoint=False)
        parts.append(radius * np.column_stack([np.cos(angle), np.sin(angle)]))
        classes.append(np.full(count, label))
    X = np.concatenate(parts) + noise * rng.standard_normal((n, 2))
    return _finish(X, np.concatenate(classes), labels, rng)


def moons(
    n: int = 200, noise: float = 0.1, labels: str = "01", seed: int | np.random.Generator = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles: class 0 on (cos t, sin t), class 1 on
    (1 - cos t, 1/2 - sin t), t evenly spaced in [0, π], plus Gaussian noise of std `noise`
    (the layout of scikit-learn's make_moons). Class 0 gets n // 2 points.
    """
    owner = "moons"
    n = _check_count(n, "n", owner, minimum=2)
    noise = _check_nonnegative(noise, "noise", owner)
    _check_labels(labels, owner, n_classes=2)
    rng = as_generator(seed, owner, allow_none=False)
    n_upper = n // 2
    t_upper = np.linspace(0.0, np.pi, n_upper)
    t_lower = np.linspace(0.0, np.pi, n - n_upper)
    upper = np.column_stack([np.cos(t_upper), np.sin(t_upper)])
    lower = np.column_stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)])
    X = np.concatenate([upper, lower]) + noise * rng.standard_normal((n, 2))
    y = np.concatenate([np.zeros(n_upper, np.int64), np.ones(n - n_upper, np.int64)])
    return _finish(X, y, labels, rng)


def spirals(
    n: int = 200,
    turns: float = 1.5,
    noise: float = 0.03,
    labels: str = "01",
    seed: int | np.random.Generator = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved Archimedean spirals, class c at angle θ(t) + cπ and radius r(t):

        r = 0.15 + 0.85 t,   θ = 2π · turns · t,   t evenly spaced in [0, 1],

    plus Gaussian noise of std `noise`. Starting at radius 0.15 keeps the two arms apart at the
    centre; adjacent arms are 0.85 / (2 · turns) apart. Class 0 gets n // 2 points.
    """
    owner = "spirals"
    n = _check_count(n, "n", owner, minimum=2)
    noise = _check_nonnegative(noise, "noise", owner)
    check(owner, "turns", turns, Interval(Real, 0, None, closed="neither"))
    _check_labels(labels, owner, n_classes=2)
    rng = as_generator(seed, owner, allow_none=False)
    counts = (n // 2, n - n // 2)
    parts = []
    for label, count in enumerate(counts):
        t = np.linspace(0.0, 1.0, count)
        radius, angle = 0.15 + 0.85 * t, 2.0 * np.pi * float(turns) * t + label * np.pi
        parts.append(radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)]))
    X = np.concatenate(parts) + noise * rng.standard_normal((n, 2))
    y = np.repeat(np.arange(2), counts)
    return _finish(X, y, labels, rng)


def _finish(X: np.ndarray, y: np.ndarray, labels: str, rng: np.random.Generator):
    order = rng.permutation(len(y))
    X, y = np.ascontiguousarray(X[order], dtype=np.float64), y[order].astype(np.int64)
    return X, (2 * y - 1 if labels == "pm1" else y)


def _centers(centers, n_features: int, owner: str) -> np.ndarray:
    if isinstance(centers, numbers.Integral) and not isinstance(centers, bool):
        if centers < 2:
            check(owner, "centers", centers, Interval(Integral, 2, None))
        angle = np.pi / 4 + 2.0 * np.pi * np.arange(centers) / centers
        points = np.zeros((int(centers), n_features))
        points[:, :2] = 2.5 * np.column_stack([np.cos(angle), np.sin(angle)])
        return points
    points = np.asarray(centers, dtype=np.float64) if _is_numeric(centers) else None
    if points is None or points.ndim != 2 or points.shape[0] < 2 or points.shape[1] != n_features:
        got = f"shape {points.shape}" if points is not None else repr(centers)
        expected = f"an int >= 2 or an array of shape (k >= 2, n_features={n_features})"
        raise refusal(owner, "centers", expected, got)
    check_finite(owner, "centers", points, fix="")
    return points


def _is_numeric(value) -> bool:
    try:
        return np.asarray(value).dtype.kind in "biuf"
    except ValueError:
        return False


def _split_counts(n: int, k: int) -> list[int]:
    return [n // k + (1 if j < n % k else 0) for j in range(k)]


def _check_labels(labels, owner: str, n_classes: int) -> None:
    check(owner, "labels", labels, Options(LABELS))
    if labels == "pm1" and n_classes != 2:
        raise refusal(
            owner, "the number of classes, with labels='pm1',", "2", f"{n_classes}",
            fix="Use labels='01' (classes 0 .. k-1).",
        )  # fmt: skip


def _check_count(value, name: str, owner: str, minimum: int) -> int:
    return int(check(owner, name, value, Interval(Integral, minimum, None)))


def _check_nonnegative(value, name: str, owner: str) -> float:
    return float(check(owner, name, value, Interval(Real, 0, None)))
