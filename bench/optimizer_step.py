"""Time one Adam step two ways: its rule (`adam_rule`) and the in-place path (`adam_rule_inplace`).

    .venv/bin/python bench/optimizer_step.py           # the MLP case and the size sweep
    .venv/bin/python bench/optimizer_step.py --quick   # fewer repeats

1. The 784-256-256-10 MLP's parameters (269,322 float32 numbers in six arrays), one
   `Adam.step()` per call: `fused=False` (the plain rule `adam_rule`: about a dozen passes,
   each with a fresh temporary) and `fused=None` (the in-place NumPy path from
   `INPLACE_MIN_SIZE` elements up).
2. One array of n elements per call, n from 256 to 1,048,576, in float32 and float64: where
   the in-place path starts to pay, which is what `INPLACE_MIN_SIZE` is set from.

Each time is the median over repeats of a timed block of calls (per-call time), the two
paths interleaved in the same run so that a noisy machine slows both alike. (A third path
through numexpr was measured here and dropped: slower than the in-place path at every size,
0.68x the plain rule on the MLP.)
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
from time import perf_counter

import numpy as np

import wengert as wg
from wengert.optim.adam import INPLACE_MIN_SIZE, Adam, adam_init_state, adam_rule, adam_rule_inplace

MLP_SHAPES = [(784, 256), (256,), (256, 256), (256,), (256, 10), (10,)]
SIZES = [256, 1024, 4096, 16384, 65536, 262144, 1048576]
HYPER = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, amsgrad=False)


def per_call(fn, repeats: int, block_s: float = 0.02) -> float:
    fn()
    number = 1
    while True:
        start = perf_counter()
        for _ in range(number):
            fn()
        if perf_counter() - start > block_s:
            break
        number *= 2
    times = []
    for _ in range(repeats):
        start = perf_counter()
        for _ in range(number):
            fn()
        times.append((perf_counter() - start) / number)
    return statistics.median(times)


def array_case(n: int, dtype, rng) -> dict:
    def make(rule):
        theta = rng.normal(size=n).astype(dtype)
        g = rng.normal(size=n).astype(dtype)
        state = adam_init_state(theta, amsgrad=False)

        def step():
            direction, new_state = rule(g, state, **HYPER)
            state.update(new_state)
            np.subtract(theta, HYPER["lr"] * direction, out=theta)

        return step

    return {"plain": make(adam_rule), "inplace": make(adam_rule_inplace)}


def mlp_case(rng) -> dict:
    def make(fused_flag):
        params = [wg.tensor(rng.normal(size=s).astype(np.float32)) for s in MLP_SHAPES]
        for p in params:
            p.grad = rng.normal(size=p.data.shape).astype(np.float32)
        return Adam(params, lr=1e-3, fused=fused_flag).step

    # fused=None: the in-place path for the four large arrays, the rule for the biases
    return {"plain": make(False), "inplace": make(None)}


def timed(cases: dict, repeats: int) -> dict:
    times: dict = {name: [] for name in cases}
    for _ in range(3):  # interleave the paths
        for name, fn in cases.items():
            times[name].append(per_call(fn, repeats))
    return {name: min(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeats = 3 if args.quick else 7
    rng = np.random.default_rng(0)
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, NumPy "
        f"{np.__version__}; in place from {INPLACE_MIN_SIZE} elements"
    )
    n_mlp = sum(int(np.prod(s)) for s in MLP_SHAPES)
    t = timed(mlp_case(rng), repeats)
    print(f"\nAdam.step() on the 784-256-256-10 MLP ({n_mlp:,} float32 parameters, 6 arrays)")
    for name, sec in t.items():
        print(f"  {name:8s} {sec * 1e3:8.3f} ms   {t['plain'] / sec:5.2f}x")
    for dtype in (np.float32, np.float64):
        print(f"\nOne array of n {dtype.__name__} elements (µs per step; speed-up over plain)")
        print(f"  {'n':>8s} {'plain':>9s} {'inplace':>16s}")
        for n in SIZES:
            t = timed(array_case(n, dtype, rng), repeats)
            cell = f"{t['inplace'] * 1e6:9.1f} ({t['plain'] / t['inplace']:4.2f}x)"
            print(f"  {n:8d} {t['plain'] * 1e6:9.1f} {cell}")


if __name__ == "__main__":
    main()
