"""Forward mode: every value carries a tangent beside it, as a dual number does (jvp, jacfwd).

`jvp(f, x, v)` runs f once with its argument x carrying the tangent ẋ = v, the direction. Every
primitive applied while the jvp is in flight gives its result z = f(x_1, ..., x_n) the tangent

    ż = Σ_i (∂z/∂x_i) ẋ_i,

one term per argument that carries a tangent, each computed by the primitive's own tangent rule
(`Primitive.jvps`, beside its vector-Jacobian rule); this module only adds the terms. For the
lecture's program z = w x + b, y = sigmoid(z), L = (y - t)^2 / 2, seeded with ẇ = 1, ẋ = ḃ = 0:
ż = ẇ x, ẏ = y (1 - y) ż, L̇ = (y - t) ẏ, which is ∂L/∂w. One pass gives the Jacobian times one
direction, J v: forward mode costs one pass per input direction (`jacfwd`), reverse mode one
sweep per output (`jacobian`), so forward mode wins when f has fewer inputs than outputs.

Where tangents live: each jvp in flight is a *level*, a table from the Tensors made while it runs
to their tangents. `MODE.forward` holds the levels, outermost first, and `apply` hands every
result to them. A level's rules run with only the levels outside it switched on, so nested jvps
(`jacfwd(jacfwd(f))`) never mistake one another's tangents. Where nothing outside could
differentiate a tangent (no outer level, no `grad` or `jacobian` running), the rules run on
NumPy arrays alone, as the first-order reverse sweep does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from wengert._checks import refusal, what_came
from wengert.autodiff.functional import _check_argnums, _to_numpy, _transform
from wengert.autodiff.mode import MODE, enable_grad
from wengert.autodiff.ops import add_p, astype_p, broadcast_to_p, reshape_p, stack
from wengert.autodiff.ops.arithmetic import _data
from wengert.autodiff.primitive import Primitive, Without, apply
from wengert.autodiff.tensor import Tensor, as_array


class Levels:
    """The jvps in flight, outermost first: each a dict id(Tensor) -> (Tensor, tangent).

    The Tensor is kept beside its tangent, so that its id cannot be reused while the level lives;
    the table, and the values it holds, go when the jvp returns.
    """

    __slots__ = ("levels",)

    def __init__(self, levels: tuple[dict, ...]) -> None:
        self.levels = levels

    def push(self, out: Tensor, prim: Primitive, args: tuple, params: dict) -> None:
        """Give `out`, just computed by `prim` from `args`, its tangent at every level."""
        # Inside no_grad() results are constants: they carry no tangent, as they record no graph
        # (PyTorch's forward mode ignores no_grad; here one switch says "not differentiated").
        # An integer or boolean result has no tangent either: it does not vary continuously.
        if not MODE.enabled or out._data.dtype.kind != "f":
            return
        # Outermost first: the rules of an inner level read `out` with its outer tangents.
        for k, level in enumerate(self.levels):
            tangents = [_lookup(level, a) for a in args]
            if any(t is not None for t in tangents):
                tangent = _tangent(prim, out, args, params, tangents, self.levels[:k])
                if tangent is not None:
                    level[id(out)] = (out, tangent)


def _lookup(level: dict, a):
    entry = level.get(id(a)) if isinstance(a, Tensor) else None
    return None if entry is None else entry[1]


def _tangent(prim, out: Tensor, args, params, tangents, outer: tuple[dict, ...]):
    """Σ_i rule_i(ẋ_i, ans, *args, **params) over the arguments i that carry a tangent ẋ_i."""
    rules = prim.jvps
    if rules is None or isinstance(rules, Without):
        why = f" ({rules.reason})" if rules is not None else ""
        raise NotImplementedError(
            f"forward mode reached the primitive {prim.name!r}, which has no tangent rule{why}: "
            f"give its Primitive(...) record jvps=..., or use reverse mode (wg.jacobian)"
        )
    ans = out
    if not outer and MODE.depth == 0:
        # Nothing will differentiate this tangent: run the rules on the arrays, NumPy alone.
        ans, args, tangents = out._data, [_data(a) for a in args], [_data(t) for t in tangents]
    saved = MODE.forward
    MODE.forward = Levels(outer) if outer else None
    try:
        total = None
        for i, t in enumerate(tangents):
            if t is not None and rules[i] is not None:
                term = rules[i](t, ans, *args, **params)
                total = term if total is None else total + term
        return None if total is None else _fit(total, out)
    finally:
        MODE.forward = saved


def _fit(t, out: Tensor):
    """The tangent t with the result's shape and dtype.

    A rule may give a term of its argument's shape, which broadcasting would repeat (add hands
    on its argument's tangent unchanged): the repetition is made here, in one place.
    """
    if not isinstance(t, Tensor):
        t = np.asarray(t)
    if t.shape != out.shape:
        t = broadcast_to_p(t, shape=out.shape)
    if t.dtype != out.dtype:
        t = astype_p(t, dtype=out.dtype)
    return t


@contextlib.contextmanager
def _in_flight(level: dict):
    saved = MODE.forward
    MODE.forward = Levels((*saved.levels, level) if saved is not None else (level,))
    try:
        yield
    finally:
        MODE.forward = saved


# ----------------------------------------------------------------------------- the functional API
def jvp(
    f: Callable[..., Tensor],
    x: ArrayLike | Tensor | tuple[ArrayLike | Tensor, ...],
    v: ArrayLike | Tensor | tuple[ArrayLike | Tensor, ...],
) -> tuple[np.ndarray | float | Tensor, np.ndarray | float | Tensor]:
    """(f(x), J v): the value of f at x and its derivative along v, by one forward pass.

    J = ∂f/∂x is the Jacobian at x, so J v = d/dε f(x + ε v) at ε = 0 (JAX's `jax.jvp`,
    PyTorch's `torch.func.jvp`). v must have the shape of x. To differentiate with respect to
    several arguments at once, pass tuples, as JAX's primals and tangents: `jvp(f, (x1, x2),
    (v1, v2))` calls f(x1, x2) and gives J1 v1 + J2 v2. A tuple always means several arguments;
    pass one vector as a list or an ndarray. Other arguments of f are closed over:
    `jvp(lambda w: loss(w, data), w, v)`.

    x must be floating-point: a tangent is a direction in a real space, and an integer x has
    none (JAX refuses it too); wg.jacfwd, like wg.jacobian, converts integers to float64.

    Returns NumPy arrays, or Python floats for 0-d results; the tangent has f(x)'s shape and
    dtype, and is 0 where f(x) does not depend on x. Called inside another transform (grad,
    jacobian, an outer jvp) or on Tensors that require grad, it returns Tensors that stay
    connected, so transforms compose: `jvp(wg.grad(f), x, v)` is the Hessian-vector product H v
    (forward-over-reverse), as is `wg.grad(lambda x: jvp(f, x, v)[1])` (reverse-over-forward).

    Conventions: inside `wg.no_grad()`, through `detach()` and through a copy, `wg.tensor(t)`,
    the tangent stops (those values are constants), unlike PyTorch's forward mode, which no_grad
    does not stop. At a kink or a tie a primitive's tangent rule takes the same derivative as
    its reverse rule, so that forward and reverse mode give one Jacobian: relu'(0) = 0,
    |x|'(0) = 0; tied maxima (wg.max, wg.maximum) share equally, so the tangent of max(x) is the
    mean of the tangents of the tied elements (as JAX does; it is not the one-sided directional
    derivative, which would be the largest of them).

    Cost: each primitive of f runs once, and its tangent rule a few primitives more (two or
    three times the primitives of f in all).

    >>> wg.jvp(lambda x: x**3, 2.0, 1.0)    # (x^3, 3 x^2 v) at x = 2, v = 1
    (8.0, 12.0)
    """
    return _jvp(f, x, v, "jvp")


def _jvp(f: Callable, x, v, owner: str):
    """jvp, whose refusal of f's result names `owner` (jvp or jacfwd)."""
    several = isinstance(x, tuple)
    pairs = _check_inputs(x, v, several)
    nested = _nested([a for pair in pairs for a in pair])
    level: dict = {}
    with enable_grad(), _transform() if nested else contextlib.nullcontext(), _in_flight(level):
        inputs = [_seed(level, a, t) for a, t in pairs]
        out, tangent = _result(f(*inputs), level, f, nested, owner)
    if nested:
        return out, tangent
    return _to_numpy(out), _to_numpy(tangent)


def jacfwd(f: Callable, argnums: int = 0) -> Callable:
    """The function that returns the Jacobian of f by forward mode: shape f(x).shape + x.shape.

    One jvp per element of x, along the unit vectors e_1, ..., e_n: column j of the Jacobian is
    J e_j, so a function of n inputs costs n forward passes. It equals wg.jacobian(f), which
    runs one reverse sweep per output element: jacfwd is the cheaper for functions with fewer
    inputs than outputs. The other arguments are passed to f unchanged; integer arguments are
    converted to float64, as wg.jacobian does.
    """

    def jacfwd_f(*args, **kwargs):
        (num,) = _check_argnums(argnums, len(args), "jacfwd", single=True)
        x = args[num]
        if not (isinstance(x, Tensor) and x.requires_grad):
            x = as_array(x, name=f"argument {num}", owner="jacfwd")
            x = x if x.dtype.kind == "f" else x.astype(np.float64)

        def f_of_x(x_k):
            call = list(args)
            call[num] = x_k
            return f(*call, **kwargs)

        f_of_x.__name__ = getattr(f, "__name__", "f")  # what a refusal of its result names
        return _columns(f_of_x, x)

    jacfwd_f.__name__ = f"jacfwd_{getattr(f, '__name__', 'f')}"
    jacfwd_f.__doc__ = f"The Jacobian of {getattr(f, '__name__', 'f')} (argnums={argnums})."
    jacfwd_f.__wrapped__ = f  # f's parameter names, for inspect.signature
    return jacfwd_f


# ----------------------------------------------------------------------------- helpers
def _columns(f_of_x: Callable, x):
    """The Jacobian of f_of_x at x, one jvp per element of x: shape f(x).shape + x.shape."""
    shape, n = tuple(x.shape), int(np.prod(x.shape))
    if n == 0:
        out, _ = _jvp(f_of_x, x, np.zeros(shape, dtype=x.dtype), "jacfwd")
        return np.zeros(np.shape(_data(out)) + shape, dtype=x.dtype)
    columns = []
    for j in range(n):
        e = np.zeros(n, dtype=x.dtype)
        e[j] = 1
        out, column = _jvp(f_of_x, x, e.reshape(shape), "jacfwd")
        columns.append(column)
    if isinstance(columns[0], Tensor):
        return reshape_p(stack(columns, axis=-1), shape=out.shape + shape)
    return np.stack(columns, axis=-1).reshape(np.shape(out) + shape)


def _check_inputs(x, v, several: bool) -> list[tuple]:
    """[(x_i, v_i)]: each x_i a float ndarray (or a Tensor), v_i an array of its shape."""
    if not several:
        if isinstance(v, tuple):
            fix = "For several arguments make x a tuple too: jvp(f, (x1, x2), (v1, v2))."
            expected = "one array of x's shape (x is one argument)"
            raise refusal("jvp", "v", expected, f"a tuple of {len(v)}", TypeError, fix)
        return [_check_pair(x, v, "x", "v")]
    if not x:
        fix = "Pass at least one argument to differentiate."
        raise refusal("jvp", "x", "an argument or a non-empty tuple of them", "()", fix=fix)
    if not isinstance(v, tuple) or len(v) != len(x):
        got = f"a tuple of {len(v)}" if isinstance(v, tuple) else what_came(v)
        expected = f"a tuple of {len(x)} tangents, one per argument (x is a tuple of {len(x)})"
        raise refusal("jvp", "v", expected, got, TypeError)
    pairs = enumerate(zip(x, v, strict=True))
    return [_check_pair(a, t, f"x[{i}]", f"v[{i}]") for i, (a, t) in pairs]


def _check_pair(x, v, x_name: str, v_name: str) -> tuple:
    data = x._data if isinstance(x, Tensor) else as_array(x, name=x_name, owner="jvp")
    if data.dtype.kind != "f":
        expected = "floating-point (a tangent is a direction in a real space)"
        fix = f"Pass float data, e.g. 2.0 rather than 2, or np.asarray({x_name}, dtype=float)."
        raise refusal("jvp", x_name, expected, f"dtype {data.dtype}", TypeError, fix)
    tangent = v._data if isinstance(v, Tensor) else as_array(v, name=v_name, owner="jvp")
    if tangent.shape != data.shape:
        expected = f"of the shape of {x_name}, {data.shape}"
        raise refusal("jvp", v_name, expected, f"shape {tangent.shape}")
    if isinstance(v, Tensor):
        tangent = v if v.dtype == data.dtype else astype_p(v, dtype=data.dtype)
    else:
        tangent = tangent.astype(data.dtype, copy=False)
    return (x if isinstance(x, Tensor) and x.requires_grad else data), tangent


def _nested(values) -> bool:
    """True inside another transform, or when an input is a node of an outer graph."""
    return (
        MODE.forward is not None
        or MODE.depth > 0
        or any(isinstance(a, Tensor) and a.requires_grad for a in values)
    )


def _seed(level: dict, x, tangent) -> Tensor:
    """The input f sees: a fresh graph variable carrying the tangent at this level."""
    # An outer variable gets a new node above it, as functional._wrap makes. Fresh data becomes a
    # variable that requires grad, so that a grad or jacobian inside f takes it as one and keeps
    # its tangent (forward-over-reverse); the price is recording f's graph while the jvp runs.
    var = apply(add_p, x, 0) if isinstance(x, Tensor) else Tensor(x, requires_grad=True)
    level[id(var)] = (var, tangent)
    return var


def _result(out, level: dict, f, nested: bool, owner: str) -> tuple:
    """f's result as a Tensor, and its tangent at this level (zeros if it does not depend on x)."""
    if not isinstance(out, (Tensor, np.ndarray, np.generic, int, float)):
        name = f"the result of f ({getattr(f, '__name__', 'f')})"
        fix = (
            "For several outputs return one Tensor, e.g. wg.stack([a, b]) or "
            "wg.concatenate([a, b])."
        )
        got = "None" if out is None else f"a {type(out).__name__}"
        raise refusal(owner, name, "a Tensor, an array or a number", got, TypeError, fix)
    out = out if isinstance(out, Tensor) else Tensor(as_array(out, name="f's result", owner=owner))
    entry = level.get(id(out))
    if entry is not None:
        tangent = entry[1]
    else:
        kind = out._data.dtype.kind
        tangent = np.zeros(out.shape, dtype=out.dtype if kind == "f" else np.float64)
    if nested and not isinstance(tangent, Tensor):
        tangent = Tensor._make(np.asarray(tangent), False, None, None, None)
    return out, tangent


__all__ = ["Levels", "jacfwd", "jvp"]
