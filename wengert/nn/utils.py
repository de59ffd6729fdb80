"""Gradient clipping: rescale the gradients of a model's parameters between backward and step.

Both functions follow PyTorch's `torch.nn.utils` so that code written for it carries over:

    clip_grad_norm_   ‖g‖ = (Σ_i Σ_j |g_ij|^p)^(1/p) over every gradient as if they were one
                      concatenated vector (p = inf: max_ij |g_ij|); each gradient is multiplied
                      by min(1, max_norm / (‖g‖ + 1e-6)) in place; ‖g‖ is returned
    clip_grad_value_  every gradient entry is clamped to [-clip_value, clip_value] in place

The 1e-6 in the scale factor is PyTorch's: it keeps a zero gradient finite, and it makes a
clipped norm come out a hair below max_norm rather than exactly on it. Parameters whose `.grad`
is None are skipped. A gradient that is a Tensor (after `backward(create_graph=True)`) has its
data rescaled; the clipping itself is never recorded.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Real

import numpy as np

from wengert._checks import Boolean, Interval, check, refusal
from wengert.autodiff.tensor import Tensor

MAX_NORM = Interval(Real, 0, math.inf, closed="both")
NORM_TYPE = Interval(Real, 0, math.inf, closed="right")
CLIP_VALUE = Interval(Real, 0, None)
PARAMETERS = "a Tensor or an iterable of Tensors"
FIX = "Pass model.parameters()."


def _grads(parameters: Tensor | Iterable[Tensor], owner: str) -> list[np.ndarray]:
    """The gradient arrays of `parameters` (one Tensor or an iterable of them), None skipped."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    elif not isinstance(parameters, Iterable):
        got = f"a {type(parameters).__name__}"
        raise refusal(owner, "parameters", PARAMETERS, got, TypeError, FIX)
    arrays = []
    for p in parameters:
        if not isinstance(p, Tensor):
            got = f"an item of type {type(p).__name__}"
            raise refusal(owner, "parameters", PARAMETERS, got, TypeError, FIX)
        g = p.grad
        if g is None:
            continue
        if isinstance(g, Tensor):
            g = g.data
        elif not (isinstance(g, np.ndarray) and g.flags.writeable):
            # a .grad set by hand (a list, a read-only array): give the parameter its own array
            p.grad = g = np.array(g, dtype=p.dtype, copy=True)
        arrays.append(g)
    return arrays


def _total_norm(grads: list[np.ndarray], norm_type: float) -> float:
    """The p-norm of all gradients as one vector, in float64."""
    if not grads:
        return 0.0
    if norm_type == math.inf:
        return float(max(np.max(np.abs(g), initial=0.0) for g in grads))
    if norm_type == 2.0:
        flat = [g.astype(np.float64, copy=False).ravel() for g in grads]
        return math.sqrt(sum(float(np.dot(x, x)) for x in flat))
    total = sum(float(np.sum(np.abs(g.astype(np.float64)) ** norm_type)) for g in grads)
    return total ** (1.0 / norm_type)


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> float:
    """Rescale the gradients of `parameters` in place so that their total norm is at most
    `max_norm`; return the total norm they had before (a float).

    `parameters` is one Tensor or an iterable of Tensors (`model.parameters()`); those whose
    `.grad` is None are skipped. The total norm is the `norm_type`-norm of all gradients
    concatenated (`math.inf` for the largest absolute entry); every gradient is multiplied by
    min(1, max_norm / (total_norm + 1e-6)), as PyTorch does. With `error_if_nonfinite=True` a
    NaN or infinite total norm raises RuntimeError (PyTorch's type) and changes nothing;
    otherwise the gradients are scaled by the (non-finite) factor as PyTorch does.
    """
    owner = "clip_grad_norm_"
    check(owner, "max_norm", max_norm, MAX_NORM)
    check(owner, "norm_type", norm_type, NORM_TYPE)
    check(owner, "error_if_nonfinite", error_if_nonfinite, Boolean())
    max_norm, norm_type = float(max_norm), float(norm_type)
    grads = _grads(parameters, owner)
    total = _total_norm(grads, norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"{owner}: the total {norm_type:g}-norm of the gradients must be finite; got "
            f"{total}. Nothing was changed; find the step that made it non-finite, or pass "
            f"error_if_nonfinite=False to scale anyway."
        )
    coef = max_norm / (total + 1e-6)
    if coef < 1.0 or math.isnan(coef):
        with np.errstate(invalid="ignore"):  # inf * 0 is NaN, as in PyTorch; no warning
            for g in grads:
                g *= coef
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient entry of `parameters` to [-clip_value, clip_value], in place.

    `parameters` is one Tensor or an iterable of Tensors; those whose `.grad` is None are
    skipped. NaN entries stay NaN, as with numpy.clip.
    """
    owner = "clip_grad_value_"
    bound = float(check(owner, "clip_value", clip_value, CLIP_VALUE))
    for g in _grads(parameters, owner):
        np.clip(g, -bound, bound, out=g)


__all__ = ["clip_grad_norm_", "clip_grad_value_"]
