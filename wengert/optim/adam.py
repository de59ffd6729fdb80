"""Adam and AdamW: running averages of the gradient and its square, with bias correction."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from wengert._checks import Boolean, TupleOf, check
from wengert.optim import hyperparameters as hp
from wengert.optim.optimizer import Optimizer
from wengert.optim.optimizer import _grad_array as grad_array

# From this many elements up, fused=None takes the in-place path. Measured with
# bench/optimizer_step.py on a shared 2-CPU machine: Adam.step() on the 784-256-256-10 MLP's
# float32 parameters 2.9-3.3x faster; one float32 array 1.0-1.4x up to 65,536 elements and 3-8x
# from 262,144 (where the rule's fresh temporaries cost page faults); float64 arrays varied
# with the machine's load, 0.7-1.8x. Below 1024 elements it does not pay.
INPLACE_MIN_SIZE = 1024


def adam_init_state(theta: np.ndarray, **hyper: object) -> dict:
    """m, v (and v̂ with amsgrad) at 0, the step count at 0 (PyTorch's)."""
    state = {"step": 0, "exp_avg": np.zeros_like(theta), "exp_avg_sq": np.zeros_like(theta)}
    if hyper["amsgrad"]:
        state["max_exp_avg_sq"] = np.zeros_like(theta)
    return state


def adam_rule(
    g: np.ndarray, state: dict, *, lr: float, betas: tuple[float, float], eps: float, amsgrad: bool
) -> tuple[np.ndarray, dict]:
    """One Adam direction: `(d, new_state)`, θ ← θ − η·d; the formulas are in `Adam`'s
    docstring (`lr` and the weight decay are applied by the optimizer).

    This is the reference: `adam_rule_inplace` is tested bit for bit against it.
    """
    beta1, beta2 = betas
    step = state["step"] + 1
    m = state["exp_avg"]
    m = m + (1 - beta1) * (g - m)
    v = beta2 * state["exp_avg_sq"] + (1 - beta2) * (g * g)
    new_state = {"step": step, "exp_avg": m, "exp_avg_sq": v}
    if amsgrad:
        v = np.maximum(state["max_exp_avg_sq"], v)
        new_state["max_exp_avg_sq"] = v
    denom = np.sqrt(v) / (1 - beta2**step) ** 0.5 + eps
    return m / denom / (1 - beta1**step), new_state


def adam_rule_inplace(
    g: np.ndarray, state: dict, *, lr: float, betas: tuple[float, float], eps: float, amsgrad: bool
) -> tuple[np.ndarray, dict]:
    """`adam_rule` with its operations in the same order, writing into the state's arrays and one
    scratch array (the direction returned) instead of a fresh temporary per operation."""
    beta1, beta2 = betas
    step = state["step"] + 1
    m, v = state["exp_avg"], state["exp_avg_sq"]
    tmp = np.subtract(g, m)
    tmp *= 1 - beta1
    m += tmp
    v *= beta2
    np.multiply(g, g, out=tmp)
    tmp *= 1 - beta2
    v += tmp
    if amsgrad:
        v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
    np.sqrt(v, out=tmp)
    tmp /= (1 - beta2**step) ** 0.5
    tmp += eps
    np.divide(m, tmp, out=tmp)
    tmp /= 1 - beta1**step
    return tmp, {"step": step}


class Adam(Optimizer):
    r"""Adam, PyTorch 2.x's `torch.optim.Adam`.

    With g = ∂L/∂θ, η = lr, (β₁, β₂) = betas, λ = weight_decay, k = the parameter's step
    count (1, 2, ...), every operation elementwise::

        g ← −g                                   (if maximize)
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

    `fused` picks the implementation, not the maths: None (auto) takes `adam_rule_inplace`
    (NumPy, in place, bit for bit `adam_rule`) for arrays of at least INPLACE_MIN_SIZE
    elements and `adam_rule` for smaller ones; True takes the in-place path for every array,
    False `adam_rule` for every array.

    `lr` is a float or a schedule t ↦ η (t = 1, 2, ... counts this group's steps).
    """

    name = "adam"
    rule = staticmethod(adam_rule)
    init_state = staticmethod(adam_init_state)
    hyperparameters = (
        hp.learning_rate(1e-3),
        hp.Hyper(
            "betas", (0.9, 0.999), (TupleOf(hp.FRACTION, 2),), "(β₁, β₂), the decays of m and v"
        ),
        hp.Hyper("eps", 1e-8, (hp.POSITIVE,), "ε, added to the corrected √v̂"),
        hp.weight_decay(),
        hp.Hyper("amsgrad", False, tuple(hp.FLAG), "divide by the largest v so far (Reddi et al.)"),
        hp.MAXIMIZE,
    )
    keyword_options: ClassVar[dict] = {"fused": None}
    path_examples: ClassVar[dict[str, dict]] = {"Adam": {"lr": 0.2}}

    def __init__(self, params, *args, fused=None, **kwargs) -> None:
        check(type(self).__name__, "fused", fused, Boolean(), None)
        self.fused = fused
        super().__init__(params, *args, **kwargs)

    def _direction(self, theta, g, state, lr, hyper):
        small = self.fused is None and theta.size < INPLACE_MIN_SIZE
        if self.fused is False or small:
            return adam_rule(g, state, lr=lr, **hyper)
        return adam_rule_inplace(g, state, lr=lr, **hyper)

    def _step_group(self, group: dict, lr: float) -> None:
        """The base class's step, where the in-place path also scales its direction in place:
        d ← η·d, θ ← θ − d, the very operations of θ ← θ − η·d without a fresh η·d the size of
        the parameter. Groups with maximize or a weight decay, and a learning rate that is not
        a Python float (a schedule's NumPy scalar would promote η·d), take the base class's
        path."""
        plain = type(lr) is float and not group["maximize"] and group["weight_decay"] == 0
        if self.fused is False or not plain:
            super()._step_group(group, lr)
            return
        hyper = self.rule_hyperparameters(group)
        every = self.fused is True
        for p in group["params"]:
            if p.grad is None:
                continue
            theta = p.data
            if not every and theta.size < INPLACE_MIN_SIZE:
                self._update(p, lr, False, 0, hyper)
                continue
            state = self.state.get(p)
            if state is None:
                state = self.state[p] = self.init_state(theta, **hyper)
            direction, new_state = adam_rule_inplace(grad_array(p, theta), state, lr=lr, **hyper)
            state.update(new_state)
            direction *= lr  # the scratch array the rule returned: η·d in place, same_kind
            theta -= direction


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

    name = "adamw"
    decoupled_weight_decay = True
    hyperparameters = hp.replaced(
        Adam.hyperparameters, hp.weight_decay(1e-2, "λ, decoupled decay: θ ← θ·(1 − η·λ)")
    )
    path_examples: ClassVar[dict[str, dict]] = {}


__all__ = ["INPLACE_MIN_SIZE", "Adam", "AdamW", "adam_init_state", "adam_rule", "adam_rule_inplace"]
