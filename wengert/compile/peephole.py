"""Simplifications of the generated program that give the same arrays, bit for bit.

- Constant folding: a line that reads nothing but constants (the seed `one`, and what is made
  from it: `broadcast_to(one / 1, shape=(1,))`, `t4_bar * 0.5`) is computed once, when the
  program is made, and bound as a read-only constant; the line goes. Skipped where the value
  would be returned, grown in place, or where computing it raises.
- A mean over every axis of a floating-point array is `sum(x, axis=None) / n` with n written
  in, as the primitive computes it less the call that counts n; of a one-element array it is
  `x[0] + 0.0` (x / 1 is x, and NumPy's sum of one term is +0.0 plus it: -0.0 gives 0.0).
- reshape to a shape with axes, and transpose of an array, are the array's own methods (the
  primitives' forwards wrap the same methods in np.asarray and a call).
"""

from __future__ import annotations

import re
import types

import numpy as np

_NAME = re.compile(r"(?<![\w.])[A-Za-z_]\w*")


def forward(emitter, t, parts: list[tuple[str, int]]) -> str | None:
    """The text of forward node t where a simpler one gives the same value; else None."""
    name, params = t._prim.name, t._params
    x = t._inputs[0] if t._inputs else None
    data = getattr(x, "_data", x)
    if name == "mean" and _float_array(data) and params.get("axis", 0) is None:
        if params.get("keepdims"):
            return None
        if data.size == 1:
            return f"{_atom(parts[0])}[{', '.join(['0'] * data.ndim) or '()'}] + 0.0"
        total = emitter._function("sum", np.add.reduce)
        return f"{total}({parts[0][0]}, axis=None, keepdims=False) / {data.size}"
    return None


def method(prim_name: str, parts: list[tuple[str, int]], params: dict) -> str | None:
    """reshape and transpose as methods of the operand, where that is the same call."""
    if prim_name not in ("reshape", "transpose") or not _NAME.search(parts[0][0]):
        return None  # a literal operand has no methods
    x = _atom(parts[0])
    if prim_name == "reshape" and params.get("shape") not in ((), None):
        return f"{x}.reshape({params['shape']!r})"  # an ndarray also for a NumPy scalar
    return None


def _atom(part: tuple[str, int]) -> str:
    from wengert.autodiff import render

    text, prec = part
    return text if prec >= render.ATOM else f"({text})"


def _float_array(a) -> bool:
    return type(a) is np.ndarray and a.dtype.kind == "f" and a.size > 0


def fold(statements: list, namespace: dict) -> list:
    """The statements with each line that reads constants alone computed now and bound."""
    counts: dict[str, int] = {}
    for target, _, _ in statements:
        counts[target] = counts.get(target, 0) + 1
    folded: dict[str, object] = {}
    for target, text, _ in statements:
        if not target or counts[target] > 1 or not text.startswith(f"{target} = "):
            continue  # assigned twice (grown in place, or `t = t + u`): a variable
        expr = text.split(" = ", 1)[1]
        if not _constants_alone(expr, namespace, folded):  # (`used` also names what a rule
            # reads that its inline text may not: the text itself is what is computed)
            continue
        try:
            with np.errstate(all="raise"):
                value = eval(expr, dict(namespace), dict(folded))
        except Exception:  # the program computes it at run time, as it would
            continue
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
        folded[target] = value
    returned = set().union(*(u for t, text, u in statements if text.startswith("return ")))
    if not folded or returned & set(folded):
        return statements  # a returned value must be the caller's own array
    namespace.update(folded)
    return _not_in_place(folded, [s for s in statements if s[0] not in folded])


def _not_in_place(folded: dict, statements: list) -> list:
    """`t += u` as `t = t + u` where t starts from a folded constant (an identity rule may have
    handed it over as it is): a constant is never written into."""
    first: dict[str, str] = {}
    out = []
    for target, text, used in statements:
        first.setdefault(target, text)
        if target and text.startswith(f"{target} += "):
            names = {m.group(0) for m in _NAME.finditer(first[target].split(" = ", 1)[-1])}
            if names & set(folded):
                text = f"{target} = {target} + ({text[len(target) + 4 :]})"
        out.append((target, text, used))
    return out


_PYTHON = ("None", "True", "False")
_VALUES = (np.ndarray, np.generic, np.dtype, int, float, bool)
_PURE = (types.FunctionType, types.BuiltinFunctionType, np.ufunc)


def _constants_alone(expr: str, namespace: dict, folded: dict) -> bool:
    """True where every name in expr is a folded value, an array or number constant, or a
    function (no object whose state may change: the optimizer, its groups)."""
    seen = False
    for match in _NAME.finditer(expr):
        name, rest = match.group(0), expr[match.end() :].lstrip()
        if (rest.startswith("=") and not rest.startswith("==")) or name in _PYTHON:
            continue  # a keyword argument's name, or a Python constant
        if name in folded:
            seen = True
            continue
        value = namespace.get(name, _constants_alone)
        if isinstance(value, _VALUES):
            seen = True
        elif not isinstance(value, _PURE):
            return False
    return seen
