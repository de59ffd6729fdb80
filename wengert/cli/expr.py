"""A small expression language for the command line, parsed by hand (never by Python's eval).

    expr    := sum
    sum     := product (("+" | "-") product)*
    product := unary (("*" | "/") unary)*
    unary   := ("-" | "+") unary | power         -x**2 is -(x**2), as in Python
    power   := atom ("**" unary)?                right-associative: 2**3**2 = 2**9
    atom    := NUMBER | NAME | NAME "(" expr ("," expr)* ")" | "(" expr ")"

Names are the variables given with --at (w=0.5,x=2) or the library's elementwise functions
(FUNCTIONS). `compile_expression` turns the text into a Python function of the variables, in
the order given, built from wengert operations, so that `wengert.trace` records its Wengert
list; numbers are float64. Every mistake raises ExpressionError with the column (0-based) it
was found at. Parsing and evaluation use explicit stacks, never recursion; an expression holds
at most MAX_OPERATIONS operations.
"""

from __future__ import annotations

import inspect
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from wengert.autodiff import ops
from wengert.autodiff.primitive import REGISTRY
from wengert.autodiff.tensor import Tensor

__all__ = ["FUNCTIONS", "MAX_OPERATIONS", "ExpressionError", "compile_expression", "parse"]
__all__ += ["parse_point"]

# Operations (binary operators, unary minus, function calls) one expression may hold by default:
# `trace` and `gradcheck` of 50,000 take a few seconds; past it the library's API is the tool.
MAX_OPERATIONS = 50_000


def _functions() -> dict[str, tuple]:
    """name -> (wengert operation, number of arguments), for every primitive whose record offers
    it to expressions (`Primitive.expression`): the public function of that name in
    wengert.autodiff.ops, with one argument per rule. Sorted by name."""
    offered = sorted(name for name, prim in REGISTRY.items() if prim.expression)
    return {name: (getattr(ops, name), len(REGISTRY[name].vjps)) for name in offered}


FUNCTIONS = _functions()

_SPACE = re.compile(r"\s*")
_TOKEN = re.compile(
    r"(?:(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_]\w*)"
    r"|(?P<op>\*\*|[-+*/(),]))"
)


class ExpressionError(ValueError):
    """A syntax error or unknown name in an expression, at column `column`: the message, then
    the expression (around the column, when long) with a caret under it; or, with
    `excerpt=False`, for a mistake that is not at one place, the message alone on one line."""

    def __init__(self, message: str, text: str, column: int, excerpt: bool = True) -> None:
        self.text, self.column = text, column
        if not excerpt:
            super().__init__(message)
            return
        shown, caret = _excerpt(text, column)
        super().__init__(f"{message} at column {column + 1}\n  {shown}\n  {' ' * caret}^")


def _excerpt(text: str, column: int, reach: int = 40) -> tuple[str, int]:
    """A long expression cut to `reach` characters either side of `column`, and the caret's
    column in what is shown: the message stays readable for an expression of 10,000 terms."""
    start, end = max(0, column - reach), min(len(text), column + reach)
    if start == 0 and end == len(text):
        return text, column
    head = "…" if start > 0 else ""
    return head + text[start:end] + ("…" if end < len(text) else ""), column - start + len(head)


@dataclass(frozen=True)
class Token:
    kind: str  # "number", "name", "op" or "end"
    text: str
    column: int


def tokenize(text: str) -> list[Token]:
    """The tokens of `text`, ending with an "end" token; an unknown character raises
    ExpressionError at its column."""
    tokens, pos = [], 0
    while True:
        pos = _SPACE.match(text, pos).end()
        if pos == len(text):
            break
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ExpressionError(f"unexpected character {text[pos]!r}", text, pos)
        kind = match.lastgroup
        tokens.append(Token(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


# The tree: ("num", value, col) | ("var", name, col) | ("neg", node, col)
# | ("bin", op, left, right, col) | ("call", name, args, col)
#
# Operator precedence (shunting-yard) over two explicit stacks, operands and pending operators:
# neither nesting nor length meets Python's recursion limit, so 200 parentheses or a sum of
# 10,000 terms parse like `x + 1`. Binding, loosest first: + -, * /, prefix - +, ** (right-
# associative, and its right operand may start with a sign: 2**-x), as in Python.
_BINARY = {"+": (1, False), "-": (1, False), "*": (2, False), "/": (2, False), "**": (4, True)}
_PREFIX = 3


class _Parser:
    """One pass over the tokens. `operators` holds ("bin", op, col), ("neg", col), ("pos", col)
    and the open markers ("(", col) and ["call", name token, arguments so far]."""

    def __init__(self, text: str, max_operations: int = MAX_OPERATIONS) -> None:
        self.text = text
        self.max_operations = max_operations
        self.tokens = tokenize(text)
        self.i = 0
        self.operands: list = []
        self.operators: list = []
        self.opened = 0  # markers on the operator stack
        self.operations = 0

    def error(self, message: str, token: Token):
        raise ExpressionError(message, self.text, token.column)

    def parse(self):
        if self.tokens[0].kind == "end":
            self.error("empty expression", self.tokens[0])
        want_operand = True
        while self.i < len(self.tokens):
            token = self.tokens[self.i]
            self.i += 1
            if want_operand:
                want_operand = self.operand(token)
            elif token.kind == "op" and token.text in _BINARY:
                self.reduce(*_BINARY[token.text])
                self.push(("bin", token.text, token.column), token)
                want_operand = True
            elif token.kind == "op" and token.text in (")", ","):
                want_operand = self.close(token)
            elif token.kind == "end":
                self.reduce(0, False)
                if self.opened:
                    self.error("expected ')', found the end", token)
            else:
                found = "expected ')', found" if self.opened else "unexpected"
                self.error(f"{found} {token.text!r}", token)
        return self.operands[0]

    def operand(self, token: Token) -> bool:
        """Read a token where an operand must start; True while an operand is still due."""
        if token.kind == "op" and token.text in ("-", "+"):
            self.push(("neg" if token.text == "-" else "pos", token.column), token)
            return True
        if token.kind == "op" and token.text == "(":
            self.operators.append(("(", token.column))
            self.opened += 1
            return True
        if token.kind == "number":
            self.operands.append(("num", float(token.text), token.column))
            return False
        if token.kind == "name":
            following = self.tokens[self.i]
            if following.kind == "op" and following.text == "(":
                self.i += 1
                self.push(["call", token, 1], token)
                self.opened += 1
                return True
            self.operands.append(("var", token.text, token.column))
            return False
        found = "the end of the expression" if token.kind == "end" else repr(token.text)
        self.error(f"expected a number, a name or '(', found {found}", token)

    def push(self, operator, token: Token) -> None:
        """Put an operation on the stack, counting it against the limit."""
        if operator[0] != "pos":
            self.operations += 1
            if self.operations > self.max_operations:
                limit = f"{self.max_operations:,}"
                message = (
                    f"the expression has more than {limit} operations, the limit here; split "
                    f"it, or differentiate it with the library (wengert.grad)"
                )
                raise ExpressionError(message, self.text, token.column, excerpt=False)
        self.operators.append(operator)

    def reduce(self, precedence: int, right: bool) -> None:
        """Apply the pending operators that bind at least as tightly as an operator of
        `precedence` arriving next (more tightly, for a right-associative one)."""
        operators, operands = self.operators, self.operands
        while operators and operators[-1][0] in ("bin", "neg", "pos"):
            top = operators[-1]
            bound = _BINARY[top[1]][0] if top[0] == "bin" else _PREFIX
            if bound < precedence or (bound == precedence and right):
                return
            operators.pop()
            if top[0] == "bin":
                right_operand = operands.pop()
                operands[-1] = ("bin", top[1], operands[-1], right_operand, top[2])
            elif top[0] == "neg":
                operands[-1] = ("neg", operands[-1], top[1])

    def close(self, token: Token) -> bool:
        """A ')' or ',': finish the innermost parenthesis or argument; True after a ','."""
        self.reduce(0, False)
        if not self.opened:
            self.error(f"unexpected {token.text!r}", token)
        marker = self.operators[-1]
        if token.text == ",":
            if marker[0] == "(":
                self.error("expected ')', found ','", token)
            marker[2] += 1
            return True
        self.operators.pop()
        self.opened -= 1
        if marker[0] == "call":
            count = marker[2]
            args = self.operands[-count:]
            del self.operands[-count:]
            self.operands.append(("call", marker[1].text, args, marker[1].column))
        return False


def parse(text: str, max_operations: int = MAX_OPERATIONS) -> tuple:
    """The syntax tree of `text` (tuples, see above); raises ExpressionError, also for more than
    `max_operations` operations (binary operators, unary minus, calls)."""
    return _Parser(text, max_operations).parse()


def _check_names(node, text: str, variables) -> None:
    """Refuse unknown names, calls of variables, functions used as values, and an expression
    without any variable (nothing to differentiate)."""
    used = False
    stack = [node]
    while stack:
        n = stack.pop()
        kind = n[0]
        used = used or kind == "var"
        if kind == "var" and n[1] not in variables:
            if n[1] in FUNCTIONS:
                raise ExpressionError(f"{n[1]} is a function; call it as {n[1]}(...)", text, n[2])
            known = ", ".join(variables) or "none given"
            raise ExpressionError(
                f"unknown name {n[1]!r} (variables given with --at: {known})", text, n[2]
            )
        if kind == "call":
            if n[1] not in FUNCTIONS:
                known = ", ".join(FUNCTIONS)
                raise ExpressionError(f"unknown function {n[1]!r} (known: {known})", text, n[3])
            arity = FUNCTIONS[n[1]][1]
            if len(n[2]) != arity:
                raise ExpressionError(
                    f"{n[1]} takes {arity} argument{'s' * (arity > 1)}; got {len(n[2])}",
                    text,
                    n[3],
                )
            stack.extend(n[2])
        elif kind == "neg":
            stack.append(n[1])
        elif kind == "bin":
            stack.extend([n[2], n[3]])
    if not used:
        known = ", ".join(variables)
        raise ExpressionError(
            f"the expression uses none of the variables ({known}): nothing to differentiate",
            text,
            0,
        )


def _program(tree) -> list[tuple]:
    """The tree in postfix order, for a stack machine: ("num", float64), ("var", name), ("neg",),
    ("bin", op), ("call", function, number of arguments). Built without recursion."""
    program: list[tuple] = []
    stack = [(tree, False)]
    while stack:
        node, children_done = stack.pop()
        kind = node[0]
        if kind == "num":
            program.append(("num", np.float64(node[1])))
        elif kind == "var":
            program.append(("var", node[1]))
        elif children_done:
            program.append(_instruction(node))
        else:
            stack.append((node, True))
            children = [node[1]] if kind == "neg" else node[2:4] if kind == "bin" else node[2]
            stack.extend((child, False) for child in reversed(children))
    return program


def _instruction(node) -> tuple:
    """The instruction of an operation node, run once its operands are on the stack."""
    if node[0] == "neg":
        return ("neg",)
    if node[0] == "bin":
        return ("bin", node[1])
    return ("call", FUNCTIONS[node[1]][0], len(node[2]))


_ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
_ARITHMETIC["**"] = operator.pow


def _run(program: list[tuple], env: dict):
    """Evaluate a postfix program. Numbers are float64, so that 1/0, 10.0**400 and (-1)**0.5
    give inf and nan as NumPy does (under the caller's np.errstate), never a Python error."""
    values: list = []
    for instruction in program:
        kind = instruction[0]
        if kind == "num":
            values.append(instruction[1])
        elif kind == "var":
            values.append(env[instruction[1]])
        elif kind == "neg":
            values[-1] = -values[-1]
        elif kind == "bin":
            right = values.pop()
            values[-1] = _ARITHMETIC[instruction[1]](values[-1], right)
        else:
            count = instruction[2]
            args = values[-count:]
            del values[-count:]
            values.append(instruction[1](*args))
    return values[0]


def compile_expression(
    text: str, variables: Iterable[str], max_operations: int = MAX_OPERATIONS
) -> Callable[..., Tensor | np.ndarray]:
    """A function f(*values) of `variables` (names, in order) that evaluates `text` with wengert
    operations. Its signature names the variables, so that trace and gradcheck print them.
    An expression of more than `max_operations` operations is refused (ExpressionError).

    Values that are not Tensors are taken as float64 arrays: the arithmetic is NumPy's, with
    inf and nan (and NumPy's warnings, which np.errstate controls) where Python would raise.
    """
    variables = list(variables)
    tree = parse(text, max_operations)
    _check_names(tree, text, variables)
    program = _program(tree)

    def f(*values):
        values = [v if isinstance(v, Tensor) else np.asarray(v, dtype=np.float64) for v in values]
        y = _run(program, dict(zip(variables, values, strict=True)))
        return y

    f.__signature__ = inspect.Signature(
        [inspect.Parameter(v, inspect.Parameter.POSITIONAL_OR_KEYWORD) for v in variables]
    )
    f.__name__ = f.__qualname__ = "f"
    return f


def parse_point(text: str) -> dict[str, float]:
    """'w=0.5,x=2,b=0.1' -> {'w': 0.5, 'x': 2.0, 'b': 0.1}, in that order; every value a finite
    float64. A mistake raises ValueError with a message that names the pair."""
    if not text.strip():
        raise ValueError("--at must be name=value pairs separated by commas; got nothing")
    point: dict[str, float] = {}
    for item in text.split(","):
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not item.strip():
            raise ValueError(
                f"--at must be name=value pairs separated by commas; got an empty pair in {text!r}"
            )
        if not sep or not re.fullmatch(r"[A-Za-z_]\w*", name):
            raise ValueError(f"--at must be name=value pairs separated by commas; got {item!r}")
        if name in FUNCTIONS:
            raise ValueError(f"--at: {name!r} is a function name; choose another variable name")
        if name in point:
            raise ValueError(f"--at gives {name!r} twice")
        point[name] = _coordinate(name, value)
    return point


def _coordinate(name: str, value: str) -> float:
    if not value:
        raise ValueError(f"--at: {name} must be a number; got nothing after '{name}='")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"--at: {name}={value!r} is not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        beyond = (
            ""
            if value.lower().lstrip("+-") in ("inf", "infinity", "nan")
            else (" (it is beyond float64's range, ±1.8e308)")
        )
        raise ValueError(f"--at: {name}={value} is not a finite number{beyond}")
    return number
