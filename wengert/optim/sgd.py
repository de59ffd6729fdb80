"""Stochastic gradient descent, with momentum (heavy ball or Nesterov) and weight decay."""

from __future__ import annotations

from numbers import Real
from typing import ClassVar

import numpy as np

from wengert._checks import Interval, Options, refusal
from wengert.optim import hyperparameters as hp
from wengert.optim.optimizer import Optimizer, _grad_array

MOMENTUM_FORMS = ("pytorch", "lecture")


def sgd_init_state(theta: np.ndarray, **hyper: object) -> dict:
    """No state without momentum; PyTorch's buffer is None until the first step sets it to g;
    the lecture's velocity starts at 0."""
    if hyper["momentum"] == 0:
        return {}
    if hyper["momentum_form"] == "lecture":
        return {"velocity": np.zeros_like(theta)}
    return {"momentum_buffer": None}


def sgd_rule(
    g: np.ndarray,
    state: dict,
    *,
    lr: float,
    momentum: float,
    dampening: float,
    nesterov: bool,
    momentum_form: str,
) -> tuple[np.ndarray, dict]:
    """One SGD direction: `(d, new_state)`, θ ← θ − η·d; the formulas are in `SGD`'s docstring.

    `lr` enters only the lecture's form, whose velocity holds η (d = −step/η there).
    """
    if momentum == 0:
        return g, {}
    if momentum_form == "lecture":
        vel = momentum * state["velocity"] - lr * g
        step = momentum * vel - lr * g if nesterov else vel
        return step / -lr, {"velocity": vel}
    buf = state["momentum_buffer"]
    # PyTorch starts the buffer at g itself, not at (1 - dampening) g: dampening skips step 1.
    buf = np.array(g, copy=True) if buf is None else momentum * buf + (1 - dampening) * g
    return (g + momentum * buf if nesterov else buf), {"momentum_buffer": buf}


_FIRST = [(0,) * ndim for ndim in range(4)]  # the index of the one element, by ndim


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

    name = "sgd"
    rule = staticmethod(sgd_rule)
    init_state = staticmethod(sgd_init_state)
    hyperparameters = (
        hp.learning_rate(),
        hp.Hyper("momentum", 0.0, (hp.FRACTION,), "μ, the weight of the past in the buffer"),
        hp.Hyper("dampening", 0.0, (Interval(Real, 0, 1, closed="both"),), "τ: (1 − τ)·g enters b"),
        hp.Hyper(
            "nesterov", False, tuple(hp.FLAG), "Nesterov's momentum (PyTorch's rewritten form)"
        ),
        hp.weight_decay(),
        hp.MAXIMIZE,
        hp.Hyper(
            "momentum_form", "pytorch", (Options(MOMENTUM_FORMS),), "where η goes (see above)"
        ),
    )
    # The lecture's momentum pictures, at learning rates that suit wengert.plot's surfaces.
    path_examples: ClassVar[dict[str, dict]] = {
        "SGD": {"lr": 0.45},
        "momentum": {"lr": 0.05, "momentum": 0.9},
        "Nesterov": {"lr": 0.05, "momentum": 0.9, "nesterov": True},
    }

    def _step_group(self, group: dict, lr: float) -> None:
        """Plain SGD (no momentum, weight decay or maximize) as θ ← θ − η·g at once, which is
        what the rule gives (d = g, no state); any other group by the base class's path."""
        if group["momentum"] != 0 or group["maximize"] or group["weight_decay"] != 0:
            super()._step_group(group, lr)
            return
        state = self.state
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            theta = p.data
            if g.__class__ is not np.ndarray or g.dtype != theta.dtype:
                g = _grad_array(p, theta)
            if p not in state:
                state[p] = {}  # sgd_init_state's, without momentum
            if theta.size == 1:  # the same float operations on NumPy scalars: a seventh the time
                at = _FIRST[theta.ndim] if theta.ndim < 4 else (0,) * theta.ndim
                theta[at] -= lr * g[at]
            else:
                theta -= lr * g  # in place, same_kind casting: a float32 θ stays float32

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
