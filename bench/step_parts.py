"""Where one training step's time goes: forward + loss, backward, optimizer step.

Section 3 of bench/training.py, which builds the sides (wengert and the hand-written NumPy
reference on the same batches) and prints these lines. A side is a function that runs one step
on its next batch and returns the seconds of its three parts. The sides are timed in rotating
interleaved blocks; each part is reported by its fastest block, because the parts attribute
cost rather than predict throughput (on a noisy machine one slow block can double a median).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from time import perf_counter

import numpy as np
from timing import Blocks, calibrate, loop, progress  # bench/timing.py

import wengert.losses

Parts = Callable[[], tuple[float, float, float]]  # one step: seconds of its three parts


def step_parts(forward, backward, update, data: Iterator) -> Parts:
    """A function that runs one step on the next batch: the seconds of its three parts.

    forward(xb, yb) -> state; backward(state) -> grads; update(grads).
    """

    def parts() -> tuple[float, float, float]:
        xb, yb = next(data)
        t0 = perf_counter()
        state = forward(xb, yb)
        t1 = perf_counter()
        grads = backward(state)
        t2 = perf_counter()
        update(grads)
        return t1 - t0, t2 - t1, perf_counter() - t2

    return parts


def wengert_parts(model, opt, data: Iterator) -> Parts:
    """The parts of a wengert step: cross-entropy of model(xb), loss.backward(), opt.step()."""

    def forward(xb, yb):
        opt.zero_grad()
        return wengert.losses.cross_entropy(model(xb), yb)

    return step_parts(forward, lambda loss: loss.backward(), lambda _: opt.step(), data)


def part_times(sides: dict[str, Parts], settings: Blocks) -> dict[str, np.ndarray]:
    """label -> seconds of (forward, backward, optimizer step): each part's fastest block."""
    numbers = {k: calibrate(loop(parts), settings.block_s) for k, parts in sides.items()}
    times: dict[str, list] = {k: [] for k in sides}
    names = list(sides)
    for r in range(settings.repeats):
        shift = r % len(names)
        for k in names[shift:] + names[:shift]:
            times[k].append(np.mean([sides[k]() for _ in range(numbers[k])], axis=0))
    return {k: np.min(v, axis=0) for k, v in times.items()}


def parts_lines(
    sides_at: Callable[[int], dict[str, Parts]],
    batches: Iterable[int],
    reference: str,
    settings: Blocks,
) -> list[str]:
    """The report's section 3: sides_at(batch) builds the sides, `reference` labels NumPy's."""
    lines = [
        "",
        "3. where one step's time goes: µs per part, its fastest block (x = time / NumPy's part)",
        f"  {'':<24}{'forward + loss':>18}{'backward':>18}{'optimizer step':>18}{'total':>18}",
    ]
    for batch in batches:
        progress(f"timing the parts of a step at batch {batch}")
        times = part_times(sides_at(batch), settings)
        ref = times[reference]
        lines.append(f"  batch {batch}")
        for label, t in times.items():
            pairs = zip([*t, t.sum()], [*ref, ref.sum()], strict=True)
            cells = "".join(f"{p * 1e6:>11.0f} ({p / q:.2f}x)" for p, q in pairs)
            lines.append(f"    {label:<20}{cells}")
    return lines


__all__ = ["Parts", "part_times", "parts_lines", "step_parts", "wengert_parts"]
