"""Timing helpers shared by the benchmarks: blocks of calls, interleaved, median and min.

A runner times `number` calls of something as one block and returns the seconds spent. Sides
that are compared are timed in alternating blocks in the same run (A, B, B, A, ... or a
rotation for more than two), so that a noisy machine slows them alike; each side's per-call
time is summarized by the median over the blocks, with the minimum and maximum beside it.
`machine()` says what the numbers were measured on; `write_section` puts a script's report into
its own marked section of results.md, leaving the other scripts' sections as they are.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Protocol

# run(number) -> the seconds spent in the timed part of `number` calls.
Runner = Callable[[int], float]


class Blocks(Protocol):
    repeats: int  # timed blocks per side
    block_s: float  # target length of one timed block, in seconds


@dataclass(frozen=True)
class Stats:
    median: float  # seconds per call
    min: float
    max: float = float("nan")


def loop(fn: Callable[[], object]) -> Runner:
    """A runner that times `number` calls of fn as one block."""

    def run(number: int) -> float:
        start = perf_counter()
        for _ in range(number):
            fn()
        return perf_counter() - start

    return run


def timed_part(setup: Callable[[], object], timed: Callable[[object], object]) -> Runner:
    """A runner that times only `timed(setup())`: a backward pass after an untimed forward."""

    def run(number: int) -> float:
        total = 0.0
        for _ in range(number):
            state = setup()
            start = perf_counter()
            timed(state)
            total += perf_counter() - start
        return total

    return run


def calibrate(run: Runner, block_s: float) -> int:
    """How many calls fill a block of about block_s seconds (the probing also warms up)."""
    number = 1
    while True:
        elapsed = run(number)
        if elapsed >= block_s / 5 or number >= 1_000_000:
            return max(1, round(number * block_s / max(elapsed, 1e-9)))
        number *= 4


def summarize(per_call: list[float]) -> Stats:
    return Stats(median=statistics.median(per_call), min=min(per_call), max=max(per_call))


def compare(engine: Runner, reference: Runner, settings: Blocks) -> tuple[Stats, Stats]:
    """Per-call times of both runners, measured in alternating blocks."""
    sides = [(run, calibrate(run, settings.block_s), []) for run in (engine, reference)]
    gc.collect()
    for r in range(settings.repeats):
        # Alternate who goes first, so that neither always runs in the other's wake.
        for run, number, times in sides if r % 2 == 0 else sides[::-1]:
            times.append(run(number) / number)
    return summarize(sides[0][2]), summarize(sides[1][2])


def compare_many(runners: dict[str, Runner], settings: Blocks) -> dict[str, Stats]:
    """Per-call times of several runners, one block each per repeat, the order rotating."""
    names = list(runners)
    numbers = {name: calibrate(runners[name], settings.block_s) for name in names}
    times: dict[str, list[float]] = {name: [] for name in names}
    gc.collect()
    for r in range(settings.repeats):
        shift = r % len(names)
        order = names[shift:] + names[:shift]
        for name in order if r % 2 == 0 else order[::-1]:
            times[name].append(runners[name](numbers[name]) / numbers[name])
    return {name: summarize(times[name]) for name in names}


def machine() -> list[str]:
    """The CPU, the Python and NumPy versions, and the thread pools NumPy's libraries use."""
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next(
                (ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu
            )
    except OSError:
        pass
    lines = [
        f"machine: {cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.machine()}",
        f"Python {platform.python_version()} ({os.path.relpath(sys.executable)})",
    ]
    try:
        from threadpoolctl import threadpool_info  # comes with scikit-learn

        pools = {f"{i['internal_api']} {i['num_threads']}" for i in threadpool_info()}
        lines.append("thread pools (library, threads): " + ", ".join(sorted(pools)))
    except ImportError:
        pass
    return lines


RESULTS_TITLE = [
    "# Benchmark results",
    "",
    "Each section is written by the script it names: rerun the script rather than edit it.",
]


def write_section(path: Path, name: str, lines: list[str]) -> None:
    """Replace the text between `<!-- name:begin -->` and `<!-- name:end -->` in the file at
    path by `lines` (markers kept); append the section, markers and all, when it is absent, and
    start the file with a title when there is none."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = "\n".join([begin, *lines, end])
    text = path.read_text(encoding="utf-8") if path.exists() else "\n".join(RESULTS_TITLE) + "\n"
    start = text.find(begin)
    stop = text.find(end, start + len(begin)) if start >= 0 else -1
    if start >= 0 and stop >= 0:
        text = text[:start] + block + text[stop + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def progress(message: str) -> None:
    """A line on stderr, so that a long run shows where it is without touching the results."""
    print(f"[{os.path.basename(sys.argv[0])}] {message} ...", file=sys.stderr, flush=True)


__all__ = [
    "Blocks",
    "Runner",
    "Stats",
    "calibrate",
    "compare",
    "compare_many",
    "loop",
    "machine",
    "progress",
    "summarize",
    "timed_part",
    "write_section",
]
