"""The usual call of a compiled function, with the fewest operations: a guard per program.

A program traced for ndarray arguments alone gets a guard, a function written for its arity
that checks each argument with `type(a) is ndarray`, `a.shape == shape` and `a.dtype is dtype`
(the traced shape and dtype, read once at compile time), reads each external Tensor's array and
checks it alike, and calls the program. Where any check fails it returns `MISS`, and the caller
takes the general path (the full signature, the cache, a new trace), so a guard only ever
answers a call whose program is the one it was written for: what it refuses, the general path
still decides. A dtype equal to the traced one but another object fails `is` and is answered
by the general path too.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

MISS = object()  # what a guard returns where the call is not the one it was written for


def miss(*args: object) -> object:
    """The guard before any program: every call takes the general path."""
    return MISS


def write(
    function: Callable,
    values: list[np.ndarray],
    externals: tuple,
    eager: Callable,
) -> Callable:
    """A guard for `function`, the program of ndarray arguments shaped as `values` that also
    takes the arrays of `externals` (Tensors read at each call); `eager(*args)` answers a call
    whose program raised FloatingPointError."""
    space: dict[str, object] = {"_nd": np.ndarray, "_f": function, "_eager": eager, "_M": MISS}
    params = [f"a{k}" for k in range(len(values))]
    tests = ["not rest"] + [f"type({a}) is _nd" for a in params]
    for a, v in zip(params, values, strict=True):
        space[f"_s{a}"], space[f"_d{a}"] = v.shape, v.dtype
        tests += [f"{a}.shape == _s{a}", f"{a}.dtype is _d{a}"]
    reads = []
    for k, t in enumerate(externals):
        space[f"_t{k}"], space[f"_se{k}"], space[f"_de{k}"] = t, t._data.shape, t._data.dtype
        reads.append(f"e{k} = _t{k}._data")
        tests += [f"type(e{k}) is _nd", f"e{k}.shape == _se{k}", f"e{k}.dtype is _de{k}"]
    given = ", ".join(params)
    called = ", ".join(params + [f"e{k}" for k in range(len(externals))])
    head = ", ".join([f"{a}=_M" for a in params] + ["*rest"])
    lines = [f"def _guard({head}):"] + [f"    {r}" for r in reads]
    lines += [
        f"    if {' and '.join(tests)}:",
        "        try:",
        f"            return _f({called})",
        "        except FloatingPointError:",
        f"            return _eager({given})",
        "    return _M",
    ]
    exec(compile("\n".join(lines) + "\n", "<wengert.compile guard>", "exec"), space)
    return space["_guard"]


__all__ = ["MISS", "miss", "write"]
