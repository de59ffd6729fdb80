"""The functional API: grad, value_and_grad, jacobian, hessian, hvp.

They take functions of NumPy arrays (or Python numbers, or Tensors) and return NumPy arrays
(Python floats for 0-d results). Called on Tensors that require grad, as when one is nested in
another (`grad(grad(f))`), they return Tensors that stay connected to the outer graph.

Each call wraps the differentiated arguments in fresh nodes, so a nested call cannot confuse
its own variable with an outer one (`grad(lambda x: grad(lambda y: x * y)(x))` is 1, not 2).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from wengert._checks import refusal, what_came
from wengert.autodiff.backward import sweep
from wengert.autodiff.mode import MODE, enable_grad
from wengert.autodiff.ops import add_p, reshape_p, stack
from wengert.autodiff.primitive import apply
from wengert.autodiff.tensor import Tensor, as_array


def grad(f: Callable, argnums: int | tuple[int, ...] = 0) -> Callable:
    """The function that returns the gradient of scalar-valued f with respect to `argnums`.

    >>> wg.grad(lambda w: (w * 3.0 - 1.0) ** 2)(1.0)    # 2 (3w - 1) 3 at w = 1
    12.0

    With a tuple of argnums it returns a tuple of gradients, one per argument.
    """
    return _grad(f, argnums, "grad")


def _grad(f: Callable, argnums, owner: str) -> Callable:
    """grad, whose refusals name `owner` (the function the user called: grad, hessian, hvp)."""
    value_and_grad_f = _value_and_grad(f, argnums, owner)

    def grad_f(*args, **kwargs):
        return value_and_grad_f(*args, **kwargs)[1]

    grad_f.__name__ = f"grad_{getattr(f, '__name__', 'f')}"
    grad_f.__doc__ = f"The gradient of {getattr(f, '__name__', 'f')} (argnums={argnums})."
    grad_f.__wrapped__ = f  # inspect.signature (and wg.trace, wg.compile) see f's parameters
    return grad_f


def value_and_grad(f: Callable, argnums: int | tuple[int, ...] = 0) -> Callable:
    """The function that returns (f(*args), the gradient of f with respect to `argnums`)."""
    return _value_and_grad(f, argnums, "value_and_grad")


def _value_and_grad(f: Callable, argnums, owner: str) -> Callable:
    """value_and_grad, whose refusals name `owner` (the function the user called)."""

    def value_and_grad_f(*args, **kwargs):
        nums = _check_argnums(argnums, len(args), owner)
        nested = _nested(args, nums)
        with enable_grad(), _transform():
            xs, call_args = _wrap(args, nums, owner)
            out = f(*call_args, **kwargs)
            out = _check_scalar(out, f, owner)
            gs = _cotangents(
                out, xs, np.ones_like(out._data) if out.requires_grad else None, create_graph=nested
            )
        result = gs[0] if isinstance(argnums, int) else tuple(gs)
        if nested:
            return out, result
        return _to_numpy(out), _to_numpy(result)

    value_and_grad_f.__name__ = f"value_and_grad_{getattr(f, '__name__', 'f')}"
    value_and_grad_f.__wrapped__ = f  # f's parameter names, for inspect.signature
    return value_and_grad_f


def jacobian(f: Callable, argnums: int = 0) -> Callable:
    """The function that returns the Jacobian of f: shape f(x).shape + x.shape.

    One reverse sweep per output element (the graph is kept between them).
    """
    return _jacobian(f, argnums, "jacobian")


def _jacobian(f: Callable, argnums, owner: str) -> Callable:
    """jacobian, whose refusals name `owner` (jacobian or hessian)."""

    def jacobian_f(*args, **kwargs):
        (num,) = _check_argnums(argnums, len(args), owner, single=True)
        nested = _nested(args, (num,))
        with enable_grad(), _transform():
            (x,), call_args = _wrap(args, (num,), owner)
            out = f(*call_args, **kwargs)
            out = out if isinstance(out, Tensor) else Tensor(out)
            rows = []
            for k in range(out.size):
                seed = np.zeros(out.size, dtype=out.dtype)
                seed[k] = 1
                (g,) = _cotangents(
                    out, [x], seed.reshape(out.shape), create_graph=nested, retain=True
                )
                rows.append(g)
            jac = (
                reshape_p(stack(rows), shape=out.shape + x.shape)
                if rows
                else Tensor(np.zeros(out.shape + x.shape, dtype=x.dtype))
            )
        return jac if nested else _to_numpy(jac)

    jacobian_f.__name__ = f"{owner}_{getattr(f, '__name__', 'f')}"
    jacobian_f.__wrapped__ = f  # f's parameter names, for inspect.signature
    return jacobian_f


def hessian(f: Callable, argnums: int = 0) -> Callable:
    """The function that returns the Hessian of scalar f: the Jacobian of its gradient."""
    return _jacobian(_grad(f, argnums, "hessian"), argnums, "hessian")


def hvp(
    f: Callable[..., Tensor], x: ArrayLike | Tensor, v: ArrayLike | Tensor, *args: object
) -> np.ndarray | float:
    """The Hessian of scalar f at x times the vector v, by two reverse sweeps (no Hessian built).

    `args` are passed to f after x and are not differentiated.
    """
    v = as_array(v, name="v", owner="hvp")
    x_shape = as_array(x, name="x", owner="hvp").shape
    if v.shape != x_shape:
        raise refusal("hvp", "v", f"of the shape of x, {x_shape}", f"shape {v.shape}")
    grad_f = _grad(f, 0, "hvp")

    def directional(y, *rest):
        return (grad_f(y, *rest) * v).sum()

    return _grad(directional, 0, "hvp")(x, *args)


# ----------------------------------------------------------------------------- helpers
def _check_argnums(argnums, nargs: int, owner: str, single: bool = False) -> tuple[int, ...]:
    if isinstance(argnums, (int, np.integer)) and not isinstance(argnums, bool):
        nums = (int(argnums),)
    elif (
        isinstance(argnums, tuple)
        and not single
        and argnums
        and all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in argnums)
    ):
        nums = tuple(int(n) for n in argnums)
    else:
        kind = "an int" if single else "an int or a non-empty tuple of ints"
        raise refusal(owner, "argnums", kind, what_came(argnums), TypeError)
    for n in nums:
        if not -nargs <= n < nargs:
            count = f"{nargs} positional argument{'s' * (nargs != 1)}"
            expected = f"in [{-nargs}, {nargs}) for a call with {count}"
            raise refusal(owner, "argnums", expected, what_came(argnums))
    nums = tuple(n % nargs for n in nums)
    if len(set(nums)) != len(nums):
        twice = next(n for n in nums if nums.count(n) > 1)
        got = f"{argnums!r}, which names argument {twice} twice"
        raise refusal(owner, "argnums", "distinct arguments", got)
    return nums


def _nested(args, nums) -> bool:
    """True inside another transform, or when an argument is a node of an outer graph."""
    return MODE.depth > 0 or any(
        isinstance(args[n], Tensor) and args[n].requires_grad for n in nums
    )


@contextlib.contextmanager
def _transform():
    MODE.depth += 1
    try:
        yield
    finally:
        MODE.depth -= 1


def _wrap(args, nums, owner: str):
    """Fresh graph inputs for the arguments in nums; the other arguments pass through."""
    call_args = list(args)
    xs = []
    for n in nums:
        a = args[n]
        if isinstance(a, Tensor) and a.requires_grad:
            x = apply(add_p, a, 0)  # a new node above the outer variable, not the variable
        else:
            data = as_array(a, name=f"argument {n}", owner=owner)
            if data.dtype.kind != "f":
                data = data.astype(np.float64)
            x = Tensor(data, requires_grad=True)
        xs.append(x)
        call_args[n] = x
    return xs, call_args


def _check_scalar(out, f, owner: str) -> Tensor:
    out = out if isinstance(out, Tensor) else Tensor(out)
    if out.size != 1:
        name = f"the result of f ({getattr(f, '__name__', 'f')})"
        fix = "For a vector-valued function use wg.jacobian, or reduce the output (e.g. .sum())."
        raise refusal(owner, name, "a scalar (one element)", f"shape {out.shape}", fix=fix)
    return out


def _cotangents(out: Tensor, xs, seed, *, create_graph: bool, retain: bool = False):
    """d(seed . out)/dx for each x in xs (zeros where out does not depend on x)."""
    if MODE.compiler is not None:  # wengert.compile is tracing: it writes this sweep out
        return MODE.compiler(out, xs, seed)
    if seed is None or not out.requires_grad:
        return [_zeros_like(x, create_graph) for x in xs]
    stop = frozenset(id(x) for x in xs)
    if create_graph:
        seed = Tensor._make(np.asarray(seed, dtype=out.dtype), False, None, None, None)
    _, grads = sweep(
        out, seed, create_graph=create_graph, retain_graph=create_graph or retain, stop=stop
    )
    result = []
    for x in xs:
        g = grads.get(id(x))
        if g is None:
            g = _zeros_like(x, create_graph)
        result.append(g)
    return result


def _zeros_like(x: Tensor, as_tensor: bool):
    z = np.zeros_like(x._data)
    return Tensor._make(z, False, None, None, None) if as_tensor else z


def _to_numpy(value):
    if isinstance(value, tuple):
        return tuple(_to_numpy(v) for v in value)
    data = value._data if isinstance(value, Tensor) else np.asarray(value)
    if data.ndim == 0:
        return float(data) if data.dtype.kind == "f" else data.item()
    return np.array(data, copy=True)
