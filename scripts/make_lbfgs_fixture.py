"""Write tests/fixtures/lbfgs.json: SciPy's L-BFGS-B and PyTorch's LBFGS on logistic regression.

Rerun with `make fixtures` (scripts/make_fixtures.py calls this), or alone:

    .venv/bin/python scripts/make_lbfgs_fixture.py

Needs scipy and torch (`pip install -e ".[peers]"`); the tests that read the file need neither.

1. "scipy": L2-regularised logistic regression, the large problem of the slow test and of
   bench/lbfgs.py, made in NumPy from a seed (`logistic_problem`):

       column j of X (20,000 × 200) ~ N(0, c_j²), c = logspace(−1, 1, 200) (features on
       scales from 0.1 to 10, as unstandardised data have them: it makes the problem
       ill-conditioned enough for a few hundred iterations); w_true,j ~ N(0, 1)·3/(√200 c_j);
       y_i = +1 with probability σ(x_iᵀw_true), else −1
       f(w) = mean_i log(1 + exp(−y_i x_iᵀw)) + λ/2 ‖w‖²,   λ = 1e-3,   w₀ = 0

   SciPy's L-BFGS-B (`minimize(method="L-BFGS-B", jac=True)`, maxcor 10 = history_size,
   ftol 0 so that only the gradient test stops it) with the hand-written NumPy gradient, at
   gtol 1e-7 and 1e-5 (|projected g|∞): final f, iterations, evaluations. And f* from
   Newton's method in NumPy (exact Hessian, to |g|∞ < 1e-13), an oracle for both. Checksums
   of X and y let a reader confirm that it regenerated the same data.
2. "torch": a 20-iterate trajectory of torch.optim.LBFGS without line search (lr 0.8,
   history_size 3, so that the ring of pairs wraps, 4 step calls of max_iter 5) on a small
   problem of the same form (40 × 5, λ = 0.1), every point the closure was called at. The
   small problem's data is stored in the file.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "lbfgs.json"
LARGE = {"seed": 20240611, "n": 20_000, "d": 200, "lam": 1e-3}
SMALL = {"seed": 7, "n": 40, "d": 5, "lam": 0.1}
TORCH_RUN = {"lr": 0.8, "history_size": 3, "max_iter": 5, "steps": 4}
GTOLS = (1e-7, 1e-5)


def logistic_problem(seed: int, n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """X (n, d) and labels y = ±1, drawn in this order from default_rng(seed)."""
    rng = np.random.default_rng(seed)
    scales = np.logspace(-1, 1, d)
    X = rng.standard_normal((n, d)) * scales
    w_true = rng.standard_normal(d) * 3 / np.sqrt(d) / scales
    p = 1 / (1 + np.exp(-(X @ w_true)))
    y = np.where(rng.random(n) < p, 1.0, -1.0)
    return X, y


def loss_and_grad(w, X, y, lam):
    """f(w) and ∇f(w) by hand: the NumPy baseline of the benchmark."""
    m = -y * (X @ w)
    loss = np.mean(np.logaddexp(0, m)) + lam / 2 * (w @ w)
    coef = -y * (0.5 * (1 + np.tanh(m / 2)))  # −y σ(m), σ by tanh: no overflow
    return loss, X.T @ coef / len(y) + lam * w


def newton_optimum(X, y, lam) -> float:
    w = np.zeros(X.shape[1])
    for _ in range(50):
        f, g = loss_and_grad(w, X, y, lam)
        if np.max(np.abs(g)) < 1e-13:
            return float(f)
        s = 0.5 * (1 + np.tanh(-y * (X @ w) / 2))
        H = (X.T * (s * (1 - s))) @ X / len(y) + lam * np.eye(X.shape[1])
        w = w - np.linalg.solve(H, g)
    raise RuntimeError("Newton's method did not converge")


def scipy_runs(X, y, lam) -> list[dict]:
    from scipy.optimize import minimize

    runs = []
    for gtol in GTOLS:
        options = {"maxcor": 10, "gtol": gtol, "ftol": 0.0, "maxiter": 10_000, "maxfun": 20_000}
        fun = lambda w: loss_and_grad(w, X, y, lam)
        r = minimize(fun, np.zeros(X.shape[1]), jac=True, method="L-BFGS-B", options=options)
        g_inf = float(np.max(np.abs(loss_and_grad(r.x, X, y, lam)[1])))
        runs.append(
            {"gtol": gtol, "fun": float(r.fun), "nit": int(r.nit), "nfev": int(r.nfev),
             "grad_inf": g_inf, "message": str(r.message)}
        )  # fmt: skip
    return runs


def torch_trajectory(X, y, lam) -> list[list[float]]:
    import torch

    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS(
        [w], lr=TORCH_RUN["lr"], max_iter=TORCH_RUN["max_iter"],
        history_size=TORCH_RUN["history_size"], tolerance_grad=0.0, tolerance_change=0.0,
        line_search_fn=None,
    )  # fmt: skip
    points = []

    def closure():
        opt.zero_grad()
        points.append(w.detach().numpy().tolist())
        loss = torch.nn.functional.softplus(-yt * (Xt @ w)).mean() + lam / 2 * (w @ w)
        loss.backward()
        return loss

    for _ in range(TORCH_RUN["steps"]):
        opt.step(closure)
    return points


def main() -> None:
    import scipy
    import torch

    X, y = logistic_problem(LARGE["seed"], LARGE["n"], LARGE["d"])
    Xs, ys = logistic_problem(SMALL["seed"], SMALL["n"], SMALL["d"])
    fixture = {
        "made_by": "scripts/make_lbfgs_fixture.py",
        "scipy_version": scipy.__version__,
        "torch_version": torch.__version__,
        "large": {**LARGE, "X_sum": float(X.sum()), "y_sum": float(y.sum())},
        "f_star": newton_optimum(X, y, LARGE["lam"]),
        "scipy": scipy_runs(X, y, LARGE["lam"]),
        "small": {**SMALL, "X": Xs.tolist(), "y": ys.tolist()},
        "torch_run": TORCH_RUN,
        "torch_points": torch_trajectory(Xs, ys, SMALL["lam"]),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(fixture, indent=1) + "\n")
    runs = ", ".join(f"gtol {r['gtol']:g}: {r['nit']} iterations" for r in fixture["scipy"])
    print(f"wrote {OUT} (SciPy {scipy.__version__}: {runs}; torch {torch.__version__})")


if __name__ == "__main__":
    main()
