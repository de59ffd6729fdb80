"""The three ways to differentiate, side by side: numerical, symbolic and automatic.

`compare_derivatives(f, *args)` computes the gradient of a scalar f at args by each method of the
lecture's last slides and measures, per method, what the slides claim in words:

    method                 error            cost, for n inputs
    forward difference     O(h), ~1e-8      n + 1 evaluations of f
    central difference     O(h^2), ~1e-11   2n + 1 evaluations
    Richardson             O(h^4), ~1e-13   4n + 1 evaluations
    symbolic (SymPy)       rounding only    one expression per input; it may swell
    forward mode           rounding only    n passes (one jvp per input direction)
    reverse mode           rounding only    one forward pass + one backward sweep, for any n

Columns. `max_abs_error` is max_i |g_i - r_i| against a float64 reference r (the symbolic gradient
where SymPy can differentiate f, else reverse mode; `Comparison.reference` says which) and
`max_rel_error` that over max_i |r_i|. `evaluations` counts the calls of f (one per forward pass)
and `primitive_ops` the primitive operations executed, where one evaluation of f costs P, the
length of its Wengert list (`wengert.trace`):

- finite differences: evaluations x P;
- reverse mode: P for the forward pass plus the backward sweep's work: the primitive operations
  that the vector-Jacobian rules execute (with the sums that undo broadcasting), counted by
  running the sweep on Tensors under `recording` (`Trace.backward()`), plus one addition per
  adjoint accumulated. A rule that hands g on unchanged (add) costs nothing. The first-order
  sweep runs the same rules on ndarrays; masks computed inside a rule are not counted;
- forward mode: n passes x the operations of one jvp (f's P, its tangent rules and the seeding),
  counted the same way.

`time_s` is the median wall time of `repeats` runs (for the symbolic row, of the compiled
derivatives; `setup_s` is the derivation and compilation, once). The symbolic row also gives the
size of its derivatives, `sympy.count_ops`, without and with common-subexpression elimination.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike

from wengert._checks import COUNT, check, check_finite, refusal
from wengert.autodiff.functional import grad
from wengert.autodiff.mode import recording
from wengert.autodiff.tensor import Tensor, as_array
from wengert.autodiff.trace import trace
from wengert.derivatives.comparison import KEYS, LABELS, Comparison, format_seconds, plural
from wengert.derivatives.numerical import numerical_grad
from wengert.derivatives.symbolic import SymbolicError, symbolic_grad

OWNER = "compare_derivatives"


def compare_derivatives(
    f: Callable[..., Tensor],
    *args: ArrayLike,
    reference: str | ArrayLike | Sequence[ArrayLike] | None = None,
    repeats: int = 5,
    symbolic_limit: int | None = None,
) -> Comparison:
    """The gradient of scalar f at args by six methods, with their errors and costs.

    `args` are numbers or arrays, every one differentiated (close over the others). `reference`
    is None (the symbolic gradient if available, else reverse mode), a method name, or the
    gradient itself (one array per argument, or one flat array of all n partials). `repeats`
    runs of each method are timed. `symbolic_limit`, when given, is the most primitives f may
    have for the symbolic row: SymPy replays f one primitive at a time, and a long f takes
    seconds to minutes; past it the row is skipped, with a note that says so.

    >>> print(compare_derivatives(lambda w, x, b: wg.log(1 + wg.exp(w * x + b)), 0.5, 1.5, -0.3))
    """
    point = _check_args(args)
    check(OWNER, "repeats", repeats, COUNT)
    check(OWNER, "symbolic_limit", symbolic_limit, COUNT, None)
    recorded = trace(f, *point)
    if recorded.output.size != 1:
        expected = "a scalar (one output, so that the gradient is a vector)"
        got = f"shape {recorded.output.shape} from {_name(f)}"
        fix = "Reduce it, e.g. with .sum(), or compare one output at a time."
        raise refusal(OWNER, "f's value", expected, got, fix=fix)
    names = tuple(recorded.name_of(t) for t in recorded.inputs)
    n = sum(int(np.size(p)) for p in point)
    prims = len(recorded)
    rows = _rows(f, point, n, prims, repeats, symbolic_limit)
    ref_name, ref = _reference(reference, rows, point, n)
    for r in rows:
        if r["gradient"] is not None:
            r["max_abs_error"] = float(np.max(np.abs(r["gradient"] - ref), initial=0.0))
            r["max_rel_error"] = r["max_abs_error"] / max(float(np.max(np.abs(ref))), 1e-300)
    return Comparison(_name(f), names, point, n, prims, ref_name, rows)


def _rows(
    f: Callable, point: list, n: int, prims: int, repeats: int, symbolic_limit: int | None
) -> list[dict]:
    """One row per method, in the table's order; the symbolic one is skipped past the limit."""
    rows = [_finite_row(f, point, m, prims, repeats) for m in ("forward", "central", "richardson")]
    if symbolic_limit is not None and prims > symbolic_limit:
        note = f"skipped: f has {prims} primitives, over the limit of {symbolic_limit}"
        rows.append(_row("symbolic", note=note))
    else:
        rows.append(_symbolic_row(f, point, repeats))
    rows.append(_forward_mode_row(f, point, n, repeats))
    rows.append(_reverse_mode_row(f, point, repeats))
    return rows


def reverse_mode_cost(f: Callable[..., Tensor], *args: ArrayLike) -> tuple[int, int]:
    """(forward, backward): primitive operations of f at args and of its reverse sweep.

    forward is P, the length of f's Wengert list; backward the operations of the
    vector-Jacobian rules, run on Tensors under `recording`, plus one addition per adjoint
    accumulated (module docstring).
    """
    recorded = trace(f, *args)
    nodes: list[Tensor] = []
    with recording(nodes):
        sweep = recorded.backward()
    return len(recorded), len(nodes) + sum(line.accumulates for line in sweep.lines)


# ----------------------------------------------------------------------------- the rows
def _row(method: str, **values) -> dict:
    row = dict.fromkeys(KEYS)
    row.update(method=method, label=LABELS[method], note="")
    row.update(values)
    return row


def _finite_row(f, point, method, prims, repeats) -> dict:
    counted, calls = _counting(f)
    argnums = tuple(range(len(point)))
    run = lambda: numerical_grad(counted, *point, argnums=argnums, method=method)
    g, seconds = _timed(run, repeats)
    evaluations = calls[0] // repeats
    return _row(
        method,
        gradient=_flat(g),
        evaluations=evaluations,
        primitive_ops=evaluations * prims,
        time_s=seconds,
        note=f"{plural(evaluations, 'evaluation')} x {plural(prims, 'primitive')}",
    )


def _symbolic_row(f, point, repeats) -> dict:
    start = time.perf_counter()
    try:
        sg = symbolic_grad(f, *point)
    except (ImportError, SymbolicError) as exc:
        return _row("symbolic", note=f"absent: {exc}")
    except RecursionError:  # SymPy walks its expressions recursively
        return _row("symbolic", note="absent: f is nested too deeply for SymPy")
    setup = time.perf_counter() - start
    g, seconds = _timed(lambda: sg(*point), repeats)
    return _row(
        "symbolic",
        gradient=_flat(g),
        evaluations=1,
        time_s=seconds,
        setup_s=setup,
        expression_ops=sg.gradient_ops,
        expression_ops_cse=sg.gradient_ops_cse,
        note=(
            f"derived and compiled in {format_seconds(setup)}; one call evaluates the "
            f"{sg.gradient_ops_cse} operations left after CSE (of {sg.gradient_ops})"
        ),
    )


def _forward_mode_row(f, point, n, repeats) -> dict:
    try:
        from wengert.autodiff.forward import jvp
    except ImportError:
        return _row("forward-mode", note="absent: wengert has no forward mode (jvp) yet")
    counted, calls = _counting(f)
    try:
        g, seconds = _timed(lambda: _forward_gradient(jvp, counted, point), repeats)
        per_pass = _jvp_ops(jvp, f, point)
    except Exception as exc:  # forward mode is young: report, don't fail the whole comparison
        return _row("forward-mode", note=f"absent: forward mode failed: {exc}")
    evaluations = calls[0] // repeats
    return _row(
        "forward-mode",
        gradient=_flat(g),
        evaluations=evaluations,
        primitive_ops=evaluations * per_pass,
        time_s=seconds,
        note=(
            f"{plural(evaluations, 'jvp pass', 'jvp passes')} x {per_pass} operations "
            f"(f and its tangent rules)"
        ),
    )


def _forward_gradient(jvp, f, point) -> list[float]:
    """The gradient as n directional derivatives J e_j, one jvp along each unit vector."""
    arrays = tuple(np.asarray(p, dtype=np.float64) for p in point)
    partials = []
    for i, x in enumerate(arrays):
        for j in range(x.size):
            tangents = [np.zeros_like(a) for a in arrays]
            tangents[i].reshape(-1)[j] = 1.0
            partials.append(float(jvp(f, arrays, tuple(tangents))[1]))
    return partials


def _jvp_ops(jvp, f, point) -> int:
    """The primitive operations of one jvp pass: run on Tensors that require grad, so that the
    tangent rules run on Tensors too and `recording` sees every operation."""
    xs = tuple(Tensor(np.asarray(p, dtype=np.float64), requires_grad=True) for p in point)
    vs = tuple(Tensor(np.ones(x.shape), requires_grad=True) for x in xs)
    nodes: list[Tensor] = []
    with recording(nodes):
        jvp(f, xs, vs)
    return len(nodes)


def _reverse_mode_row(f, point, repeats) -> dict:
    argnums = tuple(range(len(point)))
    g, seconds = _timed(lambda: grad(f, argnums)(*point), repeats)
    forward, backward = reverse_mode_cost(f, *point)
    return _row(
        "reverse-mode",
        gradient=_flat(g),
        evaluations=1,
        primitive_ops=forward + backward,
        time_s=seconds,
        note=f"{forward} forward + {backward} backward operations, whatever n is",
    )


# ----------------------------------------------------------------------------- helpers
def _check_args(args) -> tuple:
    if not args:
        raise refusal(OWNER, "args", "one or more values to differentiate f at", "none", TypeError)
    point = []
    for i, a in enumerate(args):
        data = np.asarray(as_array(a, name=f"argument {i}", owner=OWNER), dtype=float)
        check_finite(OWNER, f"argument {i}", data, fix="Pass a point where f is defined.")
        point.append(float(data) if data.ndim == 0 else data)
    return tuple(point)


def _reference(reference, rows, point, n) -> tuple[str, np.ndarray]:
    by_method = {r["method"]: r for r in rows}
    if reference is None:
        reference = "symbolic" if by_method["symbolic"]["gradient"] is not None else "reverse-mode"
    if isinstance(reference, str):
        if reference not in by_method or by_method[reference]["gradient"] is None:
            present = [m for m, r in by_method.items() if r["gradient"] is not None]
            expected = f"one of {', '.join(map(repr, present))} or the gradient itself"
            raise refusal(OWNER, "reference", expected, repr(reference))
        by_method[reference]["note"] = ("reference; " + by_method[reference]["note"]).rstrip("; ")
        return reference, by_method[reference]["gradient"]
    parts = reference if isinstance(reference, (tuple, list)) and len(point) > 1 else [reference]
    arrays = [np.asarray(as_array(p, name="reference", owner=OWNER), dtype=float) for p in parts]
    ref = np.concatenate([np.ravel(a) for a in arrays])
    if ref.shape != (n,):
        raise refusal(OWNER, "reference", f"the {n} partial derivatives of f", f"{ref.size} values")
    return "given", ref


def _counting(f) -> tuple[Callable, list[int]]:
    calls = [0]

    def counted(*args, **kwargs):
        calls[0] += 1
        return f(*args, **kwargs)

    return counted, calls


def _timed(run, repeats: int):
    """(the result of run(), the median wall time of `repeats` runs in seconds)."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return result, float(np.median(times))


def _flat(g) -> np.ndarray:
    parts = g if isinstance(g, (tuple, list)) else [g]
    return np.concatenate([np.ravel(np.asarray(p, dtype=np.float64)) for p in parts])


def _name(f) -> str:
    return getattr(f, "__name__", "f")


__all__ = ["KEYS", "LABELS", "Comparison", "compare_derivatives", "reverse_mode_cost"]
