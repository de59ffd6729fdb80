"""Anomaly mode: name the first primitive whose forward or backward made a NaN or an infinity.

    with wg.detect_anomaly():
        loss = model_loss(w)      # FloatingPointError: the forward of 'log' (operation #3 ...
        loss.backward()           # ... or: the backward rule of 'sqrt' for argument 0 ...

Inside the block every operation recorded for backward is checked as it is made (its result
finite?), and every rule the reverse sweep runs is checked as it returns (its cotangent
finite?); the first that is not raises FloatingPointError with the primitive's name, its
position in the Wengert list (counted from the start of the block, as `trace` numbers it) and,
in backward, the argument whose rule it was. Like torch.autograd.detect_anomaly it is for
hunting a NaN, and slow: it costs a pass over every array. Outside the block it costs nothing
but the tests the engine makes anyway (`MODE.recorder` is checked for `trace`, and the sweep
reads `MODE.anomaly` once).

Operations that record nothing (under no_grad, or on constants) are not checked: they have no
gradient to spoil.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import TYPE_CHECKING

import numpy as np

from wengert.autodiff.mode import MODE

if TYPE_CHECKING:
    from wengert.autodiff.tensor import Tensor


class Watch:
    """The recorder that anomaly mode installs: numbers and checks every recorded node."""

    __slots__ = ("count", "in_backward", "inner", "positions")

    def __init__(self, inner) -> None:
        self.count = 0
        self.inner = inner  # the recorder that was there before (a trace), still fed
        self.positions: dict[int, tuple[weakref.ref, int]] = {}
        self.in_backward = False

    def append(self, node: Tensor) -> None:
        """Number one more recorded node, in the order the forward pass made it."""
        self.count += 1
        key = id(node)
        self.positions[key] = (weakref.ref(node, lambda ref: self._forget(key, ref)), self.count)
        if self.inner is not None:
            self.inner.append(node)
        # In backward the rules' own operations are left to the rule's check, which says more.
        if not self.in_backward and not _finite(node._data):
            raise FloatingPointError(self._forward_message(node))

    def _forget(self, key: int, ref: weakref.ref) -> None:
        entry = self.positions.get(key)
        if entry is not None and entry[0] is ref:
            del self.positions[key]

    def where(self, node: Tensor) -> str:
        """'operation #k', or a note that the node was recorded before the block began."""
        entry = self.positions.get(id(node))
        if entry is not None and entry[0]() is node:
            return f"operation #{entry[1]} recorded under detect_anomaly"
        return "recorded before detect_anomaly began"

    def _forward_message(self, node) -> str:
        bad = [
            f"argument {i} already holds {_kind(a)}"
            for i, a in enumerate(node._inputs)
            if not _finite(getattr(a, "_data", a))
        ]
        cause = "; ".join(bad) if bad else "its arguments were finite"
        return (
            f"detect_anomaly: the forward of the primitive {node._prim.name!r} "
            f"({self.where(node)}) produced {_kind(node._data)}; {cause}"
        )

    def check_rule(
        self, node: Tensor, i: int, g: np.ndarray | Tensor, ga: np.ndarray | Tensor
    ) -> None:
        """Raise if the cotangent ga that argument i's rule of `node` returned is not finite."""
        ga = getattr(ga, "_data", ga)
        if _finite(ga):
            return
        g = getattr(g, "_data", g)
        cause = "the cotangent it received was finite" if _finite(g) else "so was its cotangent"
        raise FloatingPointError(
            f"detect_anomaly: the backward rule of the primitive {node._prim.name!r} for "
            f"argument {i} ({self.where(node)}) produced {_kind(ga)}; {cause}"
        )


def _finite(a) -> bool:
    """True unless a is a floating-point (or complex) array holding a NaN or an infinity."""
    a = np.asarray(a)
    return a.dtype.kind not in "fc" or bool(np.isfinite(a).all())


def _kind(a) -> str:
    a = np.asarray(getattr(a, "_data", a))
    if a.dtype.kind not in "fc":
        return "no NaN"
    return "nan" if np.isnan(a).any() else "inf"


class _AnomalyMode(contextlib.ContextDecorator):
    def __init__(self) -> None:
        self._saved: list = []

    def __enter__(self):
        self._saved.append((MODE.recorder, MODE.anomaly))
        watch = Watch(MODE.recorder)
        MODE.recorder = watch
        MODE.anomaly = watch
        return self

    def __exit__(self, *exc) -> None:
        MODE.recorder, MODE.anomaly = self._saved.pop()


def detect_anomaly() -> _AnomalyMode:
    """Context manager (and decorator): raise FloatingPointError at the first NaN or infinity.

    >>> with wg.detect_anomaly():
    ...     wg.log(wg.tensor(-1.0, requires_grad=True))
    Traceback (most recent call last):
    FloatingPointError: detect_anomaly: the forward of the primitive 'log' (operation #1 ...

    The message names the primitive, its position in the Wengert list counted from the start
    of the block, and for a backward rule the argument. Blocks nest; one may hold `fit(...)`.
    """
    return _AnomalyMode()


__all__ = ["Watch", "detect_anomaly"]
