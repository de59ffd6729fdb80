"""Each primitive's forward written in SymPy: what `symbolic_grad` replays the Wengert list with.

One table, primitive name -> a function of object arrays of SymPy expressions that follows
NumPy's broadcasting. Only the forwards are written again here; the derivatives are SymPy's.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable

import numpy as np


def _sympy():
    try:
        import sympy
    except ImportError:
        raise ImportError(
            "symbolic differentiation needs SymPy, which is not installed; "
            "install it with: pip install 'wengert[symbolic]'"
        ) from None
    return sympy


# ----------------------------------------------------------------------------- the builders
@functools.cache
def builders() -> dict[str, Callable]:
    """Primitive name -> its forward on object arrays of SymPy expressions (NumPy's broadcasting).

    This table is the only second copy of anything: each primitive's forward, in SymPy terms.
    """
    sp = _sympy()

    def each(fn, nin=1):
        return np.frompyfunc(fn, nin, 1)

    def leaky_relu(x, negative_slope=0.01):
        slope = _number(negative_slope)
        return each(lambda v: sp.Piecewise((v, v > 0), (slope * v, True)))(x)

    def clip(x, lo=None, hi=None):
        def one(v, low, high):
            pieces = [(low, v < low)] if low is not None else []
            pieces += [(high, v > high)] if high is not None else []
            return sp.Piecewise(*pieces, (v, True))

        return each(one, 3)(x, _bound(lo), _bound(hi))

    def linear(x, w, b=None):
        out = np.matmul(x, w)
        return out if b is None else out + b

    return {
        "add": operator.add,
        "sub": operator.sub,
        "mul": operator.mul,
        "div": operator.truediv,
        "neg": operator.neg,
        "pow": operator.pow,
        "exp": each(sp.exp),
        "log": each(sp.log),
        "sqrt": each(sp.sqrt),
        "abs": each(sp.Abs),
        "sign": each(sp.sign),
        "maximum": each(sp.Max, 2),
        "minimum": each(sp.Min, 2),
        "sigmoid": each(lambda v: 1 / (1 + sp.exp(-v))),
        "tanh": each(sp.tanh),
        "relu": each(lambda v: sp.Max(0, v)),
        "leaky_relu": leaky_relu,
        "softplus": each(lambda v: sp.log(1 + sp.exp(v))),
        "clip": clip,
        "where": lambda cond, a, b: np.where(cond, a, b),
        "sum": lambda x, axis=None, keepdims=False: _add_reduce(sp, x, axis, keepdims),
        "mean": lambda x, axis=None, keepdims=False: (
            _add_reduce(sp, x, axis, keepdims) / sp.Integer(_count(x.shape, axis))
        ),
        "matmul": np.matmul,
        "linear": linear,
        "reshape": lambda x, shape: np.reshape(x, shape),
        "transpose": lambda x, axes=None: np.transpose(x, axes),
        "getitem": lambda x, index: x[index],
        "broadcast_to": lambda x, shape: np.broadcast_to(x, shape).copy(),
        "concatenate": lambda *xs, axis=0: np.concatenate(xs, axis=axis),
        "stack": lambda *xs, axis=0: np.stack(xs, axis=axis),
        "astype": lambda x, dtype: x,
    }


def _add_reduce(sp, x: np.ndarray, axis, keepdims: bool) -> np.ndarray:
    """x summed over `axis` (a tuple, or None for all) as one sympy.Add per result: adding the
    terms one at a time, as np.add.reduce does, re-sorts the growing sum at each step."""
    axes = tuple(range(x.ndim)) if axis is None else tuple(axis)
    kept = [a for a in range(x.ndim) if a not in axes]
    rows = np.transpose(x, kept + list(axes)).reshape(*[x.shape[a] for a in kept], -1)
    out = np.empty(rows.shape[:-1], dtype=object)
    for idx in np.ndindex(out.shape):
        out[idx] = sp.Add(*rows[idx])
    if keepdims:
        out = out.reshape([1 if a in axes else n for a, n in enumerate(x.shape)])
    return out


def _count(shape, axis) -> int:
    return int(np.prod(shape if axis is None else [shape[a] for a in axis], dtype=np.int64))


def _number(v):
    """A number of f as SymPy's: integers exact, other floats as Floats that hold the double."""
    sp = _sympy()
    if isinstance(v, (bool, np.bool_)):
        return sp.true if v else sp.false
    v = float(v)
    if v.is_integer() and abs(v) < 2**53:
        return sp.Integer(int(v))
    # repr is the shortest text that reads back as this double; Float keeps at least its digits.
    return sp.Float(repr(v)) if np.isfinite(v) else sp.sympify(v)


def _objects(value) -> np.ndarray:
    """value (an expression, a number, an array) as an object array of SymPy expressions."""
    if isinstance(value, np.ndarray) and value.dtype == object:
        return value
    if isinstance(value, (np.ndarray, np.generic, int, float)):
        return np.asarray(np.frompyfunc(_number, 1, 1)(np.asarray(value)), dtype=object)
    out = np.empty((), dtype=object)
    out[()] = value
    return out


def _bound(v) -> np.ndarray:
    return np.asarray(None, dtype=object) if v is None else _objects(v)
