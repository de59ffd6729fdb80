"""Training speed: wengert against hand-written NumPy, PyTorch and scikit-learn, side by side.

1. Samples per second of the 784-256-256-10 ReLU MLP, softmax cross-entropy, Adam (lr 1e-3),
   float32, on synthetic data (N(0, 1) features, random labels 0..9, seed 0), at batch 128
   and 16: wengert (Adam's default path, fused=None: in place for arrays of 1024 elements or
   more; fused=False, the plain rule; fused=True, in place for every array; `wengert.train.fit`
   for an epoch when it imports), the hand-written NumPy reference (bench/numpy_mlp.py),
   PyTorch eager (2 threads) and scikit-learn's MLPClassifier, each peer only when it imports.
2. Microseconds per per-sample SGD step of the lecture's smallest perceptron, y = w x, loss
   ½(y - w x)², η = 0.01, on the lecture's table: wengert (bare Tensor, nn.Perceptron) against
   Python floats, NumPy and PyTorch (bench/perceptron_step.py).
3. Where one wengert step's time goes (forward + loss, backward, optimizer step), against the
   same parts of the NumPy reference (bench/step_parts.py).

Every side is timed in blocks interleaved with the others in the same run (bench/timing.py); a
number is the median over the blocks, the range (min-max) beside it; "x NumPy" is how many times
faster than the NumPy reference a row runs (medians; "best" compares the fastest blocks).
Correctness comes first: gradients against the NumPy reference, the loss falling, float32
throughout (graph nodes, every cotangent of the backward sweep, gradients, Adam's state).

    .venv/bin/python bench/training.py           # full run (~3 minutes); writes results.md
    .venv/bin/python bench/training.py --quick   # under half a minute, rougher numbers
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

import numpy as np
from numpy_mlp import NumpyMLP  # bench/numpy_mlp.py
from perceptron_step import BARE, ETA, NP_SCALARS, PERCEPTRON, STEPS, TORCH_BARE, perceptron_times
from step_parts import Parts, parts_lines, step_parts, wengert_parts  # bench/step_parts.py
from timing import Stats, compare_many, loop, machine, progress, write_section  # bench/timing.py

import wengert as wg
import wengert.losses
import wengert.nn
import wengert.optim
from wengert.autodiff import backward as backward_module
from wengert.autodiff.mode import recording

SIZES = [784, 256, 256, 10]
LR = 1e-3
N_SAMPLES = 8192
BATCHES = (128, 16)
RESULTS = Path(__file__).with_name("results.md")
DEFAULT, NUMPY, TORCH = "wengert, Adam (default)", "NumPy by hand", "PyTorch, Adam (default)"
ADAMS = (
    (DEFAULT, None),
    ("wengert, Adam fused=False", False),
    ("wengert, Adam fused=True", True),
)


@dataclass(frozen=True)
class Settings:
    repeats: int  # timed blocks per case
    block_s: float  # target length of one block, seconds
    epoch_samples: int  # samples per call of the epoch-level runners (fit, scikit-learn)


QUICK = Settings(repeats=3, block_s=0.05, epoch_samples=512)
FULL = Settings(repeats=13, block_s=0.3, epoch_samples=4096)


@dataclass(frozen=True)
class Row:
    label: str
    stats: Stats  # seconds per call
    per_call: int  # samples (throughput) or steps (µs per step) in one call

    def speed(self, best: bool = False) -> float:
        return self.per_call / (self.stats.min if best else self.stats.median)


# ----------------------------------------------------------------------------- peers
def import_peers() -> tuple[dict, dict]:
    """name -> module or function (None when missing) and name -> why it was skipped."""
    found, skipped = {}, {}
    for name, how in (("torch", _torch), ("sklearn", _sklearn), ("fit", _fit)):
        try:
            found[name] = how()
        except Exception as exc:  # a missing or half-written peer is reported, not fatal
            found[name], skipped[name] = None, f"{type(exc).__name__}: {exc}"
    return found, skipped


def _torch():
    import torch

    torch.set_num_threads(2)
    return torch


def _sklearn():
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier


def _fit():
    from wengert.train import fit

    return fit


def versions(found: dict) -> str:
    out = [f"NumPy {np.__version__}", f"wengert {wg.__version__}"]
    if (torch := found["torch"]) is not None:
        out.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    if found["sklearn"] is not None:
        import sklearn

        out.append(f"scikit-learn {sklearn.__version__}")
    return ", ".join(out)


# ----------------------------------------------------------------------------- data and models
def make_data(n: int = N_SAMPLES, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, SIZES[0]), dtype=np.float32), rng.integers(0, 10, n)


def initial_params(dtype=np.float32) -> list[np.ndarray]:
    """W1, b1, ..., b3 of wengert.nn.MLP(SIZES, seed=0): every side starts from these."""
    model = wg.nn.MLP(SIZES, activation="relu", seed=0, dtype=dtype)
    return [p.data.copy() for p in model.parameters()]


def batches(X, y, batch: int):
    """An endless cycle over the consecutive batches of (X, y): views, no copy, no shuffle."""
    while True:
        for i in range(0, len(X) - batch + 1, batch):
            yield X[i : i + batch], y[i : i + batch]


def wengert_model(params: list[np.ndarray], fused=None):
    model = wg.nn.MLP(SIZES, activation="relu", seed=0, dtype=params[0].dtype)
    for p, value in zip(model.parameters(), params, strict=True):
        p.data[...] = value
    return model, wg.optim.Adam(model.parameters(), lr=LR, fused=fused)


def wengert_step(model, opt, xb, yb) -> float:
    opt.zero_grad()
    loss = wengert.losses.cross_entropy(model(xb), yb)
    loss.backward()
    opt.step()
    return float(loss.data)


def torch_model(torch, params: list[np.ndarray], fused=None):
    nn = torch.nn
    net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU())
    net.append(nn.Linear(256, 10))
    linears = [m for m in net if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for layer, w, b in zip(linears, params[0::2], params[1::2], strict=True):
            layer.weight.copy_(torch.from_numpy(w.T.copy()))  # torch stores (outputs, inputs)
            layer.bias.copy_(torch.from_numpy(b))
    return net, torch.optim.Adam(net.parameters(), lr=LR, fused=fused)


def torch_step(torch, net, opt, xb, yb) -> float:
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(net(xb), yb)
    loss.backward()
    opt.step()
    return loss.item()


# ----------------------------------------------------------------------------- 1. throughput
def throughput_runners(X, y, batch: int, settings: Settings, found: dict) -> dict:
    """label -> (runner, samples per call) for every side that runs here."""
    params, runners = initial_params(), {}
    for label, fused in ADAMS:
        model, opt = wengert_model(params, fused)
        data = batches(X, y, batch)
        runners[label] = (loop(lambda m=model, o=opt, d=data: wengert_step(m, o, *next(d))), batch)
    if found["fit"] is not None:
        runners["wengert.fit, 1 epoch"] = fit_runner(found["fit"], params, X, y, batch, settings)
    reference, data = NumpyMLP(params, lr=LR), batches(X, y, batch)
    runners[NUMPY] = (loop(lambda: reference.step(*next(data))), batch)
    if (torch := found["torch"]) is not None:
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        for label, fused in ((TORCH, None), ("PyTorch, Adam fused=True", True)):
            net, opt = torch_model(torch, params, fused)
            data_t = batches(Xt, yt, batch)
            step = lambda n=net, o=opt, d=data_t: torch_step(torch, n, o, *next(d))
            runners[label] = (loop(step), batch)
    if found["sklearn"] is not None:
        runners.update(sklearn_runner(found["sklearn"], X, y, batch, settings))
    return runners


def fit_runner(fit, params, X, y, batch: int, settings: Settings):
    """One call: wengert.train.fit for one epoch of epoch_samples samples, shuffled."""
    model, opt = wengert_model(params)
    n = settings.epoch_samples
    data, loss = (X[:n], y[:n]), wengert.losses.cross_entropy

    def epoch():
        fit(model, loss, opt, data, epochs=1, batch_size=batch, seed=0, progress=False)

    return loop(epoch), n


def sklearn_runner(MLPClassifier, X, y, batch: int, settings: Settings) -> dict:
    """One call: partial_fit, one epoch of epoch_samples samples; the label names its dtype."""
    n = settings.epoch_samples
    clf = MLPClassifier(
        hidden_layer_sizes=(256, 256), solver="adam", batch_size=batch, max_iter=1,
        learning_rate_init=LR, shuffle=True, tol=0, n_iter_no_change=10**9, alpha=0.0,
        random_state=0,
    )  # fmt: skip

    def epoch(part=slice(0, n)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.partial_fit(X[part], y[part], classes=np.arange(10))

    epoch(slice(0, batch))  # initializes the weights, and says which dtype they have
    return {f"scikit-learn MLPClassifier ({clf.coefs_[0].dtype})": (loop(epoch), n)}


def throughput_rows(X, y, settings: Settings, found: dict) -> dict[int, list[Row]]:
    rows = {}
    for batch in BATCHES:
        progress(f"timing the training steps at batch {batch}")
        runners = throughput_runners(X, y, batch, settings, found)
        stats = compare_many({k: run for k, (run, _) in runners.items()}, settings)
        rows[batch] = [Row(k, stats[k], n) for k, (_, n) in runners.items()]
    return rows


# ----------------------------------------------------------------------------- checks
def check_gradients(X, y, torch) -> list[str]:
    """Loss and gradients of wengert (and PyTorch) against the NumPy reference on one batch."""
    lines = []
    for dtype, rtol in ((np.float32, 1e-4), (np.float64, 1e-10)):
        params = initial_params(dtype)
        xb, yb = X[:128].astype(dtype), y[:128]
        loss_ref, grads_ref = NumpyMLP(params).loss_and_grads(xb, yb)
        model, _ = wengert_model(params)
        loss = wengert.losses.cross_entropy(model(xb), yb)
        loss.backward()
        sides = [("wengert", float(loss.data), [p.grad for p in model.parameters()])]
        if torch is not None and dtype == np.float32:
            net, _ = torch_model(torch, params)
            out = torch.nn.functional.cross_entropy(net(torch.from_numpy(xb)), torch.from_numpy(yb))
            out.backward()
            grads = [p.grad.numpy().T if p.ndim == 2 else p.grad.numpy() for p in net.parameters()]
            sides.append(("PyTorch", out.item(), grads))
        for name, value, grads in sides:
            lines.append(_agreement(name, dtype, rtol, value, grads, loss_ref, grads_ref))
    return lines


def _agreement(name, dtype, rtol, value, grads, loss_ref, grads_ref) -> str:
    atol = rtol * max(float(np.max(np.abs(g))) for g in grads_ref)
    pairs = list(zip(grads, grads_ref, strict=True))
    ok = np.isclose(value, loss_ref, rtol=rtol) and all(
        g.shape == r.shape and np.allclose(g, r, rtol=rtol, atol=atol) for g, r in pairs
    )
    worst = max(float(np.max(np.abs(g - r))) for g, r in pairs)
    line = (
        f"  {np.dtype(dtype).name} batch 128, {name:<8} vs NumPy: loss and 6 gradients "
        f"{'agree' if ok else 'DIFFER'} (rtol {rtol:g}, atol {atol:.1e}), max |diff| {worst:.1e}"
    )
    if not ok:
        sys.exit(f"{line}\n{name} and the NumPy reference disagree: the timings would not compare")
    return line


def check_training(X, y) -> list[str]:
    """20 steps on one batch from the same start: both losses fall, the two curves agree."""
    params = initial_params()
    model, opt = wengert_model(params)
    reference = NumpyMLP(params, lr=LR)
    xb, yb = X[:128], y[:128]
    ours = [wengert_step(model, opt, xb, yb) for _ in range(20)]
    theirs = [reference.step(xb, yb) for _ in range(20)]
    agree = np.allclose(ours, theirs, rtol=1e-3)
    line = (
        f"  20 Adam steps on one batch: wengert loss {ours[0]:.4f} -> {ours[-1]:.4f}, NumPy "
        f"{theirs[0]:.4f} -> {theirs[-1]:.4f}; curves {'agree' if agree else 'DIFFER'} (rtol 1e-3)"
    )
    if not (ours[-1] < ours[0] and theirs[-1] < theirs[0] and agree):
        sys.exit(f"{line}\nthe loss does not fall, or wengert and NumPy train differently")
    return [line, check_float32(model, opt, xb, yb)]


def check_float32(model, opt, xb, yb) -> str:
    """Every array of the float32 path is float32: nodes, cotangents, gradients, Adam's state."""
    nodes, cotangents = [], []
    unbroadcast = backward_module.unbroadcast  # sees every rule's result before any cast

    def spy(g, x):
        cotangents.append(("cotangent", g))
        return unbroadcast(g, x)

    backward_module.unbroadcast = spy
    try:
        with recording(nodes):
            wengert_step(model, opt, xb, yb)
    finally:
        backward_module.unbroadcast = unbroadcast
    arrays = [("node " + n._prim.name, n.data) for n in nodes] + cotangents
    arrays += [("grad", p.grad) for p in model.parameters()]
    arrays += [(k, v) for s in opt.state.values() for k, v in s.items() if hasattr(v, "dtype")]
    wrong = {f"{k} {a.dtype}" for k, a in arrays if a.dtype.kind == "f" and a.dtype != np.float32}
    if wrong:
        sys.exit(f"not float32 throughout: {', '.join(sorted(wrong))}")
    return (
        f"  float32 throughout: all {len(arrays)} arrays of a step (graph nodes, cotangents, "
        f"gradients, Adam state)"
    )


# ----------------------------------------------------------------------------- 3. parts
def parts_sides(X, y, batch: int) -> dict[str, Parts]:
    """label -> one step's part times on its next batch: wengert (two Adam paths) and NumPy."""
    params = initial_params()
    sides = {}
    for label, fused in (("wengert (default)", None), ("wengert fused=False", False)):
        sides[label] = wengert_parts(*wengert_model(params, fused), batches(X, y, batch))
    ref = NumpyMLP(params, lr=LR)
    forward = lambda xb, yb: ref.forward(xb, yb)[1]
    sides[NUMPY] = step_parts(forward, ref.backward, ref.adam_step, batches(X, y, batch))
    return sides


# ----------------------------------------------------------------------------- report
def table_lines(throughput: dict[int, list[Row]], perceptron: list[Row]) -> list[str]:
    lines = [
        "",
        "Results: x NumPy / x PyTorch = how many times faster than the reference row (medians;",
        "(best) compares the fastest blocks). Section 1 in samples/s, section 2 in µs per step.",
        f"  {'case':<44}{'median':>10}{'range (min-max)':>22}{'x NumPy':>10}{'(best)':>8}"
        f"{'x PyTorch':>11}{'(best)':>8}",
        "1. training throughput, samples/s: 784-256-256-10 ReLU MLP, Adam, float32",
    ]
    for batch, rows in throughput.items():
        lines.append(f"  batch {batch}")
        lines += [_row_line(r, rows, NUMPY, TORCH, rate=True) for r in rows]
    lines.append(
        f"2. smallest perceptron y = w x, µs per SGD step (η = {ETA}, the lecture's table)"
    )
    lines += [_row_line(r, perceptron, NP_SCALARS, TORCH_BARE, rate=False) for r in perceptron]
    return lines


def _row_line(row: Row, rows: list[Row], numpy_label: str, torch_label: str, rate: bool) -> str:
    s = row.stats
    if rate:
        spans = [row.per_call / t for t in (s.median, s.max, s.min)]
        cells = f"{spans[0]:>10,.0f}{spans[1]:>12,.0f}-{spans[2]:<9,.0f}"
    else:
        us = [t / row.per_call * 1e6 for t in (s.median, s.min, s.max)]
        cells = f"{us[0]:>10.2f}{us[1]:>12.2f}-{us[2]:<9.2f}"
    for label, width in ((numpy_label, 9), (torch_label, 10)):
        ref = _find(rows, label)
        if ref is None:
            cells += f"{'-':>{width + 1}}{'-':>8}"
            continue
        best = row.speed(best=True) / ref.speed(best=True)
        cells += f"{row.speed() / ref.speed():>{width}.2f}x{best:>7.2f}x"
    return f"    {row.label:<42}{cells}"


def _find(rows: list[Row], label: str) -> Row | None:
    return next((r for r in rows if r.label == label), None)


def target_lines(throughput: dict[int, list[Row]], perceptron: list[Row]) -> list[str]:
    targets = [
        ("batch 128: wengert >= 1.0x NumPy", throughput[128], DEFAULT, NUMPY),
        ("batch 16: wengert >= 1.0x NumPy", throughput[16], DEFAULT, NUMPY),
        ("batch 16: wengert faster than PyTorch", throughput[16], DEFAULT, TORCH),
        ("perceptron: bare Tensor faster than PyTorch", perceptron, BARE, TORCH_BARE),
        ("perceptron: nn.Perceptron faster than PyTorch", perceptron, PERCEPTRON, TORCH_BARE),
    ]
    lines = ["", "Targets (wengert with Adam's default path; medians, then the fastest blocks)"]
    for text, rows, ours, theirs in targets:
        row, ref = _find(rows, ours), _find(rows, theirs)
        if row is None or ref is None:
            lines.append(f"  {text:<48} not measured ({theirs} did not run)")
            continue
        ratio, best = row.speed() / ref.speed(), row.speed(True) / ref.speed(True)
        verdict = "met" if ratio >= 1 else "NOT met"
        lines.append(f"  {text:<48}{ratio:6.2f}x  (best {best:.2f}x)  {verdict}")
    return lines


def header_lines(settings: Settings, quick: bool, found: dict, skipped: dict) -> list[str]:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = " ".join([os.path.relpath(sys.executable), *sys.argv])
    lines = [
        "wengert training benchmark: wengert vs hand-written NumPy, PyTorch, scikit-learn",
        f"  date: {now}; command: {command}",
        *[f"  {line}" for line in machine()],
        f"  {versions(found)}",
        f"  run: {'quick' if quick else 'full'}, {settings.repeats} interleaved blocks of "
        f"~{settings.block_s * 1e3:.0f} ms per case; data {N_SAMPLES} x {SIZES[0]} float32, "
        f"seed 0; fit and scikit-learn: one call = an epoch of {settings.epoch_samples} samples",
    ]
    return lines + [f"  skipped {name}: {why}" for name, why in skipped.items()]


def emit(lines: list[str], report: list[str]) -> None:
    print("\n".join(lines), flush=True)
    report += lines


def write_results(path: Path, report: list[str]) -> None:
    """The report as the "training" section of results.md (other sections are kept)."""
    text = [
        "",
        "## Training (bench/training.py)",
        "",
        "Written by `bench/training.py` (`make bench`): rerun it rather than edit this section.",
        "What is measured and how: the docstring of bench/training.py.",
        "",
        "```text",
        *report,
        "```",
        "",
    ]
    write_section(path, "training", text)


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a rough run of under half a minute")
    parser.add_argument(
        "--output",
        type=Path,
        help=f"where to write the report (default: {RESULTS.name} beside this script for a "
        f"full run, nowhere for --quick)",
    )
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    started, report = perf_counter(), []
    found, skipped = import_peers()
    emit(header_lines(settings, args.quick, found, skipped), report)
    X, y = make_data()
    emit(["", "Checks", *check_gradients(X, y, found["torch"]), *check_training(X, y)], report)
    throughput = throughput_rows(X, y, settings, found)
    times, agreement = perceptron_times(settings, found["torch"])
    perceptron = [Row(k, s, STEPS) for k, s in times.items()]
    emit([agreement], report)
    emit(table_lines(throughput, perceptron), report)
    emit(target_lines(throughput, perceptron), report)
    emit(parts_lines(lambda batch: parts_sides(X, y, batch), BATCHES, NUMPY, settings), report)
    emit(["", f"total time {perf_counter() - started:.0f} s"], report)
    output = args.output or (None if args.quick else RESULTS)
    if output is not None:
        write_results(output, report)
        print(f"written to {output}")


if __name__ == "__main__":
    main()
