"""Simplifications of the generated program that give the same arrays, bit for bit.

- Constant folding: a line that reads nothing but constants (the seed `one`, and what is made
  from it: `broadcast_to(one / 1, shape=(1,))`, `t4_bar * 0.5`) is computed once, when the
  program is made, and bound as a read-only constant; the line goes. Skipped where the value
  would be returned, grown in place, or where computing it raises.
- A mean over every axis of a floating-point array is `sum(x, axis=None) / n` with n written
  in, as the primitive computes it less the call that counts n; of a one-element array it is
  `x[0] + 0.0` (x / 1 is x, and NumPy's sum of one term is +0.0 plus it: -0.0 gives 0.0).
- A Python number beside a floating-point array in + - * / is bound as the 0-d array of the
  array's dtype that NumPy would convert it to (NEP 50's weak scalar), which it does not then
  convert again at every call.
- A large array (64 KiB or more) is freed (`del`) after the line that last reads it, so that
  the optimizer's update does not run with every activation of the batch still held.
- reshape to a shape with axes, and transpose of an array, are the array's own methods (the
  primitives' forwards wrap the same methods in np.asarray and a call).
"""

from __future__ import annotations

import math
import re
import types
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from wengert.autodiff.tensor import Tensor
    from wengert.compile.emit import Emitter

FREED_BYTES = 65536  # from this size up, an array is freed after its last use
_NAME = re.compile(r"(?<![\w.])[A-Za-z_]\w*")


def forward(emitter: Emitter, t: Tensor, parts: list[tuple[str, int]]) -> str | None:
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


ARITHMETIC = ("add", "sub", "mul", "div")


class Typed(NamedTuple):
    """A number written as the 0-d array `value` of the dtype NumPy converts it to."""

    value: np.ndarray
    number: object


def typed(a: object, other: object) -> object:
    """A Python number beside a floating-point array, as the 0-d array of the array's dtype
    that NumPy converts it to (a weak scalar, NEP 50): the same result, without converting the
    number at every call (a `Typed`). Anything else as it is."""
    if type(a) not in (int, float) or not (
        type(other) is np.ndarray or isinstance(other, np.generic)
    ):
        return a
    dtype = other.dtype
    if dtype.kind != "f" or not (math.isfinite(a) and abs(a) < 2**24):
        return a
    return Typed(np.asarray(a, dtype=dtype), a)


def name_of(value: object) -> str:
    """The name of a constant: `f32_0_5` for a 0-d float32 array of 0.5 that `typed` made,
    "c" (numbered: c1, c2, ...) for any other."""
    if type(value) is not np.ndarray or value.ndim or value.dtype.kind != "f":
        return "c"
    number = str(value[()]).replace("-", "m").replace(".", "_").replace("+", "")
    name = f"f{value.dtype.itemsize * 8}_{number}"
    return name if name.isidentifier() else "c"


def typed_tree(tree: tuple, dtypes: dict) -> tuple:
    """`tree` (rules.py) with each number that an operator applies beside a leaf of known
    floating-point dtype (`dtypes`: leaf -> a value of that dtype) as a ("const", array)."""
    if tree[0] != "op":
        return tree
    kids = tuple(typed_tree(k, dtypes) for k in tree[2])
    if tree[1].name in ARITHMETIC and not tree[3] and len(kids) == 2:
        a, b = kids
        if a[0] == "lit" and b in dtypes:
            kids = (_const(typed(a[1], dtypes[b]), a), b)
        elif b[0] == "lit" and a in dtypes:
            kids = (a, _const(typed(b[1], dtypes[a]), b))
    return ("op", tree[1], kids, tree[3])


def _const(value: object, leaf: tuple) -> tuple:
    return ("const", value.value, value.number) if isinstance(value, Typed) else leaf


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
    kept: set[str] = set()  # folded names whose line stays: aliases of a constant
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
        if _NAME.fullmatch(expr):  # `L_bar = one`: costs nothing, and shows where L_bar starts
            kept.add(target)
    returned = set().union(*(u for t, text, u in statements if text.startswith("return ")))
    if not set(folded) - kept or returned & set(folded):
        return statements  # a returned value must be the caller's own array
    namespace.update({k: v for k, v in folded.items() if k not in kept})
    made_once = [s for s in statements if s[0] in folded]
    statements = [s for s in statements if s[0] not in folded or s[0] in kept]
    return _made_once(made_once, statements, kept) + _not_in_place(folded, statements)


def _made_once(made_once: list, statements: list, kept: set[str]) -> list:
    """The folded lines that the program reads, as comments at its top, so that the program
    still reads from its first line though it no longer computes them (an alias of a constant,
    `t2_bar = one`, is shown there when only folded lines read it)."""
    live = [s for s in statements if s[0] not in kept]
    read = set().union(*(used for _, _, used in live)) if live else set()
    needed = set(read)
    shown = []
    for target, text, used in reversed(made_once):
        if target in kept and target in read:
            continue  # the alias stays a line of the program
        if target in needed:
            needed |= used
            shown.append(("", f"#   {text}", set()))
    if not shown:
        return []
    return [("", "# made once, when the program was made:", set()), *reversed(shown)]


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


def freed(statements: list, big: set[str]) -> list:
    """The statements with `del name` after the last one that reads or writes each large
    array's name (not returned): a local keeps its array alive to the end of the function
    otherwise, and the optimizer's update then runs with every activation still held."""
    assigned = {target for target, _, _ in statements if target}
    last: dict[str, int] = {}
    for k, (target, _, used) in enumerate(statements):
        for name in (used | {target}) & big & assigned:
            last[name] = k
    ends: dict[int, list[str]] = {}
    for name, k in last.items():
        if not statements[k][1].startswith("return "):
            ends.setdefault(k, []).append(name)
    out = []
    for k, statement in enumerate(statements):
        out.append(statement)
        if k in ends:
            out.append(("", f"del {', '.join(sorted(ends[k]))}", set()))
    return out
