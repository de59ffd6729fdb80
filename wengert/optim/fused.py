"""Faster Adam/AdamW steps: in-place NumPy, and numexpr (optional) in three or four passes.

The maths is `adam.adam_rule`'s, which stays the reference; these only save memory traffic.
The textbook update makes about a dozen full passes over the parameters, each allocating a
fresh temporary. The in-place path writes into the state arrays and one scratch array, in the
reference's order of operations, so it equals the reference bit for bit. The numexpr path
evaluates each of m, v (v̂) and θ in one blocked, multi-threaded pass; it agrees to rounding
(same IEEE operations in the parameter's dtype, evaluated in another order of passes).

Which pays was measured with `bench/optimizer_step.py` (2-vCPU Xeon VM shared with other
work, NumPy 2.4, numexpr 2.14 on 2 threads; two runs). The in-place path beat the plain rule at
every size from 1024 elements: 1.15-1.8x up to 65,536 elements, 2-3x from 262,144 (where the
plain rule's fresh temporaries cost page faults), 2.0-2.1x on the 784-256-256-10 MLP's 269,322
float32 parameters. numexpr was slower than the plain rule below 262,144 elements (waking its
threads costs tens of µs a pass), slower than the in-place path at every float32 size, and
between 0.8x and 2.6x the plain rule above that, varying with the machine's load. So
`fused=None` (auto) takes the in-place path from INPLACE_MIN_SIZE elements up, and numexpr runs
only when asked for (`fused=True`): on a machine with many cores it may pay; measure there.

numexpr is imported on first use, so `import wengert` never needs it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import numpy as np

# Below this many elements the in-place path's extra calls cost as much as the plain rule's
# temporaries (measured: 1.03-1.05x at 256 elements, 1.2x at 1024).
INPLACE_MIN_SIZE = 1024

_NUMEXPR: list = []  # the module once imported, or None when missing


def numexpr_available() -> bool:
    """True when numexpr can be imported (looked up once)."""
    return _numexpr() is not None


def _numexpr():
    if not _NUMEXPR:
        found = importlib.util.find_spec("numexpr") is not None
        _NUMEXPR.append(importlib.import_module("numexpr") if found else None)
    return _NUMEXPR[0]


def choose(theta: np.ndarray, g: np.ndarray, fused: bool | None) -> Callable | None:
    """The fast path for this array, or None for the plain rule.

    `fused`: None (auto) = in-place NumPy from INPLACE_MIN_SIZE elements up, the plain rule
    below; True = numexpr whatever the size; False = the plain rule. A gradient of another
    dtype or memory layout than the parameter always takes the plain rule.
    """
    if fused is False or g.dtype != theta.dtype or not _contiguous(theta, g):
        return None
    if fused:
        return adam_numexpr
    return adam_inplace if theta.size >= INPLACE_MIN_SIZE else None


def _contiguous(*arrays: np.ndarray) -> bool:
    return all(a.flags.c_contiguous for a in arrays)


def _moments(theta: np.ndarray, state: dict, amsgrad: bool) -> tuple[np.ndarray, ...]:
    names = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq") if amsgrad else ("exp_avg", "exp_avg_sq")
    for name in names:
        if name not in state:
            state[name] = np.zeros_like(theta)
    state["step"] = state.get("step", 0) + 1
    return tuple(state[name] for name in names)


def adam_inplace(
    theta, g, state, *, lr, betas, eps, weight_decay, amsgrad, decoupled_weight_decay=False
) -> None:
    """Adam/AdamW in place with NumPy ufuncs and one scratch array (equals `adam_rule`)."""
    beta1, beta2 = betas
    moments = _moments(theta, state, amsgrad)
    m, v = moments[0], moments[1]
    k = state["step"]
    if weight_decay != 0:
        if decoupled_weight_decay:
            theta *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * theta
    tmp = np.subtract(g, m)
    tmp *= 1 - beta1
    m += tmp
    v *= beta2
    np.multiply(g, g, out=tmp)
    tmp *= 1 - beta2
    v += tmp
    if amsgrad:
        v = np.maximum(moments[2], v, out=moments[2])
    np.sqrt(v, out=tmp)
    tmp /= (1 - beta2**k) ** 0.5
    tmp += eps
    np.divide(m, tmp, out=tmp)
    tmp *= lr / (1 - beta1**k)
    theta -= tmp


def adam_numexpr(
    theta, g, state, *, lr, betas, eps, weight_decay, amsgrad, decoupled_weight_decay=False
) -> None:
    """Adam/AdamW in place through numexpr: m, v (v̂) and θ in one pass each."""
    beta1, beta2 = betas
    moments = _moments(theta, state, amsgrad)
    m, v = moments[0], moments[1]
    k = state["step"]
    real = theta.dtype.type  # constants in the parameter's dtype, so float32 stays float32
    grad, grad_values = "g", {"g": g}
    if weight_decay != 0 and not decoupled_weight_decay:
        grad, grad_values = "(g + wd * theta)", {"g": g, "theta": theta, "wd": real(weight_decay)}
    _run(f"m + c1 * ({grad} - m)", m, m=m, c1=real(1 - beta1), **grad_values)
    _run(f"b2 * v + c2 * {grad}**2", v, v=v, b2=real(beta2), c2=real(1 - beta2), **grad_values)
    if amsgrad:
        v = _run("where(vmax < v, v, vmax)", moments[2], vmax=moments[2], v=v)
    start, shrink = "theta", {}
    if weight_decay != 0 and decoupled_weight_decay:
        start, shrink = "theta * shrink", {"shrink": real(1 - lr * weight_decay)}
    corrected = {"step": real(lr / (1 - beta1**k)), "bc2": real((1 - beta2**k) ** 0.5)}
    expr = f"{start} - step * (m / (sqrt(v) / bc2 + eps))"
    _run(expr, theta, theta=theta, m=m, v=v, eps=real(eps), **corrected, **shrink)


# Compiled numexpr programs: evaluate() would parse and check the expression string at every
# call (~15 µs each, more than the work on a 4096-element array).
_PROGRAMS: dict = {}


def _run(expr: str, out: np.ndarray, **values) -> np.ndarray:
    """Evaluate `expr` over `values` (arrays and scalars of out's dtype) into `out`."""
    ne = _numexpr()
    key = (expr, out.dtype, tuple(values))
    program = _PROGRAMS.get(key)
    if program is None:
        kind = float if out.dtype == np.float32 else np.float64  # numexpr's names of the dtypes
        program = ne.NumExpr(expr, signature=[(name, kind) for name in values])
        _PROGRAMS[key] = program
    return program(*values.values(), out=out, ex_uses_vml=bool(ne.use_vml and "sqrt" in expr))


__all__ = ["INPLACE_MIN_SIZE", "adam_inplace", "adam_numexpr", "choose", "numexpr_available"]
