"""Adadelta: Adagrad's step with running averages, in the units of θ."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from wengert.optim import hyperparameters as hp
from wengert.optim.optimizer import Optimizer


def adadelta_init_state(theta: np.ndarray, **hyper: object) -> dict:
    """v and u start at 0, the step count at 0 (PyTorch's)."""
    return {"step": 0, "square_avg": np.zeros_like(theta), "acc_delta": np.zeros_like(theta)}


def adadelta_rule(
    g: np.ndarray, state: dict, *, lr: float, rho: float, eps: float
) -> tuple[np.ndarray, dict]:
    """One Adadelta direction: `(Δ, new_state)`, θ ← θ − η·Δ; the formulas are in `Adadelta`'s
    docstring (`lr` is applied by the optimizer)."""
    square_avg = rho * state["square_avg"] + (1 - rho) * (g * g)
    acc_delta = state["acc_delta"]
    delta = np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps) * g
    acc_delta = rho * acc_delta + (1 - rho) * (delta * delta)
    return delta, {"step": state["step"] + 1, "square_avg": square_avg, "acc_delta": acc_delta}


class Adadelta(Optimizer):
    r"""Adadelta, PyTorch 2.x's `torch.optim.Adadelta`.

    With g = ∂L/∂θ, η = lr, ρ = rho, λ = weight_decay, every operation elementwise::

        g ← −g                                       (if maximize)
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

    name = "adadelta"
    rule = staticmethod(adadelta_rule)
    init_state = staticmethod(adadelta_init_state)
    hyperparameters = (
        hp.learning_rate(1.0),
        hp.Hyper("rho", 0.9, (hp.FRACTION,), "ρ, the decay of both running averages"),
        hp.Hyper("eps", 1e-6, (hp.POSITIVE,), "ε, inside both square roots"),
        hp.weight_decay(),
        hp.MAXIMIZE,
    )
    path_examples: ClassVar[dict[str, dict]] = {"Adadelta": {"lr": 10.0, "rho": 0.9}}


__all__ = ["Adadelta", "adadelta_rule"]
