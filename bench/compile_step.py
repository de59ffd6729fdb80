"""The lecture's smallest perceptron, eager against wg.compile: µs per per-sample SGD step.

The model is y = w x, the loss l2 = ½(ŷ - y)², η = 0.01, from w = 0, float32, on the lecture's
table of four (x, y); one call is one epoch of per-sample SGD, so a step is a quarter of a call.
Sides: eager, nn.Perceptron(1, bias=False) with losses.l2, backward() and the update by hand
(as in bench/perceptron_step.py); compiled, one function step(w, x, y) that computes the same
forward (the `linear` node nn.Perceptron records), takes wg.value_and_grad of the loss and
returns w - η w̄, compiled once by wg.compile; and a NumPy (1,) array updated in place, the
floor. Correctness first: one epoch gives every side the same w (rtol 1e-6). The sides are
timed in interleaved blocks (bench/timing.py): median, min, max. A second table times one
minibatch step of a small MLP (4-16-3, relu, cross-entropy, a batch of 32, float32), eager
against compiled, after checking that both give the same loss and weights, with a row for
wg.compile_step of the same MLP as nn layers with SGD (the optimizer's update included). Where
numba is installed, the perceptron's step is also timed on each backend of wg.compile, and the
numba program alone (its machine code, without the Python call around it). The perceptron
table also has rows for wg.compile_step(nn.Perceptron, l2, SGD) on each backend: a whole step,
the optimizer's update included. Last, unless --small, the 784-256-256-10 ReLU MLP with Adam
(lr 1e-3, float32, bench/training.py's data) at batch 16 and 128: the eager step, the compiled
step on each backend and NumPy by hand (bench/numpy_mlp.py), checked to give the same losses
for 5 steps, with the peak memory one step allocates (tracemalloc). The compiled perceptron
program is printed below the tables. Set OPENBLAS_NUM_THREADS=1 on a shared machine.

    .venv/bin/python bench/compile_step.py           # 13 blocks of ~0.3 s per side
    .venv/bin/python bench/compile_step.py --quick   # 3 blocks of ~50 ms per side
"""

from __future__ import annotations

import argparse
import sys
import tracemalloc
from types import SimpleNamespace

import numpy as np
from numpy_mlp import NumpyMLP  # bench/numpy_mlp.py
from timing import compare_many, loop, machine, progress  # bench/timing.py
from training import LR, batches, initial_params, make_data, wengert_model, wengert_step

import wengert as wg
import wengert.losses
import wengert.nn
from wengert.autodiff.ops import linear

TABLE = ((10.0, 10.1), (2.0, 1.9), (3.5, 3.4), (1.0, 1.1))  # the lecture's (x, y)
STEPS = len(TABLE)
ETA = 0.01
EAGER, COMPILED, FLOOR = "eager nn.Perceptron + l2", "wg.compile(step)", "NumPy (1,) array"
STEP = "compile_step"
BACKENDS = ("numpy", "auto")  # "auto": numba where it is installed (the default)
QUICK = SimpleNamespace(repeats=3, block_s=0.05)
FULL = SimpleNamespace(repeats=13, block_s=0.3)


def _table():
    return [(np.array([[x]], np.float32), np.array([y], np.float32)) for x, y in TABLE]


def _eager():
    model = wg.nn.Perceptron(1, bias=False)  # float32, w = 0
    params = model.parameters()
    table = _table()

    def epoch():
        for x, y in table:
            wengert.losses.l2(model(x), y).backward()
            with wg.no_grad():
                for p in params:
                    p -= ETA * p.grad
                    p.grad = None

    return epoch, lambda: float(params[0].data.item())


def step(w, x, y):
    """One SGD step of the perceptron y = w x on the loss l2: (loss, the new w)."""

    def loss(w):
        return wengert.losses.l2(linear(x, w), y)

    value, w_bar = wg.value_and_grad(loss)(w)
    return value, w - ETA * w_bar


def _compiled(compiled):
    state = [np.zeros(1, np.float32)]
    table = _table()

    def epoch():
        w = state[0]
        for x, y in table:
            _, w = compiled(w, x, y)
        state[0] = w

    return epoch, lambda: float(state[0][0])


def _floor():
    w = np.zeros(1, np.float32)
    table = [(np.float32(x), np.float32(y)) for x, y in TABLE]

    def epoch():
        for x, y in table:
            w[:] -= np.float32(ETA) * (w * x - y) * x

    return epoch, lambda: float(w[0])


def sides(compiled) -> dict:
    """label -> (one epoch of per-sample SGD over the table, the current w), from w = 0."""
    sides = {EAGER: _eager(), COMPILED: _compiled(compiled), FLOOR: _floor()}
    for backend in BACKENDS:
        sides[f"{STEP}, {backend}"] = _perceptron_compile_step(backend)
    return sides


def mlp_step(W1, b1, W2, b2, X, y):
    """One SGD step of a one-hidden-layer MLP on cross-entropy: (loss, the new weights)."""

    def loss(W1, b1, W2, b2):
        h = wg.relu(X @ W1 + b1)
        return wengert.losses.cross_entropy(h @ W2 + b2, y)

    value, grads = wg.value_and_grad(loss, argnums=(0, 1, 2, 3))(W1, b1, W2, b2)
    return value, *(p - ETA * g for p, g in zip((W1, b1, W2, b2), grads, strict=True))


def compile_step_runner(args: list):
    """wg.compile_step of the same MLP as nn layers with SGD (η = ETA): a whole step, the
    optimizer's update included; checked first against one step of mlp_step (rtol 1e-6)."""
    *weights, X, y = args
    model = wengert.nn.MLP([4, 16, 3], seed=0)
    for p, a in zip(model.parameters(), weights, strict=True):
        p.data = a.copy()
    optimizer = wg.optim.SGD(model.parameters(), lr=ETA)
    step = wg.compile_step(model, wengert.losses.cross_entropy, optimizer)
    step(X, y)
    for p, want in zip(model.parameters(), mlp_step(*args)[1:], strict=True):
        if not np.allclose(p.data, want.data, rtol=1e-6):
            sys.exit("wg.compile_step of the MLP differs from the eager step")
    return loop(lambda: step(X, y))


def _perceptron_compile_step(backend: str):
    """wg.compile_step of nn.Perceptron(1, bias=False) on l2 with SGD (η = ETA): an epoch."""
    model = wg.nn.Perceptron(1, bias=False)  # float32, w = 0
    optimizer = wg.optim.SGD(model.parameters(), lr=ETA)
    step = wg.compile_step(model, wengert.losses.l2, optimizer, backend=backend)
    table = _table()

    def epoch():
        for x, y in table:
            step(x, y)

    return epoch, lambda: float(model.parameters()[0].data.item())


def big_mlp_sides(batch: int) -> dict:
    """label -> one step of the 784-256-256-10 MLP (relu, cross-entropy, Adam lr 1e-3, float32)
    on the next batch, from the same weights: eager, wg.compile_step, NumPy by hand."""
    X, y = make_data()
    params = initial_params()
    eager, opt = wengert_model(params)
    hand = NumpyMLP(params, lr=LR)
    data = {label: batches(X, y, batch) for label in ("eager", "hand", *BACKENDS)}
    sides = {"eager (backward, Adam.step)": lambda: wengert_step(eager, opt, *next(data["eager"]))}
    for backend in BACKENDS:
        model, optimizer = wengert_model(params)
        step = wg.compile_step(model, wengert.losses.cross_entropy, optimizer, backend=backend)
        sides[f"{STEP}, {backend}"] = lambda s=step, d=data[backend]: float(s(*next(d)))
    sides["NumPy by hand"] = lambda: hand.step(*next(data["hand"]))
    return sides


def big_mlp_times(batch: int, settings) -> tuple[dict, dict]:
    """(label -> seconds per step, label -> peak bytes a step allocates) at one batch size,
    after checking that 5 steps give every side the same losses (rtol 1e-4)."""
    sides = big_mlp_sides(batch)
    losses = {label: [f() for _ in range(5)] for label, f in sides.items()}
    want = losses["NumPy by hand"]
    if not all(np.allclose(v, want, rtol=1e-4) for v in losses.values()):
        sys.exit(f"the MLP steps differ at batch {batch}: {losses}")
    peaks = {}
    for label, f in sides.items():
        tracemalloc.start()
        f()
        peaks[label] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return compare_many({k: loop(f) for k, f in sides.items()}, settings), peaks


def print_big_mlp(settings) -> None:
    """The table of the 784-256-256-10 MLP with Adam at batch 16 and 128."""
    for batch in (16, 128):
        progress(f"timing the 784-256-256-10 MLP with Adam at batch {batch}")
        times, peaks = big_mlp_times(batch, settings)
        ref = times["eager (backward, Adam.step)"].median
        print(f"MLP 784-256-256-10, Adam, float32, batch {batch}: µs per step, peak MiB a step")
        for label, t in times.items():
            us = [x * 1e6 for x in (t.median, t.min, t.max)]
            mib = peaks[label] / 2**20
            print(f"    {label:<28}{us[0]:>8.0f}{us[1]:>11.0f}-{us[2]:<8.0f}{ref / t.median:>9.2f}x"
                  f"{mib:>8.2f}")  # fmt: skip


def mlp_times(settings) -> dict:
    """label -> seconds per minibatch step of the MLP, eager and compiled."""
    rng = np.random.default_rng(0)
    shapes = [(4, 16), (16,), (16, 3), (3,), (32, 4)]
    args = [rng.normal(size=s).astype(np.float32) for s in shapes] + [rng.integers(0, 3, 32)]
    compiled = wg.compile(mlp_step)
    for a, b in zip(compiled(*args), mlp_step(*args), strict=True):
        if not np.allclose(a, b.data if isinstance(b, wg.Tensor) else b, rtol=1e-6):
            sys.exit("the compiled MLP step differs from the eager one")
    runners = {"eager": loop(lambda: mlp_step(*args)), "compiled": loop(lambda: compiled(*args))}
    runners["compile_step nn.MLP+SGD"] = compile_step_runner(args)
    return compare_many(runners, settings)


def numba_times(settings) -> tuple[dict, float] | None:
    """The perceptron step compiled by wg.compile on NumPy and on numba, with the program called
    alone (`_kernel`, numba's machine code, no wrapper): label -> seconds per epoch, and numba's
    compile time (near 0 where its cache had the program); None without numba."""
    numba = wg.compile(step, data_argnums=2, backend="auto")
    w, (x, y) = np.zeros(1, np.float32), _table()[0]
    numba(w, x, y)
    if numba.backend != "numba":
        progress(f"no numba row: {numba.note}")
        return None
    numpy = wg.compile(step, data_argnums=2, backend="numpy")
    kernel = numba._last.function.__globals__["_kernel"]
    programs = {"backend='numpy'": numpy, "backend='numba'": numba, "numba, program alone": kernel}
    ws = {label: _compiled(f) for label, f in programs.items()}
    for label, (epoch, current) in ws.items():
        epoch()
        if not np.isclose(current(), ws["backend='numpy'"][1](), rtol=1e-6):
            sys.exit(f"one epoch on {label} gives another w")
    times = compare_many({label: loop(_compiled(f)[0]) for label, f in programs.items()}, settings)
    return times, numba.compile_seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 blocks of ~50 ms per side")
    parser.add_argument("--small", action="store_true", help="leave out the 784-256-256-10 MLP")
    args = parser.parse_args(argv)
    settings, quick_only = (QUICK if args.quick else FULL), args.small
    compiled = wg.compile(step, data_argnums=2)
    progress("timing the smallest perceptron, eager and compiled")
    ws, checked = {}, sides(compiled)
    for label, (epoch, w) in checked.items():
        epoch()
        ws[label] = w()
    if not all(np.isclose(w, ws[EAGER], rtol=1e-6) for w in ws.values()):
        sys.exit(f"one epoch from w = 0 gives different w: {ws}")
    # The sides that were checked, warm: a first call that traces (and compiles with numba)
    # inside the calibration would leave one call per block.
    times = compare_many({k: loop(e) for k, (e, _) in checked.items()}, settings)
    print(f"smallest perceptron y = w x, µs per SGD step (η = {ETA}, float32, the lecture's table)")
    print("\n".join(f"  {line}" for line in machine()))
    print(f"  {settings.repeats} interleaved blocks of ~{settings.block_s * 1e3:.0f} ms per side")
    print(f"  one epoch from w = 0: every side gives w = {ws[EAGER]:.7f} (agree, rtol 1e-6)")
    print(f"  {'case':<30}{'median':>8}{'range (min-max)':>20}{'x eager':>10}")
    ref = times[EAGER].median
    for label, s in times.items():
        us = [t / STEPS * 1e6 for t in (s.median, s.min, s.max)]
        print(f"    {label:<28}{us[0]:>8.2f}{us[1]:>11.2f}-{us[2]:<8.2f}{ref / s.median:>9.2f}x")
    by_backend = numba_times(settings)
    if by_backend is not None:
        numba, seconds = by_backend
        print(f"  wg.compile(step) by backend (numba's compile: {seconds:.2f} s; 0 from its cache)")
        for label, s in numba.items():
            us = [t / STEPS * 1e6 for t in (s.median, s.min, s.max)]
            print(
                f"    {label:<28}{us[0]:>8.2f}{us[1]:>11.2f}-{us[2]:<8.2f}{ref / s.median:>9.2f}x"
            )
    mlp = mlp_times(settings)
    print("one minibatch SGD step of an MLP 4-16-3 (relu, cross-entropy, batch 32, float32), µs")
    for label, t in mlp.items():
        us = [x * 1e6 for x in (t.median, t.min, t.max)]
        speedup = mlp["eager"].median / t.median
        print(f"    {label:<28}{us[0]:>8.2f}{us[1]:>11.2f}-{us[2]:<8.2f}{speedup:>9.2f}x")
    if not quick_only:
        print_big_mlp(settings)
    print("\nthe compiled perceptron program:\n" + compiled.source)


if __name__ == "__main__":
    main()
