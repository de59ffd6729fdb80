"""wengert against its peers on the lecture's two workloads, one table, measured side by side.

1. The lecture's perceptron y = w x, loss ½(y - w x)², η = 0.01, per-sample SGD over the
   lecture's table of four (x, y) from w = 0 (bench/perceptron_step.py's sides, and more): µs per
   step. wengert (nn.Perceptron + optim.SGD; compiled), micrograd (Value, a hand SGD update),
   JAX (one jitted step, value_and_grad and the update), PyTorch eager (nn.Linear +
   torch.optim.SGD), NumPy by hand (float64 scalars, a 0-d array, a (1,) array), Python floats.
2. The 784-256-256-10 ReLU MLP, softmax cross-entropy, Adam (lr 1e-3), float32, on
   bench/training.py's synthetic data: ms per step at batch 16, samples/s at batch 128.
   wengert (Adam's default path; compiled), JAX (a jitted step, Adam written by hand in jnp),
   PyTorch eager (torch.optim.Adam with foreach=True, and with fused=True), NumPy by hand
   (bench/numpy_mlp.py).

"wengert, compiled" is `step = wengert.compile_step(model, loss, optimizer)`, `step(X, y)`
returning the loss, on backend "auto": numba where it is installed (`make bench` installs it),
and then a row for the NumPy backend too. A peer that does
not import is left out with a note. Every library runs on --threads threads (default 1): NumPy's
BLAS through threadpoolctl, torch.set_num_threads, XLA's CPU flags for JAX. Correctness first:
from the same start, every side's loss after the same steps on the same data matches wengert's
(the script exits otherwise), so the timed steps do the same work. The sides of a workload are
timed in interleaved blocks in one process (bench/timing.py): median, range (min-max), and
"x wengert", how many times faster than wengert's eager row (medians; "best": fastest blocks).

    .venv/bin/python bench/peers.py           # full run (~3 minutes); writes results.md
    .venv/bin/python bench/peers.py --quick   # under a minute, rougher numbers, writes nothing
"""

from __future__ import annotations

import argparse
import datetime
import functools
import itertools
import os
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from numpy_mlp import NumpyMLP  # bench/numpy_mlp.py
from perceptron_step import ETA, STEPS, TABLE, perceptron_sides  # bench/perceptron_step.py
from timing import Stats, compare_many, loop, machine, progress, write_section
from training import (  # bench/training.py
    LR,
    SIZES,
    batches,
    initial_params,
    make_data,
    torch_model,
    torch_step,
    wengert_model,
    wengert_step,
)

import wengert as wg
import wengert.losses
import wengert.nn
import wengert.optim
from wengert.compile import numba_backend

PEERS = ("torch", "jax", "micrograd")
RESULTS = Path(__file__).with_name("results.md")
QUICK = SimpleNamespace(repeats=3, block_s=0.05)
FULL = SimpleNamespace(repeats=13, block_s=0.3)
EAGER_P, EAGER_MLP = "wengert, nn.Perceptron + optim.SGD", "wengert, Adam (eager)"
COMPILED = "wengert, compiled (compile_step)"  # backend "auto": numba where it is installed
NUMPY_BACKEND = "wengert, compiled, NumPy backend"
LEGEND = "x wengert: how many times faster than wengert's eager row (medians; best: fastest blocks)"
CHECK_EPOCHS, CHECK_STEPS = 3, 10  # perceptron epochs, MLP steps, before the losses are compared
P_RTOL, MLP_RTOL = 1e-5, 2e-3


@dataclass(frozen=True)
class Row:
    label: str
    stats: Stats | None  # seconds per call; None: not measured, `note` says why
    per_call: int = 1  # steps in one call: an epoch of the perceptron, one MLP step
    note: str = ""


# ----------------------------------------------------------------------------- peers
def import_peers(threads: int) -> tuple[dict, list[str]]:
    """name -> module (absent when it does not import), and the notes on threads and skips."""
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
        f" intra_op_parallelism_threads={threads}"
    )  # read when jax starts its CPU backend
    found, notes = {}, []
    for name in PEERS:
        try:
            found[name] = __import__(name)
        except ImportError as exc:
            notes.append(f"skipped {name}: {exc} (pip install -e '.[peers]')")
    if "torch" in found:
        found["torch"].set_num_threads(threads)
    if "micrograd" in found:
        from micrograd.engine import Value

        found["micrograd"] = Value
    try:
        from threadpoolctl import threadpool_limits

        found["limits"] = threadpool_limits(limits=threads)  # kept: the limit lasts the run
    except ImportError:
        notes.append("threadpoolctl absent: NumPy's BLAS runs on its default threads")
    return found, notes


def versions(found: dict) -> str:
    names = ["numpy", "wengert", *(name for name in PEERS if name in found)]
    names += ["numba"] if numba_backend.available() else []
    return ", ".join(f"{name} {metadata.version(name)}" for name in names)


def compiled_sides(make, *args) -> dict:
    """label -> make(compile_step, *args), or the reason a row is missing: backend "auto"
    (numba where it is installed), and the NumPy backend too where auto is numba."""
    compile_step = getattr(wg, "compile_step", None)
    if compile_step is None:
        return {COMPILED: "not available: no wengert.compile_step"}
    backends = {COMPILED: "auto"}
    if numba_backend.available():
        backends[NUMPY_BACKEND] = "numpy"
    sides = {}
    for label, backend in backends.items():
        try:
            sides[label] = make(functools.partial(compile_step, backend=backend), *args)
        except Exception as exc:  # a step it cannot compile yet is reported in its row
            sides[label] = f"not available: {type(exc).__name__}: {exc}"
    return sides


# ----------------------------------------------------------------------------- 1. perceptron
def perceptron_all(found: dict) -> dict:
    """label -> (one epoch of per-sample SGD over the table, the current w), from w = 0."""
    sides = perceptron_sides(found.get("torch"))
    sides["NumPy 0-d array by hand"] = _numpy_0d()
    if "micrograd" in found:
        sides["micrograd, Value + hand SGD"] = _micrograd(found["micrograd"])
    if "jax" in found:
        sides["JAX, jitted step"] = _jax_perceptron(found["jax"])
    sides.update(compiled_sides(_wengert_compiled))
    return sides


def _numpy_0d():
    w = np.zeros(())

    def epoch():
        for x, y in TABLE:
            w[...] = w - ETA * (w * x - y) * x  # the gradient of ½(y - w x)² is (w x - y) x

    return epoch, lambda: float(w)


def _micrograd(Value):
    w = Value(0.0)

    def epoch():
        for x, y in TABLE:
            loss = 0.5 * (y - w * x) ** 2
            w.grad = 0.0
            loss.backward()
            w.data -= ETA * w.grad

    return epoch, lambda: w.data


def _jax_perceptron(jax):
    jnp = jax.numpy
    grad = jax.value_and_grad(lambda w, x, y: 0.5 * (y - w * x) ** 2)

    @jax.jit
    def step(w, x, y):
        loss, g = grad(w, x, y)
        return w - ETA * g, loss

    table = [(jnp.float32(x), jnp.float32(y)) for x, y in TABLE]
    state = [jnp.zeros((), jnp.float32)]

    def epoch():
        w = state[0]
        for x, y in table:
            w, _ = step(w, x, y)
        state[0] = w.block_until_ready()

    return epoch, lambda: float(state[0])


def _wengert_compiled(compile_step):
    model = wg.nn.Perceptron(1, bias=False)  # float32, w = 0
    step = compile_step(model, wengert.losses.l2, wg.optim.SGD(model.parameters(), lr=ETA))
    table = [(np.array([[x]], np.float32), np.array([y], np.float32)) for x, y in TABLE]

    def epoch():
        for x, y in table:
            step(x, y)

    return epoch, lambda: float(model.parameters()[0].data.item())


def table_loss(w: float) -> float:
    """The mean of ½(y - w x)² over the lecture's table."""
    return float(np.mean([0.5 * (y - w * x) ** 2 for x, y in TABLE]))


def perceptron_rows(found: dict, settings) -> tuple[list[Row], str]:
    """Rows of µs per step (one call = an epoch of STEPS steps), and the agreement line."""
    progress("checking and timing the perceptron")
    sides, absent = present(perceptron_all(found))
    losses = {}
    for label, (epoch, w) in sides.items():
        for _ in range(CHECK_EPOCHS):
            epoch()
        losses[label] = table_loss(w())
    line = agreement("perceptron", CHECK_EPOCHS * STEPS, losses, losses[EAGER_P], P_RTOL)
    stats = compare_many({k: loop(epoch) for k, (epoch, _) in sides.items()}, settings)
    return [Row(k, s, STEPS) for k, s in stats.items()] + absent, line


def present(sides: dict) -> tuple[dict, list[Row]]:
    """The sides that run, and a row for each that does not (given as its reason, a str)."""
    runs = {k: v for k, v in sides.items() if not isinstance(v, str)}
    return runs, [Row(k, None, note=v) for k, v in sides.items() if isinstance(v, str)]


def agreement(name: str, steps: int, losses: dict[str, float], ours: float, rtol: float) -> str:
    """The line saying that every side's loss matches wengert's; exits when one does not."""
    worst = max(abs(v - ours) / abs(ours) for v in losses.values())
    line = (
        f"  {name}: after {steps} steps from the same start every side's loss is {ours:.6g} "
        f"within rtol {rtol:g} of wengert's (largest relative difference {worst:.1e})"
    )
    if worst > rtol:
        bad = {k: v for k, v in losses.items() if abs(v - ours) > rtol * abs(ours)}
        sys.exit(
            f"{name}: losses differ from wengert's {ours!r}: {bad}; the timings would not compare"
        )
    return line


# ----------------------------------------------------------------------------- 2. MLP
def mlp_sides(found: dict, X, y, batch: int) -> dict:
    """label -> one training step on the side's next batch, returning the loss (a float)."""
    params, sides = initial_params(), {}
    model, opt = wengert_model(params)
    data = batches(X, y, batch)
    sides[EAGER_MLP] = lambda: wengert_step(model, opt, *next(data))
    sides.update(compiled_sides(_compiled_mlp, params, X, y, batch))
    if "jax" in found:
        sides["JAX, jitted step, Adam by hand"] = _jax_mlp(found["jax"], params, X, y, batch)
    if (torch := found.get("torch")) is not None:
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        for label, option in (("foreach=True", "foreach"), ("fused=True", "fused")):
            net, _ = torch_model(torch, params)
            opt_t = torch.optim.Adam(net.parameters(), lr=LR, **{option: True})
            data_t = batches(Xt, yt, batch)
            step = lambda n=net, o=opt_t, d=data_t: torch_step(torch, n, o, *next(d))
            sides[f"PyTorch eager, Adam {label}"] = step
    reference, data_np = NumpyMLP(params, lr=LR), batches(X, y, batch)
    sides["NumPy by hand"] = lambda: reference.step(*next(data_np))
    return sides


def _compiled_mlp(compile_step, params, X, y, batch: int):
    model, opt = wengert_model(params)
    step, data = compile_step(model, wengert.losses.cross_entropy, opt), batches(X, y, batch)
    return lambda: float(step(*next(data)))


def _jax_mlp(jax, params, X, y, batch: int):
    """A jitted step: the loss and its gradient, then PyTorch's Adam written in jnp."""
    jnp, tree = jax.numpy, jax.tree_util.tree_map
    (b1, b2), eps = (0.9, 0.999), 1e-8

    def loss_fn(ps, xb, yb):
        h = xb
        for w, b in ps[:-1]:
            h = jax.nn.relu(h @ w + b)
        logp = jax.nn.log_softmax(h @ ps[-1][0] + ps[-1][1])
        return -jnp.mean(jnp.take_along_axis(logp, yb[:, None], axis=1))

    @jax.jit
    def step(ps, m, v, t, xb, yb):
        loss, g = jax.value_and_grad(loss_fn)(ps, xb, yb)
        t = t + 1
        m = tree(lambda m, g: b1 * m + (1 - b1) * g, m, g)
        v = tree(lambda v, g: b2 * v + (1 - b2) * (g * g), v, g)
        size, root = LR / (1 - b1**t), jnp.sqrt(1 - b2**t)
        ps = tree(lambda p, m, v: p - size * (m / (jnp.sqrt(v) / root + eps)), ps, m, v)
        return ps, m, v, t, loss

    ps = [(jnp.asarray(w), jnp.asarray(b)) for w, b in zip(params[0::2], params[1::2], strict=True)]
    state = [ps, tree(jnp.zeros_like, ps), tree(jnp.zeros_like, ps), jnp.float32(0)]
    cut = range(0, len(X) - batch + 1, batch)
    data = itertools.cycle(
        [(jnp.asarray(X[i : i + batch]), jnp.asarray(y[i : i + batch])) for i in cut]
    )

    def run():
        *state[:4], loss = step(*state, *next(data))
        return float(loss)  # waits for the step, as the other sides' float(loss) does

    return run


def mlp_rows(found: dict, X, y, batch: int, settings) -> tuple[list[Row], str]:
    """Rows for one batch size (one call = one step of `batch` samples), and the agreement line."""
    progress(f"checking and timing the MLP at batch {batch}")
    sides, absent = present(mlp_sides(found, X, y, batch))
    losses = {}
    for label, step in sides.items():
        losses[label] = [step() for _ in range(CHECK_STEPS + 1)][-1]
    line = agreement(f"MLP batch {batch}", CHECK_STEPS, losses, losses[EAGER_MLP], MLP_RTOL)
    stats = compare_many({k: loop(step) for k, step in sides.items()}, settings)
    return [Row(k, s, 1) for k, s in stats.items()] + absent, line


# ----------------------------------------------------------------------------- report
def missing_rows(found: dict, mlp: bool) -> list[Row]:
    """A row for each peer that is not installed."""
    peers = ["jax", "torch"] + ([] if mlp else ["micrograd"])
    return [Row(name, None, note="not installed") for name in peers if name not in found]


def section_lines(title: str, rows: list[Row], reference: str, unit: str, batch: int = 1):
    """One workload's rows: median, range and x wengert, in µs/step, ms/step or samples/s."""
    ref = next(r for r in rows if r.label == reference).stats
    lines = [title]
    for row in rows:
        if row.stats is None:
            lines.append(f"    {row.label:<40}{row.note:>20}")
            continue
        s, n = row.stats, row.per_call
        if unit == "samples/s":
            cells = [f"{batch * n / t:,.0f}" for t in (s.median, s.max, s.min)]
        else:
            scale = 1e6 if unit == "µs/step" else 1e3
            cells = [f"{t / n * scale:.2f}" for t in (s.median, s.min, s.max)]
        ratio, best = ref.median / s.median, ref.min / s.min
        lines.append(
            f"    {row.label:<40}{cells[0]:>10}{cells[1]:>12}-{cells[2]:<10}"
            f"{ratio:>9.2f}x{best:>7.2f}x"
        )
    return lines


def header_lines(settings, quick: bool, threads: int, found: dict, notes: list[str]) -> list[str]:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = " ".join([os.path.relpath(sys.executable), *sys.argv])
    return [
        "wengert against its peers: the lecture's perceptron and the 784-256-256-10 MLP",
        f"  date: {now}; command: {command}",
        *[f"  {line}" for line in machine()],
        f"  {versions(found)}",
        f"  run: {'quick' if quick else 'full'}, {settings.repeats} interleaved blocks of "
        f"~{settings.block_s * 1e3:.0f} ms per side; every library on {threads} thread(s) "
        "(NumPy's BLAS, torch, XLA's CPU backend)",
        f"  load average at the start: {os.getloadavg()[0]:.2f} (the machine is shared)",
        *[f"  {note}" for note in notes],
    ]


def threads_count(text: str) -> int:
    """--threads: a whole number of at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1; got {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a rough run of under a minute")
    parser.add_argument("--threads", type=threads_count, default=1, help="per library (1)")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    found, notes = import_peers(args.threads)
    report = header_lines(settings, args.quick, args.threads, found, notes)
    X, y = make_data()
    perceptron, p_line = perceptron_rows(found, settings)
    mlp = {batch: mlp_rows(found, X, y, batch, settings) for batch in (16, 128)}
    report += ["", "Checks", p_line, mlp[16][1], mlp[128][1], "", LEGEND]
    report.append(
        f"  {'case':<40}{'median':>10}{'range (min-max)':>23}{'x wengert':>10}{'(best)':>8}"
    )
    title = f"1. perceptron y = w x, µs per SGD step (η = {ETA}, the lecture's table)"
    report += section_lines(title, perceptron + missing_rows(found, False), EAGER_P, "µs/step")
    for n, batch, unit in ((2, 16, "ms/step"), (3, 128, "samples/s")):
        title = f"{n}. MLP {'-'.join(map(str, SIZES))}, Adam, float32, batch {batch}, {unit}"
        rows = mlp[batch][0] + missing_rows(found, True)
        report += section_lines(title, rows, EAGER_MLP, unit, batch)
    report += ["", f"load average at the end: {os.getloadavg()[0]:.2f}"]
    print("\n".join(report))
    if not args.quick:
        text = ["", "## Peers (bench/peers.py)", "", "Written by `bench/peers.py`; what is "
                "measured and how: its docstring.", "", "```text", *report, "```", ""]  # fmt: skip
        write_section(RESULTS, "peers", text)
        print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
