"""Symbolic differentiation: f's Wengert list replayed in SymPy, then differentiated by SymPy.

What Mathematica's `D` does (the lecture's "Symbolic differentiation"): f becomes an analytical
expression, and each partial derivative ∂f/∂x_i another expression, derived by the rules of
calculus. Here f is run once through `wengert.trace`, which records the primitives it executes
(the Wengert list); the list is replayed with SymPy objects in place of arrays, each step by its
primitive's forward written in SymPy, which the primitive's record holds (`Primitive.sympy`):
log(1 + exp(w x + b)) records mul, add, exp, add, log and replays to `log(exp(b + w*x) + 1)`.
The derivatives are `sympy.diff`'s: the engine's vector-Jacobian rules take no part, so this
is an independent check.

Conventions, where libraries differ:

- Arguments. A string is a name: a real scalar symbol, traced at `at[name]` or at a random value
  in [0.5, 1.5) (`seed`). A number is a real scalar symbol named after f's parameter. An array
  becomes one symbol per element, named `w_0, w_1, ...` (`w_0_1` for a matrix), at most
  MAX_SYMBOLS symbols in all; the derivative with respect to it is an array of expressions.
- Numbers written in f stay exact where they are integers (`2.0` becomes 2); other floats become
  SymPy Floats holding the same double.
- Kinks are SymPy's: d Max(0, x)/dx = Heaviside(x), with Heaviside(0) = 1/2 (the engine takes
  relu'(0) = 0), and a Piecewise takes the derivative of the branch whose condition holds. The
  DiracDelta of a step's derivative (d sign(x)/dx) is dropped: 0 away from the step, as the engine
  has it.
- Control flow. The expression is that of the operations f executed. f is traced again at
  `program.PROBES` points of random sign and at the negated point (`program.control_flow`); if
  it executes other primitives there, with other constant operands or parameters, or runs on
  past 4x its operations, they depend on its inputs' values (an `if x > 0:` or `while` on a
  Tensor, float(x), .item(), .data, the condition of wg.where), and symbolic_grad refuses. A
  branch that goes the same way at every probe is not seen: the expression is then that of the
  branch taken. (f is therefore run at points other than the one given.)
- Size. f's expression, as it is built, and each derivative may hold at most `max_ops`
  operations (`sympy.count_ops`); the lecture's "often intractable" is refused, not waited for.
- Sizes are reported as `count_ops`, without and with `sympy.cse` (common subexpressions
  computed once, as a Wengert list computes them).

SymPy is imported when symbolic_grad runs, never by `import wengert`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import numpy as np
from numpy.typing import ArrayLike

from wengert._checks import COUNT, as_generator, check, check_finite, refusal
from wengert.autodiff.tensor import Tensor, as_array
from wengert.autodiff.trace import Trace, trace
from wengert.derivatives.program import control_flow, live_nodes
from wengert.derivatives.symbolic_result import SymbolicError, SymbolicGradient, flat
from wengert.derivatives.sympy_forwards import _objects, _sympy, has_form, supported

OWNER = "symbolic_grad"
DEFAULT_MAX_OPS = 20_000
MAX_SYMBOLS = 64


# ----------------------------------------------------------------------------- symbolic_grad
def symbolic_grad(
    f: Callable[..., Tensor],
    *args: str | ArrayLike,
    wrt: str | Iterable[str] | None = None,
    at: Mapping[str, ArrayLike] | None = None,
    max_ops: int = DEFAULT_MAX_OPS,
    seed: int | np.random.Generator = 0,
) -> SymbolicGradient:
    """f turned into a SymPy expression through its Wengert list, and ∂f/∂x for each input x.

    `args` are names (strings) or values (numbers, small arrays), one per positional argument of
    f (module docstring); `at` maps names to the values to trace at; `wrt` limits the derivatives
    to some arguments (names); `seed` draws the random values and the probe points.

    >>> g = symbolic_grad(lambda w, x, b: wg.log(1 + wg.exp(w * x + b)), "w", "x", "b")
    >>> g.derivatives["w"]
    x*exp(b + w*x)/(exp(b + w*x) + 1)

    Raises SymbolicError for a primitive with no SymPy form (named), for operations that depend
    on the inputs' values, and for an expression of more than `max_ops` operations.
    """
    sp = _sympy()
    check(OWNER, "max_ops", max_ops, COUNT)
    rng = as_generator(seed, OWNER)
    labels, point = _point(args, at, rng)
    recorded = trace(f, *point)
    names = _names(labels, recorded)
    chosen = _check_wrt(wrt, names)
    live = _checked_program(f, recorded, names, point, rng)
    symbols = tuple(_symbols(sp, n, p) for n, p in zip(names, point, strict=True))
    expression = _replay(sp, recorded, live, symbols, max_ops).reshape(-1)[0]
    size = _size(sp, expression, "f's expression", max_ops)
    derivatives = {n: _derivative(sp, expression, symbols[names.index(n)], max_ops) for n in chosen}
    return _measured(sp, names, symbols, point, (expression, size), derivatives)


def _checked_program(f, recorded: Trace, names, point, rng) -> list:
    """The nodes f's result depends on, once f is known to be replayable (a scalar result,
    primitives with SymPy forms, the same operations at the probe points)."""
    live = live_nodes(recorded)
    _check_scalar(recorded)
    _check_supported(live)
    problem = control_flow(f, recorded, names, point, rng)
    if problem is not None:
        raise SymbolicError(problem, "control flow")
    return live


def _measured(sp, names, symbols, point, expression, derivatives) -> SymbolicGradient:
    """The SymbolicGradient of f's (expression, its size) and derivatives, with their sizes and
    their evaluator."""
    expression, expression_ops = expression
    ops = {name: sum(sp.count_ops(e) for e in flat(d)) for name, d in derivatives.items()}
    every = [e for d in derivatives.values() for e in flat(d)]
    flat_symbols = [s for sym in symbols for s in flat(sym)]
    return SymbolicGradient(
        names=names,
        symbols=symbols,
        point=point,
        expression=expression,
        derivatives=derivatives,
        expression_ops=expression_ops,
        ops=ops,
        ops_cse={name: _cse_ops(sp, flat(d)) for name, d in derivatives.items()},
        gradient_ops=sum(ops.values()),
        gradient_ops_cse=_cse_ops(sp, every),
        compiled=sp.lambdify(flat_symbols, [expression, *every], modules="numpy", cse=True),
    )


def _derivative(sp, expression, symbol, max_ops):
    """∂expression/∂symbol; for an array of symbols, the array of derivatives."""
    if isinstance(symbol, np.ndarray):
        out = np.empty(symbol.shape, dtype=object)
        for idx in np.ndindex(symbol.shape):
            out[idx] = _derivative(sp, expression, symbol[idx], max_ops)
        return out
    d = sp.diff(expression, symbol)
    if d.has(sp.DiracDelta):
        d = d.replace(sp.DiracDelta, lambda *a: sp.S.Zero)
    _size(sp, d, f"∂f/∂{symbol}", max_ops)
    return d


def _cse_ops(sp, exprs) -> int:
    replacements, reduced = sp.cse(list(exprs))
    return sum(sp.count_ops(r) for _, r in replacements) + sum(sp.count_ops(e) for e in reduced)


# ----------------------------------------------------------------------------- arguments
def _point(args, at, rng) -> tuple[list, tuple]:
    """(the name given for each argument or None, the values to trace at)."""
    if not args:
        raise refusal(OWNER, "args", "one or more names or values after f", "none", TypeError)
    given = {} if at is None else dict(at)
    labels, values = [], []
    for i, a in enumerate(args):
        value = a
        if isinstance(a, str):
            if not a or a in labels:
                raise refusal(OWNER, f"argument {i}", "a new, non-empty name", repr(a))
            value = given.pop(a) if a in given else rng.uniform(0.5, 1.5)
        labels.append(a if isinstance(a, str) else None)
        data = np.asarray(as_array(value, name=f"argument {i}", owner=OWNER), dtype=np.float64)
        check_finite(OWNER, f"argument {i}", data, fix="Pass a point where f is defined.")
        values.append(float(data) if data.ndim == 0 else data)
    if given:
        expected = "a map from names in args to values"
        raise refusal(OWNER, "at", expected, f"the names {sorted(given)}, which args does not hold")
    total = sum(np.size(v) for v in values)
    if total > MAX_SYMBOLS:
        raise SymbolicError(
            f"symbolic_grad makes one symbol per element and allows at most {MAX_SYMBOLS}; "
            f"the arguments have {total} elements. Differentiate a smaller instance, or use "
            f"wengert.grad",
            "symbols",
        )
    return labels, tuple(values)


def _names(labels, recorded: Trace) -> tuple[str, ...]:
    names = tuple(
        label or recorded.name_of(t) for label, t in zip(labels, recorded.inputs, strict=True)
    )
    if len(set(names)) != len(names):
        raise refusal(
            OWNER, "the arguments' names", "distinct", str(names), fix="Give other names."
        )
    return names


def _check_wrt(wrt, names) -> list[str]:
    if wrt is None:
        return list(names)
    chosen = [wrt] if isinstance(wrt, str) else list(wrt)
    unknown = [w for w in chosen if w not in names]
    if unknown or not chosen:
        raise refusal(OWNER, "wrt", f"names of arguments among {list(names)}", repr(wrt))
    return chosen


def _symbols(sp, name: str, value):
    if np.ndim(value) == 0:
        return sp.Symbol(name, real=True)
    out = np.empty(np.shape(value), dtype=object)
    for idx in np.ndindex(out.shape):
        out[idx] = sp.Symbol(f"{name}_{'_'.join(map(str, idx))}", real=True)
    return out


# ----------------------------------------------------------------------------- the replay
def _check_scalar(recorded: Trace) -> None:
    if recorded.output.size != 1:
        raise SymbolicError(
            f"symbolic_grad needs a scalar f; it returned shape {recorded.output.shape}. "
            f"Reduce it (e.g. .sum()), or differentiate one element at a time",
            "shape",
        )


def _check_supported(live) -> None:
    missing = sorted({n._prim.name for n in live if not has_form(n._prim)})
    if missing:
        raise SymbolicError(
            f"symbolic_grad: f uses primitives with no SymPy form: {', '.join(missing)}. "
            f"Supported: {', '.join(supported())}. Use wengert.grad for this f",
            "unsupported",
        )


def _replay(sp, recorded: Trace, live, symbols, max_ops: int) -> np.ndarray:
    """The output of f, computed by the primitives' SymPy forms from the symbols (objects).

    Each step's size is bounded as it is made (SymPy distributes a number over a sum, so an
    expression can swell for real, not only as a tree), with one memo for the whole replay.
    """
    env = {id(t): _objects(s) for t, s in zip(recorded.inputs, symbols, strict=True)}
    memo: dict = {}
    for node in live:
        args = [_operand(a, env) for a in node._inputs]
        value = _objects(node._prim.sympy(sp, *args, **node._params))
        for e in value.reshape(-1):
            if _tree_nodes(e, 10 * max_ops, memo) > 10 * max_ops:
                step = f"step `{recorded.name_of(node)} = {recorded._line(node)}`"
                raise SymbolicError(_too_large(f"f's expression at {step}", None, max_ops), "size")
        env[id(node)] = value
    return _operand(recorded.output, env)


def _operand(a, env):
    if isinstance(a, Tensor):
        if id(a) in env:
            return env[id(a)]
        a = a.data
    if a is None or (isinstance(a, np.ndarray) and a.dtype == bool):
        return a  # the condition of where: a constant mask, not a number
    return _objects(a)


def _size(sp, expr, what: str, max_ops: int) -> int:
    # count_ops walks the expression as a tree; a replayed program is a DAG whose tree can be
    # exponentially larger (x = x * x + x, thirty times), so its tree size is bounded first.
    nodes = _tree_nodes(expr, 10 * max_ops, {})
    ops = sp.count_ops(expr) if nodes <= 10 * max_ops else None
    if ops is None or ops > max_ops:
        raise SymbolicError(_too_large(what, ops, max_ops), "size")
    return int(ops)


def _too_large(what: str, ops, max_ops: int) -> str:
    size = f"{ops} operations" if ops is not None else f"more than {10 * max_ops} nodes"
    return (
        f"symbolic_grad: {what} has {size}, past max_ops={max_ops}: the expression swell of "
        f"symbolic differentiation. Pass a larger max_ops, or use wengert.grad"
    )


def _tree_nodes(expr, cap: int, sizes: dict) -> int:
    """The number of nodes of expr as a tree (shared subexpressions counted each time), or a
    number above cap as soon as it exceeds cap; iterative, memoised on the DAG in `sizes`."""
    stack = [(expr, False)]
    while stack:
        e, done = stack.pop()
        if e in sizes:
            continue
        args = getattr(e, "args", ())
        if done or not args:
            sizes[e] = 1 + sum(sizes[a] for a in args)
            if sizes[e] > cap:
                return sizes[e]
            continue
        stack.append((e, True))
        stack.extend((a, False) for a in args if a not in sizes)
    return sizes[expr]


__all__ = ["DEFAULT_MAX_OPS", "MAX_SYMBOLS", "SymbolicError", "SymbolicGradient", "symbolic_grad"]
