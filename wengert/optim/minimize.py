"""minimize(f, x0): the minimum of a function of a NumPy array, SciPy-style, on wengert's maths.

>>> import wengert as wg
>>> from wengert.optim import minimize
>>> rosenbrock = lambda x: (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
>>> result = minimize(rosenbrock, [-1.2, 1.0], method="lbfgs", tol=1e-10)
>>> result.converged, result.x.round(6).tolist()
(True, [1.0, 1.0])

f is written with wengert's operations (it receives a Tensor of x0's shape) and returns a
scalar; its gradient comes from `wengert.value_and_grad` (Newton-CG: the gradient's graph, for
exact Hessian-vector products). The methods are the optimizers' own maths on the flat float64
vector, with the stop rule |∇f(x)|∞ ≤ tol (SciPy's gtol, PyTorch's tolerance_grad):

    "lbfgs"      L-BFGS, N&W Algorithm 7.5 with the two-loop recursion 7.4 (LBFGS's maths)
    "bfgs"       BFGS, N&W Algorithm 6.1 (BFGS's maths)
    "newton-cg"  line-search Newton-CG, N&W Algorithm 7.1 (NewtonCG's maths)
    "gd"         gradient descent, x ← x − lr·∇f(x) (the lecture's), or steepest descent with
                 line_search="strong_wolfe"
    "adam"       Adam (`adam_rule`, no weight decay), for comparison

Options and their defaults (`OPTIONS`; an unknown option is refused); the meaning of each is
the optimizer class's (LBFGS, BFGS, NewtonCG, Adam):

    lbfgs, bfgs, newton-cg, gd:  lr=1 (gd: 1e-3), line_search="strong_wolfe" (gd: None),
                                 max_eval=None (no limit), tolerance_change=0
    lbfgs:                       history_size=10
    newton-cg:                   max_cg_iter=None (20·n), forcing=0.5
    adam:                        lr=1e-3, betas=(0.9, 0.999), eps=1e-8

max_iter defaults to 1,000 (10,000 for gd and adam). With tolerance_change = 0 only tol,
max_iter, max_eval and a failed line search end a run (the optimizer classes default to
PyTorch's 1e-9, which also stops on a tiny change of the loss). A non-finite f ends it, x at
the last finite point, `converged=False`, the message saying at which iteration. A run whose
budget (max_iter or max_eval) ends before |∇f|∞ ≤ tol warns with a ConvergenceWarning that
names the budget, the |∇f|∞ reached and tol; the result is returned as it is.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from wengert._checks import ConvergenceWarning, Options, check, check_finite, check_params, refusal
from wengert.autodiff.functional import value_and_grad
from wengert.autodiff.mode import enable_grad
from wengert.autodiff.tensor import Tensor
from wengert.optim.adam import Adam, adam_init_state, adam_rule
from wengert.optim.closure import LINE_SEARCH, FlatParams
from wengert.optim.hyperparameters import COUNT, NON_NEGATIVE, POSITIVE
from wengert.optim.lbfgs import BFGS, LBFGS
from wengert.optim.line_search import Point, iterate
from wengert.optim.newton_cg import NewtonCG, graph_hvp

_LINE_SEARCH = {"lr": 1.0, "line_search": "strong_wolfe", "max_eval": None, "tolerance_change": 0.0}
OPTIONS = {
    "adam": {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8},
    "bfgs": dict(_LINE_SEARCH),
    "gd": {**_LINE_SEARCH, "lr": 1e-3, "line_search": None},
    "lbfgs": {**_LINE_SEARCH, "history_size": 10},
    "newton-cg": {**_LINE_SEARCH, "max_cg_iter": None, "forcing": 0.5},
}
METHODS = tuple(sorted(OPTIONS))
MAX_ITER = {"adam": 10_000, "bfgs": 1_000, "gd": 10_000, "lbfgs": 1_000, "newton-cg": 1_000}
_CLASSES = {"bfgs": BFGS, "lbfgs": LBFGS, "newton-cg": NewtonCG}
_GD = {
    "lr": [POSITIVE],
    "max_eval": [COUNT, None],
    "tolerance_change": [NON_NEGATIVE],
    "line_search": list(LINE_SEARCH.allowed),
}


@dataclass(frozen=True)
class MinimizeResult:
    """What minimize() found: x (x0's shape), fun = f(x), grad_norm = |∇f(x)|∞, iterations,
    evaluations of f and ∇f, whether grad_norm ≤ tol, and why it stopped."""

    x: np.ndarray
    fun: float
    grad_norm: float
    n_iter: int
    n_fev: int
    converged: bool
    message: str


class _SteepestDescent:
    """d = −g, with the step lr (or the line search's first trial lr)."""

    def direction(self, point: Point, state: dict) -> np.ndarray:
        return -point.g

    def first_step(self, g: np.ndarray, state: dict, lr: float) -> float:
        return lr


def minimize(
    f: Callable[[Tensor], Tensor],
    x0: ArrayLike | Tensor,
    method: str = "lbfgs",
    *,
    tol: float = 1e-6,
    max_iter: int | None = None,
    **options: object,
) -> MinimizeResult:
    """Minimize scalar f from x0 by `method`; see the module docstring for methods and options."""
    check("minimize", "method", method, Options(METHODS))
    owner = f"minimize(method={method!r})"
    unknown = sorted(set(options) - set(OPTIONS[method]))
    if unknown:
        raise refusal(owner, "each option", f"one of {sorted(OPTIONS[method])}", repr(unknown[0]))
    check(owner, "tol", tol, NON_NEGATIVE)
    max_iter = MAX_ITER[method] if max_iter is None else max_iter
    check(owner, "max_iter", max_iter, COUNT)
    shape = np.shape(getattr(x0, "data", x0))
    x = _start(x0)
    state = {"n_iter": 0, "func_evals": 1}
    evaluate = _objective(f, shape, method, state)
    hyper = {**OPTIONS[method], **options, "max_iter": max_iter, "tolerance_grad": tol}
    method_maths = _method(method, x, hyper, owner)
    f0, g0, extra = evaluate(x)
    if not math.isfinite(f0):
        return _result(shape, Point(x, f0, g0), state, tol, f"f(x0) is {f0}")
    point = Point(x, f0, g0, extra)
    if method == "adam":
        point, code, message = _adam(evaluate, point, state, hyper)
    else:
        point, code, message = iterate(method_maths, evaluate, point, state, hyper)
    if point.f is None:  # a fixed step's last point is not evaluated by iterate
        point = Point(point.x, *evaluate(point.x))
        state["func_evals"] += 1
    result = _result(shape, point, state, tol, message)
    if code in ("max_iter", "max_eval") and not result.converged:
        _warn_budget(owner, code, hyper[code], result.grad_norm, tol)
    return result


def _warn_budget(owner: str, budget: str, size: int, grad_norm: float, tol: float) -> None:
    """The ConvergenceWarning of a run that used up max_iter or max_eval before tol."""
    unit = "iterations" if budget == "max_iter" else "evaluations"
    warnings.warn(
        f"{owner}: the budget ran out before |∇f|∞ ≤ tol: {budget} = {size} {unit} done, "
        f"|∇f|∞ = {grad_norm:.3g} > tol = {tol:g}. Raise {budget}, or tol.",
        ConvergenceWarning,
        stacklevel=3,
    )


def _start(x0) -> np.ndarray:
    x = np.asarray(getattr(x0, "data", x0))
    if x.size == 0 or x.dtype.kind not in "fiu":
        raise refusal(
            "minimize", "x0", "a non-empty array of numbers",
            f"a {type(x0).__name__} of shape {x.shape} and dtype {x.dtype}",
            ValueError if x.dtype.kind in "fiu" else TypeError,
        )  # fmt: skip
    x = x.astype(np.float64).ravel()
    check_finite("minimize", "x0", x, fix="")
    return x


def _method(method: str, x: np.ndarray, hyper: dict, owner: str):
    """The maths object that `iterate` runs (None for Adam), with the options checked against
    the optimizer class's table; hyper["max_eval"] None becomes no limit."""
    cls = {**_CLASSES, "adam": Adam}.get(method)
    table = (
        _GD if cls is None else {**cls.constraints(), "lr": _GD["lr"], "max_eval": _GD["max_eval"]}
    )
    check_params(owner, hyper, {k: v for k, v in table.items() if k in hyper})
    if method in _CLASSES:
        maths = _CLASSES[method]([Tensor(x, requires_grad=True)], **hyper)
    else:
        maths = None if method == "adam" else _SteepestDescent()
    if hyper.get("max_eval", 0) is None:
        hyper["max_eval"] = math.inf
    return maths


def _objective(f, shape: tuple, method: str, state: dict):
    """evaluate(x) -> (f, ∇f, extra) of the flat x; Newton-CG's extra is v ↦ ∇²f v."""

    def checked(x):
        out = f(x)
        data = np.asarray(getattr(out, "data", out))
        if data.size != 1:
            got = f"shape {data.shape} at iteration {state['n_iter']}"
            raise refusal("minimize", "f's value", "a scalar (a one-element Tensor)", got)
        return out

    if method != "newton-cg":
        value_and_grad_f = value_and_grad(checked)

        def evaluate(x):
            value, g = value_and_grad_f(x.reshape(shape))
            return float(value), np.asarray(g, dtype=np.float64).ravel(), None

        return evaluate

    def evaluate_with_graph(x):
        leaf = Tensor(x.reshape(shape), requires_grad=True)
        with enable_grad():
            out = checked(leaf)
            if isinstance(out, Tensor) and out.requires_grad:
                out.backward(create_graph=True)
        flat = FlatParams([leaf])
        value = float(np.asarray(getattr(out, "data", out)).reshape(()))
        return value, flat.grad(), graph_hvp(flat, "minimize(method='newton-cg')")

    return evaluate_with_graph


def _adam(evaluate, point: Point, state: dict, hyper: dict) -> tuple[Point, str, str]:
    """Adam steps (`adam_rule`) until |g|∞ ≤ tol, max_iter, or a non-finite f."""
    moments = adam_init_state(point.x, amsgrad=False)
    tol = hyper["tolerance_grad"]
    for _ in range(hyper["max_iter"]):
        if float(np.max(np.abs(point.g))) <= tol:
            return point, "converged", f"|g|∞ ≤ tol = {tol:g}"
        state["n_iter"] += 1
        d, moments = adam_rule(
            point.g, moments, lr=hyper["lr"], betas=hyper["betas"], eps=hyper["eps"], amsgrad=False
        )
        x = point.x - hyper["lr"] * d
        value, g, _ = evaluate(x)
        state["func_evals"] += 1
        if not math.isfinite(value):
            at = f"f became {value} at iteration {state['n_iter']}; x is the last finite point"
            return point, "non_finite", at
        point = Point(x, value, g)
    if float(np.max(np.abs(point.g))) <= tol:
        return point, "converged", f"|g|∞ ≤ tol = {tol:g}"
    return point, "max_iter", f"max_iter = {hyper['max_iter']} iterations done"


def _result(shape, point: Point, state: dict, tol: float, message: str) -> MinimizeResult:
    grad_norm = float(np.max(np.abs(point.g))) if point.g is not None else math.nan
    return MinimizeResult(
        x=point.x.reshape(shape).copy(),
        fun=float(point.f),
        grad_norm=grad_norm,
        n_iter=state["n_iter"],
        n_fev=state["func_evals"],
        converged=bool(grad_norm <= tol),
        message=message,
    )


__all__ = ["METHODS", "MinimizeResult", "minimize"]
