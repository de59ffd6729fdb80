"""The optimizer's step written into a compiled training step, after the reverse sweep.

For each parameter that the loss reaches, the lines are those of `Optimizer.step()`, in its
order: every group's learning rate read first (`lr_at`: a schedule is called at each step, and
a refused value changes nothing), then each group's t advanced, and for each parameter its state
made on its first step (`init_state`), maximize (g ← −g), weight decay (g ← g + λ·θ, or θ ←
θ·(1 − η·λ) when decoupled), the direction and new state by the optimizer's own rule
(`optimizer.parameter_direction`, bound as a constant, so the maths stays in wengert/optim/),
and θ ← θ − η·d in place, into the parameter's own array. Where the rule is a known elementwise
formula the program writes it out instead of calling it: SGD without momentum is
`w -= lr * w_bar`.

The program is written for the optimizer's groups and hyperparameters as they are when it is
traced (the learning rate and t excepted, which are read at each step). Its first update line
compares them with that snapshot and raises `Changed` where any differs (a hyperparameter set
by hand, a group added, load_state_dict's new groups); the compiled step then writes it again.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter

from wengert.autodiff.tensor import Tensor
from wengert.optim.optimizer import Optimizer, lr_at
from wengert.optim.sgd import sgd_rule


class Changed(Exception):
    """The optimizer's groups or hyperparameters differ from those the program was written for."""


def snapshot(optimizer: Optimizer) -> tuple:
    """What the update lines are written for: each group's hyperparameters but lr and t, and
    the id of its parameter list; the optimizer's keyword options (Adam's fused)."""
    groups = tuple((_values(group), id(group["params"])) for group in optimizer.param_groups)
    return groups, tuple(getattr(optimizer, k, None) for k in optimizer.keyword_options)


def _values(group: dict) -> tuple:
    return tuple(group[k] for k in _keys(group))


def _keys(group: dict) -> list[str]:
    return [k for k in group if k not in ("params", "t", "lr")]


def writer(
    optimizer: Optimizer, params: list[Tensor], updating: list[bool]
) -> Callable[[object, tuple], tuple]:
    """finish(emitter, (value, grads)) for `Compiled`: the update lines, written before the
    return; the result is returned as it is. `updating[0]` is set where the first group's t
    goes up: from there on, parameters move."""

    def finish(emitter, result):
        _Lines(emitter, optimizer).write(params, result[1], emitter._constant(updating, "updating"))
        return result

    return finish


class _Lines:
    def __init__(self, emitter, optimizer: Optimizer) -> None:
        self.e, self.optimizer = emitter, optimizer
        self.opt = emitter._constant(optimizer, "optimizer")
        self.owner = repr(type(optimizer).__name__)
        self.direction: str | None = None

    def line(self, text: str, used: set[str], target: str = "") -> None:
        self.e.emit(target, text, used)

    def name(self, base: str) -> str:
        return self.e._unique(base)

    def write(self, params: list[Tensor], grads: list, updating: str) -> None:
        e = self.e
        lines, names, lrs = head(self.optimizer, self.opt, e._function, e._unique)
        for target, text, used in lines:
            self.line(text, used, target)
        state, kept = self.name("state"), {}
        self.line(f"{state} = {self.opt}.state", set(), state)
        grad_of = {id(p): g for p, g in zip(params, grads, strict=True)}
        self.line(f"{updating}[0] = True", set())
        for i, group in enumerate(self.optimizer.param_groups):
            self.line(f'{names[i]}["t"] += 1', {names[i]})
            hyper = self.optimizer.rule_hyperparameters(group)
            kept[i] = e._constant(hyper, f"hyper{i}")
            for p in group["params"]:
                g = grad_of.get(id(p))
                if g is not None:  # None: the loss does not reach p, whose .grad stays None
                    self._parameter(p, g, group, (lrs[i], kept[i], state))

    def _plain(self, theta: str, g: str, lr: str, ndim: int) -> None:
        """θ ← θ − η·g in place; on the one element where g is a number too (scalar.py)."""
        scalar = getattr(self.e, "scalar_of", {}).get(g)  # g's number, where g is unchanged
        if scalar is None:
            self.line(f"{theta} -= {lr} * {g}", {theta, lr, g})
            return
        index = ", ".join(["0"] * ndim) or "()"  # the same float operations on the element
        self.line(f"{theta}[{index}] -= {lr} * {scalar}", {theta, lr, scalar})

    def _parameter(self, p: Tensor, g_tensor: Tensor, group: dict, names: tuple) -> None:
        lr, hyper, state = names
        e, opt = self.e, self.optimizer
        theta = e.names[id(p)]
        g = e.names[id(g_tensor)]
        if g_tensor._data.dtype != p._data.dtype:  # as _grad_array casts it
            g2 = self.name(f"{theta}_g")
            dtype = e._constant(p._data.dtype, str(p._data.dtype))
            self.line(f"{g2} = {g}.astype({dtype})", {g}, g2)
            g = g2
        p_name = e._constant(p, f"{theta}_p")
        # A graph alive elsewhere holds θ read-only: .data moves it to a writeable copy, as the
        # eager step's reading of it does (saved.py).
        self.line(f"if not {theta}.flags.writeable: {theta} = {p_name}.data", {theta})
        s = self.name(f"{theta}_state")
        init = e._function("init_state", opt.init_state)
        self.line(f"{s} = {state}.get({p_name})", {state}, s)
        text = f"if {s} is None: {s} = {state}[{p_name}] = {init}({theta}, **{hyper})"
        self.line(text, {s, state, theta})
        if group["maximize"]:
            g2 = self.name(f"{theta}_g")
            self.line(f"{g2} = -{g}", {g}, g2)
            g = g2
        decay = group["weight_decay"]
        if decay != 0 and opt.decoupled_weight_decay:
            self.line(f"{theta} *= 1 - {lr} * {decay!r}", {theta, lr})
        elif decay != 0:
            g2 = self.name(f"{theta}_g")
            self.line(f"{g2} = {g} + {decay!r} * {theta}", {g, theta}, g2)
            g = g2
        if _plain_sgd(opt, group):  # d = g, no state: θ ← θ − η·g
            self._plain(theta, g, lr, p._data.ndim)
            return
        if self.direction is None:  # (a new bound method at each reading)
            self.direction = e._function("direction", opt.parameter_direction)
        direction = self.direction
        d, new = self.name(f"{theta}_d"), self.name(f"{theta}_new")
        text = f"{d}, {new} = {direction}({theta}, {g}, {s}, {lr}, {hyper})"
        self.line(text, {theta, g, s, lr}, "")
        self.line(f"{s}.update({new})", {s})
        self.line(f"{theta} -= {lr} * {d}", {theta, lr})


def head(
    optimizer: Optimizer,
    opt: str,
    bind: Callable[[str, object], str],
    unique: Callable,
    as_float: bool = False,
) -> tuple[list[tuple[str, str, set[str]]], list[str], list[str]]:
    """The update's first lines, as (target, text, names read), with `opt` the name of the
    optimizer: each group read, `Changed` raised where the groups are not the traced ones
    (before anything moves), and each group's learning rate of this step (`lr_at`, so a
    schedule is called and a refused value changes nothing); (lines, group names, lr names).
    `bind(base, value)` names a constant, `unique(base)` a new variable; `as_float` makes each
    learning rate a float (one numba type)."""
    groups, owner = unique("groups"), repr(type(optimizer).__name__)
    lines = [(groups, f"{groups} = {opt}.param_groups", set())]
    names = [unique(f"group{i}") for i in range(len(optimizer.param_groups))]
    lines += [(g, f"{g} = {groups}[{i}]", {groups}) for i, g in enumerate(names)]
    parts = []
    for g, group in zip(names, optimizer.param_groups, strict=True):
        keys = _keys(group)  # one C call reads them all: itemgetter gives a tuple for two or more
        read = f"{bind('hyperparameters', itemgetter(*keys))}({g})" if len(keys) > 1 else ""
        read = read or f"({''.join(f'{g}[{k!r}], ' for k in keys)})"
        parts.append(f'({read}, id({g}["params"]))')
    options = [f"{opt}.{k}" for k in optimizer.keyword_options]
    now = f"(({', '.join(parts)},), ({''.join(o + ', ' for o in options)}))"
    want, changed = bind("traced", snapshot(optimizer)), bind("Changed", Changed)
    lines.append(("", f"if len({groups}) != {len(names)}: raise {changed}", {groups}))
    lines.append(("", f"if {now} != {want}: raise {changed}", set(names)))
    lr_of, lrs = bind("lr_at", lr_at), [unique(f"lr{i}") for i in range(len(names))]
    for i, (g, lr) in enumerate(zip(names, lrs, strict=True)):
        # a float is lr_at's answer as it is; anything else (a schedule) goes through it
        call = f'{lr_of}({lr}, {g}["t"] + 1, {i}, {owner})'
        lines.append((lr, f'{lr} = {g}["lr"]', {g}))
        slow = f"float({call})" if as_float else call
        lines.append((lr, f"if type({lr}) is not float: {lr} = {slow}", {g, lr}))
    return lines, names, lrs


def _plain_sgd(optimizer: Optimizer, group: dict) -> bool:
    """SGD without momentum through the base class's own path: its direction is g itself."""
    plain = type(optimizer)._direction is Optimizer._direction
    return plain and optimizer.rule is sgd_rule and group["momentum"] == 0


__all__ = ["Changed", "head", "snapshot", "writer"]
