"""Whether operations record a graph, and who is listening.

One small object holds the engine's only switches. `no_grad()` turns recording off for a block
(and, for forward mode, tangents: a no_grad block computes constants); `trace()` attaches a
recorder that sees every node as it is made; `jvp()` attaches the tangent tables. All are
restored on exit, also when the block raises.

The switches belong to a thread, as PyTorch's grad mode does: a `no_grad()` block in one thread
(a prediction served beside training, one fold of a threaded search) leaves another thread's
recording on. A new thread starts with the defaults (recording on, nothing attached).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator


class _GradMode(threading.local):
    # threading.local runs __init__ once in each thread that touches the object, so every thread
    # has its own switches. (No __slots__: a slot would be shared by all threads.)

    def __init__(self) -> None:
        self.enabled = True
        self.recorder: list | None = None
        # How many functional transforms (grad, jacobian) are running: inside one, an inner
        # transform keeps its result in the graph, so the outer one can differentiate it.
        self.depth = 0
        # The forward-mode (jvp) calls in flight (`forward.Levels`), which give every result
        # its tangent, or None: then `apply` pays one `is None` test per operation.
        self.forward = None
        # The watch of detect_anomaly() (anomaly.py), also installed as the recorder, or None:
        # the reverse sweep reads it once per backward().
        self.anomaly = None
        # While wengert.compile traces a function: the tracer, which computes the cotangents of
        # every transform (grad, jacobian) in the function and writes the sweep out as code.
        self.compiler = None


MODE = _GradMode()


class _SetGrad(contextlib.ContextDecorator):
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.previous: list[bool] = []

    def __enter__(self):
        self.previous.append(MODE.enabled)
        MODE.enabled = self.enabled
        return self

    def __exit__(self, *exc) -> None:
        MODE.enabled = self.previous.pop()


def no_grad() -> _SetGrad:
    """Context manager (and decorator) in which operations record no graph.

    >>> with wg.no_grad():
    ...     w2 = w - 0.1 * w.grad     # w2 is a plain value, not a graph node
    """
    return _SetGrad(False)


def enable_grad() -> _SetGrad:
    """Context manager (and decorator) that turns recording back on inside `no_grad()`."""
    return _SetGrad(True)


def is_grad_enabled() -> bool:
    """True when operations on Tensors that require grad record a graph."""
    return MODE.enabled


@contextlib.contextmanager
def recording(recorder: list) -> Iterator[list]:
    """Append every graph node made inside the block to `recorder`, in execution order."""
    previous = MODE.recorder
    # Under detect_anomaly() its watch keeps seeing the nodes, after the new recorder.
    MODE.recorder = recorder if previous is None or previous is not MODE.anomaly else _Tee(recorder)
    try:
        yield recorder
    finally:
        MODE.recorder = previous


class _Tee:
    """A recorder that hands each node to `first`, then to the anomaly watch."""

    __slots__ = ("first", "watch")

    def __init__(self, first) -> None:
        self.first = first
        self.watch = MODE.anomaly

    def append(self, node) -> None:
        self.first.append(node)
        self.watch.append(node)


__all__ = ["MODE", "enable_grad", "is_grad_enabled", "no_grad", "recording"]
