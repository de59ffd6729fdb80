"""Data-parallel training speed: samples/s of fit(distributed=True) on 1 rank and on 2 ranks.

The MLP 784-256-256-10 (ReLU, softmax cross-entropy), Adam (lr 1e-3), float32, global batch
256, on synthetic data (N(0, 1) features, random labels, seed 0), one BLAS thread per rank
(OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = MKL_NUM_THREADS = 1). Each run is one mpiexec
launch that trains a warm-up epoch, then times a second epoch of the same number of steps
(fit's on_epoch_end marks); the 1-rank and 2-rank runs are interleaved, and the numbers are
the medians over the repeats (the range beside them). The target on a 2-core machine is a
speed-up of at least 1.7. Also reported: the share of a step that rank 0 spends in the
gradient Allreduce, the most that overlapping it with the backward sweep could save; and the
ceiling: twice the samples/s of one rank at half the batch, the speed-up that 2 ranks would
reach if the Allreduce and the waiting cost nothing (each rank still runs the whole update).

    .venv/bin/python bench/distributed.py            # 5 repeats of 40 steps (~15 s)
    .venv/bin/python bench/distributed.py --quick    # 3 repeats of 20 steps
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

SIZES = [784, 256, 256, 10]
BATCH = 256
TARGET = 1.7
THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def worker(steps: int, batch: int = BATCH) -> None:
    """Under mpiexec: train the warm-up epoch and the timed one; rank 0 prints a JSON line."""
    import wengert as wg
    from wengert.train import fit
    from wengert.train.distributed import Distributed

    rng = np.random.default_rng(0)
    X = rng.standard_normal((batch * steps, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], batch * steps)
    model = wg.nn.MLP(SIZES, seed=0, dtype=np.float32)
    optimizer = wg.optim.Adam(model.parameters(), lr=1e-3)
    dist = Distributed()
    waited = [0.0]
    allreduce = dist.allreduce

    def timed_allreduce(buffer, what, op=None):
        start = time.perf_counter()
        allreduce(buffer, what, op)
        if dist.run_epoch == 2:
            waited[0] += time.perf_counter() - start

    dist.allreduce = timed_allreduce
    marks = Marks(dist)
    loss = wg.losses.cross_entropy
    fit(model, loss, optimizer, (X, y), 2, batch_size=batch, seed=0, callbacks=[marks],
        progress=False, distributed=dist)  # fmt: skip
    seconds = marks.times[1] - marks.times[0]
    if dist.rank == 0:
        row = {"ranks": dist.size, "samples_per_s": batch * steps / seconds}
        print(json.dumps(row | {"allreduce_share": waited[0] / seconds}), flush=True)


class Marks:
    """A fit callback: the time at each epoch's end (the timed epoch is the 2nd); it tells
    `dist.run_epoch` the epoch being run."""

    def __init__(self, dist: object) -> None:
        self.dist, self.times = dist, []
        dist.run_epoch = 1

    def on_epoch_end(self, run: object) -> None:
        """Mark the end of epoch `run.epoch`."""
        self.times.append(time.perf_counter())
        self.dist.run_epoch = run.epoch + 1


def launch(ranks: int, steps: int, batch: int = BATCH) -> dict:
    """One mpiexec run of `ranks` ranks: rank 0's JSON row."""
    mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    env = dict(os.environ, **dict.fromkeys(THREADS, "1"))
    command = [mpiexec, "-n", str(ranks), sys.executable, __file__, "--worker", "--batch"]
    done = subprocess.run(
        [*command, str(batch), "--steps", str(steps)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    if done.returncode != 0:
        raise SystemExit(f"bench/distributed.py: {ranks} ranks failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    """Interleave the 1-rank and 2-rank runs; print the medians and the speed-up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats of 20 steps")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--batch", type=int, default=BATCH, help=argparse.SUPPRESS)
    args = parser.parse_args()
    steps = args.steps or (20 if args.quick else 40)
    if args.worker:
        worker(steps, args.batch)
        return
    rows, halves = {1: [], 2: []}, []
    for _ in range(3 if args.quick else 5):
        for ranks in (1, 2):
            rows[ranks].append(launch(ranks, steps))
        halves.append(launch(1, steps, BATCH // 2)["samples_per_s"])
    rates = {k: [r["samples_per_s"] for r in v] for k, v in rows.items()}
    print(f"MLP {'-'.join(map(str, SIZES))}, Adam, float32, global batch {BATCH}, {steps} steps")
    for ranks, values in rates.items():
        share = statistics.median(r["allreduce_share"] for r in rows[ranks])
        print(
            f"  {ranks} rank{'s' * (ranks > 1)}: {statistics.median(values):9.0f} samples/s "
            f"({min(values):.0f}-{max(values):.0f}); Allreduce {100 * share:.1f}% of the time"
        )
    speedup = statistics.median(rates[2]) / statistics.median(rates[1])
    best = max(rates[2]) / max(rates[1])
    met = "met" if speedup >= TARGET else "NOT met"
    print(
        f"  speed-up of 2 ranks over 1: {speedup:.2f}x (target >= {TARGET}x: {met}); "
        f"best runs {best:.2f}x"
    )
    ceiling = 2 * statistics.median(halves) / statistics.median(rates[1])
    print(
        f"  ceiling with free communication (2 x one rank at batch {BATCH // 2}: "
        f"{statistics.median(halves):.0f} samples/s each): {ceiling:.2f}x"
    )


if __name__ == "__main__":
    main()
