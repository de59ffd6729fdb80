"""µs per part of the lecture's per-sample SGD step (a 2-8-1 sigmoid MLP, logistic loss), by
hand and through fit(): what the engine's bookkeeping and fit's guards cost where they weigh most.

    .venv/bin/python bench/sample_step.py            # this checkout
    .venv/bin/python bench/sample_step.py OTHER_DIR  # another checkout's wengert (e.g. a git
                                                     # worktree of an older commit), to compare

Each part is the fastest of 30 passes over 256 samples (fit: of 8 runs of 2 epochs): run two
checkouts alternately, several times, and compare minima; this machine is noisy.
"""

from __future__ import annotations

import sys
import time

if len(sys.argv) > 1:
    sys.path.insert(0, sys.argv[1])

import numpy as np

import wengert as wg
from wengert import losses, nn, optim

SAMPLES = 256


def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(SAMPLES, 2))
    return X, (X[:, 0] * X[:, 1] > 0).astype(np.int64)


def by_hand(X, y, passes: int = 30) -> dict[str, float]:
    model = nn.MLP([2, 8, 1], activation="sigmoid", seed=0, dtype=np.float64)
    opt = optim.SGD(model.parameters(), lr=0.01)
    clock = time.perf_counter_ns
    best: dict[str, float] = {}
    for _ in range(passes):
        total = dict.fromkeys(("forward", "loss", "backward", "step"), 0)
        for i in range(SAMPLES):
            t0 = clock()
            opt.zero_grad()
            out = model(X[i : i + 1])
            t1 = clock()
            loss = losses.logistic(out.reshape(-1), y[i : i + 1])
            t2 = clock()
            loss.backward()
            t3 = clock()
            opt.step()
            t4 = clock()
            for part, ns in zip(total, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                total[part] += ns
        for part, ns in total.items():
            best[part] = min(best.get(part, float("inf")), ns / SAMPLES / 1000)
    return best


def through_fit(X, y, runs: int = 8) -> float:
    model = nn.MLP([2, 8, 1], activation="sigmoid", seed=0, dtype=np.float64)
    opt = optim.SGD(model.parameters(), lr=0.01)

    def loss(out, t):
        return losses.logistic(out.reshape(-1), t)

    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        wg.fit(model, loss, opt, (X, y), epochs=2, batch_size=1, seed=0, progress=False)
        best = min(best, (time.perf_counter() - start) / (2 * SAMPLES) * 1e6)
    return best


if __name__ == "__main__":
    X, y = data()
    parts = by_hand(X, y)
    shown = "  ".join(f"{part} {us:.1f}" for part, us in parts.items())
    print(f"by hand: {shown}  total {sum(parts.values()):.1f} µs/step")
    print(f"fit(batch_size=1): {through_fit(X, y):.1f} µs/step")
