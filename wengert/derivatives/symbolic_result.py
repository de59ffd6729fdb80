"""What `symbolic_grad` gives back: the SymbolicGradient (f and its derivatives as SymPy
expressions, their sizes, a compiled evaluator) and the SymbolicError it raises."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from wengert._checks import refusal
from wengert.autodiff.tensor import as_array
from wengert.derivatives.program import short
from wengert.derivatives.sympy_forwards import _sympy


class SymbolicError(ValueError):
    """symbolic_grad cannot differentiate this f; `reason` is "unsupported", "control flow",
    "size", "symbols" or "shape"."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, eq=False)
class SymbolicGradient:
    """f as a SymPy expression, its partial derivatives, their sizes and a compiled evaluator.

    `expression` is f; `derivatives[name]` is ∂f/∂name (an array of expressions for an array
    argument). `ops[name]` is `sympy.count_ops` of that derivative (summed over elements) and
    `ops_cse[name]` the same after `sympy.cse`; `gradient_ops` and `gradient_ops_cse` count all
    derivatives together, the second with one elimination of common subexpressions over all of
    them. Calling the object evaluates the derivatives (compiled by `sympy.lambdify` to NumPy,
    with cse) at a point and returns a tuple, one float or float64 array per differentiated
    argument; `value` evaluates f.
    """

    names: tuple[str, ...]
    symbols: tuple
    point: tuple
    expression: Any
    derivatives: dict[str, Any]
    expression_ops: int
    ops: dict[str, int]
    ops_cse: dict[str, int]
    gradient_ops: int
    gradient_ops_cse: int
    compiled: Callable = field(repr=False)

    def __call__(self, *args) -> tuple:
        return self.value_and_grad(*args)[1]

    def value(self, *args: ArrayLike) -> float:
        """f at args (one value per argument of f, in its order)."""
        return self.value_and_grad(*args)[0]

    def value_and_grad(self, *args: ArrayLike) -> tuple[float, tuple]:
        """(f, the tuple of derivatives) at args, in float64, each in its argument's shape."""
        flat = self._flatten(args)
        results = self.compiled(*flat)
        value = float(np.asarray(results[0], dtype=np.float64))
        grads, k = [], 1
        for name in self.derivatives:
            shape = np.shape(self.symbols[self.names.index(name)])
            size = int(np.prod(shape, dtype=np.int64))
            parts = np.array([np.asarray(r, dtype=np.float64) for r in results[k : k + size]])
            grads.append(float(parts[0]) if shape == () else parts.reshape(shape))
            k += size
        return value, tuple(grads)

    def parse(self, text: str) -> Any:
        """A formula in SymPy's syntax, read with this gradient's (real) symbols: "x*exp(w*x)"."""
        sp = _sympy()
        known = {str(s): s for sym in self.symbols for s in flat(sym)}
        return sp.sympify(text, locals=known)

    def matches(self, name: str, formula: Any) -> bool:
        """True when sympy.simplify(∂f/∂name - formula) is 0; formula is text or an expression."""
        sp = _sympy()
        other = self.parse(formula) if isinstance(formula, str) else formula
        return sp.simplify(self.derivatives[name] - other) == 0

    def _flatten(self, args) -> list[float]:
        owner = "SymbolicGradient"
        if len(args) != len(self.names):
            expected = f"{len(self.names)} values, for {', '.join(self.names)}"
            raise refusal(owner, "the arguments", expected, str(len(args)), TypeError)
        flat = []
        for name, sym, a in zip(self.names, self.symbols, args, strict=True):
            data = np.asarray(as_array(a, name=f"argument {name}", owner=owner), dtype=np.float64)
            if data.shape != np.shape(sym):
                expected = f"of shape {np.shape(sym)}, as when it was differentiated"
                raise refusal(owner, f"argument {name}", expected, f"shape {data.shape}")
            flat.extend(data.reshape(-1))  # float64 scalars: 1/0 is inf, as in NumPy
        return flat

    def __str__(self) -> str:
        sp = _sympy()
        point = ", ".join(f"{n} = {short(v)}" for n, v in zip(self.names, self.point, strict=True))
        lines = [f"Symbolic gradient, traced at {point}"]
        lines.append(f"  f = {_text(sp, self.expression)}   [{self.expression_ops} ops]")
        for name, d in self.derivatives.items():
            lines.append(
                f"  ∂f/∂{name} = {_text(sp, d)}   "
                f"[{self.ops[name]} ops, {self.ops_cse[name]} with CSE]"
            )
        lines.append(
            f"  gradient ({len(self.derivatives)} arguments): {self.gradient_ops} ops, "
            f"{self.gradient_ops_cse} after common-subexpression elimination"
        )
        return "\n".join(lines)


def flat(value: object) -> list:
    """The elements of an object array of expressions, or [value] for one expression."""
    return list(value.reshape(-1)) if isinstance(value, np.ndarray) else [value]


def _text(sp, value, limit: int = 240) -> str:
    text = sp.sstr(value.tolist() if isinstance(value, np.ndarray) else value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


__all__ = ["SymbolicError", "SymbolicGradient", "flat"]
