"""The program f executes, and whether it executes the same one at other points.

A Wengert list records the primitives f ran, not the Python that chose them: `if x > 0:` leaves
no trace but its effect. Tracing f again at other points and comparing the lists, step by step
(the primitive, which earlier step or input each operand is, every constant operand by value,
every parameter), shows when the choice depended on the inputs' values. symbolic_grad refuses such
an f, because the expression it would build holds on one branch only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike

from wengert.autodiff.mode import enable_grad, recording
from wengert.autodiff.tensor import Tensor
from wengert.autodiff.trace import Trace

PROBES = 3


def live_nodes(recorded: Trace) -> list[Tensor]:
    """The nodes the output depends on, in execution order."""
    needed = {id(recorded.output)}
    for node in reversed(recorded.nodes):
        if id(node) in needed:
            needed.update(id(a) for a in node._inputs if isinstance(a, Tensor))
    return [n for n in recorded.nodes if id(n) in needed]


def control_flow(
    f: Callable[..., Tensor],
    recorded: Trace,
    names: Sequence[str],
    point: Sequence[ArrayLike],
    rng: np.random.Generator,
) -> str | None:
    """Why f's operations depend on its inputs' values (a message), or None if none is seen.

    f is traced again at the negated point and at PROBES points drawn from `rng` (standard normal
    times 2, so of either sign); the first difference from `recorded` is described. A probe may
    record at most 4 P + 64 operations (P: those of `recorded`): a loop that runs on at a probe
    point, as `while x < 10: x = x * 2` does at a negative x, is stopped and reported.
    """
    reference = _program(recorded)
    limit = 4 * len(recorded.nodes) + 64
    for probe in _probes(point, rng):
        try:
            other = _probe(f, recorded, probe, limit)
        except _Runaway:
            return (
                f"symbolic_grad: f executes more than {limit} operations at "
                f"{_point_text(names, probe)}, against {len(recorded.nodes)} at "
                f"{_point_text(names, point)} (data-dependent control flow): a loop whose number "
                f"of turns depends on its inputs' values (e.g. `while x < 10:`). Use wengert.grad"
            )
        except Exception:  # f need not be defined at a probe point; that proves nothing
            continue
        if other is None:
            continue
        where = _difference(reference, _program(other))
        if where is not None:
            return _message(recorded, other, where, names, point, probe)
    return None


class _Runaway(Exception):
    """A probe recorded more operations than its limit."""


class _Bounded(list):
    """A recorder that stops f (by raising _Runaway) once it has recorded `limit` operations."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def append(self, node) -> None:
        if len(self) >= self.limit:
            raise _Runaway
        super().append(node)


def _probe(f, recorded: Trace, probe, limit: int) -> Trace | None:
    """f's Wengert list at the probe point (as `trace` records it), or None if f returns no
    Tensor there."""
    inputs = [Tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for v in probe]
    nodes = _Bounded(limit)
    with np.errstate(all="ignore"), enable_grad(), recording(nodes):
        out = f(*inputs)
    if not isinstance(out, Tensor):
        return None
    names = [recorded.name_of(t) for t in recorded.inputs]
    return Trace(f, inputs, names, list(nodes), out, {})


def _probes(point, rng) -> list[tuple]:
    probes = [tuple(-np.asarray(v) if np.ndim(v) else -v for v in point)]
    for _ in range(PROBES):
        probes.append(tuple(rng.normal(0.0, 2.0, np.shape(v)) for v in point))
    return [tuple(float(v) if np.ndim(v) == 0 else v for v in p) for p in probes]


def _program(recorded: Trace) -> list[tuple]:
    """Each step as (primitive, operands, parameters): operands by position, constants by value."""
    index = {id(t): ("input", k) for k, t in enumerate(recorded.inputs)}
    steps = []
    for j, node in enumerate(recorded.nodes):
        operands = []
        for a in node._inputs:
            ref = index.get(id(a)) if isinstance(a, Tensor) else None
            operands.append(ref or ("constant", a.data if isinstance(a, Tensor) else a))
        steps.append((node._prim.name, operands, node._params))
        index[id(node)] = ("step", j)
    return steps


def _difference(a: list[tuple], b: list[tuple]):
    """The first difference of two programs: (step, kind, detail), or None."""
    for k, (step_a, step_b) in enumerate(zip(a, b, strict=False)):
        (name_a, ops_a, params_a), (name_b, ops_b, params_b) = step_a, step_b
        if name_a != name_b or len(ops_a) != len(ops_b):
            return k, "operations", None
        for i, (x, y) in enumerate(zip(ops_a, ops_b, strict=True)):
            if x[0] != y[0] or (x[0] != "constant" and x != y):
                return k, "operations", None
            if x[0] == "constant" and not _same(x[1], y[1]):
                return k, "constant", i
        for key in params_a:
            if not _same(params_a[key], params_b.get(key)):
                return k, "parameter", key
    if len(a) != len(b):
        return min(len(a), len(b)), "operations", None
    return None


def _same(x, y) -> bool:
    if isinstance(x, (tuple, list)) and isinstance(y, (tuple, list)):
        return len(x) == len(y) and all(_same(p, q) for p, q in zip(x, y, strict=True))
    if isinstance(x, (np.ndarray, np.generic, int, float)) or isinstance(y, np.ndarray):
        try:
            return np.shape(x) == np.shape(y) and bool(np.array_equal(x, y))
        except (TypeError, ValueError):
            return False
    return x == y


def _message(recorded, other, where, names, point, probe) -> str:
    k, kind, detail = where
    here = f"at {_point_text(names, point)}"
    there = f"at {_point_text(names, probe)}"
    if kind == "operations":
        line_a = _step_text(recorded, k)
        line_b = _step_text(other, k)
        return (
            f"symbolic_grad: f executes different operations at different points (data-dependent "
            f"control flow): step {k + 1} is {line_a} {here} but {line_b} {there}. A Python "
            f"if/while on a Tensor's value (e.g. `if x > 0:`) chooses them; SymPy would see one "
            f"branch only. Write the choice with wg.maximum, wg.minimum, wg.relu or wg.clip "
            f"(Max, Min, Piecewise), or use wengert.grad"
        )
    step = _step_text(recorded, k)
    if kind == "constant" and recorded.steps[k].primitive == "where" and detail == 0:
        return (
            f"symbolic_grad: the condition of wg.where in {step} changes with the inputs "
            f"({here} and {there}): it was computed from them (e.g. x > 0), and a comparison is "
            f"not recorded in the Wengert list, so SymPy cannot see it. Use wg.maximum, "
            f"wg.minimum, wg.relu or wg.clip, or a condition that does not depend on the inputs"
        )
    if kind == "constant":
        return (
            f"symbolic_grad: operand {detail} of {step} is a constant that changes with the "
            f"inputs ({here} and {there}): f computes it outside the primitives (with .data, "
            f".item(), float() or NumPy on a Tensor's values), or draws it at random"
        )
    return (
        f"symbolic_grad: the parameter {detail!r} of {step} changes with the inputs ({here} and "
        f"{there}), e.g. an index computed by argmax from them"
    )


def _step_text(recorded: Trace, k: int) -> str:
    if k >= len(recorded.steps):
        return "the end of f"
    s = recorded.steps[k]
    return f"`{s.name} = {s.expression}`"


def _point_text(names, values) -> str:
    return ", ".join(f"{n} = {short(v)}" for n, v in zip(names, values, strict=True))


def short(v: ArrayLike) -> str:
    """`v` (a number or an array) printed to 4 significant digits, a long array elided."""
    data = np.asarray(v, dtype=np.float64)
    if data.ndim == 0:
        return f"{float(data):.4g}"
    return np.array2string(data, precision=4, separator=", ", threshold=6)


__all__ = ["PROBES", "control_flow", "live_nodes", "short"]
