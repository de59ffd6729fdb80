"""L-BFGS and BFGS: quasi-Newton directions d_k = −H_k g_k, with PyTorch's closure API.

H_k approximates the inverse Hessian from the curvature pairs s = x_{k+1} − x_k,
y = g_{k+1} − g_k (N&W = Nocedal and Wright, Numerical Optimization, 2nd ed., chapters 6-7).
The iteration, the line search and the bookkeeping (flattening, stop rules, first step, pair
skipping, state, errors) are shared with NewtonCG: see closure.py and line_search.py.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from wengert._checks import refusal
from wengert.optim.closure import BUDGET, LINE_SEARCH, ClosureOptimizer, curvature_pair
from wengert.optim.hyperparameters import COUNT, Hyper
from wengert.optim.line_search import Point


# ------------------------------------------------------------------ L-BFGS
def two_loop(
    g: np.ndarray,
    history: np.ndarray,
    sy: np.ndarray,
    yy: np.ndarray,
    order: list[int],
    gamma: float,
) -> np.ndarray:
    """H g by the two-loop recursion (N&W Algorithm 7.4), H⁰ = γ I, the pairs in `order`
    (rows, oldest first) of history[0] = s_i and history[1] = y_i; sy[i, j] = s_iᵀy_j and
    yy[i, j] = y_iᵀy_j, kept up to date by `remember`. With ρ_i = 1/(s_iᵀy_i)::

        q ← g;   for i newest to oldest: α_i = ρ_i s_iᵀq,  q ← q − α_i y_i
        r ← γ q; for i oldest to newest: β_i = ρ_i y_iᵀr,  r ← r + (α_i − β_i) s_i

    The same α and β, computed from inner products alone: s_iᵀq = s_iᵀg − Σ_{j newer} α_j
    s_iᵀy_j, and y_iᵀr = γ (y_iᵀg − Σ_j α_j y_iᵀy_j) + Σ_{j older} (α_j − β_j) y_iᵀs_j; so
    the n-vectors are touched by two matrix-vector products, [S; Y] g and then
    r = γ g + Sᵀ(α − β) − γ Yᵀα, instead of 4m vector operations.
    """
    if not order:
        return gamma * g
    m = sy.shape[0]
    flat = history.reshape(2 * m, -1)
    projections = flat @ g  # s_iᵀg, then y_iᵀg
    sg, SY = projections[:m].tolist(), sy.tolist()
    alpha = [0.0] * m
    for k in range(len(order) - 1, -1, -1):  # plain Python on m floats: cheaper than NumPy
        i = order[k]
        t = sg[i]
        for j in order[k + 1 :]:
            t -= alpha[j] * SY[i][j]
        alpha[i] = t / SY[i][i]
    a = np.array(alpha)
    gamma_yq = ((projections[m:] - yy @ a) * gamma).tolist()  # γ y_iᵀq
    alpha_minus_beta = [0.0] * m
    for k, i in enumerate(order):
        t = gamma_yq[i]
        for j in order[:k]:
            t += alpha_minus_beta[j] * SY[j][i]
        alpha_minus_beta[i] = alpha[i] - t / SY[i][i]
    r = np.concatenate([alpha_minus_beta, -gamma * a]) @ flat
    r += gamma * g
    return r


class LBFGS(ClosureOptimizer):
    r"""Limited-memory BFGS, PyTorch 2.x's `torch.optim.LBFGS` with N&W's two-loop recursion.

    Each iteration k (N&W Algorithm 7.5, line search by strong Wolfe or a fixed step lr)::

        d_k = −H_k g_k,   H_k g_k by the two-loop recursion (N&W Algorithm 7.4) over the last
                          m = history_size pairs (s_i, y_i), ρ_i = 1/(y_iᵀs_i), from
                          H_k⁰ = γ_k I,  γ_k = s_{k−1}ᵀy_{k−1} / y_{k−1}ᵀy_{k−1}   (N&W (7.20))
        x_{k+1} = x_k + α_k d_k

    The bookkeeping (flattening, stop rules, first step, pair skipping, state, errors) is in
    the module docstring of `wengert/optim/closure.py`. State: "history" (2, m, n), the pairs
    s_i in history[0] and y_i in history[1], a ring (pair number j = 0, 1, ... in row j mod m);
    "sy" and "yy" (m, m), their inner products s_iᵀy_j and y_iᵀy_j; "n_pairs", the pairs kept.
    Where libraries differ: PyTorch skips a pair when yᵀs ≤ 1e-10 (here the scale-free rule
    of L-BFGS-B); SciPy's L-BFGS-B, with the compact form of the same H_k, first tries
    α = 1/‖g‖₂ and searches by Moré and Thuente's method (c₁ = 1e-3).
    """

    name = "lbfgs"
    hyperparameters = (
        *BUDGET,
        Hyper("history_size", 10, (COUNT,), "m, the curvature pairs kept"),
        LINE_SEARCH,
    )
    path_examples: ClassVar[dict[str, dict]] = {
        "L-BFGS": {"lr": 1.0, "max_iter": 1, "line_search": "strong_wolfe"}
    }

    def direction(self, point: Point, state: dict) -> np.ndarray:
        """d_k = −H_k g_k at `point` by the two-loop recursion, after the last iteration's
        pair is put into the memory (started afresh at a step's first iteration)."""
        m = self.param_groups[0]["history_size"]
        if state["n_iter"] == 1 or "history" not in state:
            n = point.g.size
            state.update(history=np.zeros((2, m, n)), sy=np.zeros((m, m)), yy=np.zeros((m, m)))
            state["n_pairs"] = 0
        else:
            remember(state, curvature_pair(point, state))
        j = state["n_pairs"]
        if j == 0:
            return -point.g
        order = [i % m for i in range(max(0, j - m), j)]
        newest = order[-1]
        gamma = state["sy"][newest, newest] / state["yy"][newest, newest]
        hg = two_loop(point.g, state["history"], state["sy"], state["yy"], order, gamma)
        return np.negative(hg, out=hg)

    def _state_shapes(self, n: int, group: dict) -> dict[str, tuple[int, ...]]:
        m = group["history_size"]
        return {**super()._state_shapes(n, group), "history": (2, m, n), "sy": (m, m),
                "yy": (m, m)}  # fmt: skip


def remember(state: dict, pair: tuple[np.ndarray, np.ndarray, float] | None) -> None:
    """Put the pair (s, y, yᵀs) into the ring, in row n_pairs mod m, and bring the inner
    products sy and yy up to date (two matrix-vector products)."""
    if pair is None:
        return
    s, y, _ = pair
    history, sy, yy = state["history"], state["sy"], state["yy"]
    m = sy.shape[0]
    row = state["n_pairs"] % m
    history[0, row] = s
    history[1, row] = y
    with_y = history.reshape(2 * m, -1) @ y  # s_iᵀy and y_iᵀy for every row i
    sy[:, row] = with_y[:m]
    sy[row, :] = history[1] @ s
    yy[:, row] = yy[row, :] = with_y[m:]
    state["n_pairs"] += 1


# ------------------------------------------------------------------ BFGS
def bfgs_update(H: np.ndarray, s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """H_{k+1} = (I − ρ s yᵀ) H_k (I − ρ y sᵀ) + ρ s sᵀ, ρ = 1/(yᵀs) (N&W (6.17)), in place.

    Expanded for symmetric H: H − ρ (H y sᵀ + s yᵀH) + (ρ² yᵀH y + ρ) s sᵀ.
    """
    rho = 1.0 / float(y @ s)
    hy = H @ y
    H -= rho * np.outer(hy, s)
    H -= rho * np.outer(s, hy)
    H += (rho * rho * float(y @ hy) + rho) * np.outer(s, s)
    return H


class BFGS(ClosureOptimizer):
    r"""BFGS with a dense inverse-Hessian approximation H (N&W Algorithm 6.1).

    Each iteration k::

        d_k = −H_k g_k;   x_{k+1} = x_k + α_k d_k      (α_k: strong Wolfe, or lr fixed)
        H_{k+1} = (I − ρ_k s_k y_kᵀ) H_k (I − ρ_k y_k s_kᵀ) + ρ_k s_k s_kᵀ,  ρ_k = 1/(y_kᵀs_k)
                                                                               (N&W (6.17))

    H₀ = I for the first direction, then rescaled to (yᵀs / yᵀy) I before the first update
    (N&W (6.20)). State "H" (n, n). The bookkeeping is closure.py's. H takes 8·n² bytes, so
    BFGS refuses more than MAX_PARAMS = 5,000 parameters (200 MB); LBFGS keeps 16·m·n bytes.
    """

    MAX_PARAMS = 5_000
    hyperparameters = (*BUDGET, LINE_SEARCH)

    def add_param_group(self, group: dict) -> None:
        """Add `group` as ClosureOptimizer does; refused, and not added, when the parameters
        would pass MAX_PARAMS elements in all."""
        super().add_param_group(group)
        n = sum(p.data.size for g in self.param_groups for p in g["params"])
        if n > self.MAX_PARAMS:
            self.param_groups.pop()
            raise refusal(
                "BFGS",
                "params",
                f"at most {self.MAX_PARAMS:,} elements in all (BFGS keeps an n×n matrix, "
                f"8·n² bytes)",
                f"n = {n:,} ({8 * n * n / 1e6:,.0f} MB)",
                fix="Use LBFGS.",
            )

    def direction(self, point: Point, state: dict) -> np.ndarray:
        """d_k = −H_k g_k at `point`, after the BFGS update of H by the last iteration's pair
        (−g while no pair has been kept since the step's first iteration)."""
        if state["n_iter"] == 1:
            state.pop("H", None)
        pair = curvature_pair(point, state)
        if pair is not None and state["n_iter"] > 1:
            s, y, ys = pair
            if "H" not in state:
                state["H"] = np.eye(s.size) * (ys / float(y @ y))
            bfgs_update(state["H"], s, y)
        if "H" not in state:
            return -point.g
        return -(state["H"] @ point.g)

    def _state_shapes(self, n: int, group: dict) -> dict[str, tuple[int, ...]]:
        return {**super()._state_shapes(n, group), "H": (n, n)}


__all__ = ["BFGS", "LBFGS", "bfgs_update", "remember", "two_loop"]
