"""Adadelta: Adagrad's step with running averages, in the units of θ."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from wengert.optim.optimizer import FRACTION, NON_NEGATIVE, POSITIVE, Optimizer


def adadelta_rule(theta, g, state, *, lr, rho, eps, weight_decay):
    """One Adadelta step: `(new_theta, new_state)`; the formulas are in `Adadelta`'s docstring."""
    step = state.get("step", 0) + 1
    if weight_decay != 0:
        g = g + weight_decay * theta
    square_avg = state.get("square_avg", 0.0)
    acc_delta = state.get("acc_delta")
    if acc_delta is None:
        acc_delta = np.zeros_like(theta)
    square_avg = rho * square_avg + (1 - rho) * (g * g)
    delta = np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps) * g
    acc_delta = rho * acc_delta + (1 - rho) * (delta * delta)
    new_state = {"step": step, "square_avg": square_avg, "acc_delta": acc_delta}
    return theta - lr * delta, new_state


class Adadelta(Optimizer):
    r"""Adadelta, PyTorch 2.x's `torch.optim.Adadelta`.

    With g = ∂L/∂θ, η = lr, ρ = rho, λ = weight_decay, every operation elementwise::

        g ← g + λ·θ                                  (L2 weight decay)
        v ← ρ·v + (1 − ρ)·g²                         (state "square_avg", starting at 0)
        Δ = √(u + ε) / √(v + ε) · g
        u ← ρ·u + (1 − ρ)·Δ²                         (state "acc_delta", starting at 0)
        θ ← θ − η·Δ

    Reference: Zeiler, "ADADELTA: an adaptive learning rate method", arXiv:1212.5701 (2012),
    Algorithm 1.

    Conventions where libraries differ:

    - ε goes inside both square roots (Zeiler, PyTorch, Keras alike), and it is what makes the
      first steps move at all (u starts at 0): the first step is about √ε·g/|g|·√(1/(1 − ρ)).
    - Zeiler's algorithm has no learning rate (η = 1, PyTorch's default); Keras's default is
      0.001.

    `lr` is a float or a schedule t ↦ η (t = 1, 2, ... counts this group's steps).
    """

    rule = staticmethod(adadelta_rule)
    CONSTRAINTS: ClassVar[dict] = {
        "rho": [FRACTION],
        "eps": [POSITIVE],
        "weight_decay": [NON_NEGATIVE],
    }

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0) -> None:
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay))


__all__ = ["Adadelta", "adadelta_rule"]
