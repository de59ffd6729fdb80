"""A small expression language for the command line, parsed by hand (never by Python's eval).

    expr    := sum
    sum     := product (("+" | "-") product)*
    product := unary (("*" | "/") unary)*
    unary   := "-" unary | power                 -x**2 is -(x**2), as in Python
    power   := atom ("**" unary)?                right-associative: 2**3**2 = 2**9
    atom    := NUMBER | NAME | NAME "(" expr ("," expr)* ")" | "(" expr ")"

Names are the variables given with --at (w=0.5,x=2) or the library's elementwise functions
(FUNCTIONS). `compile_expression` turns the text into a Python function of the variables, in
the order given, built from wengert operations, so that `wengert.trace` records its Wengert
list. Every mistake raises ExpressionError with the column (0-based) it was found at.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass

from wengert.autodiff import ops

__all__ = ["FUNCTIONS", "ExpressionError", "compile_expression", "parse", "parse_point"]

# name -> (wengert operation, number of arguments)
FUNCTIONS = {
    "exp": (ops.exp, 1),
    "log": (ops.log, 1),
    "sqrt": (ops.sqrt, 1),
    "abs": (ops.abs, 1),
    "sign": (ops.sign, 1),
    "sigmoid": (ops.sigmoid, 1),
    "tanh": (ops.tanh, 1),
    "relu": (ops.relu, 1),
    "leaky_relu": (ops.leaky_relu, 1),
    "softplus": (ops.softplus, 1),
    "maximum": (ops.maximum, 2),
    "minimum": (ops.minimum, 2),
}

_TOKEN = re.compile(
    r"\s*(?:(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_]\w*)"
    r"|(?P<op>\*\*|[-+*/(),]))"
)


class ExpressionError(ValueError):
    """A syntax error or unknown name in an expression, at column `column`."""

    def __init__(self, message: str, text: str, column: int) -> None:
        self.text, self.column = text, column
        super().__init__(f"{message} at column {column + 1}\n  {text}\n  {' ' * column}^")


@dataclass(frozen=True)
class Token:
    kind: str  # "number", "name", "op" or "end"
    text: str
    column: int


def tokenize(text: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            column = len(text) - len(text[pos:].lstrip())
            raise ExpressionError(f"unexpected character {text[column]!r}", text, column)
        kind = match.lastgroup
        tokens.append(Token(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


# The tree: ("num", value, col) | ("var", name, col) | ("neg", node, col)
# | ("bin", op, left, right, col) | ("call", name, args, col)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def error(self, message: str, token: Token):
        raise ExpressionError(message, self.text, token.column)

    def expect(self, op: str) -> Token:
        token = self.take()
        if token.text != op or token.kind != "op":
            found = "the end" if token.kind == "end" else repr(token.text)
            self.error(f"expected {op!r}, found {found}", token)
        return token

    def parse(self):
        if self.peek().kind == "end":
            self.error("empty expression", self.peek())
        node = self.sum()
        if self.peek().kind != "end":
            self.error(f"unexpected {self.peek().text!r}", self.peek())
        return node

    def sum(self):
        node = self.product()
        while self.peek().text in ("+", "-") and self.peek().kind == "op":
            op = self.take()
            node = ("bin", op.text, node, self.product(), op.column)
        return node

    def product(self):
        node = self.unary()
        while self.peek().text in ("*", "/") and self.peek().kind == "op":
            op = self.take()
            node = ("bin", op.text, node, self.unary(), op.column)
        return node

    def unary(self):
        if self.peek().kind == "op" and self.peek().text in ("-", "+"):
            op = self.take()
            operand = self.unary()
            return ("neg", operand, op.column) if op.text == "-" else operand
        return self.power()

    def power(self):
        node = self.atom()
        if self.peek().kind == "op" and self.peek().text == "**":
            op = self.take()
            node = ("bin", "**", node, self.unary(), op.column)
        return node

    def atom(self):
        token = self.take()
        if token.kind == "number":
            return ("num", float(token.text), token.column)
        if token.kind == "name":
            if self.peek().kind == "op" and self.peek().text == "(":
                return self.call(token)
            return ("var", token.text, token.column)
        if token.kind == "op" and token.text == "(":
            node = self.sum()
            self.expect(")")
            return node
        found = "the end of the expression" if token.kind == "end" else repr(token.text)
        self.error(f"expected a number, a name or '(', found {found}", token)

    def call(self, name: Token):
        self.take()  # "("
        args = [self.sum()]
        while self.peek().kind == "op" and self.peek().text == ",":
            self.take()
            args.append(self.sum())
        self.expect(")")
        return ("call", name.text, args, name.column)


def parse(text: str):
    """The syntax tree of `text` (tuples, see above); raises ExpressionError."""
    return _Parser(text).parse()


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


def _evaluate(node, env: dict):
    kind = node[0]
    if kind == "num":
        return node[1]
    if kind == "var":
        return env[node[1]]
    if kind == "neg":
        return -_evaluate(node[1], env)
    if kind == "call":
        return FUNCTIONS[node[1]][0](*[_evaluate(a, env) for a in node[2]])
    left, right = _evaluate(node[2], env), _evaluate(node[3], env)
    op = node[1]
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if op == "/":
        return left / right
    return left**right


def compile_expression(text: str, variables):
    """A function f(*values) of `variables` (names, in order) that evaluates `text` with wengert
    operations. Its signature names the variables, so that trace and gradcheck print them."""
    variables = list(variables)
    tree = parse(text)
    _check_names(tree, text, variables)

    def f(*values):
        env = dict(zip(variables, values, strict=True))
        y = _evaluate(tree, env)
        return y

    f.__signature__ = inspect.Signature(
        [inspect.Parameter(v, inspect.Parameter.POSITIONAL_OR_KEYWORD) for v in variables]
    )
    f.__name__ = f.__qualname__ = "f"
    return f


def parse_point(text: str) -> dict[str, float]:
    """'w=0.5,x=2,b=0.1' -> {'w': 0.5, 'x': 2.0, 'b': 0.1}, in that order."""
    point: dict[str, float] = {}
    for item in text.split(","):
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_]\w*", name):
            raise ValueError(f"--at must be name=value pairs separated by commas; got {item!r}")
        if name in FUNCTIONS:
            raise ValueError(f"--at: {name!r} is a function name; choose another variable name")
        if name in point:
            raise ValueError(f"--at gives {name!r} twice")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"--at: {name}={value!r} is not a number") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(f"--at: {name}={value} is not a finite number")
        point[name] = number
    return point
