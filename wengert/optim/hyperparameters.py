"""Hyperparameters, declared once per optimizer: the `Hyper` record and the shared constraints.

An optimizer class lists its hyperparameters as a tuple of `Hyper` (name, default, allowed
values, a one-line meaning); the constructor's arguments and signature, validation, `repr`,
`state_dict`, the command line and the optimizer-paths picture all read that tuple.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Integral, Real

from wengert import _checks as checks
from wengert._checks import Boolean, Interval

# ----------------------------------------------------------------------- shared constraints
POSITIVE = Interval(Real, 0, None, closed="neither")
NON_NEGATIVE = Interval(Real, 0, None)
FRACTION = Interval(Real, 0, 1, closed="left")  # a decay or momentum factor, in [0, 1)
COUNT = Interval(Integral, 1, None)
LR = [POSITIVE, checks.Callable("a schedule (a callable of the step t)")]
FLAG = [Boolean()]


# ----------------------------------------------------------------------- declarations
class _Required:
    def __repr__(self) -> str:
        return "<required>"


REQUIRED = _Required()  # the default of a hyperparameter that has none (SGD's lr)


@dataclass(frozen=True)
class Hyper:
    """One hyperparameter of an optimizer: its name, its default (REQUIRED: none), the
    constraints that its values must meet (wengert._checks; None in the list accepts None), and
    what it means, in one line."""

    name: str
    default: object
    allowed: tuple
    doc: str


def learning_rate(default: float | Callable[[int], float] | _Required = REQUIRED) -> Hyper:
    """The `lr` declaration, shared by every optimizer."""
    return Hyper("lr", default, tuple(LR), "η, the step size, or a schedule t ↦ η")


def weight_decay(default: float = 0.0, doc: str = "λ, L2 penalty: g ← g + λ·θ") -> Hyper:
    """The `weight_decay` declaration; the base class applies it (coupled unless the class says
    `decoupled_weight_decay = True`)."""
    return Hyper("weight_decay", default, (NON_NEGATIVE,), doc)


MAXIMIZE = Hyper("maximize", False, tuple(FLAG), "ascend the objective: g ← −g")


def replaced(declared: tuple[Hyper, ...], *new: Hyper) -> tuple[Hyper, ...]:
    """`declared` with the declarations of the same names replaced by `new` (AdamW's decay)."""
    by_name = {h.name: h for h in new}
    return tuple(by_name.get(h.name, h) for h in declared)


def signature(cls: type) -> inspect.Signature:
    """The constructor's signature as the declarations give it (for help() and editors)."""
    kind, keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY
    declared = [
        inspect.Parameter(h.name, kind, default=inspect.Parameter.empty)
        if h.default is REQUIRED
        else inspect.Parameter(h.name, kind, default=h.default)
        for h in cls.hyperparameters
    ]
    options = [inspect.Parameter(k, keyword, default=v) for k, v in cls.keyword_options.items()]
    return inspect.Signature([inspect.Parameter("params", kind), *declared, *options])


__all__ = [
    "COUNT",
    "FLAG",
    "FRACTION",
    "LR",
    "MAXIMIZE",
    "NON_NEGATIVE",
    "POSITIVE",
    "REQUIRED",
    "Hyper",
    "learning_rate",
    "replaced",
    "signature",
    "weight_decay",
]
