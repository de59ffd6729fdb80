"""The bookkeeping of the closure optimizers: LBFGS and BFGS (lbfgs.py), NewtonCG (newton_cg.py).

N&W = Nocedal and Wright, Numerical Optimization, 2nd ed. The closure optimizers run the
line-search iteration of line_search.py, x_{k+1} = x_k + α_k d_k, and differ only in the
direction d_k. Their conventions are PyTorch's `torch.optim.LBFGS`:

- `opt.step(closure)`: the closure re-evaluates the model, calls `loss.backward()` (NewtonCG:
  `loss.backward(create_graph=True)`) and returns the loss; one step runs up to `max_iter`
  iterations and `max_eval` closure calls (default max_iter·5/4; the line search may call the
  closure several times per iteration, at most 25) and returns the loss of its first closure
  call. The class attribute `needs_closure = True` tells fit() to call step(closure) (and
  `create_graph`, whether its closure must record the gradient's graph).
- The parameters of all groups are flattened into one float64 vector x (each parameter raveled
  in C order, in group order); the maths runs on x and its gradient g, and each parameter's
  `.data` is updated in place (cast back to its dtype). Hence every group must have the same
  hyperparameters: a group with different ones is refused. A `.grad` of None counts as zeros.
- A step ends when |g|∞ ≤ tolerance_grad (also before its first iteration), when
  gᵀd ≥ −tolerance_change, when max|α d| ≤ tolerance_change or the loss changes by less than
  tolerance_change, when max_iter or max_eval is reached, or when the line search finds no
  decrease; `opt.stop_reason` says which, and for a stop before tolerance_grad, the |g|∞
  reached. tolerance_change is PyTorch's absolute test in the units of the loss: −gᵀd is the
  decrease the step predicts (about 2 (f − f*) near a minimum), so the default 1e-9 ends a
  step on a loss whose minimum is 0 once f − f* ≈ 1e-12, which can be before |g|∞ ≤
  tolerance_grad (Rosenbrock from (−1.2, 1): |g|∞ ≈ 4e-6 against 1e-7). Pass
  tolerance_change=0 to run until tolerance_grad, the budget or the line search ends it, as
  `minimize` does. A step that uses up max_iter or max_eval before tolerance_grad warns with a
  ConvergenceWarning, once per optimizer (a step is often one slice of a longer run, called
  in a loop) and not for steps of max_iter = 1, which are slices by construction; fit(), whose
  epochs are the budget, does not pass it on. When the line search finds no decrease at the
  very first iteration, the parameters stay where they were and the step warns
  (RuntimeWarning): the first trial step is likely far too long.
- The first iteration ever tries α = min(1, 1/‖g‖₁)·lr (the first direction, −g, has no sense
  of scale); later ones α = lr (default 1: the quasi-Newton step). With line_search=None that
  α is the step, fixed; with "strong_wolfe" it is the line search's first trial.
- The curvature pair s = x_{k+1} − x_k, y = g_{k+1} − g_k is formed at the start of the next
  iteration (so it carries over from one step call to the next, as in PyTorch) and skipped
  when yᵀs ≤ ε·(−g_kᵀs), ε the float64 machine epsilon: L-BFGS-B's rule (Byrd, Lu, Nocedal
  and Zhu 1995), which keeps the update positive definite and, unlike PyTorch's fixed
  yᵀs ≤ 1e-10, does not depend on the scale of f. The strong Wolfe search guarantees yᵀs > 0
  (N&W (6.8)); a fixed step does not.
- State: `opt.state[first parameter]`, as in PyTorch, also in `state_dict()`: "n_iter" and
  "func_evals" (counters over all steps, also `opt.n_iter` and `opt.n_fev`), the last step
  ("d", "t", "gtd", "prev_flat_grad", "prev_loss"), and each method's memory.
- Errors: a closure that returns anything but one number raises ValueError saying at which
  iteration. A non-finite loss (NaN or ±inf) at the start of a step, or after a fixed step,
  ends the step with a RuntimeWarning that says at which iteration; the parameters keep their
  last finite values. (A non-finite trial of the strong Wolfe search only shortens the step.)
  Whatever the closure raises, the parameters are left at the last accepted iterate.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import numpy as np

from wengert._checks import ConvergenceWarning, Options, refusal
from wengert.autodiff.mode import enable_grad
from wengert.optim.hyperparameters import COUNT, NON_NEGATIVE, Hyper, learning_rate
from wengert.optim.line_search import Evaluate, Point, Progress, iterate
from wengert.optim.optimizer import Optimizer, _matched, check_state_dict_kind, lr_at

CURVATURE_EPS = float(np.finfo(np.float64).eps)

# The declarations every closure optimizer starts with, in PyTorch LBFGS's order; LINE_SEARCH
# comes last.
BUDGET = (
    learning_rate(1),
    Hyper("max_iter", 20, (COUNT,), "most iterations per step()"),
    Hyper("max_eval", None, (COUNT, None), "most closure calls per step() (None: max_iter·5/4)"),
    Hyper("tolerance_grad", 1e-7, (NON_NEGATIVE,), "stop once |g|∞ ≤ tolerance_grad"),
    Hyper("tolerance_change", 1e-9, (NON_NEGATIVE,), "stop once f or x changes by less"),
)
LINE_SEARCH = Hyper(
    "line_search", "strong_wolfe", (Options(["strong_wolfe"]), None), "None: α = lr, fixed"
)
if TYPE_CHECKING:
    from wengert.autodiff.tensor import Tensor

_SCALARS = ("n_iter", "func_evals", "t", "gtd", "prev_loss", "n_pairs", "n_hvp")


# ------------------------------------------------------------------ parameters as one vector
class FlatParams:
    """Parameters as one float64 vector x: read it, write it back in place, gather ∇f.

    `owner` is who a refused `.grad` names (the optimizer's step)."""

    def __init__(self, params: Iterable[Tensor], owner: str = "FlatParams.grad") -> None:
        self.params = list(params)
        self.owner = owner
        sizes = [p.data.size for p in self.params]
        ends = np.cumsum(sizes)
        self.bounds = [(int(e - s), int(e)) for s, e in zip(sizes, ends, strict=True)]
        self.n = int(ends[-1])

    def read(self) -> np.ndarray:
        """A new float64 vector x of every parameter's values, raveled in C order, in order."""
        return np.concatenate([p.data.ravel() for p in self.params], dtype=np.float64)

    def write(self, x: np.ndarray) -> None:
        """Copy the vector `x` back into each parameter's `.data`, in place, cast to its dtype."""
        for p, (a, b) in zip(self.params, self.bounds, strict=True):
            np.copyto(p.data, x[a:b].reshape(p.data.shape), casting="same_kind")

    def grad(self) -> np.ndarray:
        """The flat gradient, zeros where a `.grad` is None (PyTorch's convention); a `.grad`
        of another shape than its parameter is refused (raveled, one of the same size would
        pass silently), and step() then leaves the parameters at the last accepted iterate."""
        g = np.zeros(self.n)
        for k, (p, (a, b)) in enumerate(zip(self.params, self.bounds, strict=True)):
            if p.grad is not None:
                grad = getattr(p.grad, "data", p.grad)
                if np.shape(grad) != p.data.shape:
                    raise refusal(
                        self.owner,
                        f"the .grad of parameter {k}",
                        f"of the parameter's shape {p.data.shape}",
                        f"shape {np.shape(grad)}",
                        fix="The parameters keep their last accepted values.",
                    )
                g[a:b] = np.ravel(grad)
        return g


def loss_value(loss: object, owner: str, iteration: int) -> float:
    """The closure's loss as a float: TypeError for anything but numbers, ValueError for more
    than one."""
    data = np.asarray(getattr(loss, "data", loss))
    if data.size != 1 or data.dtype.kind not in "fiu":
        raise refusal(
            owner,
            "the closure's return value",
            "the loss, a one-element Tensor or a number",
            f"a {type(loss).__name__} of shape {data.shape} and dtype {data.dtype} at "
            f"iteration {iteration}",
            ValueError if data.dtype.kind in "fiu" else TypeError,
        )
    return float(data.reshape(()))


# ------------------------------------------------------------------ the shared bookkeeping
class ClosureOptimizer(Optimizer):
    """Base of LBFGS, BFGS and NewtonCG: step(closure) on the flat vector, state dicts.

    A subclass gives `direction(point, state)` (d_k), and may change `first_step`, `extra`
    (what an evaluation adds for the direction) and `_state_shapes`.
    """

    needs_closure = True  # fit() calls step(closure) for optimizers that say so
    create_graph = False  # whether the closure's backward must record the gradient's graph

    def _defaults(self, args: tuple, kwargs: dict) -> dict:
        defaults = super()._defaults(args, kwargs)
        if defaults["max_eval"] is None and isinstance(defaults["max_iter"], int):
            defaults["max_eval"] = defaults["max_iter"] * 5 // 4  # PyTorch's default
        return defaults

    def __init__(self, params, *args, **kwargs) -> None:
        self.stop_reason = ""
        self._budget_warned = False
        super().__init__(params, *args, **kwargs)

    def add_param_group(self, group: dict) -> None:
        """Add `group` as the base does; refused, and not added, when one of its
        hyperparameters differs from group 0's (all parameters become one vector)."""
        super().add_param_group(group)
        first, new = self.param_groups[0], self.param_groups[-1]
        differ = [k for k in self.defaults if new[k] is not first[k] and new[k] != first[k]]
        if differ:
            self.param_groups.pop()
            key = differ[0]
            raise refusal(
                type(self).__name__,
                f"{key} of param group {len(self.param_groups)}",
                f"group 0's, {first[key]!r} (all parameters become one vector)",
                repr(new[key]),
            )

    @property
    def n_iter(self) -> int:
        """Iterations over all steps so far."""
        return self._flat_state().get("n_iter", 0)

    @property
    def n_fev(self) -> int:
        """Closure calls (evaluations of f and ∇f) over all steps so far."""
        return self._flat_state().get("func_evals", 0)

    def _flat_state(self) -> dict:
        return self.state.setdefault(self.param_groups[0]["params"][0], {})

    def step(self, closure: Callable[[], Tensor | float] | None = None) -> Tensor | float:
        """Up to max_iter iterations; returns the loss of the first closure call."""
        owner = type(self).__name__
        if closure is None:
            raise refusal(
                f"{owner}.step",
                "closure",
                "a callable that re-evaluates the loss",
                "None",
                TypeError,
                fix="E.g. def closure(): opt.zero_grad(); loss = loss_fn(model(X), y); "
                "loss.backward(); return loss",
            )
        group = self.param_groups[0]
        hyper = {k: group[k] for k in self.defaults}
        hyper["lr"] = lr_at(group["lr"], group["t"] + 1, 0, owner)
        flat = FlatParams((p for g in self.param_groups for p in g["params"]), f"{owner}.step")
        state = self._flat_state()
        state.setdefault("n_iter", 0)
        state.setdefault("func_evals", 0)
        losses = []
        evaluate = self._objective(flat, closure, state, losses)
        start = flat.read()
        progress = Progress(Point(start))
        try:
            code, message = self._run(evaluate, progress, state, hyper)
        finally:
            flat.write(progress.point.x)
        for g in self.param_groups:
            g["t"] += 1
        self.stop_reason = message
        end = progress.point
        short = end.g is not None and float(np.max(np.abs(end.g))) > hyper["tolerance_grad"]
        # Stuck at the first iteration ever: the first trial step is likely far too long. Later,
        # a search that finds no decrease is usually a minimum reached to rounding.
        stuck = end.x is start and state["n_iter"] == 1
        self._warn(code, message, stuck=stuck, short=short, hyper=hyper)
        return losses[0]

    def _warn(self, code: str, message: str, stuck: bool, short: bool, hyper: dict) -> None:
        """Say what a step's stop means when it is not what the caller hoped for: a
        non-finite loss, a line search that could not take the first step, and (once per optimizer,
        for steps of more than one iteration) a budget that ended before tolerance_grad."""
        owner = type(self).__name__
        if code == "non_finite":
            warnings.warn(f"{owner}: {message}", RuntimeWarning, stacklevel=3)
        elif code == "line_search" and stuck:
            warnings.warn(
                f"{owner}: {message}; the parameters did not move. The first trial step may be "
                f"far too long (lr = {hyper['lr']:g}) or the gradient wrong: try a smaller lr",
                RuntimeWarning,
                stacklevel=3,
            )
        elif code in ("max_iter", "max_eval") and short and not self._budget_warned:
            # A step of one iteration is a slice by construction: its budget is the point.
            self._budget_warned = hyper["max_iter"] > 1
            if self._budget_warned:
                warnings.warn(
                    f"{owner}: {message}; call step() again to go on, or raise "
                    f"{code} (said once per optimizer; stop_reason tells each step's end)",
                    ConvergenceWarning,
                    stacklevel=3,
                )

    def _run(
        self, evaluate: Evaluate, progress: Progress, state: dict, hyper: dict
    ) -> tuple[str, str]:
        x = progress.point.x
        f, g, extra = evaluate(x)
        state["func_evals"] += 1
        if not math.isfinite(f):
            return "non_finite", (
                f"the loss is {f} at the start of iteration {state['n_iter'] + 1}; the "
                f"parameters keep their values"
            )
        progress.point = Point(x, f, g, extra)
        _, code, message = iterate(self, evaluate, progress.point, state, hyper, progress)
        return code, message

    def _objective(
        self, flat: FlatParams, closure: Callable[[], Tensor | float], state: dict, losses: list
    ) -> Evaluate:
        """evaluate(x) -> (f, g, extra): write x into the parameters, call the closure."""
        owner = type(self).__name__

        def evaluate(x: np.ndarray) -> tuple[float, np.ndarray, object]:
            flat.write(x)
            with enable_grad():
                loss = closure()
            f = loss_value(loss, owner, state["n_iter"] + (not losses))
            if not losses:
                losses.append(loss)
            return f, flat.grad(), self.extra(flat)

        return evaluate

    def extra(self, flat: FlatParams) -> object:
        """What the direction needs at the point just evaluated, besides f and g."""
        return None

    def first_step(self, g: np.ndarray, state: dict, lr: float) -> float:
        """The first trial step α of an iteration: min(1, 1/‖g‖₁)·lr at the first iteration
        ever (the direction −g has no sense of scale), lr after."""
        if state["n_iter"] == 1:
            return min(1.0, 1.0 / float(np.sum(np.abs(g)))) * lr
        return lr

    # ---------------------------------------------- state dicts: flat vectors, not per parameter
    def load_state_dict(self, state_dict: dict) -> None:
        """Take the hyperparameters and state of `state_dict` (from `state_dict()`); refused,
        with nothing changed, when a state array does not fit these parameters."""
        name = type(self).__name__
        owner = f"{name}.load_state_dict"
        check_state_dict_kind(state_dict, owner)
        groups, _ = _matched(self, {"state": {}, "param_groups": state_dict["param_groups"]})
        n = FlatParams(p for g in groups for p in g["params"]).n
        shapes = self._state_shapes(n, groups[0])
        entries = {}
        for key, value in dict(state_dict["state"].get(0, {})).items():
            if key not in shapes and key not in _SCALARS:
                kept = sorted({*shapes, *_SCALARS})
                raise refusal(owner, "each state name", f"one of {kept}", repr(key))
            if isinstance(value, np.ndarray):
                if value.shape != shapes.get(key):
                    expected = (
                        f"of shape {shapes[key]} for this {name}'s {n} parameters"
                        if key in shapes
                        else "a number"
                    )
                    raise refusal(owner, f"state {key!r}", expected, f"shape {value.shape}")
                value = value.astype(np.float64, copy=True)
            entries[key] = value
        self.param_groups = groups
        self.state = {groups[0]["params"][0]: entries} if entries else {}

    def _state_shapes(self, n: int, group: dict) -> dict[str, tuple[int, ...]]:
        return {"d": (n,), "prev_flat_grad": (n,)}


def curvature_pair(point: Point, state: dict) -> tuple[np.ndarray, np.ndarray, float] | None:
    """(s, y, yᵀs) of the last iteration, or None: no last step, or the pair is skipped."""
    if "d" not in state or point.g is None:
        return None
    s = state["t"] * state["d"]
    y = point.g - state["prev_flat_grad"]
    ys = float(y @ s)
    if not ys > CURVATURE_EPS * (-state["gtd"] * state["t"]):
        return None
    return s, y, ys


__all__ = [
    "BUDGET",
    "CURVATURE_EPS",
    "LINE_SEARCH",
    "ClosureOptimizer",
    "FlatParams",
    "curvature_pair",
    "loss_value",
]
