"""Newton-CG: Newton's method with the Newton system solved inexactly by conjugate gradients.

The Hessian is never formed: conjugate gradients needs only Hessian-vector products ∇²f·v,
which the engine computes exactly by differentiating the gradient's graph (two reverse
sweeps, no finite differences). The closure must therefore record that graph: it calls
`loss.backward(create_graph=True)` (fit() does so for optimizers with `create_graph = True`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from wengert._checks import refusal
from wengert.autodiff.mode import enable_grad
from wengert.autodiff.tensor import Tensor
from wengert.optim.closure import BUDGET, LINE_SEARCH, ClosureOptimizer, FlatParams
from wengert.optim.hyperparameters import COUNT, FRACTION, Hyper
from wengert.optim.line_search import Point

_EPS = float(np.finfo(np.float64).eps)


def truncated_cg(
    hvp: Callable[[np.ndarray], np.ndarray], g: np.ndarray, tol: float, max_iter: int
) -> tuple[np.ndarray, int, str]:
    """The inner loop of N&W Algorithm 7.1: CG on B p = −g, B = ∇²f, stopped early.

    Returns (p, Hessian-vector products used, why it stopped)::

        z₀ = 0, r₀ = g, d₀ = −g
        for j = 0, 1, ...:
            if d_jᵀ B d_j ≤ 0:  return −g if j = 0 else z_j        ("negative curvature")
            α_j = r_jᵀr_j / d_jᵀ B d_j
            z_{j+1} = z_j + α_j d_j;   r_{j+1} = r_j + α_j B d_j
            if ‖r_{j+1}‖ < tol:  return z_{j+1}                    ("converged")
            β_{j+1} = r_{j+1}ᵀr_{j+1} / r_jᵀr_j;   d_{j+1} = −r_{j+1} + β_{j+1} d_j

    and z after max_iter products ("max_iter"). Every p returned is a descent direction.
    """
    z = np.zeros_like(g)
    r = np.array(g, dtype=np.float64)
    d = -r
    rr = float(r @ r)
    for j in range(max_iter):
        bd = hvp(d)
        curvature = float(d @ bd)
        if not curvature > 0:
            return (-g if j == 0 else z), j + 1, "negative curvature"
        alpha = rr / curvature
        z += alpha * d
        r += alpha * bd
        rr_new = float(r @ r)
        if math.sqrt(rr_new) < tol:
            return z, j + 1, "converged"
        d = -r + (rr_new / rr) * d
        rr = rr_new
    return z, max_iter, "max_iter"


def forcing_tolerance(g: np.ndarray, eta_max: float = 0.5) -> float:
    """ε_k = η_k ‖g‖ with η_k = min(η_max, √‖g‖) (N&W (7.3), Algorithm 7.1, η_max = 0.5):
    loose far from the solution, and η_k → 0 near it, which makes the convergence
    superlinear. It is never below ε_mach ‖g‖, where CG's residual is only rounding."""
    norm = float(np.linalg.norm(g))
    return max(min(eta_max, math.sqrt(norm)), _EPS) * norm


def graph_hvp(flat: FlatParams, owner: str) -> Callable[[np.ndarray], np.ndarray]:
    """v ↦ ∇²f v at the point just evaluated, from the gradient graph in the parameters'
    `.grad` (left by backward(create_graph=True)): one more reverse sweep per product."""
    grads = [p.grad for p in flat.params]
    if not all(g is None or isinstance(g, Tensor) for g in grads):
        raise refusal(
            owner,
            "the closure's gradients",
            "Tensors that carry their graph (for Hessian-vector products)",
            "plain arrays in .grad",
            fix="Call loss.backward(create_graph=True) in the closure.",
        )

    def product(v: np.ndarray) -> np.ndarray:
        with enable_grad():
            terms = [
                (g * v[a:b].reshape(p.data.shape).astype(p.data.dtype)).sum()
                for p, g, (a, b) in zip(flat.params, grads, flat.bounds, strict=True)
                if g is not None and g.requires_grad
            ]
            for p in flat.params:
                p.grad = None
            if terms:
                total = terms[0]
                for term in terms[1:]:
                    total = total + term
                total.backward(retain_graph=True)
        hv = flat.grad()
        for p, g in zip(flat.params, grads, strict=True):
            p.grad = g
        return hv

    return product


class NewtonCG(ClosureOptimizer):
    r"""Line-search Newton-CG (N&W Algorithm 7.1), with exact Hessian-vector products.

    Each iteration k, with g = ∇f(x_k) and B = ∇²f(x_k) (never formed)::

        ε_k = min(η_max, √‖g‖) ‖g‖                  (the forcing sequence, 2-norms;
                                                     η_max = forcing, N&W's 0.5)
        d_k = truncated CG on B d = −g to ‖B d + g‖ < ε_k, or at most max_cg_iter products
              (default 20·n, SciPy's), leaving early on negative curvature (see truncated_cg)
        x_{k+1} = x_k + α_k d_k                     (α_k: strong Wolfe trying α = lr = 1 first,
                                                     or lr fixed)

    The bookkeeping (flattening, stop rules, state, errors) is the module docstring's of
    `wengert/optim/closure.py`, except that the first trial step is always lr: the Newton step
    has its own scale. The closure must call `loss.backward(create_graph=True)` (fit() does);
    every evaluation then records the gradient's graph, which costs memory and time, and each
    CG iteration costs one more reverse sweep through it. State "n_hvp" counts the products.
    forcing = 0 solves each Newton system as far as CG gets (to rounding, n products in exact
    arithmetic): Newton's method itself, one iteration on a quadratic.
    """

    create_graph = True
    hyperparameters = (
        *BUDGET,
        Hyper("max_cg_iter", None, (COUNT, None), "most CG products per iteration (None: 20·n)"),
        Hyper("forcing", 0.5, (FRACTION,), "η_max of the forcing sequence"),
        LINE_SEARCH,
    )

    def extra(self, flat: FlatParams) -> Callable[[np.ndarray], np.ndarray]:
        """The Hessian-vector product v ↦ ∇²f v at the point just evaluated (see graph_hvp)."""
        return graph_hvp(flat, "NewtonCG")

    def first_step(self, g: np.ndarray, state: dict, lr: float) -> float:
        """Always lr: the Newton step has its own scale."""
        return lr

    def direction(self, point: Point, state: dict) -> np.ndarray:
        """d_k at `point` (whose `extra` is v ↦ ∇²f v); counts the products in "n_hvp"."""
        group = self.param_groups[0]
        limit = 20 * point.g.size if group["max_cg_iter"] is None else group["max_cg_iter"]
        tol = forcing_tolerance(point.g, group["forcing"])
        d, used, _ = truncated_cg(point.extra, point.g, tol, limit)
        state["n_hvp"] = state.get("n_hvp", 0) + used
        return d


__all__ = ["NewtonCG", "forcing_tolerance", "graph_hvp", "truncated_cg"]
