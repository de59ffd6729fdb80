"""The optimizer's step inside a compiled training step's numba program, from its own rule.

The rule (`type(optimizer).rule`, the reference that every faster path of wengert/optim/
equals) is traced on stand-ins (rule_trace.py): g and each state array elementwise, the
learning rate and the step count as scalars. The program then updates each parameter in one
loop over its elements, after the reverse sweep: the base class's maximize (g ← −g) and weight
decay (g ← g + λ·θ, or θ ← θ·(1 − η·λ) decoupled), the rule's formula, each new state array
written into the state's own array, and θ ← θ − η·d into the parameter's array. The scalar part
(the bias corrections that depend on the step count) is computed once per call in float64 and
cast to the parameter's dtype where it meets the arrays, as NumPy casts a Python float; the
elementwise part runs in the parameter's dtype, in the rule's order of operations.

The Python objects stay in the wrapper around the numba function (numba_emit's prologue):
`Changed` where the groups or hyperparameters differ from the traced ones, each group's
learning rate (`lr_at`: schedules are called at each step), init_state on a parameter's first
step, the state's arrays and step count read at each call (so load_state_dict's new arrays are
the ones written), t += 1, and the step count's + 1 after the call. A state entry that is not
an array yet (SGD's momentum buffer before its first step) raises `Fresh`: the compiled step
takes that step with the optimizer's own step().
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from wengert.autodiff.tensor import Tensor
from wengert.compile import update
from wengert.compile.rule_trace import BINARY, Symbol, Untraceable, trace
from wengert.optim.optimizer import Optimizer

FUNCTIONS = {"sqrt", "maximum", "minimum", "abs", "exp", "log"}


class Fresh(Exception):
    """A parameter's state holds something else than an array where the rule reads one."""


def traced(optimizer: Optimizer, group: dict, dtype: np.dtype) -> tuple:
    """The rule of `group` traced: (record, symbols, d, new state, array keys, scalar keys);
    Untraceable where the rule is not an elementwise formula of this kind."""
    hyper = optimizer.rule_hyperparameters(group)
    state = optimizer.init_state(np.zeros(2, dtype), **hyper)
    arrays = [k for k, v in state.items() if isinstance(v, np.ndarray) or v is None]
    scalars = [k for k, v in state.items() if type(v) is int]
    if len(arrays) + len(scalars) != len(state):
        raise Untraceable(f"a state entry of another kind: {sorted(state)}")

    def call(s):
        read = {k: s[f"state_{k}"] for k in arrays + scalars}
        return optimizer.rule(s["g"], read, lr=s["lr"], **hyper)

    names = ["g", *(f"state_{k}" for k in arrays)], ["lr", *(f"state_{k}" for k in scalars)]
    record, symbols, result = trace(*names, call)
    if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict)):
        raise Untraceable("the rule returns no (direction, new state)")
    d, new = result
    if not isinstance(d, Symbol) or d.scalar:
        raise Untraceable("a direction that is not elementwise in g")
    for key, value in new.items():
        if key in arrays and isinstance(value, Symbol) and not value.scalar:
            continue
        old = symbols.get(f"state_{key}")
        if key not in scalars or record.nodes[getattr(value, "index", -1)] != ("add", (old, 1)):
            raise Untraceable(f"a new state {key!r} that is neither an array nor the count + 1")
    return record, symbols, d, new, arrays, scalars


def unsupported(optimizer: Optimizer, params: list[Tensor]) -> str:
    """Why the optimizer's update cannot run inside a numba program; "" where it can."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            if p._data.ndim == 0 or p._data.dtype.kind != "f":
                return "a parameter with no axes (or not floating point) is updated eagerly"
            try:
                traced(optimizer, group, p._data.dtype)
            except Untraceable as error:
                return f"the rule of {type(optimizer).__name__} is not elementwise: {error}"
    return ""


def writer(optimizer: Optimizer, params: list[Tensor]) -> Callable[[object, tuple], tuple]:
    """finish(emitter, (value, grads)) for a numba program (numba_emit.NumbaEmitter): the update
    loops in the numba function, the Python parts in its wrapper (see the module docstring)."""

    def finish(emitter, result):
        _Writer(emitter, optimizer).write(params, result[1])
        return result

    return finish


class _Writer:
    def __init__(self, emitter, optimizer: Optimizer) -> None:
        self.e, self.optimizer = emitter, optimizer

    def bind(self, base: str, value: object) -> str:
        """A constant of the wrapper (not of the numba function, whose module it would key)."""
        space = self.e.wrapper_space
        for name, known in space.items():
            if known is value:
                return name
        name = self.e._unique(f"_{base}")
        space[name] = value
        return name

    def write(self, params: list[Tensor], grads: list) -> None:
        e, opt = self.e, self.optimizer
        name = self.bind("optimizer", opt)
        lines, groups, lrs = update.head(opt, name, self.bind, e._unique, as_float=True)
        e.prologue += [text for _, text, _ in lines]
        e.extra += lrs
        e.trial += [0.01] * len(lrs)
        state = e._unique("_state")
        e.prologue.append(f"{state} = {name}.state")
        grad_of = {id(p): g for p, g in zip(params, grads, strict=True)}
        for i, group in enumerate(opt.param_groups):
            hyper = self.bind(f"hyper{i}", opt.rule_hyperparameters(group))
            for p in group["params"]:
                if grad_of.get(id(p)) is not None:  # None: the loss does not reach p
                    self._parameter(p, grad_of[id(p)], group, (lrs[i], hyper, state))
        e.prologue += [f'{g}["t"] += 1' for g in groups]

    def _parameter(self, p: Tensor, g_tensor: Tensor, group: dict, names: tuple) -> None:
        e, (lr, hyper, state) = self.e, names
        record, symbols, d, new, arrays, scalars = traced(self.optimizer, group, p._data.dtype)
        theta, g = e.names[id(p)], e.names[id(g_tensor)]
        s, param = e._unique(f"_{theta}_state"), self.bind(f"{theta}_p", p)
        init = self.bind("init_state", self.optimizer.init_state)
        # A graph alive elsewhere (the trace's, until collected) holds θ read-only; reading
        # .data moves the parameter to a writeable copy, as the eager step does (saved.py).
        e.prologue.append(f"if not {theta}.flags.writeable: {theta} = {param}.data")
        e.prologue.append(f"{s} = {state}.get({param})")
        e.prologue.append(f"if {s} is None: {s} = {state}[{param}] = {init}({theta}, **{hyper})")
        read = {"g": g, "lr": lr}
        for k in arrays + scalars:
            read[f"state_{k}"] = e._unique(f"_{theta}_{k}")
            e.prologue.append(f"{read[f'state_{k}']} = {s}[{k!r}]")
        nd = self.bind("ndarray", np.ndarray)
        tests = [f"type({read[f'state_{k}']}) is not {nd}" for k in arrays]
        tests += [f"type({read[f'state_{k}']}) is not int" for k in scalars]
        if tests:
            e.prologue.append(f"if {' or '.join(tests)}: raise {self.bind('Fresh', Fresh)}")
        e.epilogue += [f"{s}[{k!r}] = {read[f'state_{k}']} + 1" for k in scalars]
        state_names = [read[f"state_{k}"] for k in arrays + scalars]
        e.extra += state_names
        e.trial += [np.zeros_like(p._data) for _ in arrays] + [0 for _ in scalars]
        loop = _Loop(e, p._data, g_tensor._data.dtype, record, symbols, read)
        writes = {read[f"state_{k}"]: v for k, v in new.items() if k in arrays}
        text = loop.text(theta, d, writes, group, self.optimizer.decoupled_weight_decay)
        e.emit("", text, {theta, g, lr, *state_names})


class _Loop:
    """One parameter's update as numba code: the scalar part, then one loop over its elements."""

    def __init__(self, e, theta: np.ndarray, g_dtype, record, symbols, read: dict) -> None:
        self.e, self.dtype, self.record = e, theta.dtype, record
        self.ndim, self.cast_g = theta.ndim, g_dtype != theta.dtype
        self.names: dict[int, str] = {}  # node index -> its scalar or element name
        self.arrays = {symbols[k].index: read[k] for k in read if not symbols[k].scalar}
        self.scalars = {symbols[k].index: read[k] for k in read if symbols[k].scalar}
        self.cast: dict[int, str] = {}  # scalar node -> its value in the parameter's dtype
        self.head: list[str] = []
        self.body: list[str] = []

    def typed(self, v: object) -> str:
        return f"np.{self.dtype.name}({float(v)!r})"

    def operand(self, a: object, elementwise: bool) -> str:
        if not isinstance(a, Symbol):
            return self.typed(a) if elementwise else repr(a)
        if elementwise and a.scalar:
            if a.index not in self.cast:
                self.cast[a.index] = self.e._unique("_c")
                self.head.append(f"{self.cast[a.index]} = {self.typed_name(a.index)}")
            return self.cast[a.index]
        return self.names[a.index]

    def typed_name(self, index: int) -> str:
        return f"np.{self.dtype.name}({self.names[index]})"

    def expression(self, op: str, args: tuple, elementwise: bool) -> str:
        parts = [self.operand(a, elementwise) for a in args]
        if op in BINARY:
            return f"({parts[0]} {BINARY[op]} {parts[1]})"
        if op == "neg":
            return f"(-{parts[0]})"
        if op == "square":
            return f"({parts[0]} * {parts[0]})"
        if op in FUNCTIONS:
            return f"np.{'abs' if op == 'abs' else op}({', '.join(parts)})"
        raise Untraceable(f"an operation {op!r}")

    def nodes(self, index: dict) -> None:
        """Each traced node as a line: scalar ones before the loop, the others inside it."""
        for k, (op, args) in enumerate(self.record.nodes):
            if op == "input":
                if k in self.scalars:
                    self.names[k] = self.e._unique("_s")
                    self.head.append(f"{self.names[k]} = float({self.scalars[k]})")
                else:
                    self.names[k] = self.e._unique("_x")
                    value = f"{self.arrays[k]}[{index}]"
                    if self.cast_g and k == min(self.arrays):  # g, in θ's dtype (_grad_array)
                        value = f"np.{self.dtype.name}({value})"
                    self.body.append(f"{self.names[k]} = {value}")
                continue
            scalar = all(a.scalar for a in args if isinstance(a, Symbol))
            self.names[k] = self.e._unique("_s" if scalar else "_x")
            text = f"{self.names[k]} = {self.expression(op, args, not scalar)}"
            (self.head if scalar else self.body).append(text)

    def text(self, theta: str, d: Symbol, writes: dict, group: dict, decoupled: bool) -> str:
        """The statement (several lines) that updates theta and the state arrays in place."""
        idx = [self.e._unique(f"_i{k}") for k in range(self.ndim)]
        index = ", ".join(idx)
        g_index = min(self.arrays)  # the first input: g
        th = self.e._unique("_th")
        self.body.append(f"{th} = {theta}[{index}]")
        self.nodes(index)
        lr = self.operand(self._lr(), True)
        g = self.names[g_index]
        pre = []  # before the rule: the base class's maximize and weight decay
        if group["maximize"]:
            pre.append(f"{g} = -{g}")
        decay = group["weight_decay"]
        if decay != 0 and decoupled:
            c = self.e._unique("_c")
            self.head.append(f"{c} = np.{self.dtype.name}(1 - {self._lr_name()} * {decay!r})")
            pre.append(f"{th} = {th} * {c}")
        elif decay != 0:
            pre.append(f"{g} = {g} + {self.typed(decay)} * {th}")
        at = self.body.index(next(b for b in self.body if b.startswith(f"{g} = ")))
        self.body[at + 1 : at + 1] = pre
        for target, value in writes.items():
            self.body.append(f"{target}[{index}] = {self.names[value.index]}")
        self.body.append(f"{theta}[{index}] = {th} - {lr} * {self.names[d.index]}")
        lines = list(self.head)
        indent = ""
        for k, i in enumerate(idx):
            lines.append(f"{indent}for {i} in range({theta}.shape[{k}]):")
            indent += "    "
        lines += [indent + b for b in self.body]
        return "\n    ".join(lines)

    def _lr(self) -> Symbol:
        k = next(
            k for k, name in self.scalars.items() if self.record.nodes[k] == ("input", ("lr",))
        )
        return Symbol(self.record, k, True)

    def _lr_name(self) -> str:
        return self.names[self._lr().index]


__all__ = ["Fresh", "traced", "unsupported", "writer"]
