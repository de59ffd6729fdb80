"""The lecture's smallest perceptron: µs per per-sample SGD step, wengert against its peers.

Section 2 of bench/training.py, which imports it; it also runs alone. The model is y = w x, the
loss ½(y - w x)², η = 0.01, from w = 0, on the lecture's table of four (x, y): one call is one
epoch of per-sample SGD over the table, so a step is a quarter of a call. Sides: Python floats,
NumPy float64 scalars, a NumPy (1,) array updated in place, wengert (a bare Tensor;
nn.Perceptron updated by hand; nn.Perceptron with optim.SGD) and PyTorch (a float64
requires_grad tensor; nn.Linear with optim.SGD, float32), PyTorch only when it imports (2
threads, as in bench/training.py). Correctness first: one epoch gives every side the same w
(rtol 1e-6). The sides are timed in interleaved blocks (bench/timing.py): median, min, max.

    .venv/bin/python bench/perceptron_step.py           # 13 blocks of ~0.3 s per side
    .venv/bin/python bench/perceptron_step.py --quick   # 3 blocks of ~50 ms per side
"""

from __future__ import annotations

import argparse
import sys
from types import SimpleNamespace

import numpy as np
from timing import Blocks, Stats, compare_many, loop, machine, progress  # bench/timing.py

import wengert as wg
import wengert.losses
import wengert.nn
import wengert.optim

TABLE = ((10.0, 10.1), (2.0, 1.9), (3.5, 3.4), (1.0, 1.1))  # the lecture's (x, y)
STEPS = len(TABLE)  # SGD steps in one call (one epoch)
ETA = 0.01
BARE, PERCEPTRON = "wengert, bare Tensor", "wengert, nn.Perceptron"
NP_SCALARS, TORCH_BARE = "NumPy float64 scalars", "PyTorch, requires_grad tensor"
QUICK = SimpleNamespace(repeats=3, block_s=0.05)  # bench/training.py's quick and full blocks
FULL = SimpleNamespace(repeats=13, block_s=0.3)


def perceptron_sides(torch) -> dict:
    """label -> (one epoch of per-sample SGD over the table, the current w), from w = 0."""
    numpy_table = [(np.float64(x), np.float64(y)) for x, y in TABLE]
    sides = {"Python floats": _floats(TABLE, 0.0), NP_SCALARS: _floats(numpy_table, np.float64(0))}
    sides["NumPy (1,) array, in place"] = _numpy_array(numpy_table)
    sides[BARE] = _wengert_bare()
    sides[PERCEPTRON] = _wengert_perceptron(optimizer=False)
    sides["wengert, nn.Perceptron + optim.SGD"] = _wengert_perceptron(optimizer=True)
    if torch is not None:
        sides[TORCH_BARE] = _torch_bare(torch)
        sides["PyTorch, nn.Linear + optim.SGD"] = _torch_linear(torch)
    return sides


def _floats(table, w0):
    """w += η (y - w x) x on scalars: Python floats, or NumPy float64 scalars."""
    state = [w0]

    def epoch():
        w = state[0]
        for x, y in table:
            w += ETA * (y - w * x) * x
        state[0] = w

    return epoch, lambda: float(state[0])


def _numpy_array(table):
    w = np.zeros(1)

    def epoch():
        nonlocal w  # += updates the array in place; nonlocal only lets it rebind to itself
        for x, y in table:
            w += ETA * (y - w * x) * x

    return epoch, lambda: float(w[0])


def _wengert_bare():
    w = wg.tensor(0.0, requires_grad=True)

    def epoch():
        nonlocal w
        for x, y in TABLE:
            loss = 0.5 * (y - w * x) ** 2
            loss.backward()
            with wg.no_grad():
                w -= ETA * w.grad  # in place
            w.grad = None

    return epoch, lambda: w.item()


def _wengert_perceptron(optimizer: bool):
    model = wg.nn.Perceptron(1, bias=False)  # float32, w = 0
    params = model.parameters()
    opt = wg.optim.SGD(params, lr=ETA) if optimizer else None
    table = [(np.array([[x]], np.float32), np.array([y], np.float32)) for x, y in TABLE]

    def epoch():
        for x, y in table:
            if opt is not None:
                opt.zero_grad()
            wengert.losses.l2(model(x), y).backward()  # ½(ŷ - y)²
            if opt is not None:
                opt.step()
                continue
            with wg.no_grad():
                for p in params:
                    p -= ETA * p.grad
                    p.grad = None

    return epoch, lambda: float(params[0].data.item())


def _torch_bare(torch):
    w = torch.zeros((), dtype=torch.float64, requires_grad=True)

    def epoch():
        nonlocal w
        for x, y in TABLE:
            loss = 0.5 * (y - w * x) ** 2
            loss.backward()
            with torch.no_grad():
                w -= ETA * w.grad
            w.grad = None

    return epoch, lambda: w.item()


def _torch_linear(torch):
    net = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        net.weight.zero_()
    opt = torch.optim.SGD(net.parameters(), lr=ETA)
    table = [(torch.tensor([[x]]), torch.tensor([y])) for x, y in TABLE]

    def epoch():
        for x, y in table:
            opt.zero_grad()
            (0.5 * (net(x)[:, 0] - y) ** 2).mean().backward()
            opt.step()

    return epoch, lambda: net.weight.item()


def perceptron_times(settings: Blocks, torch) -> tuple[dict[str, Stats], str]:
    """label -> seconds per call (STEPS steps), and a line saying that every side gives the same w.

    Exits when one epoch from w = 0 leaves the sides with different w: the timings would not
    compare. `torch` is the torch module, or None to leave PyTorch out.
    """
    progress("timing the smallest perceptron")
    ws = {}
    for label, (epoch, w) in perceptron_sides(torch).items():
        epoch()
        ws[label] = w()
    expected = ws["Python floats"]
    ok = all(np.isclose(w, expected, rtol=1e-6) for w in ws.values())
    line = f"  one epoch of the perceptron from w = 0: every side gives w = {expected:.7f}"
    if not ok:
        sys.exit(f"{line}? No: {ws}")
    sides = perceptron_sides(torch)
    stats = compare_many({k: loop(epoch) for k, (epoch, _) in sides.items()}, settings)
    return stats, line + " (agree, rtol 1e-6)"


def _import_torch():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(2)
    return torch


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 blocks of ~50 ms per side")
    settings = QUICK if parser.parse_args(argv).quick else FULL
    torch = _import_torch()
    times, agreement = perceptron_times(settings, torch)
    print(
        "\n".join(
            [
                f"smallest perceptron y = w x, µs per SGD step (η = {ETA}, the lecture's table)",
                *[f"  {line}" for line in machine()],
                f"  {settings.repeats} interleaved blocks of ~{settings.block_s * 1e3:.0f} ms "
                f"per side{'' if torch else '; PyTorch did not import'}",
                agreement,
                f"  {'case':<40}{'median':>8}{'range (min-max)':>20}{'x NumPy scalars':>17}",
            ]
        )
    )
    ref = times[NP_SCALARS].median
    for label, s in times.items():
        us = [t / STEPS * 1e6 for t in (s.median, s.min, s.max)]
        print(f"    {label:<38}{us[0]:>8.2f}{us[1]:>11.2f}-{us[2]:<8.2f}{ref / s.median:>16.2f}x")


__all__ = [
    "BARE",
    "ETA",
    "NP_SCALARS",
    "PERCEPTRON",
    "STEPS",
    "TABLE",
    "TORCH_BARE",
    "perceptron_sides",
    "perceptron_times",
]

if __name__ == "__main__":
    main()
