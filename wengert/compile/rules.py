"""A derivative rule as an expression, where it has one that holds for every value.

A rule written with wengert's operations records a graph when it runs on Tensors, as it does
under create_graph=True: `mul`'s rule for its first argument records `g * b`. That graph is an
expression of the cotangent g, the result and the arguments, and the compiled program can write
it inline (`w_bar = t1_bar * x`) instead of calling the rule. It may do so only where the
expression is the same for every value, which a recording does not promise: relu's rule reads
the mask `x > 0` from the data and records it as a constant array, maximum's its tie shares,
clip its inside mask, abs its signs. So a rule is written inline only when its recording

- refers to nothing but g, the result, the arguments and Python numbers (no array constant,
  which is where a value-dependent choice would hide, and no array parameter),
- gives, evaluated again from the expression, bit for bit the array the rule gave, and
- is the same expression at every point the program was traced at (compiled.py checks this
  across the probes).

Every other rule is called as it is, on the arrays: the very code of the first-order sweep.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from wengert.autodiff import render
from wengert.autodiff.mode import enable_grad, recording
from wengert.autodiff.tensor import Tensor

Tree = tuple  # ("g",), ("ans",), ("arg", k), ("lit", number) or ("op", prim, (trees), params)


def expression(node: Tensor, i: int, g: object, raw: object, args: list) -> Tree | None:
    """Rule i of `node` as an expression tree, or None where it has no value-free one."""
    g_t = Tensor._make(np.asarray(g), True, None, None, None)
    ans_t = Tensor._make(node._data, True, None, None, None)
    named = {id(g_t): ("g",), id(ans_t): ("ans",)}  # what the rule receives -> its leaf
    made: dict[int, Tensor] = {}  # a Tensor operand -> the leaf that stands for it
    call_args = []
    for k, a in enumerate(node._inputs):
        if isinstance(a, Tensor):
            if id(a) not in made:
                made[id(a)] = Tensor._make(args[k], True, None, None, None)
                named[id(made[id(a)])] = ("arg", k)
            call_args.append(made[id(a)])
        else:
            if isinstance(a, (np.ndarray, np.generic)):
                named.setdefault(id(a), ("arg", k))
            call_args.append(a)
    recorded: list[Tensor] = []
    try:
        with enable_grad(), recording(recorded), np.errstate(all="ignore"):
            result = node._prim.vjps[i](g_t, ans_t, *call_args, **node._params)
    except Exception:  # a rule that works on arrays alone is called as it is
        return None
    tree = _tree(result, named, {id(t) for t in recorded})
    if tree is None:
        return None
    with np.errstate(all="ignore"):  # as the rule's own retry does (elementwise.py)
        again = evaluate(tree, g, node._data, args)
    return tree if _same_array(again, raw) else None


def _tree(result, named: dict, recorded: set[int]) -> Tree | None:
    """The expression of `result` over the named leaves; None at an unnamed constant."""

    def parts(t):
        if id(t) in named or not isinstance(t, Tensor) or id(t) not in recorded:
            return None
        return t._inputs

    def combine(t, done):
        if done is None:
            return named[id(t)] if id(t) in named else _literal(t)
        params = tuple(t._params.items())
        ok = all(p is not None for p in done) and all(static(v) for _, v in params)
        return ("op", t._prim, tuple(done), params) if ok else None

    return render.fold(result, parts, combine)


def _literal(v) -> Tree | None:
    if type(v) in (int, bool) or (type(v) is float and math.isfinite(v)):
        return ("lit", v)
    return None  # an array or a Tensor computed from the data: a value-dependent constant


def static(v: object) -> bool:
    """True for a parameter that is fixed by the program's shapes: numbers, axes, dtypes."""
    if v is None or v is Ellipsis or type(v) in (int, bool, str, float) or isinstance(v, np.dtype):
        return True
    if isinstance(v, slice):
        return all(static(p) for p in (v.start, v.stop, v.step))
    if isinstance(v, (tuple, list)):
        return all(static(p) for p in v)
    return False


def fold(tree: Tree, leaf: Callable, op: Callable) -> object:
    """Evaluate `tree` bottom-up: leaf(tree) at a leaf, op(prim, values, params) at a node."""

    def combine(t, values):
        return leaf(t) if values is None else op(t[1], values, dict(t[3]))

    return render.fold(tree, lambda t: t[2] if t[0] == "op" else None, combine)


def evaluate(tree: Tree, g: object, ans: object, args: list) -> object:
    """The value of `tree` at g, ans and args, computed with the primitives' forwards."""
    values = {"g": g, "ans": ans}

    def leaf(t):
        if t[0] == "arg":
            return args[t[1]]
        return t[1] if t[0] == "lit" else values[t[0]]

    return fold(tree, leaf, lambda prim, vs, params: prim.forward(*vs, **params))


def _same_array(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))
