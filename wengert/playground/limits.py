"""What one playground run may cost, and the store that keeps the live runs within it.

A run is small by design (a page on localhost): at most MAX_SAMPLES points, MAX_LAYERS hidden
layers of at most MAX_WIDTH units, MAX_STEPS_PER_REQUEST optimizer steps per request and
STEPS_PER_SECOND steps per second on average (a bucket of MAX_STEPS_PER_REQUEST steps that
refills at that rate), MAX_RUNS live runs at once; a run left alone for IDLE_SECONDS expires.
What goes beyond is refused with a message that names the limit.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["LIMITS", "LimitError", "RateBucket", "RunStore", "limits_json"]

MAX_SAMPLES = 1000
MAX_LAYERS = 6
MAX_WIDTH = 32
MAX_STEPS_PER_REQUEST = 1000
STEPS_PER_SECOND = 5000
MAX_RUNS = 32
IDLE_SECONDS = 1800
MAX_RESOLUTION = 200
MAX_PATH_STEPS = 500

LIMITS = {
    "max_samples": MAX_SAMPLES,
    "max_hidden_layers": MAX_LAYERS,
    "max_width": MAX_WIDTH,
    "max_steps_per_request": MAX_STEPS_PER_REQUEST,
    "steps_per_second": STEPS_PER_SECOND,
    "max_runs": MAX_RUNS,
    "idle_seconds": IDLE_SECONDS,
    "max_resolution": MAX_RESOLUTION,
    "max_path_steps": MAX_PATH_STEPS,
}


def limits_json() -> dict:
    """The limits as the page's menus and messages show them."""
    return dict(LIMITS)


class LimitError(Exception):
    """A request over one of the limits; the server answers 429 with the message."""


class RateBucket:
    """At most `rate` steps a second on average, and `capacity` at once (a token bucket)."""

    def __init__(
        self, rate: float, capacity: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.capacity, self.clock = rate, capacity, clock
        self.tokens, self.stamp = float(capacity), clock()

    def take(self, n: int) -> None:
        """Spend n steps, or raise LimitError (spending nothing) when fewer are left."""
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if n > self.tokens:
            wait = (n - self.tokens) / self.rate
            raise LimitError(
                f"playground: a run may take at most {self.rate:g} steps per second; "
                f"{n} steps now would go over it. Wait {wait:.2f} s or ask for fewer steps."
            )
        self.tokens -= n


R = TypeVar("R")


class RunStore(Generic[R]):
    """The live runs by id, at most `max_runs`; a run idle for `idle_seconds` is dropped."""

    def __init__(
        self,
        max_runs: int = MAX_RUNS,
        idle_seconds: float = IDLE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_runs, self.idle_seconds, self.clock = max_runs, idle_seconds, clock
        self._runs: dict[str, tuple[R, float]] = {}
        self._lock = threading.Lock()

    def add(self, run: R) -> str:
        """Keep `run` under a new id and return the id; LimitError when the store is full."""
        with self._lock:
            self._expire()
            if len(self._runs) >= self.max_runs:
                raise LimitError(
                    f"playground: at most {self.max_runs} runs may be live at once; "
                    f"{len(self._runs)} are. Delete one (DELETE /api/runs/ID) or wait "
                    f"{self.idle_seconds:g} s for an idle one to expire."
                )
            key = secrets.token_hex(8)
            self._runs[key] = (run, self.clock())
            return key

    def get(self, key: str) -> R | None:
        """The run of `key` (its idle time starts again), or None for an unknown or expired id."""
        with self._lock:
            self._expire()
            entry = self._runs.get(key)
            if entry is None:
                return None
            self._runs[key] = (entry[0], self.clock())
            return entry[0]

    def remove(self, key: str) -> bool:
        """Drop the run of `key`; False when there was none."""
        with self._lock:
            return self._runs.pop(key, None) is not None

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._runs)

    def _expire(self) -> None:
        now = self.clock()
        for key in [k for k, (_, t) in self._runs.items() if now - t > self.idle_seconds]:
            del self._runs[key]
