"""RMSprop: the gradient divided by a running root mean square of recent gradients."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from wengert.optim import hyperparameters as hp
from wengert.optim.optimizer import Optimizer


def rmsprop_init_state(theta: np.ndarray, **hyper: object) -> dict:
    """v at 0, and ḡ and b at 0 where centered and momentum ask for them (PyTorch's)."""
    state = {"step": 0, "square_avg": np.zeros_like(theta)}
    if hyper["momentum"] > 0:
        state["momentum_buffer"] = np.zeros_like(theta)
    if hyper["centered"]:
        state["grad_avg"] = np.zeros_like(theta)
    return state


def rmsprop_rule(
    g: np.ndarray,
    state: dict,
    *,
    lr: float,
    alpha: float,
    eps: float,
    momentum: float,
    centered: bool,
) -> tuple[np.ndarray, dict]:
    """One RMSprop direction: `(d, new_state)`, θ ← θ − η·d; the formulas are in `RMSprop`'s
    docstring (`lr` is applied by the optimizer)."""
    square_avg = alpha * state["square_avg"] + (1 - alpha) * (g * g)
    new_state = {"step": state["step"] + 1, "square_avg": square_avg}
    if centered:
        grad_avg = state["grad_avg"]
        grad_avg = grad_avg + (1 - alpha) * (g - grad_avg)
        new_state["grad_avg"] = grad_avg
        avg = np.sqrt(square_avg - grad_avg * grad_avg) + eps
    else:
        avg = np.sqrt(square_avg) + eps
    if momentum > 0:
        buf = momentum * state["momentum_buffer"] + g / avg
        new_state["momentum_buffer"] = buf
        return buf, new_state
    return g / avg, new_state


class RMSprop(Optimizer):
    r"""RMSprop, PyTorch 2.x's `torch.optim.RMSprop`.

    With g = ∂L/∂θ, η = lr, α = alpha, μ = momentum, λ = weight_decay, elementwise::

        g ← −g                                       (if maximize)
        g ← g + λ·θ                                  (L2 weight decay)
        v ← α·v + (1 − α)·g²                         (state "square_avg", starting at 0)
        ḡ ← α·ḡ + (1 − α)·g                          (state "grad_avg", only if centered)
        s = √(v − ḡ²) + ε   if centered   else   √v + ε
        b ← μ·b + g/s;   θ ← θ − η·b                 (state "momentum_buffer", if μ > 0)
        θ ← θ − η·g/s                                (if μ = 0)

    Reference: Hinton, Srivastava and Swersky, "Neural networks for machine learning",
    lecture 6e (2012); the centered form is Graves, "Generating sequences with recurrent neural
    networks", arXiv:1308.0850 (2013), eqs. 38–45.

    Conventions where libraries differ:

    - ε goes outside the square root, √v + ε (PyTorch); Keras, TensorFlow 1 and optax put it
      inside, √(v + ε).
    - v starts at 0 (PyTorch, Keras, optax); TensorFlow 1's RMSPropOptimizer started it at 1.
    - Momentum is applied to the scaled step g/s and η multiplies the buffer at the end
      (PyTorch); Graves and TensorFlow 1 keep η inside the buffer, which differs once η
      changes (see SGD's note on momentum forms).
    - α is the decay of the average (PyTorch's `alpha`, Keras's `rho`), default 0.99 here
      and 0.9 in Keras and Hinton's slides.

    `lr` is a float or a schedule t ↦ η (t = 1, 2, ... counts this group's steps).
    """

    name = "rmsprop"
    rule = staticmethod(rmsprop_rule)
    init_state = staticmethod(rmsprop_init_state)
    hyperparameters = (
        hp.learning_rate(1e-2),
        hp.Hyper("alpha", 0.99, (hp.FRACTION,), "α, the decay of the running averages"),
        hp.Hyper("eps", 1e-8, (hp.POSITIVE,), "ε, added to the root mean square"),
        hp.weight_decay(),
        hp.Hyper("momentum", 0.0, (hp.FRACTION,), "μ, momentum on the scaled step g/s"),
        hp.Hyper("centered", False, tuple(hp.FLAG), "subtract the mean gradient ḡ (Graves)"),
        hp.MAXIMIZE,
    )
    path_examples: ClassVar[dict[str, dict]] = {"RMSprop": {"lr": 0.05}}


__all__ = ["RMSprop", "rmsprop_rule"]
