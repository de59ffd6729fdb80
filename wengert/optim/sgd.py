"""Stochastic gradient descent, with momentum (heavy ball or Nesterov) and weight decay."""

from __future__ import annotations

import numpy as np

from wengert.optim.optimizer import Optimizer, check_bool, check_float

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
        super()._check_group(group)
        check_float(group["momentum"], "momentum", "SGD", 0, 1)
        check_float(group["dampening"], "dampening", "SGD", 0, 1, high_open=False)
        check_float(group["weight_decay"], "weight_decay", "SGD")
        check_bool(group["nesterov"], "nesterov", "SGD")
        check_bool(group["maximize"], "maximize", "SGD")
        if group["momentum_form"] not in MOMENTUM_FORMS:
            raise ValueError(
                "The 'momentum_form' parameter of SGD must be 'pytorch' or 'lecture'. "
                f"Got {group['momentum_form']!r} instead."
            )
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                "The 'nesterov' option of SGD needs momentum > 0 and dampening = 0. "
                f"Got momentum={group['momentum']!r}, dampening={group['dampening']!r} instead."
            )
        if group["momentum_form"] == "lecture" and group["dampening"] != 0:
            raise ValueError(
                "SGD's momentum_form='lecture' has no dampening (v ← μ·v − η·g). "
                f"Got dampening={group['dampening']!r}; use momentum_form='pytorch' for it."
            )


__all__ = ["SGD", "sgd_rule"]
