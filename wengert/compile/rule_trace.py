"""An optimizer's rule traced on stand-ins: the elementwise formula it computes, as a record.

The rules of wengert/optim/ are functions of arrays, `rule(g, state, lr=..., **hyper) ->
(d, new_state)`, that call NumPy's ufuncs (`np.sqrt`, `np.maximum`) directly. A `Symbol` stands
for one array or number: arithmetic on it and the ufuncs it meets are recorded (NumPy hands a
ufunc call to `__array_ufunc__`), and reading its value into Python (`bool`, `float`, a
comparison) is refused, since the record must hold for every value. A symbol is "scalar"
where it depends on scalar inputs alone (the learning rate, the step count): the program
computes it once per call in float64, as Python does; the others are elementwise over the
parameter's array.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

BINARY = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}
UFUNCS = {
    "add": "add",
    "subtract": "sub",
    "multiply": "mul",
    "true_divide": "div",
    "divide": "div",
    "power": "pow",
    "negative": "neg",
    "sqrt": "sqrt",
    "square": "square",
    "maximum": "maximum",
    "minimum": "minimum",
    "absolute": "abs",
    "exp": "exp",
    "log": "log",
}


class Untraceable(Exception):
    """The rule did something the record cannot hold (named in the message)."""


@dataclass
class Record:
    """The operations of one traced rule, in order: (op, operands), an operand being a Symbol or
    a Python number; `inputs` the names of the stand-ins."""

    nodes: list[tuple[str, tuple]] = field(default_factory=list)
    inputs: dict[int, str] = field(default_factory=dict)  # input symbol's index -> its name


class Symbol:
    """A traced array (or scalar); see the module docstring."""

    __slots__ = ("index", "record", "scalar")
    __array_priority__ = 1000

    def __init__(self, record: Record, index: int, scalar: bool) -> None:
        self.record, self.index, self.scalar = record, index, scalar

    def _op(self, op: str, *args: object) -> Symbol:
        for a in args:
            if not isinstance(a, (Symbol, int, float)) or isinstance(a, bool):
                raise Untraceable(f"{op} of a {type(a).__name__}")
        scalar = all(a.scalar for a in args if isinstance(a, Symbol))
        self.record.nodes.append((op, args))
        return Symbol(self.record, len(self.record.nodes) - 1, scalar)

    def __neg__(self):
        return self._op("neg", self)

    def __bool__(self):
        raise Untraceable("a branch on a traced value (bool())")

    def __float__(self):
        raise Untraceable("a traced value read into Python (float())")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        op = UFUNCS.get(ufunc.__name__)
        if method != "__call__" or kwargs or op is None:
            raise Untraceable(f"np.{ufunc.__name__} ({method}, {sorted(kwargs)})")
        return self._op(op, *inputs)

    def __array_function__(self, func, types, args, kwargs):
        raise Untraceable(f"np.{func.__name__}")


def _binary(op: str, reflected: bool) -> Callable:
    if reflected:
        return lambda self, other: self._op(op, other, self)
    return lambda self, other: self._op(op, self, other)


for _name, _op in (
    ("add", "add"),
    ("sub", "sub"),
    ("mul", "mul"),
    ("truediv", "div"),
    ("pow", "pow"),
):
    setattr(Symbol, f"__{_name}__", _binary(_op, False))
    setattr(Symbol, f"__r{_name}__", _binary(_op, True))


def trace(
    arrays: list[str], scalars: list[str], call: Callable
) -> tuple[Record, dict[str, Symbol], object]:
    """Run `call(symbols)` (which calls the rule) on a symbol per name of `arrays` (elementwise)
    and `scalars`: (the record, the symbols by name, what it returned). Untraceable where the
    rule leaves what the record holds."""
    record = Record()
    symbols = {}
    for name in arrays + scalars:
        record.nodes.append(("input", (name,)))
        symbols[name] = Symbol(record, len(record.nodes) - 1, name in scalars)
        record.inputs[symbols[name].index] = name
    try:
        result = call(symbols)
    except (TypeError, ValueError, AttributeError, KeyError) as error:
        raise Untraceable(f"{type(error).__name__}: {error}") from None
    return record, symbols, result


__all__ = ["Record", "Symbol", "Untraceable", "trace"]
