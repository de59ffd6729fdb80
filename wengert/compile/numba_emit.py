"""The numba backend's program text: the NumPy backend's lines (emit.py), each operation in a
form numba compiles, and its table of primitives (see numba_backend.py for the design).

`SUPPORTED` lists the primitives whose forward and every rule have a numba form; `UNSUPPORTED`
the others, each with its reason; `FORMS` writes a forward, `RULES` a rule that reads the data
(rules.py writes the others inline, as expressions of forwards); `fused` writes a single-use
elementwise value into the line that reads it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from wengert.autodiff import render
from wengert.autodiff.primitive import Primitive
from wengert.autodiff.tensor import Tensor
from wengert.compile.emit import Emitter
from wengert.compile.tracer import Tracer

KERNELS = (
    "matmul",
    "as_shape",
    "filled",
    "sigmoid",
    "softplus",
    "relu_vjp",
    "logsumexp_rows",
    "log_softmax_rows",
    "softmax_rows",
    "cross_entropy",
    "cross_entropy_vjp",
)
UNARY = {"exp", "log", "tanh", "expm1", "sqrt", "abs", "sign"}
OPERATORS = {"add", "sub", "mul", "div", "neg", "pow", "matmul"}
SUPPORTED = (
    OPERATORS
    | UNARY
    | {"sigmoid", "softplus", "relu", "leaky_relu", "linear", "sum", "mean", "reshape"}
    | {"broadcast_to", "transpose", "astype", "softmax", "log_softmax"}
    | {"logsumexp", "cross_entropy"}
)
UNSUPPORTED = {
    "clip": "its rule reads the inside mask from the data: no numba form yet",
    "maximum": "its rule shares ties from the data: no numba form yet",
    "minimum": "its rule shares ties from the data: no numba form yet",
    "max": "its rule shares ties from the data: no numba form yet",
    "min": "its rule shares ties from the data: no numba form yet",
    "where": "no numba form yet",
    "getitem": "its rule scatters by the index (scatter_add): no numba form yet",
    "concatenate": "takes any number of arrays: no numba form yet",
    "stack": "takes any number of arrays: no numba form yet",
    "scatter_add": "indexes by arrays: no numba form yet",
    "zero_one": "a metric without derivative rules: no numba form yet",
    "squared_error": "the losses write it out as its chain when compiled: no numba form needed",
}


class Unsupported(Exception):
    """The program has an operation (named in the message) that the numba backend lacks."""


class NumbaEmitter(Emitter):
    """emit.Emitter writing each operation in a form numba compiles (see the module docstring)."""

    def __init__(self, tracer: Tracer, names: list[str], inline: set[int]) -> None:
        super().__init__(tracer, names, inline)
        self.namespace["np"] = np
        self.taken.add("np")
        self.flat: list[str] = []  # what the numba function returns, in order
        self.node: Tensor | None = None  # the forward node being written, for shapes
        self.dtype = None  # the dtype of the line being written, for its literals
        # What a `finish` (numba_update.py) adds: the wrapper's lines before and after the call
        # of the numba function, the names it passes to it after the program's arguments (with
        # values of their types for the first, compiling run), and the wrapper's constants.
        self.prologue: list[str] = []
        self.epilogue: list[str] = []
        self.extra: list[str] = []
        self.trial: list = []
        self.wrapper_space: dict = {}

    def typed(self, v: object) -> str:
        """A Python number written in the dtype of the line (float32 stays float32)."""
        if self.dtype is not None and self.dtype.kind == "f" and self.dtype != np.float64:
            return f"np.{self.dtype.name}({v!r})"
        return repr(v)

    def operand(self, a: object, used: set[str]) -> tuple[str, int]:
        """An operand as code, a Python number written in the dtype of the line."""
        if type(a) in (int, float):
            return self.typed(a), render.ATOM
        return super().operand(a, used)

    def _constant(self, value, base: str = "c") -> str:
        array = np.asarray(value) if isinstance(value, (np.ndarray, np.generic)) else None
        if array is not None and array.ndim == 0 and array.dtype.kind in "fiub":
            return f"np.{array.dtype.name}({array.item()!r})"
        return super()._constant(value, base)

    def param(self, v: object) -> str:
        """A keyword parameter as code, a dtype as numba names it (np.float32)."""
        if isinstance(v, np.dtype):
            return f"np.{v.name}"
        return super().param(v)

    def operation(
        self, prim: Primitive, parts: list[tuple[str, int]], params: dict
    ) -> tuple[str, int]:
        """prim applied to operands already written, in its numba form (`FORMS`); Unsupported
        for a primitive without one."""
        name = prim.name
        if name not in SUPPORTED:
            raise Unsupported(f"{name}: {UNSUPPORTED.get(name, 'no numba form')}")
        if name in OPERATORS and name != "matmul" and not params:
            return super().operation(prim, parts, params)
        a = [p if q >= render.ATOM else f"({p})" for p, q in parts]
        text = FORMS[name](self, a, params)
        return text, (render.ATOM if name != "linear" else 0)

    def emit(self, target: str, text: str, used: set[str]) -> None:
        """Add a statement; at the return, first fuse the statements before it (`fused`)."""
        if not target and text.startswith("return "):  # the last line: fuse what precedes it
            self.statements = fused(self.statements, used)
        super().emit(target, text, used)

    def _forward(self, t: Tensor, base: str) -> None:
        self.node, self.dtype = t, t._data.dtype
        super()._forward(t, base)
        self.node = None

    def _rule(self, c, g: str, inline: bool) -> str:
        self.node, self.dtype = None, np.result_type(c.target._data)
        if inline and c.tree is not None:
            return super()._rule(c, g, inline)
        form = RULES.get((c.node._prim.name, c.i))
        if form is None:
            raise Unsupported(f"{c.node._prim.name}: its rule for argument {c.i} has no numba form")
        self._used = {self.names[id(c.node)]}
        args = [self.operand(a, self._used)[0] for a in c.node._inputs]
        return form(self, g, self.names[id(c.node)], args, c.node._params)

    def _tree_text(self, tree, g: str, ans: str, args) -> str:
        extra = list(args)

        def typed(t):  # a number in the tree becomes an operand written in the line's dtype
            if t[0] == "lit" and type(t[1]) in (int, float):
                extra.append((self.typed(t[1]), render.ATOM))
                return ("arg", len(extra) - 1)
            if t[0] == "op":
                return ("op", t[1], tuple(typed(p) for p in t[2]), t[3])
            return t

        return super()._tree_text(typed(tree), g, ans, extra)

    def _unbroadcast(self, text: str, plan: tuple) -> str:
        axes, shape, dtype = plan
        if axes is not None:
            text = _sum(text, axes, False)
        if shape is not None:
            text = f"as_shape({text}, {shape!r})"
        if dtype is not None:
            text = f"as_shape({text}, ()).astype(np.{dtype.name})"
        return text

    def _seed(self, block, adjoint) -> None:
        name = self._adjoint(block.out, adjoint)
        self.emit(name, f"{name} = {self._constant(block.seed)}", set())

    def _returned(self, value, used: set[str]) -> str:
        text = self.operand(value, used)[0]
        raw = value._data if isinstance(value, Tensor) else value
        data = np.asarray(raw)
        self.flat.append(text)
        k = len(self.flat) - 1
        if data.ndim == 0 and data.dtype.kind == "f":
            return f"float(_r[{k}])"
        owned = data.ndim != 0 and self.tracer.owned(raw)
        if not owned or text in self.flat[:k]:
            return f"_out(_r[{k}])"
        return f"_r[{k}]"

    def sources(
        self, fname: str, result: object, finish: Callable | None = None
    ) -> tuple[str, str]:
        """(the numba function `_kernel`, the Python wrapper `fname` that calls it); `finish` as
        for Emitter.source, its Python lines in the wrapper (`prologue`, `epilogue`)."""
        text = self.source(fname, result, finish)
        lines = text.rstrip("\n").split("\n")
        head, body, last = lines[0], lines[1:-1], lines[-1]
        params = ", ".join([p for p in [head[len(f"def {fname}(") : -2]] if p] + self.extra)
        flat = ", ".join(self.flat) + ("," if len(self.flat) == 1 else "")
        kernel = [f"def _kernel({params}):", *body, f"    return ({flat})"]
        wrapper = [head, *(f"    {line}" for line in self.prologue)]
        wrapper += [f"    _r = _kernel({params})", *(f"    {line}" for line in self.epilogue), last]
        return "\n".join(kernel) + "\n", "\n".join(wrapper) + "\n"


NOT_ELEMENTWISE = ("matmul(", "np.sum(", "as_shape(", "filled(", ".T", "np.transpose(", "[")
NOT_ELEMENTWISE += (".astype(", "_rows(", "cross_entropy", "np.expand_dims(")


def _rhs(target: str, text: str) -> str | None:
    """The expression a statement assigns, where it is elementwise; else None."""
    for op in (" = ", " += "):
        if target and text.startswith(target + op):
            rhs = text[len(target) + len(op) :]
            return None if any(s in rhs for s in NOT_ELEMENTWISE) else rhs
    return None


def fused(statements: list, returned: set[str]) -> list:
    """The statements with each elementwise value that one later elementwise statement alone
    reads written into it: `t3 = t2 ** 2; t4 = 0.5 * t3` becomes `t4 = 0.5 * (t2 ** 2)`, one
    loop and no array for t3 (numba fuses the operators of one expression into one loop)."""
    out = list(statements)
    i = 0
    while i < len(out):
        target, text, used = out[i]
        rhs = _rhs(target, text) if " += " not in text else None
        pattern = re.compile(rf"(?<![\w.]){re.escape(target)}\b")
        users = [j for j in range(i + 1, len(out)) if pattern.search(out[j][1])]
        if rhs is None or target in returned or len(users) != 1 or f"{target} = {target}" in text:
            i += 1
            continue
        j = users[0]
        u_target, u_text, u_used = out[j]
        between = {t for t, _, _ in out[i + 1 : j]}
        if _rhs(u_target, u_text) is None or len(pattern.findall(u_text)) != 1 or between & used:
            i += 1
            continue
        head, sep, tail = u_text.partition(" = " if " += " not in u_text else " += ")
        tail = pattern.sub(lambda _, rhs=rhs: f"({rhs})", tail)
        out[j] = (u_target, head + sep + tail, (u_used - {target}) | used)
        del out[i]
    return out


def _sum(x: str, axes, keepdims: bool, ndim: int | None = None) -> str:
    """np.sum over axes, one axis at a time from the last (numba's np.sum takes one)."""
    if axes is None or (ndim is not None and len(axes) == ndim):
        if keepdims:
            raise Unsupported("sum: over every axis with keepdims=True has no numba form yet")
        return f"np.sum({x})"
    for axis in sorted(axes, reverse=True):
        x = f"np.sum({x}, axis={axis})"
    for axis in sorted(axes) if keepdims else ():
        x = f"np.expand_dims({x}, {axis})"
    return x


def _ndim(em: NumbaEmitter, k: int = 0) -> int | None:
    if em.node is None:
        return None
    a = em.node._inputs[k]
    return np.ndim(a._data if isinstance(a, Tensor) else a)


def _rows(kernel: str, reduces: bool):
    """A form over the last axis of a 2-D array (numba_kernels' row loops)."""

    def form(em, a, params):
        axis = params.get("axis", -1)
        if isinstance(axis, tuple) and len(axis) == 1:
            axis = axis[0]
        if _ndim(em) != 2 or axis not in (-1, 1) or params.get("keepdims"):
            raise Unsupported(f"{kernel}: the numba form takes the last axis of a 2-D array")
        return f"{kernel}({a[0]})"

    return form


def _mean(em, a, params) -> str:
    shape = np.shape(em.node._inputs[0]._data) if em.node is not None else None
    if shape is None:
        raise Unsupported("mean: inside a rule has no numba form yet")
    axes = params.get("axis")
    count = int(np.prod([shape[k] for k in (range(len(shape)) if axes is None else axes)]))
    return f"{_sum(a[0], axes, params.get('keepdims', False), len(shape))} / {em.typed(count)}"


def _astype(em, a, params) -> str:
    dtype = np.dtype(params["dtype"]).name
    return f"np.{dtype}({a[0]})" if _ndim(em) == 0 else f"{a[0]}.astype(np.{dtype})"


def _product(em, name: str, a: list[str]) -> str:
    if em.node is not None and max(_ndim(em, 0), _ndim(em, 1)) > 2:
        raise Unsupported(f"{name}: a product of arrays of more than 2 axes has no numba form yet")
    return f"matmul({a[0]}, {a[1]})"


def _cross_entropy(em, a: list[str]) -> str:
    if _ndim(em) != 2:
        raise Unsupported("cross_entropy: the numba form takes logits of 2 axes (N, C)")
    return f"cross_entropy({a[0]}, {a[1]})"


def _transpose(em, a, params) -> str:
    axes = params.get("axes")
    return f"{a[0]}.T" if axes is None else f"np.transpose({a[0]}, {tuple(axes)!r})"


def _ufunc(name: str):
    return lambda em, a, p: f"np.{name}({a[0]})"


FORMS = {
    **{name: _ufunc(name) for name in UNARY},
    "sigmoid": lambda em, a, p: f"sigmoid({a[0]})",
    "softplus": lambda em, a, p: f"softplus({a[0]})",
    "relu": lambda em, a, p: f"np.maximum({a[0]}, {em.typed(0)})",
    "leaky_relu": lambda em, a, p: (
        f"np.where({a[0]} > 0, {a[0]}, {a[0]} * {em.typed(p.get('negative_slope', 0.01))})"
    ),
    "matmul": lambda em, a, p: _product(em, "matmul", a),
    "linear": lambda em, a, p: _product(em, "linear", a) + (f" + {a[2]}" if len(a) > 2 else ""),
    "sum": lambda em, a, p: _sum(a[0], p.get("axis"), p.get("keepdims", False), _ndim(em)),
    "mean": _mean,
    "reshape": lambda em, a, p: f"as_shape({a[0]}, {tuple(p['shape'])!r})",
    "broadcast_to": lambda em, a, p: f"filled({a[0]}, {tuple(p['shape'])!r})",
    "transpose": _transpose,
    "astype": _astype,
    "softmax": _rows("softmax_rows", False),
    "log_softmax": _rows("log_softmax_rows", False),
    "logsumexp": _rows("logsumexp_rows", True),
    "cross_entropy": lambda em, a, p: _cross_entropy(em, a),
}
# The rules a program calls where they read the data (rules.py writes the others inline).
RULES = {
    ("relu", 0): lambda em, g, ans, a, p: f"relu_vjp({g}, {a[0]})",
    ("abs", 0): lambda em, g, ans, a, p: f"{g} * np.sign({a[0]})",
    ("cross_entropy", 0): lambda em, g, ans, a, p: f"cross_entropy_vjp({g}, {ans}, {a[0]}, {a[1]})",
    ("leaky_relu", 0): lambda em, g, ans, a, p: (
        f"{g} * np.where({a[0]} > 0, {em.typed(1.0)}, {em.typed(p.get('negative_slope', 0.01))})"
    ),
    ("pow", 1): lambda em, g, ans, a, p: (
        f"{g} * np.where({a[0]} == 0, {em.typed(0.0)}, "
        f"{ans} * np.log(np.where({a[0]} == 0, {em.typed(1.0)}, {a[0]})))"
    ),
}
