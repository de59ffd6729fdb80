"""How much the engine costs per operation, against the same computation in plain NumPy.

Each case is written twice: with wengert Tensors (forward, then `backward()`), and in NumPy with
the gradient written by hand. The two are timed side by side in the same run, in interleaved
blocks (engine, NumPy, NumPy, engine, ...), so that a noisy machine slows both alike. Every time
is per call: the median and the minimum over the repeats, each repeat a block of calls long
enough for `time.perf_counter` to resolve.

    .venv/bin/python bench/engine_overhead.py           # the full run (under a minute)
    .venv/bin/python bench/engine_overhead.py --quick   # a few seconds, rougher numbers
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import platform
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter

import numpy as np
from timing import Stats, compare, loop, timed_part  # bench/timing.py

import wengert as wg
from wengert.autodiff.mode import recording
from wengert.autodiff.primitive import Primitive

LEARNING_RATE = 1e-3
CHAIN_FACTOR = 1.0000001
SIZES = {"scalar": (), "n=16": (16,), "n=1000": (1000,)}
MLP_SIZES = {"inputs": 10, "hidden": 32, "outputs": 1}


HOW_TO_READ = """\
  How to read it: times are per call, the median over the repeats and then the minimum.
  ratio = engine / NumPy with the gradient written by hand; 1.0x means no overhead.
  extra = (engine - NumPy) median / ops: what one recorded primitive costs, forward and
  backward together. Small arrays show the engine's fixed Python cost per operation;
  on large arrays NumPy's own work dominates and the ratio should approach 1.0x."""


@dataclass(frozen=True)
class Settings:
    repeats: int  # timed blocks per side and case
    block_s: float  # target length of one timed block
    chain_len: int  # steps x = x * c + 0 of the deep chain (two primitives each)
    chain_repeats: int


QUICK = Settings(repeats=5, block_s=0.01, chain_len=20_000, chain_repeats=3)
FULL = Settings(repeats=9, block_s=0.04, chain_len=100_000, chain_repeats=5)


@dataclass(frozen=True)
class Row:
    label: str
    n_ops: int  # primitives the engine records per call
    engine: Stats
    numpy: Stats


# ----------------------------------------------------------------------------- timing
def count_ops(fn: Callable[[], object]) -> int:
    """The graph nodes that one call of fn records (a first-order backward records none)."""
    nodes: list = []
    with recording(nodes):
        fn()
    return len(nodes)


# ----------------------------------------------------------------------------- printing
def print_header(settings: Settings, quick: bool) -> None:
    print("wengert engine overhead: engine (forward + backward) vs the same in plain NumPy")
    print(f"  Python {platform.python_version()}, NumPy {np.__version__}, wengert {wg.__version__}")
    print(f"  {platform.machine()} {platform.system()}, {os.cpu_count()} CPUs")
    mode = "quick (--quick)" if quick else "full"
    block_ms = settings.block_s * 1e3
    print(f"  run: {mode}, {settings.repeats} interleaved repeats of ~{block_ms:.0f} ms per side")
    print(HOW_TO_READ)


def print_table(title: str, rows: list[Row]) -> None:
    print()
    print(title)
    print(
        f"  {'case':<30}{'ops':>4}{'engine us':>12}{'(min)':>9}{'numpy us':>11}{'(min)':>9}"
        f"{'ratio':>8}{'(min)':>7}{'extra us/op':>12}"
    )
    for row in rows:
        e, n = row.engine, row.numpy
        extra = (e.median - n.median) / row.n_ops * 1e6 if row.n_ops else float("nan")
        print(
            f"  {row.label:<30}{row.n_ops:>4}{e.median * 1e6:>12.2f}{e.min * 1e6:>9.2f}"
            f"{n.median * 1e6:>11.2f}{n.min * 1e6:>9.2f}"
            f"{e.median / n.median:>7.1f}x{e.min / n.min:>6.1f}x{extra:>12.2f}"
        )


# ----------------------------------------------------------------------------- 1. elementwise
def elementwise_rows(settings: Settings, rng: np.random.Generator) -> list[Row]:
    """(x * w).sum() and tanh(w).sum(), gradient with respect to w, float64."""
    rows = []
    for size, shape in SIZES.items():
        x = rng.standard_normal(shape)
        w_np = rng.standard_normal(shape)
        w = wg.tensor(w_np, requires_grad=True)
        for name, engine_fn, numpy_fn in _elementwise_pairs(x, w, w_np):
            e, n = compare(loop(engine_fn), loop(numpy_fn), settings)
            rows.append(Row(f"{name}  {size}", count_ops(engine_fn), e, n))
    return rows


def _elementwise_pairs(x: np.ndarray, w: wg.Tensor, w_np: np.ndarray):
    def engine_mul():
        w.grad = None
        (x * w).sum().backward()

    def numpy_mul():
        np.sum(x * w_np)
        return x.copy()  # d/dw sum(x * w) = x; the engine also hands back an array of its own

    def engine_tanh():
        w.grad = None
        wg.tanh(w).sum().backward()

    def numpy_tanh():
        t = np.tanh(w_np)
        np.sum(t)
        return 1.0 - t * t

    return [("(x * w).sum()", engine_mul, numpy_mul), ("tanh(w).sum()", engine_tanh, numpy_tanh)]


# ----------------------------------------------------------------------------- 2. MLP step
def mlp_params(rng: np.random.Generator, dtype) -> list[np.ndarray]:
    """W1, b1, W2, b2 of a 10-32-1 perceptron with tanh hidden units."""
    n_in, n_hidden, n_out = MLP_SIZES.values()
    w1 = rng.standard_normal((n_in, n_hidden)) / np.sqrt(n_in)
    w2 = rng.standard_normal((n_hidden, n_out)) / np.sqrt(n_hidden)
    arrays = [w1, rng.standard_normal(n_hidden) * 0.1, w2, rng.standard_normal(n_out) * 0.1]
    return [a.astype(dtype) for a in arrays]


def mlp_data(rng: np.random.Generator, batch: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    x = rng.standard_normal((batch, MLP_SIZES["inputs"])).astype(dtype)
    y = rng.standard_normal((batch, MLP_SIZES["outputs"])).astype(dtype)
    return x, y


def engine_loss(params: list[wg.Tensor], x: np.ndarray, y: np.ndarray) -> wg.Tensor:
    w1, b1, w2, b2 = params
    h = wg.tanh(x @ w1 + b1)
    diff = h @ w2 + b2 - y
    return (diff * diff).mean()


def engine_step(params: list[wg.Tensor], x: np.ndarray, y: np.ndarray) -> None:
    engine_loss(params, x, y).backward()
    for p in params:
        p.data -= LEARNING_RATE * p.grad
        p.grad = None


def numpy_forward(params: list[np.ndarray], x: np.ndarray, y: np.ndarray):
    """The loss, and what the hand-written backward needs: (h, diff)."""
    w1, b1, w2, b2 = params
    h = np.tanh(x @ w1 + b1)
    diff = h @ w2 + b2 - y
    return (diff * diff).mean(), (h, diff)


def numpy_backward(params: list[np.ndarray], x: np.ndarray, cache) -> list[np.ndarray]:
    """Gradients of mean((tanh(x W1 + b1) W2 + b2 - y)^2) with respect to W1, b1, W2, b2."""
    _, _, w2, _ = params
    h, diff = cache
    g_out = diff * (2.0 / diff.size)
    g_pre = (g_out @ w2.T) * (1.0 - h * h)
    return [x.T @ g_pre, g_pre.sum(axis=0), h.T @ g_out, g_out.sum(axis=0)]


def numpy_step(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> None:
    _, cache = numpy_forward(params, x, y)
    for p, g in zip(params, numpy_backward(params, x, cache), strict=True):
        p -= LEARNING_RATE * g


def check_gradients(rng: np.random.Generator, batch: int, dtype) -> str:
    """One line saying whether engine and hand-written gradients agree; exits if they do not."""
    arrays = mlp_params(rng, dtype)
    x, y = mlp_data(rng, batch, dtype)
    params = [wg.tensor(a, requires_grad=True) for a in arrays]
    loss = engine_loss(params, x, y)
    loss.backward()
    expected_loss, cache = numpy_forward(arrays, x, y)
    expected = numpy_backward(arrays, x, cache)
    rtol, atol = (1e-4, 1e-6) if dtype == np.float32 else (1e-10, 1e-12)
    worst = max(float(np.max(np.abs(p.grad - g))) for p, g in zip(params, expected, strict=True))
    ok = np.allclose(loss.data, expected_loss, rtol=rtol) and all(
        p.grad.dtype == g.dtype and np.allclose(p.grad, g, rtol=rtol, atol=atol)
        for p, g in zip(params, expected, strict=True)
    )
    line = (
        f"  {np.dtype(dtype).name} batch {batch:>3}: loss, W1 b1 W2 b2 "
        f"{'agree' if ok else 'DIFFER'} (np.allclose rtol={rtol:g}), max |diff| {worst:.1e}"
    )
    if not ok:
        print(line)
        sys.exit("engine and hand-written NumPy gradients differ: the timings would not compare")
    return line


def mlp_rows(settings: Settings, rng: np.random.Generator, batch: int, dtype) -> tuple[Row, Row]:
    """The full training step, and the backward pass alone, for one batch size and dtype."""
    arrays = mlp_params(rng, dtype)
    x, y = mlp_data(rng, batch, dtype)
    params = [wg.tensor(a, requires_grad=True) for a in arrays]
    label = f"{np.dtype(dtype).name} batch {batch}"
    n_ops = count_ops(lambda: engine_loss(params, x, y))
    step = compare(
        loop(lambda: engine_step(params, x, y)), loop(lambda: numpy_step(arrays, x, y)), settings
    )

    def engine_forward():
        for p in params:
            p.grad = None
        return engine_loss(params, x, y)

    backward = compare(
        timed_part(engine_forward, lambda loss: loss.backward()),
        timed_part(lambda: numpy_forward(arrays, x, y)[1], lambda c: numpy_backward(arrays, x, c)),
        settings,
    )
    return Row(f"step  {label}", n_ops, *step), Row(f"backward  {label}", n_ops, *backward)


def backward_records_nothing(rng: np.random.Generator) -> int:
    """How many graph nodes a first-order backward() of the MLP loss records (should be 0)."""
    params = [wg.tensor(a, requires_grad=True) for a in mlp_params(rng, np.float64)]
    loss = engine_loss(params, *mlp_data(rng, 16, np.float64))
    return count_ops(loss.backward)


@contextlib.contextmanager
def rules_on_raw_numpy():
    """Primitive calls inside the rules go straight to NumPy, skipping the Tensor check.

    This is what the first-order sweep would cost if the rules were written in NumPy alone
    rather than with the engine's own operations (which create_graph=True needs). It is only
    valid where no rule sees a Tensor: a first-order backward().
    """
    original = Primitive.__call__
    Primitive.__call__ = lambda self, *args, **params: self.forward(*args, **params)
    try:
        yield
    finally:
        Primitive.__call__ = original


def price_of_differentiable_rules(settings: Settings, rng: np.random.Generator) -> list[str]:
    """The first-order backward with the rules as written, against the rules on raw NumPy."""
    return [_rules_price_line(settings, rng, batch) for batch in (16, 128)]


def _rules_price_line(settings: Settings, rng: np.random.Generator, batch: int) -> str:
    params = [wg.tensor(a, requires_grad=True) for a in mlp_params(rng, np.float64)]
    x, y = mlp_data(rng, batch, np.float64)

    def forward():
        for p in params:
            p.grad = None
        return engine_loss(params, x, y)

    def raw_backward(loss):
        with rules_on_raw_numpy():
            loss.backward()

    written, raw = compare(
        timed_part(forward, lambda loss: loss.backward()),
        timed_part(forward, raw_backward),
        settings,
    )
    return (
        f"  backward float64 batch {batch:>3}: rules as written {written.median * 1e6:7.2f} us, "
        f"on raw NumPy {raw.median * 1e6:7.2f} us, ratio {written.median / raw.median:.2f}x"
    )


# ----------------------------------------------------------------------------- 4. deep chain
def engine_chain(n: int) -> tuple[float, float, float]:
    """Seconds for the forward and the backward of n steps x = x * c + 0; and d(x_n)/d(x_0)."""
    x0 = wg.tensor(1.0, requires_grad=True)
    x = x0
    start = perf_counter()
    for _ in range(n):
        x = x * CHAIN_FACTOR + 0.0
    middle = perf_counter()
    x.backward()
    end = perf_counter()
    return middle - start, end - middle, float(x0.grad)


def engine_chain_gc_paused(n: int) -> tuple[float, float, float]:
    """engine_chain with the cyclic garbage collector off: how much of its time is the collector's.

    Every node is a tracked container, so a deep graph triggers repeated full collections.
    """
    gc.disable()
    try:
        return engine_chain(n)
    finally:
        gc.enable()


def numpy_chain(n: int) -> tuple[float, float, float]:
    """The same chain on NumPy scalars, its adjoint by hand: each step multiplies g by c."""
    x = np.float64(1.0)
    start = perf_counter()
    for _ in range(n):
        x = x * CHAIN_FACTOR + 0.0
    middle = perf_counter()
    g = np.float64(1.0)
    for _ in range(n):
        g = g * CHAIN_FACTOR
    end = perf_counter()
    return middle - start, end - middle, float(g)


def chain_report(settings: Settings) -> list[str]:
    n = settings.chain_len
    order = [
        ("engine", engine_chain),
        ("numpy", numpy_chain),
        ("engine, gc off", engine_chain_gc_paused),
    ]
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name, _ in order}
    gc.collect()
    for r in range(settings.chain_repeats):
        for name, fn in order if r % 2 == 0 else order[::-1]:
            results[name].append(fn(n))
    lines = [f"  {n:,} steps x = x * {CHAIN_FACTOR} + 0.0 = {2 * n:,} primitives, float64 scalars"]
    for name, runs in results.items():
        fwd = statistics.median(r[0] for r in runs) / (2 * n) * 1e6
        bwd = statistics.median(r[1] for r in runs) / (2 * n) * 1e6
        best = min(r[0] + r[1] for r in runs) / (2 * n) * 1e6
        lines.append(
            f"  {name:<15}{fwd + bwd:6.2f} us/op (min {best:.2f}): forward {fwd:.2f}, "
            f"backward {bwd:.2f}; gradient {runs[0][2]:.9f}"
        )
    total = {name: statistics.median(r[0] + r[1] for r in runs) for name, runs in results.items()}
    lines.append(f"  ratio engine / numpy {total['engine'] / total['numpy']:.0f}x (median totals)")
    lines.append(f"  expected gradient {CHAIN_FACTOR**n:.9f}; no RecursionError")
    return lines


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a fast run of a few seconds")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    rng = np.random.default_rng(0)
    started = perf_counter()
    print_header(settings, args.quick)
    print_table("1. one small op, forward + backward, float64", elementwise_rows(settings, rng))
    print("\nMLP 10-32-1, tanh hidden units, MSE loss, SGD step in place (sections 2 and 3)")
    print("gradient check, engine vs hand-written NumPy:")
    cases = [(b, d) for d in (np.float64, np.float32) for b in (16, 128)]
    for batch, dtype in cases:
        print(check_gradients(rng, batch, dtype))
    rows = [mlp_rows(settings, rng, batch, dtype) for batch, dtype in cases]
    print_table("2. training step: forward, backward, SGD update", [step for step, _ in rows])
    print_table("3. the backward pass alone (ops = forward primitives)", [bwd for _, bwd in rows])
    print(f"  graph nodes recorded by a first-order backward(): {backward_records_nothing(rng)}")
    print("  what differentiable rules (create_graph support) cost the first-order backward:")
    print("\n".join(price_of_differentiable_rules(settings, rng)))
    print("\n4. deep scalar chain, forward + backward (per primitive)")
    print("\n".join(chain_report(settings)))
    print(f"\ntotal time {perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
