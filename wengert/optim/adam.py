"""Adam and AdamW: running averages of the gradient and its square, with bias correction."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from wengert._checks import Boolean, TupleOf, check
from wengert.optim import fused as fused_paths
from wengert.optim.optimizer import FLAG, FRACTION, NON_NEGATIVE, POSITIVE, Optimizer


def adam_rule(
    theta, g, state, *, lr, betas, eps, weight_decay, amsgrad, decoupled_weight_decay=False
):
    """One Adam (or AdamW) step: `(new_theta, new_state)`; the formulas are in `Adam`'s docstring.

    This is the reference: `fused.py`'s faster paths are tested against it.
    """
    beta1, beta2 = betas
    step = state.get("step", 0) + 1
    if weight_decay != 0:
        if decoupled_weight_decay:
            theta = theta * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * theta
    m = state.get("exp_avg", 0.0)
    m = m + (1 - beta1) * (g - m)
    v = beta2 * state.get("exp_avg_sq", 0.0) + (1 - beta2) * (g * g)
    new_state = {"step": step, "exp_avg": m, "exp_avg_sq": v}
    if amsgrad:
        v = np.maximum(state.get("max_exp_avg_sq", 0.0), v)
        new_state["max_exp_avg_sq"] = v
    step_size = lr / (1 - beta1**step)
    denom = np.sqrt(v) / (1 - beta2**step) ** 0.5 + eps
    return theta - step_size * (m / denom), new_state


class Adam(Optimizer):
    r"""Adam, PyTorch 2.x's `torch.optim.Adam`.

    With g = ∂L/∂θ, η = lr, (β₁, β₂) = betas, λ = weight_decay, k = the parameter's step
    count (1, 2, ...), every operation elementwise::

        g ← g + λ·θ                              (L2 weight decay; AdamW decouples it)
        m ← β₁·m + (1 − β₁)·g                    (state "exp_avg", starting at 0)
        v ← β₂·v + (1 − β₂)·g²                   (state "exp_avg_sq", starting at 0)
        v̂ ← max(v̂, v)  if amsgrad  else  v       (state "max_exp_avg_sq")
        θ ← θ − η/(1 − β₁ᵏ) · m / (√v̂ / √(1 − β₂ᵏ) + ε)

    Reference: Kingma and Ba, "Adam: a method for stochastic optimization", ICLR 2015,
    Algorithm 1; AMSGrad: Reddi, Kale and Kumar, "On the convergence of Adam and beyond",
    ICLR 2018, Algorithm 2.

    Conventions where libraries differ:

    - ε is added after the bias correction of v, ε + √(v/(1 − β₂ᵏ)), as in Kingma and Ba's
      Algorithm 1, PyTorch and optax. TensorFlow/Keras use the paper's "efficient version"
      (section 2), which adds ε to the uncorrected √v: their ε is ε/√(1 − β₂ᵏ) in this form.
    - AMSGrad takes the maximum of the uncorrected v and corrects it (PyTorch, Keras); Reddi
      et al. have no bias correction at all.
    - Weight decay here is L2 (added to g, so it passes through m and v); AdamW's decoupled
      decay is what Loshchilov and Hutter recommend.

    `fused` picks the implementation, not the maths (see `wengert/optim/fused.py`): None
    (auto) updates arrays of at least `fused.INPLACE_MIN_SIZE` elements in place with NumPy
    (no temporaries; bit-identical to `adam_rule`) and smaller ones with `adam_rule`; True runs
    every array through numexpr in three passes (four with amsgrad), which needs numexpr
    (`pip install 'wengert[fast]'`) and agrees to rounding; False always runs `adam_rule`.

    `lr` is a float or a schedule t ↦ η (t = 1, 2, ... counts this group's steps).
    """

    rule = staticmethod(adam_rule)
    decoupled_weight_decay = False
    CONSTRAINTS: ClassVar[dict] = {
        "betas": [TupleOf(FRACTION, 2)],
        "eps": [POSITIVE],
        "weight_decay": [NON_NEGATIVE],
        "amsgrad": FLAG,
    }

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.0,
        amsgrad=False,
        *,
        fused=None,
    ) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
        check(type(self).__name__, "fused", fused, Boolean(), None)
        if fused and not fused_paths.numexpr_available():
            raise ImportError(
                f"{type(self).__name__}(fused=True) needs numexpr: pip install 'wengert[fast]' "
                f"(or pass fused=None to use it only when it is installed)"
            )
        self.fused = fused
        super().__init__(params, defaults)

    def _update(self, theta, g, state, lr, hyper) -> None:
        hyper = {**hyper, "decoupled_weight_decay": self.decoupled_weight_decay}
        path = fused_paths.choose(theta, g, self.fused)
        if path is None:
            super()._update(theta, g, state, lr, hyper)
        else:
            path(theta, g, state, lr=lr, **hyper)


class AdamW(Adam):
    r"""AdamW (Adam with decoupled weight decay), PyTorch 2.x's `torch.optim.AdamW`.

    As `Adam`, except that the decay shrinks θ directly instead of entering g::

        θ ← θ·(1 − η·λ)                          (first, with this step's η)
        m, v, v̂ as in Adam, from the undecayed g
        θ ← θ − η/(1 − β₁ᵏ) · m / (√v̂ / √(1 − β₂ᵏ) + ε)

    Reference: Loshchilov and Hutter, "Decoupled weight decay regularization", ICLR 2019,
    Algorithm 2.

    Conventions where libraries differ: the decay is multiplied by η (PyTorch, Keras, optax);
    Loshchilov and Hutter multiply it by their schedule multiplier alone, θ ← θ − η_t·λ·θ,
    η_t ∈ (0, 1] being a factor and not the learning rate, so the same decay is their λ = η·λ
    here (with η_t = 1). The default λ is 1e-2 (PyTorch); optax's is 1e-4, Keras's 4e-3.
    """

    decoupled_weight_decay = True

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=1e-2,
        amsgrad=False,
        *,
        fused=None,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, fused=fused)


__all__ = ["Adam", "AdamW", "adam_rule"]
