"""The `Optimizer` base: parameter groups, per-parameter state, the step loop, state dicts.

Conventions are PyTorch's, so that a PyTorch user needs no new habits:

- `params` is an iterable of Tensors (anything with an ndarray `.data` and a `.grad`), or of
  dicts `{"params": [...], "lr": ..., ...}`, one per parameter group, whose keys override the
  optimizer's defaults for that group;
- `opt.zero_grad()` sets every `.grad` to None; `opt.step()` updates `.data` in place (the same
  array, so models that hold it see the change) and records no graph; a parameter whose
  `.grad` is None is skipped;
- `opt.state[p]` holds the named arrays of parameter `p` (`momentum_buffer`, `exp_avg`, ...,
  and the int `step`, the number of updates `p` has had);
- `state_dict()` has PyTorch's layout, `{"state": {index: {...}}, "param_groups": [{...,
  "params": [indices]}]}`, indices counting the parameters across groups in order.

Each optimizer's maths is a small pure function, its `rule`, in its own file::

    direction, new_state = rule(g, state, lr=η, **its hyperparameters)

and the base class applies, once for every optimizer and in PyTorch's order: `maximize`
(g ← −g), weight decay (coupled, g ← g + λ·θ, or decoupled for AdamW, θ ← θ·(1 − η·λ)), the
rule, and the learning rate, θ ← θ − η·d. `init_state(theta, **hyperparameters)` builds a
parameter's state before its first step (zero arrays, step 0). Each class declares its
hyperparameters once, as `Hyper` records (name, default, allowed values, meaning): the
constructor's arguments, validation, `repr`, `state_dict`, the command line's choices and the
optimizer-paths picture read them from there; a class with a `name` is registered in
`OPTIMIZERS` under it. The learning rate `lr` may be a float or a schedule t ↦ η (see
`schedules.py`), where t = 1, 2, ... counts the optimizer steps of the parameter group (group key
"t" holds how many were taken).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from numbers import Integral
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from wengert import _checks as checks
from wengert._checks import Interval, check, check_params, refusal
from wengert.autodiff.mode import enable_grad
from wengert.optim.hyperparameters import POSITIVE, REQUIRED, Hyper, signature

if TYPE_CHECKING:
    from wengert.autodiff.tensor import Tensor

# Group keys that are bookkeeping, not hyperparameters.
_GROUP_KEYS = ("params", "t")
# Hyperparameters that the base class applies itself; the rule gets the others.
_APPLIED_BY_BASE = frozenset(("params", "t", "lr", "maximize", "weight_decay"))
# CLI name -> optimizer class, filled as the classes are defined (their modules' import order).
OPTIMIZERS: dict[str, type] = {}


def lr_at(lr: float | Callable[[int], float], t: int, group_index: int, owner: str) -> float:
    """The learning rate of step t: `lr` itself, or the schedule's value, which must be > 0."""
    if not callable(lr):
        return lr
    value = lr(t)
    if isinstance(value, float) and 0.0 < value < math.inf:  # the common case, checked cheaply
        return float(value)
    name = f"the lr that param group {group_index}'s schedule gave at step t={t}"
    check(owner, name, value, POSITIVE, fix="Nothing was updated.")
    return float(value)


def _grad_array(p, theta: np.ndarray) -> np.ndarray:
    """p.grad as an ndarray in theta's dtype; its shape was checked by _check_grad_shapes."""
    g = p.grad
    if not isinstance(g, np.ndarray):
        g = np.asarray(getattr(g, "data", g))  # a Tensor after backward(create_graph=True)
    # The state follows the parameter's dtype, so a float64 gradient of a float32 parameter is
    # cast once here rather than promoting every state array.
    return g if g.dtype == theta.dtype else g.astype(theta.dtype)


class Optimizer:
    """Base class: holds `param_groups` and `state`, runs the step loop; subclasses give the rule.

    A subclass declares `hyperparameters` (a tuple of `Hyper`; the constructor takes them in
    that order after `params`, positionally or by name), gives `rule` and `init_state` (static
    methods, see the module docstring) and, to be on the command line, a `name`. It extends
    `_check_group` for rules that tie two hyperparameters together, and may override
    `_direction` (one parameter) or `_step_group` (a whole group) for a faster path that equals
    the rule.
    """

    name: ClassVar[str] = ""
    hyperparameters: ClassVar[tuple[Hyper, ...]] = ()
    decoupled_weight_decay: ClassVar[bool] = False  # AdamW: θ ← θ·(1 − η·λ) instead of g + λ·θ
    keyword_options: ClassVar[dict] = {}  # options that are no hyperparameter (Adam's fused)
    # The label -> hyperparameters that the optimizer-paths picture shows (wengert.plot).
    path_examples: ClassVar[dict[str, dict]] = {}
    rule: Callable  # a subclass sets rule = staticmethod(its_rule)
    init_state: Callable  # and init_state = staticmethod(its_init_state)

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__ and cls.name:
            if cls.name in OPTIMIZERS:
                taken = OPTIMIZERS[cls.name].__name__
                raise ValueError(f"{cls.__name__}: name {cls.name!r} is {taken}'s already")
            OPTIMIZERS[cls.name] = cls
        declared = {h.name for h in cls.hyperparameters}
        if "rule" in cls.__dict__ and not {"lr", "weight_decay", "maximize"} <= declared:
            raise TypeError(
                f"{cls.__name__}: hyperparameters must declare lr, weight_decay and maximize, "
                f"which the base class applies; got {sorted(declared)}."
            )
        cls.__signature__ = signature(cls)

    def __init__(self, params: Iterable, *args, **kwargs) -> None:
        self.defaults = self._defaults(args, kwargs)
        self.state: dict = {}
        self.param_groups: list[dict] = []
        owner = type(self).__name__
        if hasattr(params, "data") or isinstance(params, dict):
            raise refusal(
                owner,
                "params",
                "an iterable of Tensors or of dicts (parameter groups)",
                f"a single {type(params).__name__}",
                TypeError,
                fix=f"Wrap it in a list: {owner}([w], ...).",
            )
        groups = list(params)
        if not groups:
            raise refusal(owner, "params", "one Tensor or more", "none")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    @classmethod
    def constraints(cls) -> dict:
        """name -> allowed values, of every declared hyperparameter."""
        return {h.name: list(h.allowed) for h in cls.hyperparameters}

    def _defaults(self, args: tuple, kwargs: dict) -> dict:
        """The declared hyperparameters, from the constructor's arguments and the defaults."""
        owner = type(self).__name__
        names = [h.name for h in self.hyperparameters]
        if len(args) > len(names):
            expected = f"at most {len(names) + 1} (params, {', '.join(names)})"
            got = str(len(args) + 1)
            raise refusal(owner, "the positional arguments", expected, got, TypeError)
        values = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            if key not in names:
                expected = f"one of {names}"
                raise refusal(owner, "each keyword argument", expected, repr(key), TypeError)
            if key in values:
                raise refusal(owner, key, "given once", "it by position and by name", TypeError)
            values[key] = value
        for h in self.hyperparameters:
            if values.setdefault(h.name, h.default) is REQUIRED:
                raise refusal(owner, h.name, f"given ({h.doc})", "nothing", TypeError)
        return {name: values[name] for name in names}

    # ------------------------------------------------------------------ groups
    def add_param_group(self, group: dict) -> None:
        """Add a group `{"params": [...], **overrides}`; missing hyperparameters take defaults."""
        owner = type(self).__name__
        if not isinstance(group, dict):
            expected = "all Tensors or all dicts (parameter groups)"
            got = f"a {type(group).__name__} among dicts"
            raise refusal(owner, "params", expected, got, TypeError)
        _check_keys(group, self.defaults, owner)
        params = group.get("params")
        params = [params] if hasattr(params, "data") else list(params or [])
        if not params:
            raise refusal(owner, "params", "one Tensor or more", "none")
        index = len(self.param_groups)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for i, p in enumerate(params):
            _check_param(p, i, index, owner)
            if id(p) in seen:
                got = f"parameter {i} of param group {index} a second time"
                raise refusal(owner, "each parameter", "in one group, once", got)
            seen.add(id(p))
        full = {**self.defaults, **group, "params": params}
        full.setdefault("t", 0)
        self._check_group(full)
        self.param_groups.append(full)

    def _check_group(self, group: dict) -> None:
        """Validate one group's hyperparameters against their declarations (and t)."""
        table = {**self.constraints(), "t": [Interval(Integral, 0, None)]}
        check_params(type(self).__name__, group, table)

    # ------------------------------------------------------------------ the step
    def zero_grad(self) -> None:
        """Set `.grad` of every parameter to None (the next backward() then starts fresh)."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self, closure: Callable[[], Tensor | float] | None = None) -> Tensor | float | None:
        """One update of every parameter that has a `.grad`; returns closure()'s loss, or None.

        `closure` (optional) re-evaluates the model and returns the loss; it is called first,
        with gradient recording on. Each group's t goes up by one, also when none of its
        parameters has a gradient. A schedule's lr is checked for every group before anything
        is updated, so a refused step changes nothing.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        owner = type(self).__name__
        groups = self.param_groups
        lrs = [lr_at(g["lr"], g["t"] + 1, i, owner) for i, g in enumerate(groups)]
        self._check_grad_shapes(owner)
        for group, lr in zip(groups, lrs, strict=True):
            group["t"] += 1
            self._step_group(group, lr)
        return loss

    def _step_group(self, group: dict, lr: float) -> None:
        """Update each parameter of `group` that has a .grad; a subclass may take a faster path
        for the group that equals this one."""
        hyper = self.rule_hyperparameters(group)
        maximize, decay = group["maximize"], group["weight_decay"]
        update = self._update
        for p in group["params"]:
            if p.grad is not None:
                update(p, lr, maximize, decay, hyper)

    def rule_hyperparameters(self, group: dict) -> dict:
        """The hyperparameters of `group` that the rule takes: all but lr, maximize and
        weight_decay, which the base class applies (and the bookkeeping, params and t)."""
        return {k: v for k, v in group.items() if k not in _APPLIED_BY_BASE}

    def parameter_direction(
        self, theta: np.ndarray, g: np.ndarray, state: dict, lr: float, hyper: dict
    ) -> tuple[np.ndarray, dict]:
        """(d, new state) of one parameter, as step() computes it (a compiled step calls this);
        not the closure optimizers' `direction(point, state)`, the line search's direction."""
        return self._direction(theta, g, state, lr, hyper)

    def _check_grad_shapes(self, owner: str) -> None:
        """Refuse a .grad of another shape than its parameter before any parameter moves."""
        for i, group in enumerate(self.param_groups):
            for j, p in enumerate(group["params"]):
                # .grad: an ndarray, a Tensor (create_graph=True), or a list set by hand, whose
                # shape only np.shape knows; the common case stops at the first comparison.
                grad = p.grad
                shape = p._data.shape  # the shape alone: the array, not the .data property
                if grad is not None and getattr(grad, "shape", ()) != shape != np.shape(grad):
                    raise refusal(
                        f"{owner}.step",
                        f"the .grad of parameter {j} of param group {i}",
                        f"of the parameter's shape {shape}",
                        f"shape {np.shape(grad)}",
                        fix="Nothing was updated.",
                    )

    def _update(self, p, lr: float, maximize: bool, decay: float, hyper: dict) -> None:
        """One parameter's step: sign, weight decay, the rule, then θ ← θ − η·d in place."""
        theta = p.data
        g = _grad_array(p, theta)
        if maximize:
            g = -g
        if decay != 0:
            if self.decoupled_weight_decay:
                theta *= 1 - lr * decay
            else:
                g = g + decay * theta
        state = self.state.get(p)
        if state is None:
            state = self.state[p] = self.init_state(theta, **hyper)
        direction, new_state = self._direction(theta, g, state, lr, hyper)
        state.update(new_state)
        theta -= lr * direction  # in place, same_kind casting: a float32 θ stays float32

    def _direction(self, theta: np.ndarray, g: np.ndarray, state: dict, lr: float, hyper: dict):
        """(d, new state) by the rule; a subclass may take a faster path that equals it."""
        return self.rule(g, state, lr=lr, **hyper)

    # ------------------------------------------------------------------ state dicts
    def state_dict(self) -> dict:
        """PyTorch's layout; arrays are copies, so the dict is a snapshot of this moment.

        (PyTorch returns references to its live state; copy.deepcopy is the usual remedy.) A
        schedule is kept as the callable itself.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index[id(p)] = len(index)
                ids.append(index[id(p)])
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        state = {
            index[id(p)]: {k: _copy(v) for k, v in s.items()}
            for p, s in self.state.items()
            if id(p) in index
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Take the state and hyperparameters of `state_dict` (from `state_dict()`).

        Refused, with nothing changed, unless the number of groups, the number of parameters in
        each group and the shape of every state array match this optimizer's parameters.
        Arrays are copied, in the parameter's dtype.
        """
        groups, state = _matched(self, state_dict)
        self.param_groups = groups
        self.state = state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {h.name}: {group[h.name]!r}" for h in self.hyperparameters]
            lines.append(f"    t: {group['t']!r}")
        return "\n".join([*lines, ")"])


def _check_keys(group: dict, defaults: dict, owner: str) -> None:
    unknown = sorted(set(group) - set(defaults) - set(_GROUP_KEYS))
    if unknown:
        expected = f"among {sorted(defaults)}"
        raise refusal(owner, "a param group's keys", expected, repr(unknown[0]))


def _check_param(p, i: int, group_index: int, owner: str) -> None:
    data = getattr(p, "data", None)
    if not isinstance(data, np.ndarray) or not hasattr(p, "grad"):
        expected = (
            "Tensors (objects with an ndarray .data and a .grad) or dicts of parameter groups"
        )
        got = f"a {type(p).__name__} as parameter {i} of param group {group_index}"
        raise refusal(owner, "params", expected, got, TypeError)
    if data.dtype.kind != "f":
        got = f"dtype {data.dtype} in parameter {i} of param group {group_index}"
        fix = "Make it with dtype=np.float32 or np.float64."
        raise refusal(owner, "params", "floating-point", got, TypeError, fix=fix)


def _copy(value):
    return value.copy() if isinstance(value, np.ndarray) else value


def check_state_dict_kind(state_dict: object, owner: str) -> None:
    """Refuse anything but a dict with exactly the keys 'state' and 'param_groups'."""
    expected = "a dict with the keys 'param_groups' and 'state' (from state_dict())"
    if not isinstance(state_dict, dict):
        raise refusal(owner, "state_dict", expected, checks.what_came(state_dict), TypeError)
    if set(state_dict) != {"state", "param_groups"}:
        raise refusal(owner, "state_dict", expected, f"the keys {sorted(map(str, state_dict))}")


def _matched(opt: Optimizer, state_dict: dict) -> tuple[list[dict], dict]:
    """The groups and state that `state_dict` gives `opt`, or an error naming what differs."""
    name = type(opt).__name__
    owner = f"{name}.load_state_dict"
    check_state_dict_kind(state_dict, owner)
    saved = state_dict["param_groups"]
    if len(saved) != len(opt.param_groups):
        count = len(opt.param_groups)
        expected = f"of {count} param group{'s' if count != 1 else ''}, as this {name} has"
        raise refusal(owner, "state_dict", expected, str(len(saved)))
    params, groups = {}, []
    for i, (old, new) in enumerate(zip(saved, opt.param_groups, strict=True)):
        if len(old["params"]) != len(new["params"]):
            expected = f"of {len(new['params'])} parameters, as in this {name}"
            raise refusal(
                owner, f"param group {i} of state_dict", expected, str(len(old["params"]))
            )
        params.update(zip(old["params"], new["params"], strict=True))
        _check_keys(old, opt.defaults, type(opt).__name__)
        group = {**new, **old, "params": new["params"]}
        opt._check_group(group)
        groups.append(group)
    state = {}
    for key, entries in state_dict["state"].items():
        if key not in params:
            expected = f"indices of parameters that a group holds, {sorted(params)}"
            raise refusal(owner, "the keys of state_dict['state']", expected, repr(key))
        p = params[key]
        state[p] = {k: _state_value(v, p.data, key, k, owner) for k, v in entries.items()}
    return groups, state


def _state_value(value, theta: np.ndarray, key, name: str, owner: str):
    if not isinstance(value, np.ndarray):
        return value
    if value.shape != theta.shape:
        expected = f"of the parameter's shape {theta.shape}"
        raise refusal(owner, f"state {name!r} of parameter {key}", expected, f"shape {value.shape}")
    return value.astype(theta.dtype, copy=True)


__all__ = ["OPTIMIZERS", "Optimizer", "lr_at"]
