"""Adagrad: a per-coordinate step size that shrinks with the sum of squared gradients."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from wengert.optim import hyperparameters as hp
from wengert.optim.optimizer import Optimizer


def adagrad_init_state(theta: np.ndarray, **hyper: object) -> dict:
    """G starts at initial_accumulator_value (PyTorch's), the step count at 0."""
    return {"step": 0, "sum": np.full_like(theta, hyper["initial_accumulator_value"])}


def adagrad_rule(
    g: np.ndarray,
    state: dict,
    *,
    lr: float,
    lr_decay: float,
    eps: float,
    initial_accumulator_value: float,
) -> tuple[np.ndarray, dict]:
    """One Adagrad direction: `(d, new_state)`, θ ← θ − η·d; the formulas are in `Adagrad`'s
    docstring. (`lr` is applied by the optimizer; the accumulator's start is init_state's.)"""
    step = state["step"] + 1
    total = state["sum"] + g * g
    d = g / (np.sqrt(total) + eps)
    if lr_decay != 0:
        d = d / (1 + (step - 1) * lr_decay)
    return d, {"step": step, "sum": total}


class Adagrad(Optimizer):
    r"""Adagrad, PyTorch 2.x's `torch.optim.Adagrad`.

    With g = ∂L/∂θ, η = lr, λ = weight_decay, k = the parameter's step count (1, 2, ...),
    every operation elementwise::

        g ← −g                                   (if maximize)
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

    name = "adagrad"
    rule = staticmethod(adagrad_rule)
    init_state = staticmethod(adagrad_init_state)
    hyperparameters = (
        hp.learning_rate(1e-2),
        hp.Hyper("lr_decay", 0.0, (hp.NON_NEGATIVE,), "η_k = η / (1 + (k − 1)·lr_decay)"),
        hp.weight_decay(),
        hp.Hyper("initial_accumulator_value", 0.0, (hp.NON_NEGATIVE,), "the start of G"),
        hp.Hyper("eps", 1e-10, (hp.POSITIVE,), "ε, added to √G"),
        hp.MAXIMIZE,
    )
    path_examples: ClassVar[dict[str, dict]] = {"Adagrad": {"lr": 0.8}}


__all__ = ["Adagrad", "adagrad_rule"]
