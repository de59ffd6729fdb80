"""Line-search methods: the strong Wolfe search, and the iteration that uses it.

N&W = Nocedal and Wright, Numerical Optimization, 2nd ed. A line-search method (N&W chapter 3)
moves from x_k along a descent direction d_k (g_kᵀd_k < 0, g = ∇f) by a step α_k:

    x_{k+1} = x_k + α_k d_k

`iterate` runs that loop for L-BFGS, BFGS, Newton-CG (lbfgs.py, newton_cg.py) and steepest
descent (`minimize(method="gd")`), each of which only says how to choose d_k. Along d the
search looks at the one-variable function

    φ(α) = f(x + α d),    φ'(α) = ∇f(x + α d)ᵀ d,    φ'(0) < 0,

and returns a step α > 0 that satisfies the strong Wolfe conditions (N&W (3.7)):

    φ(α) ≤ φ(0) + c₁ α φ'(0)              (sufficient decrease, the Armijo condition)
    |φ'(α)| ≤ c₂ |φ'(0)|                   (curvature: the slope has flattened)

with 0 < c₁ < c₂ < 1. The constants are N&W's (section 3.1) for Newton and quasi-Newton
methods: c₁ = 1e-4, so that almost any decrease is accepted and the unit step, which such a
method makes good, is rarely refused; and c₂ = 0.9, a loose curvature condition that the unit
step usually meets at once (one evaluation per iteration), while it still guarantees yᵀs > 0
(y = ∇f(x + αd) − ∇f(x), s = αd), which keeps the BFGS update positive definite. (N&W take
c₂ = 0.1 for nonlinear conjugate gradients, which need a more exact search.) SciPy's BFGS and
PyTorch's L-BFGS use the same pair; SciPy's L-BFGS-B uses Moré and Thuente's c₁ = 1e-3.

The algorithm is N&W Algorithm 3.5 (bracketing) with Algorithm 3.6 (zoom). Every trial step
evaluates φ and φ' together (one evaluation of f and ∇f; the count is `n_eval`), so each
interpolation is cubic on both ends, N&W (3.59). Conventions where the textbook leaves a
choice:

- Extrapolation (the "choose α_{i+1} ∈ (α_i, α_max)" of Algorithm 3.5) takes the minimizer of
  the cubic through the last two trials, kept within [α_i + 1.1 (α_i − α_{i−1}),
  α_i + 4 (α_i − α_{i−1})] (Moré and Thuente's bounds); the upper bound when the cubic has no
  minimum. There is no α_max: `max_eval` bounds the search instead.
- In zoom, the cubic minimizer is kept at least 10% of the bracket's width away from either
  end (a safeguard against stalling next to one end); bisection when the cubic has no minimum.
- A trial whose φ is NaN or infinite counts as failing sufficient decrease: the search
  shortens the step and never accepts such a point.
- After `max_eval` evaluations without both conditions (or a bracket too narrow to split), the
  search gives up and returns the best point it found that satisfies sufficient decrease
  (possibly α = 0, no move), with `success=False`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Protocol

import numpy as np

from wengert._checks import Interval, check, refusal

C1 = 1e-4  # sufficient decrease (N&W section 3.1: "c₁ = 10⁻⁴")
C2 = 0.9  # curvature, for Newton and quasi-Newton directions (N&W section 3.1)
MAX_EVAL = 25  # evaluations per search (PyTorch's max_ls)

# The bracket [α_lo, α_hi] is too narrow to split once its width is below this fraction of α.
_NARROW = 4 * np.finfo(np.float64).eps


@dataclass(frozen=True)
class LineSearchResult:
    """The step a search chose: α, φ(α), φ'(α), the evaluations it spent, whether α meets both
    strong Wolfe conditions, and why it stopped."""

    alpha: float
    phi: float
    dphi: float
    n_eval: int
    success: bool
    message: str


@dataclass(frozen=True)
class _Trial:
    alpha: float
    phi: float
    dphi: float


class _Search:
    """One search's constants and its evaluation count."""

    def __init__(self, phi, phi0, dphi0, c1, c2, max_eval) -> None:
        self.phi, self.phi0, self.dphi0 = phi, phi0, dphi0
        self.c1, self.c2, self.max_eval = c1, c2, max_eval
        self.n_eval = 0

    def trial(self, alpha: float) -> _Trial:
        value, slope = self.phi(alpha)
        self.n_eval += 1
        return _Trial(float(alpha), float(value), float(slope))

    def decreases(self, t: _Trial) -> bool:
        """Sufficient decrease; False for a non-finite φ."""
        return math.isfinite(t.phi) and t.phi <= self.phi0 + self.c1 * t.alpha * self.dphi0

    def flat(self, t: _Trial) -> bool:
        """The strong curvature condition."""
        return abs(t.dphi) <= -self.c2 * self.dphi0

    def done(self, t: _Trial, success: bool, message: str) -> LineSearchResult:
        return LineSearchResult(t.alpha, t.phi, t.dphi, self.n_eval, success, message)


UNIT = Interval(Real, 0, 1, closed="neither")


def _check_arguments(phi0, dphi0, alpha, c1, c2, max_eval) -> None:
    owner = "strong_wolfe"
    check(owner, "phi0", phi0, Interval(Real))
    descent = "φ'(0) < 0: d must be a descent direction."
    check(owner, "dphi0", dphi0, Interval(Real, None, 0, closed="neither"), fix=descent)
    check(owner, "alpha", alpha, Interval(Real, 0, None, closed="neither"))
    check(owner, "c1", c1, UNIT)
    check(owner, "c2", c2, UNIT)
    if not c1 < c2:
        raise refusal(owner, "c2", f"greater than c1 = {c1!r} (0 < c1 < c2 < 1)", repr(c2))
    check(owner, "max_eval", max_eval, Interval(Integral, 1, None))


def strong_wolfe(
    phi: Callable[[float], tuple[float, float]],
    phi0: float,
    dphi0: float,
    alpha: float = 1.0,
    *,
    c1: float = C1,
    c2: float = C2,
    max_eval: int = MAX_EVAL,
) -> LineSearchResult:
    """A step α satisfying the strong Wolfe conditions: N&W Algorithm 3.5, zoom Algorithm 3.6.

    phi(α) returns (φ(α), φ'(α)); phi0 = φ(0), dphi0 = φ'(0) < 0 (a descent direction);
    `alpha` is the first trial step (1 for Newton and quasi-Newton directions).
    """
    _check_arguments(phi0, dphi0, alpha, c1, c2, max_eval)
    search = _Search(phi, float(phi0), float(dphi0), c1, c2, max_eval)
    prev = _Trial(0.0, float(phi0), float(dphi0))
    while search.n_eval < max_eval:
        cur = search.trial(alpha)
        if not search.decreases(cur) or (prev.alpha > 0 and cur.phi >= prev.phi):
            return _zoom(search, prev, cur)
        if search.flat(cur):
            return search.done(cur, True, "strong Wolfe conditions hold")
        if cur.dphi >= 0:
            return _zoom(search, cur, prev)
        alpha = _extrapolate(prev, cur)
        prev = cur
    return search.done(prev, False, f"no step met the curvature condition in {max_eval} trials")


def _zoom(search: _Search, lo: _Trial, hi: _Trial) -> LineSearchResult:
    """N&W Algorithm 3.6: lo satisfies sufficient decrease and has the lower φ; the bracket
    between lo and hi holds a step satisfying both conditions."""
    while search.n_eval < search.max_eval:
        if abs(hi.alpha - lo.alpha) <= _NARROW * max(lo.alpha, hi.alpha):
            return search.done(lo, False, "the bracket became too narrow to split")
        cur = search.trial(_interpolate(lo, hi))
        if not search.decreases(cur) or cur.phi >= lo.phi:
            hi = cur
            continue
        if search.flat(cur):
            return search.done(cur, True, "strong Wolfe conditions hold")
        if cur.dphi * (hi.alpha - lo.alpha) >= 0:
            hi = lo
        lo = cur
    message = f"no step met both conditions in {search.max_eval} trials"
    return search.done(lo, False, message)


def cubic_minimizer(a: float, fa: float, da: float, b: float, fb: float, db: float) -> float:
    """The minimizer of the cubic with values fa, fb and slopes da, db at a and b; NaN if it has
    none (N&W (3.59))."""
    with np.errstate(all="ignore"):
        d1 = da + db - 3 * (fa - fb) / (a - b)
        radicand = d1 * d1 - da * db
        if not radicand >= 0:  # also False for NaN
            return math.nan
        d2 = math.copysign(math.sqrt(radicand), b - a)
        denominator = db - da + 2 * d2
        if denominator == 0 or not math.isfinite(denominator):
            return math.nan
        return b - (b - a) * (db + d2 - d1) / denominator


def _interpolate(lo: _Trial, hi: _Trial) -> float:
    """The safeguarded cubic step inside the bracket (bisection when the cubic fails)."""
    left, right = min(lo.alpha, hi.alpha), max(lo.alpha, hi.alpha)
    x = cubic_minimizer(lo.alpha, lo.phi, lo.dphi, hi.alpha, hi.phi, hi.dphi)
    if not math.isfinite(x):
        return 0.5 * (left + right)
    margin = 0.1 * (right - left)
    return min(max(x, left + margin), right - margin)


def _extrapolate(prev: _Trial, cur: _Trial) -> float:
    """The next, longer trial step of the bracketing phase (Moré and Thuente's bounds)."""
    width = cur.alpha - prev.alpha
    low, high = cur.alpha + 1.1 * width, cur.alpha + 4.0 * width
    x = cubic_minimizer(prev.alpha, prev.phi, prev.dphi, cur.alpha, cur.phi, cur.dphi)
    if not math.isfinite(x) or x > high:
        return high
    return max(x, low)


# ----------------------------------------------------------------------- the iteration
@dataclass
class Point:
    """An iterate: x (flat float64) with f(x), ∇f(x), and what the method needs there (for
    Newton-CG, the map v ↦ ∇²f(x) v); f and g are None where x was not evaluated."""

    x: np.ndarray
    f: float | None = None
    g: np.ndarray | None = None
    extra: object = None


class Progress:
    """The last accepted point, for a caller to fall back on when an evaluation raises."""

    def __init__(self, point: Point) -> None:
        self.point = point


# evaluate(x) -> (f, g, extra): f(x), ∇f(x) and what the method needs at x (Point.extra).
Evaluate = Callable[[np.ndarray], tuple[float, np.ndarray, object]]


class Method(Protocol):
    """What `iterate` asks of a method (the closure optimizers, minimize's maths)."""

    def direction(self, point: Point, state: dict) -> np.ndarray:
        """The direction d_k at the evaluated `point`."""

    def first_step(self, g: np.ndarray, state: dict, lr: float) -> float:
        """The first trial step α along d_k, from the gradient `g` and the step size `lr`."""


def iterate(
    method: Method,
    evaluate: Evaluate,
    point: Point,
    state: dict,
    hyper: dict,
    progress: Progress | None = None,
) -> tuple[Point, str, str]:
    """Up to hyper["max_iter"] line-search iterations from the evaluated `point`.

    Returns (last point, stop code, message). `method.direction(point, state)` gives d_k,
    `method.first_step(g, state, lr)` the first trial α; `evaluate(x)` returns (f, g, extra).
    hyper: lr, max_iter, max_eval (this call's evaluations, `point`'s included), tolerance_grad,
    tolerance_change, line_search ("strong_wolfe", or None: α = the first step, fixed). state
    counts "n_iter" and "func_evals" over calls and keeps the last step (d, t, gtd = gᵀd,
    prev_flat_grad, prev_loss) for the methods' memory.

    Stop codes, in PyTorch LBFGS's order: "converged" (|g|∞ ≤ tolerance_grad, also before
    the first iteration), "not_descent" (gᵀd ≥ 0), "max_iter", "max_eval", "change" (−gᵀd,
    max|α d| or |Δf| within tolerance_change, absolute: see closure.py); "line_search" (no
    decrease found), "non_finite" (a fixed step's loss; the point before it is returned). With
    no line search the last point is not evaluated (f and g None), as in PyTorch."""
    tol_change, evals = hyper["tolerance_change"], 1
    if _gnorm(point.g) <= hyper["tolerance_grad"]:
        return point, "converged", _converged_message(point.g, hyper)
    for k in range(1, hyper["max_iter"] + 1):
        state["n_iter"] += 1
        d = method.direction(point, state)
        t = method.first_step(point.g, state, hyper["lr"])
        gtd = float(point.g @ d)
        if not gtd < -tol_change:
            return point, *_flat_slope(gtd, point, hyper)
        last = k == hyper["max_iter"]
        new, t, used, failure = _advance(evaluate, point, d, t, gtd, hyper["line_search"], last)
        evals += used
        state["func_evals"] += used
        if failure is not None:
            return point, failure, _failure_message(failure, state["n_iter"], new)
        state.update(d=d, t=t, gtd=gtd, prev_flat_grad=point.g, prev_loss=point.f)
        prev_f, point = point.f, new
        if progress is not None:
            progress.point = point
        stop = _stop_after_step(k, point, prev_f, t * d, evals, hyper)
        if stop is not None:
            return point, *stop
    return point, "max_iter", f"max_iter = {hyper['max_iter']} iterations done"


def _stop_after_step(k: int, point: Point, prev_f, step, evals: int, hyper: dict):
    """(code, message) of the stop rules checked after iteration k's step, or None."""
    tol_change = hyper["tolerance_change"]
    if k == hyper["max_iter"]:
        return "max_iter", f"max_iter = {k} iterations done" + _short(point, hyper)
    if evals >= hyper["max_eval"]:
        done = f"max_eval = {hyper['max_eval']} evaluations done"
        return "max_eval", done + _short(point, hyper)
    if _gnorm(point.g) <= hyper["tolerance_grad"]:
        return "converged", _converged_message(point.g, hyper)
    if float(np.max(np.abs(step))) <= tol_change or abs(point.f - prev_f) < tol_change:
        changed = f"x or the loss changed by less than tolerance_change = {tol_change:g}"
        return "change", changed + _short(point, hyper)
    return None


def _flat_slope(gtd: float, point: Point, hyper: dict) -> tuple[str, str]:
    """The stop (code, message) when the slope gᵀd along d is not below −tolerance_change."""
    if not math.isfinite(gtd):
        return "not_descent", f"the direction is not finite (gᵀd = {gtd})"
    if gtd >= 0:
        return "not_descent", f"the slope along d, gᵀd = {gtd:.3g}, is not negative"
    return "change", (
        f"the decrease predicted along d, −gᵀd = {-gtd:.3g}, is within tolerance_change = "
        f"{hyper['tolerance_change']:g}" + _short(point, hyper)
    )


def _short(point: Point, hyper: dict) -> str:
    """How far from tolerance_grad a stop left |g|∞ ("" when g was not evaluated)."""
    if point.g is None:
        return ""
    return f"; |g|∞ = {_gnorm(point.g):.3g} > tolerance_grad = {hyper['tolerance_grad']:g}"


def _advance(evaluate, point: Point, d, t: float, gtd: float, line_search, last: bool):
    """(new point, α taken, evaluations, None) of one step along d; on failure (detail, α,
    evaluations, code)."""
    if line_search is None:
        x = point.x + t * d
        if last:  # PyTorch's economy: the next step's first closure call evaluates x
            return Point(x), t, 0, None
        f, g, extra = evaluate(x)
        if not math.isfinite(f):
            return f, t, 1, "non_finite"
        return Point(x, f, g, extra), t, 1, None
    last_trial = {}  # only the latest: an earlier accepted trial is evaluated again

    def phi(alpha):
        x = point.x + alpha * d
        f, g, extra = evaluate(x)
        last_trial.update(alpha=alpha, point=Point(x, f, g, extra))
        return f, float(g @ d)

    result = strong_wolfe(phi, point.f, gtd, t)
    if result.alpha == 0 or not result.phi < point.f:
        return result.message, 0.0, result.n_eval, "line_search"
    if result.alpha != last_trial["alpha"]:
        x = point.x + result.alpha * d
        return Point(x, *evaluate(x)), result.alpha, result.n_eval + 1, None
    return last_trial["point"], result.alpha, result.n_eval, None


def _gnorm(g) -> float:
    return math.inf if g is None else float(np.max(np.abs(g)))


def _converged_message(g, hyper: dict) -> str:
    return f"|g|∞ = {_gnorm(g):.3g} ≤ tolerance_grad = {hyper['tolerance_grad']:g}"


def _failure_message(code: str, iteration: int, detail) -> str:
    if code == "non_finite":
        return (
            f"the loss became {detail} at iteration {iteration}; the parameters keep their "
            f"last finite values (try a smaller lr, or line_search='strong_wolfe')"
        )
    return f"the line search of iteration {iteration} found no decrease: {detail}"


__all__ = [
    "C1",
    "C2",
    "MAX_EVAL",
    "Evaluate",
    "LineSearchResult",
    "Method",
    "Point",
    "Progress",
    "cubic_minimizer",
    "iterate",
    "strong_wolfe",
]
