"""Elementwise primitives from one derivative per argument, for both directions.

An elementwise operation's Jacobian is diagonal: with d_i = ∂f/∂x_i taken element by element,
the reverse rule is g * d_i and the tangent rule is t * d_i. `elementwise` takes each d_i once,
as a function `d_i(ans, *args, **params)` of the result and the arguments, and builds the one
rule `rule_i(g, ans, *args, **params) = g * d_i(ans, *args, **params)` that serves as both.
d_i is written with NumPy operators and the engine's primitives, so it runs on ndarrays in the
first-order sweep and on Tensors under create_graph=True (Hessians) or a nested jvp.

The rules are closures built once, when the primitive is defined, one shape per arity: a rule
costs one Python call more than a hand-written one (that of d_i) and no argument packing.

Underflow: the activation family (sigmoid, tanh, softplus) treats underflow as the expected
answer, not an error (see ops/activations.py); `quiet_underflow=True` makes a rule that meets a
FloatingPointError under np.errstate(under="raise") compute again with underflow ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from wengert.autodiff.primitive import Primitive, Rule

# d(ans, *args, **params) -> ∂(result)/∂(one argument), elementwise (broadcasts against the result)
Derivative = Callable[..., object]
Result = TypeVar("Result")


def underflow_ignored(f: Callable[..., Result], *args: Any, **params: Any) -> Result:
    """f(*args, **params) with NumPy's underflow ignored, the caller's other settings kept.

    Called while a FloatingPointError is being handled: where underflow is already ignored, that
    error was a real fault (overflow, invalid, division by zero) and is raised again.
    """
    if np.geterr()["under"] != "raise":
        raise  # the FloatingPointError that the caller is handling
    with np.errstate(under="ignore"):
        return f(*args, **params)


def _unary(d: Derivative, quiet: bool) -> Rule:
    def rule(g, ans, x):
        try:
            return g * d(ans, x)
        except FloatingPointError:
            if not quiet:
                raise
            return underflow_ignored(rule, g, ans, x)

    return rule


def _binary(d: Derivative, quiet: bool) -> Rule:
    def rule(g, ans, a, b):
        try:
            return g * d(ans, a, b)
        except FloatingPointError:
            if not quiet:
                raise
            return underflow_ignored(rule, g, ans, a, b)

    return rule


def _general(d: Derivative, quiet: bool) -> Rule:
    def rule(g, ans, *args, **params):
        try:
            return g * d(ans, *args, **params)
        except FloatingPointError:
            if not quiet:
                raise
            return underflow_ignored(rule, g, ans, *args, **params)

    return rule


def diagonal_rule(
    d: Derivative | None, arity: int, params: bool = False, quiet: bool = False
) -> Rule | None:
    """The rule g * d(ans, *args, **params), reverse and tangent alike; None for None.

    A primitive of one or two arguments and no keyword parameters gets a rule with its
    arguments spelled out (the sweep's usual case, and the cheapest call); others take
    *args and **params.
    """
    if d is None:
        return None
    if params or arity > 2:
        return _general(d, quiet)
    return (_unary if arity == 1 else _binary)(d, quiet)


def elementwise(
    name: str,
    forward: Callable[..., np.ndarray],
    derivatives: Sequence[Derivative | None],
    *,
    params: bool = False,
    quiet_underflow: bool = False,
    **record: Any,
) -> Primitive:
    """An elementwise Primitive whose rules, in both directions, come from its derivatives.

    `derivatives` holds d_i(ans, *args, **params), one per argument (None for an argument that
    carries no gradient, such as a mask); `params` says that the forward takes keyword
    parameters, which the rules then pass on to d_i; `quiet_underflow` see the module docstring.
    The other keywords (saves, template, precedence, sympy, expression, register) are the
    record's own (`Primitive`).

    >>> exp_p = elementwise("exp", np.exp, (lambda ans, x: ans,), saves=("ans",))
    """
    arity = len(derivatives)
    rules = tuple(diagonal_rule(d, arity, params, quiet_underflow) for d in derivatives)
    return Primitive(name, forward, rules, rules, **record)
