"""L-BFGS on L2-regularised logistic regression: wengert against SciPy's L-BFGS-B and PyTorch.

The problem is the slow test's (scripts/make_lbfgs_fixture.py, `logistic_problem`): X 20,000 ×
200 float64 with feature scales 0.1 to 10, labels ±1, f(w) = mean log(1 + exp(−y xᵀw)) +
λ/2 ‖w‖², λ = 1e-3, from w₀ = 0. Every side keeps 10 curvature pairs and runs until
|∇f(w)|∞ < 1e-5:

  1. wengert `minimize(f, w0, "lbfgs")`, f written with wengert ops (gradient: value_and_grad)
  2. wengert `LBFGS` on a float64 Tensor, `step(closure)` with `loss.backward()`
  3. wengert's L-BFGS maths (`line_search.iterate`) on the hand-written NumPy gradient: the
     optimizer alone, on the baseline's gradient
  4. SciPy L-BFGS-B (`minimize(method="L-BFGS-B", jac=True)`, ftol 0) on wengert's gradient
  5. SciPy L-BFGS-B on the hand-written NumPy gradient: the baseline
  6. PyTorch `LBFGS(line_search_fn="strong_wolfe")`, float64, when torch imports

For each: the median wall time of `--repeats` runs (the sides interleaved, their order
rotating), the evaluations of f and ∇f, the iterations, the time spent inside the evaluations
and so the optimizer's own time per iteration (wall − evaluations), the final f, and the
ratios to the baseline (5) and to SciPy on the same gradient (4 for 1 and 2; 5 for 3). The
report goes to stdout and, for a full run, to the "lbfgs" section of results.md.

Everything runs twice: with the BLAS libraries' default threads, and with one thread
(threadpoolctl). The two differ because NumPy and SciPy wheels each bring their own OpenBLAS,
each with a pool of threads that spin for a while after a call: on a machine with few cores,
L-BFGS-B (SciPy's pool) and the objective (NumPy's pool) then take turns slowing each other.

    .venv/bin/python bench/lbfgs.py            # 3 repeats (~4 minutes on 2 cores)
    .venv/bin/python bench/lbfgs.py --quick    # 1 repeat, writes nothing
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import math
import os
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

import numpy as np
from timing import machine, progress, write_section  # bench/timing.py

import wengert as wg
from wengert.optim import LBFGS, minimize
from wengert.optim.line_search import Point, iterate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from make_lbfgs_fixture import LARGE, logistic_problem, loss_and_grad

GTOL = 1e-5
HISTORY = 10
RESULTS = Path(__file__).with_name("results.md")
BASELINE, SCIPY_WENGERT = "SciPy L-BFGS-B, NumPy gradient", "SciPy L-BFGS-B, wengert gradient"
SAME_GRADIENT = {
    "wengert minimize('lbfgs')": SCIPY_WENGERT,
    "wengert LBFGS class, closure": SCIPY_WENGERT,
    "wengert L-BFGS maths, NumPy gradient": BASELINE,
}


@dataclass(frozen=True)
class Run:
    seconds: float  # wall time of the whole run
    eval_seconds: float  # of it, inside evaluations of f and ∇f
    n_fev: int
    n_iter: int
    f: float
    g_inf: float


class Timed:
    """A function whose calls are counted and timed."""

    def __init__(self, fn) -> None:
        self.fn, self.calls, self.seconds = fn, 0, 0.0

    def __call__(self, *args):
        start = perf_counter()
        try:
            return self.fn(*args)
        finally:
            self.seconds += perf_counter() - start
            self.calls += 1


def wengert_loss(X, y, lam):
    return lambda w: wg.mean(wg.softplus(-y * (X @ w))) + lam / 2 * wg.sum(w * w)


# ----------------------------------------------------------------------------- the sides
def run_minimize(X, y, lam) -> Run:
    """minimize() evaluates value_and_grad(f) inside: its evaluation time is not separated."""
    start = perf_counter()
    result = minimize(wengert_loss(X, y, lam), np.zeros(X.shape[1]), "lbfgs", tol=GTOL,
                      history_size=HISTORY)  # fmt: skip
    seconds = perf_counter() - start
    return Run(seconds, math.nan, result.n_fev, result.n_iter, result.fun, result.grad_norm)


def run_class(X, y, lam) -> Run:
    w = wg.tensor(np.zeros(X.shape[1]), requires_grad=True)
    opt = LBFGS([w], max_iter=10_000, max_eval=20_000, tolerance_grad=GTOL, tolerance_change=0.0,
                history_size=HISTORY)  # fmt: skip
    f = wengert_loss(X, y, lam)

    def closure():
        opt.zero_grad()
        loss = f(w)
        loss.backward()
        return loss

    timed = Timed(closure)
    start = perf_counter()
    opt.step(timed)
    seconds = perf_counter() - start
    fx, g = loss_and_grad(w.data, X, y, lam)
    return Run(seconds, timed.seconds, opt.n_fev, opt.n_iter, fx, float(np.max(np.abs(g))))


def run_maths(X, y, lam) -> Run:
    timed = Timed(lambda w: (*loss_and_grad(w, X, y, lam), None))
    maths = LBFGS([wg.tensor(np.zeros(X.shape[1]), requires_grad=True)], history_size=HISTORY)
    hyper = {"lr": 1.0, "max_iter": 10_000, "max_eval": np.inf, "tolerance_grad": GTOL,
             "tolerance_change": 0.0, "line_search": "strong_wolfe"}  # fmt: skip
    state = {"n_iter": 0, "func_evals": 1}
    start = perf_counter()
    x = np.zeros(X.shape[1])
    point, _, _ = iterate(maths, timed, Point(x, *timed(x)), state, hyper)
    seconds = perf_counter() - start
    return Run(seconds, timed.seconds, timed.calls, state["n_iter"], point.f,
               float(np.max(np.abs(point.g))))  # fmt: skip


def run_scipy(X, y, lam, gradient: str) -> Run:
    from scipy.optimize import minimize as scipy_minimize

    if gradient == "numpy":
        fun = Timed(lambda w: loss_and_grad(w, X, y, lam))
    else:
        fun = Timed(wg.value_and_grad(wengert_loss(X, y, lam)))
    options = {"maxcor": HISTORY, "gtol": GTOL, "ftol": 0.0, "maxiter": 10_000, "maxfun": 20_000}
    start = perf_counter()
    r = scipy_minimize(fun, np.zeros(X.shape[1]), jac=True, method="L-BFGS-B", options=options)
    seconds = perf_counter() - start
    g_inf = float(np.max(np.abs(loss_and_grad(r.x, X, y, lam)[1])))
    return Run(seconds, fun.seconds, int(r.nfev), int(r.nit), float(r.fun), g_inf)


def run_torch(torch, X, y, lam) -> Run:
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w], lr=1, max_iter=10_000, max_eval=20_000, tolerance_grad=GTOL,
                            tolerance_change=0.0, history_size=HISTORY,
                            line_search_fn="strong_wolfe")  # fmt: skip

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.softplus(-yt * (Xt @ w)).mean() + lam / 2 * (w @ w)
        loss.backward()
        return loss

    timed = Timed(closure)
    start = perf_counter()
    opt.step(timed)
    seconds = perf_counter() - start
    state = opt.state[w]
    fx, g = loss_and_grad(w.detach().numpy(), X, y, lam)
    return Run(seconds, timed.seconds, state["func_evals"], state["n_iter"], fx,
               float(np.max(np.abs(g))))  # fmt: skip


def sides(X, y, lam) -> tuple[dict, list[str]]:
    """label -> a function that does one run; and the peers that did not import."""
    runs = {
        "wengert minimize('lbfgs')": lambda: run_minimize(X, y, lam),
        "wengert LBFGS class, closure": lambda: run_class(X, y, lam),
        "wengert L-BFGS maths, NumPy gradient": lambda: run_maths(X, y, lam),
    }
    skipped = []
    try:
        import scipy  # noqa: F401

        runs[SCIPY_WENGERT] = lambda: run_scipy(X, y, lam, "wengert")
        runs[BASELINE] = lambda: run_scipy(X, y, lam, "numpy")
    except ImportError:
        skipped.append("scipy (pip install scipy)")
    try:
        import torch

        runs["PyTorch LBFGS strong_wolfe, float64"] = lambda: run_torch(torch, X, y, lam)
    except ImportError:
        skipped.append("torch (pip install torch)")
    return runs, skipped


def measure(runs: dict, repeats: int) -> dict[str, list[Run]]:
    """Every side `repeats` times, interleaved, the order rotating from one repeat to the next."""
    names = list(runs)
    results = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            progress(f"repeat {r + 1}/{repeats}: {name}")
            results[name].append(runs[name]())
    return results


# ----------------------------------------------------------------------------- report
def table_lines(results: dict[str, list[Run]], f_star: float) -> list[str]:
    median = {name: statistics.median(r.seconds for r in runs) for name, runs in results.items()}
    lines = [
        f"  {'side':<40}{'wall s':>8}{'range':>15}{'evals':>7}{'iters':>7}{'in evals':>10}"
        f"{'own/iter':>10}{'f rel. to f*':>14}{'x base':>8}{'x SciPy':>9}",
    ]
    for name, runs in results.items():
        last = runs[-1]
        seconds = [r.seconds for r in runs]
        in_evals = statistics.median(r.eval_seconds for r in runs)
        own = (median[name] - in_evals) / last.n_iter
        split = f"{'-':>10}{'-':>10}" if math.isnan(in_evals) else (
            f"{in_evals:>9.2f}s{own * 1e6:>8.0f}µs"
        )  # fmt: skip
        base = f"{median[name] / median[BASELINE]:.2f}x" if BASELINE in median else "-"
        peer = SAME_GRADIENT.get(name)
        same = f"{median[name] / median[peer]:.2f}x" if peer in median else "-"
        lines.append(
            f"  {name:<40}{median[name]:>8.2f}{min(seconds):>8.2f}-{max(seconds):<6.2f}"
            f"{last.n_fev:>7}{last.n_iter:>7}{split}{(last.f - f_star) / f_star:>14.1e}"
            f"{base:>8}{same:>9}"
        )
    return lines


def target_lines(results: dict[str, list[Run]]) -> list[str]:
    median = {name: statistics.median(r.seconds for r in runs) for name, runs in results.items()}
    targets = [
        ("wengert minimize <= 1.2x SciPy, same (wengert) gradient", "wengert minimize('lbfgs')",
         SCIPY_WENGERT),
        ("wengert L-BFGS maths <= 1.2x SciPy, same (NumPy) gradient",
         "wengert L-BFGS maths, NumPy gradient", BASELINE),
        ("wengert minimize <= 1.2x the baseline (SciPy, NumPy gradient)",
         "wengert minimize('lbfgs')", BASELINE),
    ]  # fmt: skip
    lines = ["  targets (median wall times):"]
    for text, ours, theirs in targets:
        if theirs not in median:
            lines.append(f"    {text:<64} not measured ({theirs} did not run)")
            continue
        ratio = median[ours] / median[theirs]
        lines.append(f"    {text:<64}{ratio:6.2f}x  {'met' if ratio <= 1.2 else 'NOT met'}")
    return lines


def header_lines(repeats: int, skipped: list[str]) -> list[str]:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = " ".join([os.path.relpath(sys.executable), *sys.argv])
    versions = [f"NumPy {np.__version__}", f"wengert {wg.__version__}"]
    for name in ("scipy", "torch"):
        module = sys.modules.get(name)
        if module is not None:
            versions.append(f"{name} {module.__version__}")
    lines = [
        "L-BFGS benchmark: logistic regression, wengert vs SciPy L-BFGS-B and PyTorch LBFGS",
        f"  date: {now}; command: {command}",
        *[f"  {line}" for line in machine()],
        f"  {', '.join(versions)}",
        f"  problem: X {LARGE['n']:,} x {LARGE['d']} float64 (seed {LARGE['seed']}, feature "
        f"scales 0.1-10), lambda {LARGE['lam']:g}, w0 = 0; every side: {HISTORY} pairs, "
        f"until |grad|inf < {GTOL:g}; median of {repeats} interleaved runs",
        "  'in evals': time inside f and its gradient; 'own/iter': the rest, per iteration (not",
        "  separated for minimize(), which evaluates inside); 'x SciPy': against SciPy on the",
        "  same gradient",
    ]
    return lines + [f"  skipped {why}" for why in skipped]


def blas_settings(found_threadpoolctl: bool) -> list[tuple[str, int | None]]:
    """(label, BLAS threads) to run under: the defaults, and one thread when it can be set."""
    settings = [("BLAS threads: the libraries' defaults", None)]
    if found_threadpoolctl:
        settings.append(("BLAS threads: 1 (threadpoolctl.threadpool_limits(1))", 1))
    return settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat; writes nothing")
    parser.add_argument("--repeats", type=int, default=3, help="runs per side (default 3)")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else args.repeats
    X, y = logistic_problem(LARGE["seed"], LARGE["n"], LARGE["d"])
    runs, skipped = sides(X, y, LARGE["lam"])
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
        skipped.append("threadpoolctl (comes with scikit-learn): no run with 1 BLAS thread")
    lines = header_lines(repeats, skipped)
    for label, threads in blas_settings(threadpool_limits is not None):
        progress(label)
        with threadpool_limits(threads) if threads else contextlib.nullcontext():
            results = measure(runs, repeats)
        f_star = min(r.f for rs in results.values() for r in rs)
        lines += ["", f"{label}; f* = {f_star:.15g}, the lowest f any side reached"]
        lines += table_lines(results, f_star) + target_lines(results)
    print("\n".join(lines))
    if not args.quick:
        text = ["", "## L-BFGS (bench/lbfgs.py)", "",
                "Written by `bench/lbfgs.py`: rerun it rather than edit this section. What is",
                "measured and how: the docstring of bench/lbfgs.py.", "", "```text", *lines,
                "```", ""]  # fmt: skip
        write_section(RESULTS, "lbfgs", text)
        print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
