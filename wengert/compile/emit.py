"""The traced program written out as one straight-line Python function on ndarrays.

Each forward node becomes one line, `t1 = w * x` (Python's operator for + - * / ** @ and
unary -, `x[0]` for a plain index, a call of the primitive's NumPy forward otherwise); each
rule the sweep applied becomes one line that adds to an adjoint, `t2_bar = L_bar * (2 * t2)`
where the rule is an expression that holds for every value (rules.py), or a call of the rule
itself, `t2_bar = relu_vjp0(t3_bar, t3, t2)`. Forwards, rules and constants are bound in the
function's namespace when it is made, so running it looks nothing up in the registry and makes
no Tensor. A sum over broadcast axes is written only where the shapes need one; an adjoint
that receives several contributions grows in place (`+=`) where its first one is a new array
that nothing else holds. Lines whose values nothing needs are left out.
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Callable

import numpy as np

from wengert.autodiff import render
from wengert.autodiff.ops import astype_p, reshape_p, sum_p
from wengert.autodiff.primitive import Primitive
from wengert.autodiff.tensor import Tensor
from wengert.compile import peephole, rules
from wengert.compile.tracer import Block, Tracer

OPERATORS = {"add", "sub", "mul", "div", "neg", "pow", "matmul"}


def out(v: object) -> object:
    """A result as f's caller gets it: a Python number for one value, else a new ndarray."""
    a = np.asarray(v)
    if a.ndim == 0:
        return float(a) if a.dtype.kind == "f" else a.item()
    return np.array(a, copy=True)


class Emitter:
    """Source text and namespace of the program that one trace recorded."""

    def __init__(self, tracer: Tracer, names: list[str], inline: set[int]) -> None:
        self.tracer = tracer
        self.inline = inline  # numbers of the contributions written as expressions
        self.namespace: dict[str, object] = {"ones_like": np.ones_like, "zeros_like": np.zeros_like}
        self.namespace["_out"] = out
        self.taken: set[str] = {*self.namespace, "float"}  # float: the builtin a return calls
        self._count = 0  # constants bound so far: c1, c2, ...
        self.numbers: dict[str, str] = {}  # a number's 0-d array constant -> the number
        self.big: set[str] = set()  # names of arrays freed after their last use
        self._used: set[str] = set()
        self.returned: set[int] = set()  # the arrays returned so far, which a second return copies
        self.names: dict[int, str] = {}
        self.statements: list[tuple[str, str, set[str]]] = []  # (target, text, names used)
        self.params = []
        for t, name in zip(tracer.inputs, names, strict=True):
            if t is not None:
                self.params.append(self._bind_name(t, name))
        for t in tracer.externals:  # read at each call: the caller passes their arrays last
            self.params.append(self._bind_name(t, tracer.names.get(id(t), "p")))

    # ------------------------------------------------------------------ names
    def _unique(self, base: str) -> str:
        if not base.isidentifier() or keyword.iskeyword(base):
            base = "v"
        name, n = base, 1
        while name in self.taken:
            n += 1
            name = f"{base}_{n}"
        self.taken.add(name)
        return name

    def _bind_name(self, t: Tensor, base: str) -> str:
        name = self._unique(base)
        self.names[id(t)] = name
        self.names.setdefault(id(t._data), name)
        return name

    def _constant(self, value, base: str = "c") -> str:
        if isinstance(value, np.ndarray):
            value = np.array(value, copy=True)  # the value f saw when it was traced
        if base == "c":
            self._count += 1
            base = f"c{self._count}"
        name = self._unique(base)
        self.namespace[name] = value
        return name

    def _function(self, name: str, fn) -> str:
        for key, value in self.namespace.items():
            if value is fn:
                return key
        bound = self._unique(name)
        self.namespace[bound] = fn
        return bound

    # ------------------------------------------------------------------ text
    def operand(self, a: object, used: set[str]) -> tuple[str, int]:
        """An operand as code: a name, a Python number, or a bound constant."""
        if isinstance(a, Tensor):
            a = self.tracer.alias.get(id(a), a)
            if id(a) in self.names:
                used.add(self.names[id(a)])
                return self.names[id(a)], render.ATOM
            a = a._data
        if id(a) in self.names and isinstance(a, (np.ndarray, np.generic)):
            used.add(self.names[id(a)])
            return self.names[id(a)], render.ATOM
        if isinstance(a, peephole.Typed):
            return self._typed(a.value, a.number), render.ATOM
        text = _literal(a)
        if text is not None:
            return text, (0 if text.startswith("-") else render.ATOM)
        return self._constant(a), render.ATOM

    def _typed(self, value: np.ndarray, number: object) -> str:
        """A number held as a 0-d array (peephole.typed); `shown` writes the number back."""
        name = self._constant(value, peephole.name_of(value))
        self.numbers[name] = repr(number)
        return name

    def shown(self, source: str) -> str:
        """The source as `show()` prints it: each number bound as a 0-d array written as the
        number (what NumPy converts it to is that array), so the lines read as f's."""
        for name, text in self.numbers.items():
            source = re.sub(rf"\b{name}\b", text, source)
        return source

    def param(self, v: object) -> str:
        """A keyword parameter as code: a literal, or a bound constant (a dtype by its name)."""
        if isinstance(v, np.dtype):
            return self._constant(v, str(v))
        text = _literal(v) if rules.static(v) else None
        return text if text is not None else self._constant(v)

    def operation(
        self, prim: Primitive, parts: list[tuple[str, int]], params: dict
    ) -> tuple[str, int]:
        """prim applied to operands already written: operator, index, or a call."""
        if prim.name in OPERATORS and not params:
            return render.operation(prim, [p[0] for p in parts], {}, [p[1] for p in parts])
        index = params.get("index")
        if prim.name == "getitem" and isinstance(index, tuple) and _plain(index):
            x, prec = parts[0]
            x = x if prec >= render.ATOM else f"({x})"
            return f"{x}[{render.index(index) if index else '()'}]", render.ATOM
        text = peephole.method(prim.name, parts, params)
        if text is not None:
            return text, render.ATOM
        fn = self._function(prim.name, prim.forward)
        shown = [p[0] for p in parts] + [f"{k}={self.param(v)}" for k, v in params.items()]
        return f"{fn}({', '.join(shown)})", render.ATOM

    def emit(self, target: str, text: str, used: set[str]) -> None:
        """Add a statement that assigns `target` (or nothing: "") and reads the names `used`."""
        self.statements.append((target, text, used))

    # ------------------------------------------------------------------ the program
    def source(self, fname: str, result: object, finish: Callable | None = None) -> str:
        """The function's source: forward lines and sweeps in order, then what `finish(self,
        result)` writes (it returns the result to return), then the return."""
        count = 0
        contribution = 0
        for kind, item in self.tracer.steps:
            if kind == "node":
                if id(item) in self.tracer.alias:
                    continue
                count += 1
                self._forward(item, self.tracer.names.get(id(item), f"t{count}"))
            else:
                contribution = self._block(item, contribution)
        if finish is not None:
            self._before_finish()
            result = finish(self, result)
        used: set[str] = set()
        returned = self._result(result, used)
        self.emit("", f"return {returned}", used)
        statements = self.statements
        if self.writes_numpy():  # a subclass that writes other operations gets none of it
            statements = peephole.fold(statements, self.namespace)
        statements = _live(statements)
        if self.writes_numpy():
            statements = peephole.freed(statements, self.big)
        body = [f"    {text}" for _, text, _ in statements]
        return f"def {fname}({', '.join(self.params)}):\n" + "\n".join(body) + "\n"

    def _before_finish(self) -> None:
        """What the lines `finish` writes need first (nothing here: every name is an array)."""

    def writes_numpy(self) -> bool:
        """True where the lines are this class's NumPy calls, which peephole.py simplifies."""
        return type(self).operation is Emitter.operation

    def _forward(self, t: Tensor, base: str) -> None:
        used: set[str] = set()
        inputs = list(t._inputs)
        if self.writes_numpy() and t._prim.name in peephole.ARITHMETIC and len(inputs) == 2:
            data = [getattr(a, "_data", a) for a in inputs]
            inputs = [peephole.typed(inputs[0], data[1]), peephole.typed(inputs[1], data[0])]
        parts = [self.operand(a, used) for a in inputs]
        text = peephole.forward(self, t, parts) if self.writes_numpy() else None
        if text is None:
            text, _ = self.operation(t._prim, parts, t._params)
        name = self._bind_name(t, base)
        self._sized(name, t._data)
        self.emit(name, f"{name} = {text}", used)

    def _block(self, block: Block, number: int) -> int:
        adjoint: dict[int, str] = {}
        fresh: dict[int, bool] = {}
        for x in block.xs:
            source = self.tracer.alias[id(x)]
            adjoint[id(x)] = self._unique(f"{self.names[id(source)]}_bar")
            self._sized(adjoint[id(x)], source._data)
        if block.seed is not None and block.out.requires_grad:
            self._seed(block, adjoint)
        for c in block.steps:
            g = self._adjoint(c.node, adjoint)
            text = self._rule(c, g, number in self.inline)
            text = self._unbroadcast(text, c.plan)
            target = self._adjoint(c.target, adjoint)
            used = {g} | self._used
            if c.first:
                self.emit(target, f"{target} = {text}", used)
                fresh[id(c.target)] = c.fresh
            elif fresh[id(c.target)]:
                self.emit(target, f"{target} += {text}", used | {target})
            else:
                self.emit(target, f"{target} = {target} + {text}", used | {target})
                fresh[id(c.target)] = True
            number += 1
        for x, r, reached in zip(block.xs, block.results, block.reached, strict=True):
            name = adjoint[id(x)]
            if not reached:
                source = self.names[id(self.tracer.alias[id(x)])]
                self.emit(name, f"{name} = zeros_like({source})", {source})
            self.names[id(r)] = name
        return number

    def _seed(self, block: Block, adjoint: dict[int, str]) -> None:
        # The seed is a constant of the program: no rule writes into the array it is given, no
        # adjoint grows in place from it (tracer._fresh), and a result that is it is copied.
        name = self._adjoint(block.out, adjoint)
        seed, data = block.seed, block.out._data
        ones = seed.shape == data.shape and seed.dtype == data.dtype and np.all(seed == 1)
        base = ("one" if seed.ndim == 0 else "ones") if ones else "c"
        self.emit(name, f"{name} = {self._constant(seed, base)}", set())

    def _adjoint(self, t: Tensor, adjoint: dict[int, str]) -> str:
        if id(t) not in adjoint:
            adjoint[id(t)] = self._unique(f"{self.names[id(t)]}_bar")
            self._sized(adjoint[id(t)], t._data)  # an adjoint has its value's shape
        return adjoint[id(t)]

    def _sized(self, name: str, data: object) -> None:
        """Note a name whose array is large enough that freeing it early pays (peephole)."""
        if getattr(data, "nbytes", 0) >= peephole.FREED_BYTES:
            self.big.add(name)

    def _rule(self, c, g: str, inline: bool) -> str:
        self._used = set()
        ans = self.names[id(c.node)]
        self._used.add(ans)
        args = [self.operand(a, self._used) for a in c.node._inputs]
        if inline and c.tree is not None:
            return self._tree_text(self._inline_tree(c), g, ans, args)
        rule = self._function(f"{c.node._prim.name}_vjp{c.i}", c.node._prim.vjps[c.i])
        shown = [g, ans] + [a[0] for a in args]
        shown += [f"{k}={self.param(v)}" for k, v in c.node._params.items()]
        return f"{rule}({', '.join(shown)})"

    def _inline_tree(self, c) -> tuple:
        """Contribution c's rule as the tree its line is written from (numbers typed)."""
        dtypes = {("ans",): c.node._data}
        dtypes.update({("arg", k): getattr(a, "_data", a) for k, a in enumerate(c.node._inputs)})
        return peephole.typed_tree(c.tree, dtypes)

    def _tree_text(self, tree, g: str, ans: str, args) -> str:
        def leaf(t):
            if t[0] == "g":
                return g, render.ATOM
            if t[0] == "ans":
                return ans, render.ATOM
            if t[0] == "arg":
                return args[t[1]]
            if t[0] == "const":
                return self._typed(t[1], t[2]), render.ATOM
            text = _literal(t[1])
            return text, (0 if text.startswith("-") else render.ATOM)

        return rules.fold(tree, leaf, self.operation)[0]

    def _unbroadcast(self, text: str, plan: tuple) -> str:
        axes, shape, dtype = plan
        if axes is not None:
            text = f"{self._function('sum', sum_p.forward)}({text}, axis={axes!r})"
        if shape is not None:
            text = f"{self._function('reshape', reshape_p.forward)}({text}, shape={shape!r})"
        if dtype is not None:
            fn = self._function("astype", astype_p.forward)
            text = f"{fn}({text}, dtype={self._constant(dtype, str(dtype))})"
        return text

    def _result(self, value, used: set[str]) -> str:
        if isinstance(value, tuple):
            parts = [self._result(v, used) for v in value]
            return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
        if isinstance(value, list):
            return "[" + ", ".join(self._result(v, used) for v in value) + "]"
        if isinstance(value, dict):
            items = [f"{self.param(k)}: {self._result(v, used)}" for k, v in value.items()]
            return "{" + ", ".join(items) + "}"
        if isinstance(value, (Tensor, np.ndarray, np.generic)):
            return self._returned(value, used)
        text = _literal(value)
        return text if text is not None else self._constant(value)

    def _returned(self, value, used: set[str]) -> str:
        """A returned array as f's caller gets it (`out`): a number for one value; an array the
        program made (or a view of one) and returns once as it is, any other (an argument, a
        constant, a view of one, a second array in the same memory) as a copy."""
        text = self.operand(value, used)[0]
        data = np.asarray(value._data if isinstance(value, Tensor) else value)
        if data.ndim == 0:
            return f"float({text})" if data.dtype.kind == "f" else f"{text}.item()"
        data = value._data if isinstance(value, Tensor) else value
        memory = data if getattr(data, "base", None) is None else data.base
        if id(memory) in self.returned or not self.tracer.owned(data):
            return f"_out({text})"
        self.returned.add(id(memory))  # a second array in this memory is copied
        return text


def _literal(v) -> str | None:
    """Python source for a number, string, None or a tuple of them; None for anything else."""
    if v is None or type(v) in (bool, int, str) or v is Ellipsis:
        return repr(v)
    if type(v) is float:
        return repr(v) if math.isfinite(v) else None
    if isinstance(v, slice) and rules.static(v):
        return repr(v)
    if type(v) in (tuple, list):
        parts = [_literal(p) for p in v]
        if any(p is None for p in parts):
            return None
        inner = ", ".join(parts) + ("," if type(v) is tuple and len(parts) == 1 else "")
        return f"({inner})" if type(v) is tuple else f"[{inner}]"
    return None


def _plain(index: tuple) -> bool:
    """An index of ints, slices, None and ..., which Python writes as x[1:, None, 0]."""
    return all(
        type(i) is int or i is None or i is Ellipsis or (isinstance(i, slice) and rules.static(i))
        for i in index
    )


def _live(statements: list[tuple[str, str, set[str]]]) -> list[tuple[str, str, set[str]]]:
    """The statements whose values the return needs, in order (the others are dead code)."""
    needed: set[str] = set()
    kept = []
    for target, text, used in reversed(statements):
        if target and target not in needed:
            continue
        if target and " += " not in text and f"{target} = {target} + " not in text:
            needed.discard(target)
        needed |= used
        kept.append((target, text, used))
    return kept[::-1]
