"""The usual call of a compiled function, with the fewest operations: a guard per program.

A program traced for ndarray arguments alone gets a guard: the program's own lines, under a
head that checks that no function is being traced (`MODE.compiler`), and each argument with
`type(a) is ndarray`, `a.shape == shape` and its dtype `is` the traced one or, failing that,
`==` it (an array numba made has a dtype equal to NumPy's own but not that object), and reads
each external Tensor's array and checks it alike. Where any check fails it hands the call to
`general` (the full signature, the cache, a new trace), so a guard only ever runs the program
it was written for: what it refuses, the general path still decides. The compiled function
is its last program's guard when called (compiled.py), and the lines run in the guard itself:
one Python call in all. No line deletes an argument (peephole.freed deletes only names the
program assigns), so the answer to FloatingPointError still reads them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from wengert.autodiff.mode import MODE

_MISSING = object()  # an argument not given (the guard's parameters default to it)


def write(
    text: str,
    namespace: dict,
    values: list[np.ndarray],
    externals: tuple,
    eager: Callable,
    general: Callable,
) -> Callable:
    """A guard for the program `text` (`def name(args..., externals...):` and its lines, run
    in `namespace`) on ndarray arguments shaped as `values`, that reads the arrays of
    `externals` (Tensors) at each call; `eager(*args)` answers a call whose program raised
    FloatingPointError, and `general(*args)` every call it is not written for."""
    head, *body = text.rstrip("\n").split("\n")
    params = [p for p in head[head.index("(") + 1 : head.rindex(")")].split(", ") if p]
    given, read = params[: len(values)], params[len(values) :]
    space = dict(namespace)
    space.update({"_g_nd": np.ndarray, "_g_eager": eager, "_g_general": general})
    space.update({"_g_M": _MISSING, "_g_mode": MODE})
    tests = ["_g_mode.compiler is not None", "_g_rest"]
    tests += [f"type({a}) is not _g_nd" for a in given]
    for k, (a, v) in enumerate(zip(given, values, strict=True)):
        space[f"_g_s{k}"], space[f"_g_d{k}"] = v.shape, v.dtype
        tests += [f"{a}.shape != _g_s{k}", f"{a}.dtype is not _g_d{k} != {a}.dtype"]
    reads = []
    for k, (name, t) in enumerate(zip(read, externals, strict=True)):
        space[f"_g_t{k}"], space[f"_g_se{k}"] = t, t._data.shape
        space[f"_g_de{k}"] = t._data.dtype
        reads.append(f"{name} = _g_t{k}._data")
        tests += [f"type({name}) is not _g_nd", f"{name}.shape != _g_se{k}"]
        tests.append(f"{name}.dtype is not _g_de{k} != {name}.dtype")
    head = ", ".join([f"{a}=_g_M" for a in given] + (["/"] if given else []) + ["*_g_rest"])
    lines = [f"def _guard({head}):"]
    lines += [f"    {r}" for r in reads]
    args = f"*[a for a in ({''.join(f'{a}, ' for a in given)}) if a is not _g_M], *_g_rest"
    lines += [f"    if {' or '.join(tests)}:", f"        return _g_general({args})", "    try:"]
    lines += [f"    {line}" for line in body]
    lines += ["    except FloatingPointError:", f"        return _g_eager({', '.join(given)})"]
    exec(compile("\n".join(lines) + "\n", "<wengert.compile guard>", "exec"), space)
    return space["_guard"]


__all__ = ["write"]
