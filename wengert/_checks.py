"""Argument checks at the public boundary: constraints, one message shape, one error policy.

Every refusal reads::

    {owner}: {argument} must be {expected}; got {what came}. {fix, where one is known}

and raises TypeError when the value is of the wrong kind (a string where a number is expected;
a bool where a number is expected; a float where an int is expected) and ValueError when it is
of the right kind but out of range (a negative learning rate, an unknown option, NaN).

Constraints are declared the way scikit-learn declares them, as a table per class::

    CONSTRAINTS = {
        "lr": [Interval(Real, 0, None, closed="neither"), Callable("a schedule t ↦ η")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "nesterov": [Boolean()],
        "max_eval": [Interval(Integral, 1, None, closed="left"), None],
    }
    check_params("SGD", group, CONSTRAINTS)

A value passes when any constraint of its list accepts it (None in the list accepts None).
This module also holds the finiteness check, the seed-to-Generator helper and the warning
classes. It imports nothing of wengert: every layer may use it.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable, Mapping
from numbers import Integral, Real

import numpy as np


class ConvergenceWarning(UserWarning):
    """A run used up its budget (epochs, iterations, evaluations) before its stopping rule held.

    scikit-learn's ConvergenceWarning is a UserWarning too. The result of the run (the weights
    of the last epoch, the last iterate) is kept.
    """


# ----------------------------------------------------------------------------- constraints
def _is_bool(value) -> bool:
    return isinstance(value, (bool, np.bool_))


def _show(x: float) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:g}" if isinstance(x, float) else str(x)


class Constraint:
    """A set of allowed values: `accepts(value)`, and `right_kind(value)` (the value is of the
    kind this constraint is about, so a refusal is a ValueError rather than a TypeError).
    `description` is what the message says after "must be"."""

    description = "a valid value"

    def accepts(self, value) -> bool:
        raise NotImplementedError

    def right_kind(self, value) -> bool:
        return False

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.description}>"


class Interval(Constraint):
    """Numbers of type `kind` (numbers.Real or numbers.Integral; never a bool) between `low`
    and `high` (None: unbounded, and then ±inf is refused), `closed` one of "left", "right",
    "both", "neither". A float is refused where `kind` is Integral, even 3.0."""

    def __init__(self, kind, low=None, high=None, *, closed: str = "left") -> None:
        if kind not in (Real, Integral):
            raise TypeError(f"Interval: kind must be numbers.Real or numbers.Integral; got {kind}")
        if closed not in ("left", "right", "both", "neither"):
            raise ValueError(
                f"Interval: closed must be 'left', 'right', 'both' or 'neither'; got {closed!r}"
            )
        self.kind, self.low, self.high, self.closed = kind, low, high, closed
        self.description = self._describe()

    def right_kind(self, value) -> bool:
        return isinstance(value, self.kind) and not _is_bool(value)

    def accepts(self, value) -> bool:
        if not self.right_kind(value) or math.isnan(value):
            return False
        if self.low is None:
            low_ok = value > -math.inf  # an unbounded end does not take infinity
        else:
            low_ok = value >= self.low if self.closed in ("left", "both") else value > self.low
        if self.high is None:
            high_ok = value < math.inf
        else:
            high_ok = value <= self.high if self.closed in ("right", "both") else value < self.high
        return bool(low_ok and high_ok)

    def _describe(self) -> str:
        noun = "an int" if self.kind is Integral else "a float"
        low_closed = self.closed in ("left", "both")
        high_closed = self.closed in ("right", "both")
        if self.low is None and self.high is None:
            return noun
        if self.high is None:
            return f"{noun} {'>=' if low_closed else '>'} {_show(self.low)}"
        if self.low is None:
            return f"{noun} {'<=' if high_closed else '<'} {_show(self.high)}"
        left, right = "[" if low_closed else "(", "]" if high_closed else ")"
        return f"{noun} in {left}{_show(self.low)}, {_show(self.high)}{right}"


class Options(Constraint):
    """One of a few allowed values (compared with ==, so 'sgd' and np.str_('sgd') agree).
    A value of another type than every option is of the wrong kind (TypeError)."""

    def __init__(self, options: Iterable) -> None:
        self.options = tuple(sorted(options, key=repr))
        shown = ", ".join(repr(o) for o in self.options)
        self.description = shown if len(self.options) == 1 else f"one of {shown}"

    def right_kind(self, value) -> bool:
        return any(type(value) is type(o) or isinstance(value, type(o)) for o in self.options)

    def accepts(self, value) -> bool:
        if _is_bool(value):
            return any(value is o for o in self.options)
        return self.right_kind(value) and any(value == o for o in self.options)


class Boolean(Constraint):
    """True or False (also numpy.bool_), nothing that merely converts to one: not 0 or 1."""

    description = "a bool (True or False)"

    def accepts(self, value) -> bool:
        return _is_bool(value)


class Callable(Constraint):
    """Anything callable; `description` says what it is called for."""

    def __init__(self, description: str = "a callable") -> None:
        self.description = description

    def accepts(self, value) -> bool:
        return callable(value)


class InstanceOf(Constraint):
    """An instance of `types` (a type or a tuple of them), described by `description`."""

    def __init__(self, types, description: str) -> None:
        self.types, self.description = types, description

    def accepts(self, value) -> bool:
        return isinstance(value, self.types)


class TupleOf(Constraint):
    """A tuple or list of exactly `length` values, each accepted by `item`."""

    def __init__(self, item: Constraint, length: int) -> None:
        self.item, self.length = item, length
        count = "a pair of values" if length == 2 else f"a tuple of {length} values"
        self.description = f"{count}, each {item.description}"

    def right_kind(self, value) -> bool:
        return (
            isinstance(value, (tuple, list))
            and len(value) == self.length
            and all(self.item.accepts(v) or self.item.right_kind(v) for v in value)
        )

    def accepts(self, value) -> bool:
        return self.right_kind(value) and all(self.item.accepts(v) for v in value)


# ----------------------------------------------------------------------------- the one check
def what_came(value) -> str:
    """A short picture of `value` for a message: its repr, cut to 60 characters, and for
    anything but a plain number, string or None, its type."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    if value is None or type(value) in (int, float, str, tuple, list):
        return text
    return f"{text} ({type(value).__name__})"


def _fix(value, constraints) -> str:
    """The fix that can be told from the value alone, or ""."""
    whole = isinstance(value, float) and value.is_integer()
    if whole and any(c.accepts(int(value)) for c in constraints):
        return f" Pass {int(value)} (an int)."
    zero_or_one = isinstance(value, numbers.Number) and not _is_bool(value) and value in (0, 1)
    if zero_or_one and any(c.accepts(bool(value)) for c in constraints):
        return f" Pass {bool(value)} (a bool)."
    return ""


def refusal(owner: str, name: str, expected: str, got: str, error=ValueError, fix: str = ""):
    """The error of the one message shape, to raise; for checks that no constraint expresses
    (a shape, a relation between two arguments)."""
    fix = f" {fix.strip()}" if fix else ""
    return error(f"{owner}: {name} must be {expected}; got {got}.{fix}")


def check(owner: str, name: str, value, *constraints, fix: str = ""):
    """Return `value` when one of `constraints` accepts it (None among them accepts None);
    otherwise raise the one message shape: TypeError when no constraint is about values of
    this kind, ValueError when one is but the value is out of its range."""
    if any(value is None if c is None else c.accepts(value) for c in constraints):
        return value
    named = [c for c in constraints if c is not None]
    expected = [c.description for c in named] + (["None"] if None in constraints else [])
    text = expected[0] if len(expected) == 1 else ", ".join(expected[:-1]) + " or " + expected[-1]
    right_kind = any(c.right_kind(value) for c in named)
    error = ValueError if right_kind else TypeError
    raise refusal(owner, name, text, what_came(value), error, fix or _fix(value, named))


def check_params(owner: str, values: Mapping, constraints: Mapping) -> None:
    """check() every name of `constraints` against values[name], in the table's order."""
    for name, allowed in constraints.items():
        check(owner, name, values[name], *allowed)


# ----------------------------------------------------------------------------- arrays and seeds
def check_finite(owner: str, name: str, array, fix: str = "Remove or impute them.") -> None:
    """Refuse an array with NaN or infinite entries: ValueError saying how many and where the
    first one is (its index)."""
    a = np.asarray(array)
    if a.dtype.kind not in "fc":
        return
    bad = ~np.isfinite(a)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0]) if a.ndim else ()
        where = f", the first at index {first[0] if len(first) == 1 else first}" if first else ""
        raise refusal(
            owner, name, "finite", f"{int(bad.sum())} NaN or infinite value(s){where}", fix=fix
        )


def as_float_array(owner: str, name: str, value, expected: str) -> np.ndarray:
    """`value` as a float64 array; a TypeError of the one shape when it does not hold numbers
    (text, ragged lists). What the array must be beyond that is the caller's check."""
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise refusal(owner, name, expected, what_came(value), TypeError) from None


# The dtype kinds that hold no numbers, each with the word a message uses for it.
_NOT_NUMBERS = {
    "O": "object",
    "U": "string",
    "S": "bytes",
    "V": "void",
    "M": "datetime",
    "m": "timedelta",
}


def numeric_array(data, dtype=None, name: str = "data", *, owner: str) -> np.ndarray:
    """`data` as an ndarray of numbers (``np.asarray(data, dtype)``), or a TypeError of the one
    message shape that names `owner`, `name` and what came (text, ragged lists, objects)."""
    try:
        arr = np.asarray(data, dtype=dtype)
    except (TypeError, ValueError) as exc:
        got = f"{what_came(data)}, which NumPy cannot read as numbers ({str(exc).rstrip('.')})"
        expected = "numbers (a number, a nested list or an ndarray)"
        raise refusal(owner, name, expected, got, TypeError) from None
    if arr.dtype.kind in _NOT_NUMBERS:
        got = f"an array of dtype {arr.dtype} ({_NOT_NUMBERS[arr.dtype.kind]})"
        fix = "Convert it first, e.g. np.asarray(x, dtype=float)."
        raise refusal(owner, name, "numbers", got, TypeError, fix)
    return arr


def numeric_dtype(dtype, owner: str) -> np.dtype:
    """numpy.dtype(dtype), refused in the one shape when it is no dtype or not one of numbers."""
    try:
        resolved = np.dtype(dtype)
    except (TypeError, ValueError):
        expected = "a NumPy dtype or a name of one"
        raise refusal(owner, "dtype", expected, what_came(dtype), TypeError) from None
    if resolved.kind in _NOT_NUMBERS:
        expected = "a dtype of numbers (bool, integer, floating or complex)"
        got = f"{what_came(dtype)}, a {_NOT_NUMBERS[resolved.kind]} dtype"
        raise refusal(owner, "dtype", expected, got, TypeError, "Pass e.g. np.float64.")
    return resolved


def leaf_array(data, requires_grad: object, dtype, owner: str) -> np.ndarray:
    """`data` as the array of a new leaf: `requires_grad` a bool, `dtype` None or a dtype of
    numbers, the data numbers, and floating-point when it requires grad; refusals name `owner`.
    The array may be `data` itself: the caller copies what it must not share."""
    if requires_grad is not True and requires_grad is not False:  # the usual case, at once
        check(owner, "requires_grad", requires_grad, Boolean())
    if dtype is not None:
        dtype = numeric_dtype(dtype, owner)
    arr = numeric_array(data, dtype, owner=owner)
    if requires_grad and arr.dtype.kind != "f":
        name = "data" if dtype is None else "dtype"
        expected = "floating-point when requires_grad=True"
        fix = "Pass float data or dtype=np.float64."
        raise refusal(owner, name, expected, f"dtype {arr.dtype}", TypeError, fix)
    return arr


POSITIVE = Interval(Real, 0, None, closed="neither")  # a learning rate, a tolerance > 0
NON_NEGATIVE = Interval(Real, 0, None)  # a penalty, a tolerance
COUNT = Interval(Integral, 1, None)  # epochs, steps, evaluations
SEED = [Interval(Integral, 0, None), InstanceOf(np.random.Generator, "a numpy.random.Generator")]
PATH = InstanceOf((str, os.PathLike), "a path (str or os.PathLike)")


def as_generator(seed, owner: str = "seed", *, allow_none: bool = True) -> np.random.Generator:
    """numpy.random.default_rng(seed) for an int >= 0 (or None, fresh entropy, if allowed); a
    Generator is used as it is (and advances). The one place where a seed becomes a Generator.

    A seed of the wrong kind raises TypeError, a negative one ValueError, both naming `owner`.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    check(owner, "seed", seed, *SEED, *([None] if allow_none else []))
    return np.random.default_rng(None if seed is None else int(seed))


__all__ = [
    "COUNT",
    "NON_NEGATIVE",
    "PATH",
    "POSITIVE",
    "SEED",
    "Boolean",
    "Callable",
    "Constraint",
    "ConvergenceWarning",
    "InstanceOf",
    "Interval",
    "Options",
    "TupleOf",
    "as_float_array",
    "as_generator",
    "check",
    "check_finite",
    "check_params",
    "leaf_array",
    "numeric_array",
    "numeric_dtype",
    "refusal",
    "what_came",
]
