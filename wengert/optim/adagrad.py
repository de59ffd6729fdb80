"""Adagrad: a per-coordinate step size that shrinks with the sum of squared gradients."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from wengert.optim.optimizer import NON_NEGATIVE, POSITIVE, Optimizer


def adagrad_rule(theta, g, state, *, lr, lr_decay, weight_decay, initial_accumulator_value, eps):
    """One Adagrad step: `(new_theta, new_state)`; the formulas are in `Adagrad`'s docstring."""
    step = state.get("step", 0) + 1
    if weight_decay != 0:
        g = g + weight_decay * theta
    eta = lr / (1 + (step - 1) * lr_decay)
    total = state.get("sum")
    if total is None:
        total = np.full_like(theta, initial_accumulator_value)
    total = total + g * g
    return theta - eta * (g / (np.sqrt(total) + eps)), {"step": step, "sum": total}


class Adagrad(Optimizer):
    r"""Adagrad, PyTorch 2.x's `torch.optim.Adagrad`.

    With g = ∂L/∂θ, η = lr, λ = weight_decay, k = the parameter's step count (1, 2, ...),
    every operation elementwise::

        g ← g + λ·θ                              (L2 weight decay)
        η_k = η / (1 + (k − 1)·lr_decay)
        G ← G + g²                    (state "sum", starting at initial_accumulator_value)
        θ ← θ − η_k · g / (√G + ε)

    Reference: Duchi, Hazan and Singer, "Adaptive subgradient methods for online learning and
    stochastic optimization", JMLR 12 (2011), the diagonal version (their eq. 1 with diag G).

    Conventions where libraries differ:

    - ε goes outside the square root, √G + ε (PyTorch; Keras and optax put it inside, √(G + ε)).
    - The accumulator starts at `initial_accumulator_value`, 0 by default (TensorFlow/Keras
      start at 0.1, optax at 0.1).
    - `lr_decay` is PyTorch's extra 1/(1 + (k − 1)·lr_decay) factor; Duchi et al. have none.

    `lr` is a float or a schedule t ↦ η (t = 1, 2, ... counts this group's steps); the decay
    then multiplies the schedule's value.
    """

    rule = staticmethod(adagrad_rule)
    CONSTRAINTS: ClassVar[dict] = {
        "lr_decay": [NON_NEGATIVE],
        "weight_decay": [NON_NEGATIVE],
        "initial_accumulator_value": [NON_NEGATIVE],
        "eps": [POSITIVE],
    }

    def __init__(
        self,
        params,
        lr=1e-2,
        lr_decay=0.0,
        weight_decay=0.0,
        initial_accumulator_value=0.0,
        eps=1e-10,
    ) -> None:
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
        )
        super().__init__(params, defaults)


__all__ = ["Adagrad", "adagrad_rule"]
