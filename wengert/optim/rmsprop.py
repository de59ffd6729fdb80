"""RMSprop: the gradient divided by a running root mean square of recent gradients."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from wengert.optim.optimizer import FLAG, FRACTION, NON_NEGATIVE, POSITIVE, Optimizer


def rmsprop_rule(theta, g, state, *, lr, alpha, eps, weight_decay, momentum, centered):
    """One RMSprop step: `(new_theta, new_state)`; the formulas are in `RMSprop`'s docstring."""
    new_state = {"step": state.get("step", 0) + 1}
    if weight_decay != 0:
        g = g + weight_decay * theta
    square_avg = alpha * state.get("square_avg", 0.0) + (1 - alpha) * (g * g)
    new_state["square_avg"] = square_avg
    if centered:
        grad_avg = state.get("grad_avg", 0.0)
        grad_avg = grad_avg + (1 - alpha) * (g - grad_avg)
        new_state["grad_avg"] = grad_avg
        avg = np.sqrt(square_avg - grad_avg * grad_avg) + eps
    else:
        avg = np.sqrt(square_avg) + eps
    if momentum > 0:
        buf = momentum * state.get("momentum_buffer", 0.0) + g / avg
        new_state["momentum_buffer"] = buf
        return theta - lr * buf, new_state
    return theta - lr * (g / avg), new_state


class RMSprop(Optimizer):
    r"""RMSprop, PyTorch 2.x's `torch.optim.RMSprop`.

    With g = ∂L/∂θ, η = lr, α = alpha, μ = momentum, λ = weight_decay, elementwise::

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

    rule = staticmethod(rmsprop_rule)
    CONSTRAINTS: ClassVar[dict] = {
        "alpha": [FRACTION],
        "eps": [POSITIVE],
        "weight_decay": [NON_NEGATIVE],
        "momentum": [FRACTION],
        "centered": FLAG,
    }

    def __init__(
        self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False
    ) -> None:
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
        )
        super().__init__(params, defaults)


__all__ = ["RMSprop", "rmsprop_rule"]
