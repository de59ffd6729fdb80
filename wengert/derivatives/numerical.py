"""Numerical differentiation: forward, backward and central differences, and Richardson's.

Each partial derivative moves one element x_i of one argument by a step h and evaluates f again:

    forward      D+ = (f(x + h e_i) - f(x)) / h                   error O(h)
    backward     D- = (f(x) - f(x - h e_i)) / h                   error O(h)
    central      D0 = (f(x + h e_i) - f(x - h e_i)) / (2h)        error O(h^2)
    richardson   DR = (4 D0(h/2) - D0(h)) / 3                     error O(h^4)

(Taylor's series: the forward difference is f' + h f''/2 + ..., the central one cancels the even
terms, f' + h^2 f'''/6 + ..., and Richardson's combination cancels the h^2 term of the central
one.) A smaller h shrinks that truncation error, but f is only known to about eps_mach |f|, and a
difference of two values divides that round-off by h. The total, truncation + round-off, is
smallest where the two balance:

    forward/backward   h ~ eps_mach^(1/2)      error ~ eps_mach^(1/2)   (1.5e-8 in float64)
    central            h ~ eps_mach^(1/3)      error ~ eps_mach^(2/3)   (3.7e-11)
    richardson         h ~ eps_mach^(1/5)      error ~ eps_mach^(4/5)   (3e-13)

so the default step is that power of the machine epsilon of the argument's own dtype, times
max(1, |x_i|) so that it stays relative for large x_i. The step actually taken is
h = (x_i + h) - x_i, computed in the argument's dtype: x_i + h is rounded to that dtype, and
dividing by the rounded step instead of the intended one removes an error of order eps_mach/h.

A user's `eps` replaces the default: it is the absolute step h (as PyTorch's `eps` and SciPy's
`epsilon` are), not scaled by |x_i|.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from wengert._checks import POSITIVE, Options, check, refusal
from wengert.autodiff.functional import _check_argnums
from wengert.autodiff.mode import no_grad
from wengert.autodiff.tensor import Tensor, as_array, tensor

METHODS = ("forward", "backward", "central", "richardson")

# The root of eps_mach that balances truncation against round-off (see the module docstring).
_STEP_ROOT = {"forward": 2, "backward": 2, "central": 3, "richardson": 5}


def numerical_grad(
    f: Callable[..., object],
    *args: ArrayLike | Tensor,
    argnums: int | tuple[int, ...] = 0,
    method: str = "central",
    eps: float | None = None,
) -> float | np.ndarray | tuple[float | np.ndarray, ...]:
    """The gradient of scalar f with respect to args[argnums], by finite differences.

    f returns a scalar: a one-element Tensor or ndarray, a NumPy scalar or a Python number.
    `args` are ndarrays, Python numbers or Tensors (their data is used; f is called with a
    Tensor in their place). Every element of a copy of each differentiated argument is moved in
    the argument's own dtype; integer arguments are converted to float64 first.

    `method` is "forward", "backward", "central" or "richardson"; `eps` is the absolute step h,
    by default a power of the dtype's machine epsilon times max(1, |x_i|) (module docstring).

    Returns, like `wengert.grad`, an ndarray of the argument's shape and dtype (a Python float
    for a 0-d or Python-number argument), or a tuple of them when argnums is a tuple.

    >>> numerical_grad(lambda x: (x**2).sum(), np.array([1.0, 2.0]))
    array([2., 4.])
    """
    _check_method(method, "numerical_grad")
    _check_eps(eps, "numerical_grad")
    nums = _check_argnums(argnums, len(args), "numerical_grad")
    points = list(args)
    for n in nums:
        points[n] = _as_point(args[n], n, "numerical_grad")
    f0 = _evaluate(f, points, None, None)
    if f0.size != 1:
        got = f"an array of shape {f0.shape} from {_name(f)}"
        fix = "Reduce it (e.g. .sum()) or use numerical_jacobian."
        raise refusal("numerical_grad", "f's value", "a scalar (one element)", got, fix=fix)
    grads = [_gradient_of(f, points, n, f0.reshape(()), method, eps) for n in nums]
    return grads[0] if isinstance(argnums, (int, np.integer)) else tuple(grads)


def _gradient_of(
    f: Callable[..., object],
    points: list,
    n: int,
    f0: np.ndarray,
    method: str,
    eps: float | None,
) -> float | np.ndarray:
    """numerical_grad's result for argument n: in its dtype, a float for a 0-d argument."""
    x = points[n].data
    _check_step_taken(x, method, eps, "numerical_grad")
    partials = _differentiate(lambda xn: _evaluate(f, points, n, xn), x, f0, method, eps)
    partials = partials.astype(x.dtype)
    return float(partials) if partials.ndim == 0 else partials


def numerical_jacobian(
    f: Callable[..., object],
    x: ArrayLike | Tensor,
    method: str = "central",
    eps: float | None = None,
) -> float | np.ndarray:
    """The Jacobian of f at x by finite differences: shape f(x).shape + x.shape.

    Column j is the derivative of every output with respect to x.flat[j], by `method` with the
    step of `numerical_grad`. The result has x's dtype (a Python float when both f(x) and x are
    0-d), like `wengert.jacobian`, which it is meant to be compared with.
    """
    _check_method(method, "numerical_jacobian")
    _check_eps(eps, "numerical_jacobian")
    points = [_as_point(x, 0, "numerical_jacobian")]
    f0 = _evaluate(f, points, None, None)
    data = points[0].data
    _check_step_taken(data, method, eps, "numerical_jacobian")
    jac = _differentiate(lambda xn: _evaluate(f, points, 0, xn), data, f0, method, eps)
    jac = jac.astype(data.dtype)
    return float(jac) if jac.ndim == 0 else jac


# ----------------------------------------------------------------------------- the differences
def _differentiate(evaluate, x: np.ndarray, f0: np.ndarray, method: str, eps) -> np.ndarray:
    """d evaluate / d x for every element of x: float64, shape f0.shape + x.shape."""
    out = np.empty((*f0.shape, x.size), dtype=np.float64)
    work = x.copy()
    flat = work.reshape(-1)  # a view: moving flat[i] moves work
    for i in range(x.size):
        out[..., i] = _partial(evaluate, work, flat, i, method, eps, f0)
    return out.reshape(f0.shape + x.shape)


def _partial(evaluate, work, flat, i, method, eps, f0):
    h = _step(flat[i], method, eps)
    if method == "forward":
        return _one_sided(evaluate, work, flat, i, h, f0)
    if method == "backward":
        return _one_sided(evaluate, work, flat, i, -h, f0)
    if method == "central":
        return _central(evaluate, work, flat, i, h)
    return (4 * _central(evaluate, work, flat, i, h / 2) - _central(evaluate, work, flat, i, h)) / 3


def _step(xi, method: str, eps) -> float:
    if eps is not None:
        return float(eps)
    eps_mach = float(np.finfo(xi.dtype).eps)
    return eps_mach ** (1 / _STEP_ROOT[method]) * max(1.0, abs(float(xi)))


def _one_sided(evaluate, work, flat, i, h, f0):
    value, taken = _moved(evaluate, work, flat, i, h)
    return (value - f0) / taken


def _central(evaluate, work, flat, i, h):
    above, up = _moved(evaluate, work, flat, i, h)
    below, down = _moved(evaluate, work, flat, i, -h)
    return (above - below) / (up - down)


def _moved(evaluate, work, flat, i, h):
    """evaluate(x) with x_i moved by about h in x's dtype, and the step actually taken."""
    xi = flat[i]
    flat[i] = xi + flat.dtype.type(h)
    # h = (x + h) - x: the rounded step, exactly representable, is what we divide by.
    taken = float(flat[i]) - float(xi)
    try:
        value = evaluate(work)
    finally:
        flat[i] = xi
    return value, taken


# ----------------------------------------------------------------------------- arguments
class _Point:
    """A differentiated argument: its float data and the kind f was given (array/number/Tensor)."""

    __slots__ = ("data", "kind")

    def __init__(self, data: np.ndarray, kind: str) -> None:
        self.data = data
        self.kind = kind

    def rebuild(self, data: np.ndarray):
        if self.kind == "tensor":
            return tensor(data)  # a copy: f may keep it
        if self.kind == "number":
            return float(data)
        return data.copy()


def _as_point(arg, n: int, owner: str) -> _Point:
    kind = "tensor" if isinstance(arg, Tensor) else "array"
    if isinstance(arg, (int, float)) and not isinstance(arg, bool):
        kind = "number"
    data = as_array(arg, name=f"argument {n}", owner=owner)
    if data.dtype.kind == "c":
        raise refusal(owner, f"argument {n}", "real", f"dtype {data.dtype}", TypeError)
    if data.dtype.kind != "f":
        data = data.astype(np.float64)
    return _Point(data, kind)


def _evaluate(f, points, n, xn) -> np.ndarray:
    """f at `points` (argument n replaced by xn when n is not None), as a float64 array."""
    call = [p.rebuild(p.data) if isinstance(p, _Point) else p for p in points]
    if n is not None:
        call[n] = points[n].rebuild(xn)
    # No graph: nothing here is differentiated by reverse mode (a grad inside f turns it back on).
    with no_grad():
        out = f(*call)
    data = out.data if isinstance(out, Tensor) else out
    return np.array(data, dtype=np.float64)


# ----------------------------------------------------------------------------- checks
def _check_method(method, owner: str) -> None:
    check(owner, "method", method, Options(METHODS))


def _check_eps(eps, owner: str) -> None:
    fix = "eps is the step h; None gives a step scaled to the dtype and |x|."
    check(owner, "eps", eps, POSITIVE, None, fix=fix)


# The steps each method takes from x, in units of h (Richardson's also takes h/2).
_STEPS = {"forward": (1,), "backward": (-1,), "central": (1, -1), "richardson": (1, -1, 0.5, -0.5)}


def _check_step_taken(x: np.ndarray, method: str, eps, owner: str) -> None:
    """Refuse, before f is called, a given step h that rounds away at some x_i (x + h == x).
    The default step, scaled to |x_i|, never does."""
    if eps is None:
        return
    with np.errstate(over="ignore", invalid="ignore"):
        lost = np.zeros(x.shape, dtype=bool)
        for unit in _STEPS[method]:
            lost |= (x + x.dtype.type(unit * eps)) == x
    if lost.any():
        at = float(x[np.unravel_index(np.argmax(lost), x.shape)])
        raise refusal(
            owner,
            "eps",
            f"large enough not to be lost in rounding at x = {at!r} ({x.dtype})",
            repr(eps),
            fix="Pass a larger eps, or eps=None for a step scaled to |x|.",
        )


def _name(f) -> str:
    return getattr(f, "__name__", "f")


__all__ = ["METHODS", "numerical_grad", "numerical_jacobian"]
