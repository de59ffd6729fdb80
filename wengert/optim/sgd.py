"""Stochastic gradient descent, with momentum (heavy ball or Nesterov) and weight decay."""

from __future__ import annotations

from numbers import Real
from typing import ClassVar

import numpy as np

from wengert._checks import Interval, Options, refusal
from wengert.optim.optimizer import FLAG, FRACTION, NON_NEGATIVE, Optimizer

MOMENTUM_FORMS = ("pytorch", "lecture")


def sgd_rule(
    theta, g, state, *, lr, momentum, dampening, nesterov, weight_decay, maximize, momentum_form
):
    """One SGD step: `(new_theta, new_state)`; the formulas are in `SGD`'s docstring."""
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + weight_decay * theta
    if momentum == 0:
        return theta - lr * g, {}
    if momentum_form == "lecture":
        vel = state.get("velocity")
        vel = -lr * g if vel is None else momentum * vel - lr * g
        step = momentum * vel - lr * g if nesterov else vel
        return theta + step, {"velocity": vel}
    buf = state.get("momentum_buffer")
    # PyTorch starts the buffer at g itself, not at (1 - dampening) g: dampening skips step 1.
    buf = np.array(g, copy=True) if buf is None else momentum * buf + (1 - dampening) * g
    direction = g + momentum * buf if nesterov else buf
    return theta - lr * direction, {"momentum_buffer": buf}


class SGD(Optimizer):
    r"""Stochastic gradient descent (optionally with momentum), PyTorch 2.x's `torch.optim.SGD`.

    With g = ∂L/∂θ, η = lr, μ = momentum, τ = dampening, λ = weight_decay, each step is::

        g ← −g                       if maximize
        g ← g + λ·θ                  (weight decay: the L2 penalty λ/2·‖θ‖² added to L)
        b ← g                        at the first step (μ > 0)
        b ← μ·b + (1 − τ)·g          afterwards            (state "momentum_buffer")
        d ← g + μ·b  if nesterov  else  b                  (d = g when μ = 0)
        θ ← θ − η·d

    Reference: Sutskever, Martens, Dahl and Hinton, "On the importance of initialization and
    momentum in deep learning", ICML 2013 (heavy ball and Nesterov momentum).

    Conventions where libraries differ:

    - Where η goes. PyTorch (`momentum_form="pytorch"`, the default) keeps η out of the buffer
      b and multiplies at the end. The lecture's slide, scikit-learn's MLP and Keras
      (`momentum_form="lecture"`) keep a velocity with η inside it::

          v ← μ·v − η·g;   θ ← θ + v          (state "velocity", starting at 0)
          θ ← θ + μ·v − η·g instead, if nesterov (scikit-learn's and Keras's form)

      With η constant the two give identical iterates (v = −η·b at every step). They part
      once η changes, e.g. under a schedule: the lecture's v remembers each past gradient
      scaled by the η of *its* step, while PyTorch rescales the whole remembered sum by
      today's η. Sutskever et al. use the lecture's form.
    - Dampening. The first buffer is g itself, undamped (PyTorch's choice); the lecture's form
      has no dampening (refused there).
    - Nesterov. This is PyTorch's (and Keras's) rewritten form, which evaluates the gradient
      at θ and not at the look-ahead point θ + μ·v; it needs μ > 0 and τ = 0.
    - Weight decay is added to the gradient (L2 regularisation), so it also enters the
      momentum; for decay outside the momentum use AdamW's decoupled form.

    `lr` is a float or a schedule t ↦ η (t = 1, 2, ... counts this group's steps).
    """

    rule = staticmethod(sgd_rule)
    CONSTRAINTS: ClassVar[dict] = {
        "momentum": [FRACTION],
        "dampening": [Interval(Real, 0, 1, closed="both")],
        "weight_decay": [NON_NEGATIVE],
        "nesterov": FLAG,
        "maximize": FLAG,
        "momentum_form": [Options(MOMENTUM_FORMS)],
    }

    def __init__(
        self,
        params,
        lr,
        momentum=0.0,
        dampening=0.0,
        nesterov=False,
        weight_decay=0.0,
        maximize=False,
        momentum_form="pytorch",
    ) -> None:
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            nesterov=nesterov,
            weight_decay=weight_decay,
            maximize=maximize,
            momentum_form=momentum_form,
        )
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        """The table, and the rules that tie nesterov and momentum_form to the others."""
        super()._check_group(group)
        momentum, dampening = group["momentum"], group["dampening"]
        if group["nesterov"] and (momentum <= 0 or dampening != 0):
            raise refusal(
                "SGD", "momentum and dampening, with nesterov=True,", "> 0 and = 0",
                f"momentum={momentum!r}, dampening={dampening!r}",
                fix="Nesterov's form needs momentum and no dampening.",
            )  # fmt: skip
        if group["momentum_form"] == "lecture" and dampening != 0:
            raise refusal(
                "SGD", "dampening, with momentum_form='lecture' (v ← μ·v − η·g),", "0",
                f"{dampening!r}", fix="Use momentum_form='pytorch' for dampening.",
            )  # fmt: skip


__all__ = ["SGD", "sgd_rule"]
