"""Learning-rate schedules t ↦ η_t, and `ReduceOnPlateau`, a callback that lowers η.

A schedule is passed as an optimizer's `lr`: `SGD(params, lr=inverse_sqrt(0.5))`. The optimizer
calls it with t = 1, 2, 3, ...: t counts the optimizer steps of the parameter group (minibatch
updates, not epochs), and step t uses η_t. Each function here returns a `Schedule`, a small
callable that prints as the call that made it and can be pickled with a checkpoint.

How libraries count differs, and it matters when comparing numbers:

- PyTorch's `torch.optim.lr_scheduler` classes count from 0 (`last_epoch`) and, used as the
  docs show, advance once per epoch; `scheduler.step()` after every optimizer step instead
  gives η at PyTorch's `last_epoch = t − 1`. The closed forms here are written so that
  `step_decay`, `exponential` and `cosine` equal StepLR, ExponentialLR and CosineAnnealingLR
  under that mapping.
- scikit-learn counts t in samples seen, not steps (see `inverse_scaling`).
- optax counts from 0 too (`count`, the number of updates done).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Real
from typing import TYPE_CHECKING, Protocol

from wengert._checks import Interval, Options, check, refusal
from wengert.optim.hyperparameters import COUNT, LR, NON_NEGATIVE, POSITIVE

if TYPE_CHECKING:
    from wengert.optim.optimizer import Optimizer

UNIT_RIGHT = Interval(Real, 0, 1, closed="right")  # (0, 1]: a decay factor that may be 1
UNIT = Interval(Real, 0, 1, closed="both")


class Schedule:
    """A learning-rate schedule: `formula(t, **params)` for t = 1, 2, ..., returned as a float."""

    __slots__ = ("formula", "name", "params")

    def __init__(self, name: str, formula: Callable[..., float], **params) -> None:
        self.name = name
        self.formula = formula
        self.params = params

    def __call__(self, t: int) -> float:
        if t < 1:
            raise refusal(repr(self), "the step t", "an int >= 1 (t = 1, 2, ...)", repr(t))
        return float(self.formula(t, **self.params))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name}({args})"


def _positive(eta0, owner: str) -> None:
    check(owner, "eta0", eta0, POSITIVE)


def _constant(t, eta0):
    return eta0


def constant(eta0: float) -> Schedule:
    """η_t = η₀ at every step t (the lecture's fixed step size)."""
    _positive(eta0, "constant")
    return Schedule("constant", _constant, eta0=eta0)


def _inverse_sqrt(t, eta0):
    return eta0 / math.sqrt(t)


def _inverse_power(t, eta0, power_t):
    return eta0 / t**power_t


def inverse_sqrt(eta0: float) -> Schedule:
    """η_t = η₀/√t, t = 1, 2, ... counting optimizer steps: the lecture's "most common choice".

    It is `inverse_scaling(eta0, 0.5)`. The transformer papers' "inverse square root" schedule
    is another (η ∝ 1/√max(t, warmup)); build it as `warmup(inverse_sqrt(...), ...)`.
    """
    _positive(eta0, "inverse_sqrt")
    return Schedule("inverse_sqrt", _inverse_sqrt, eta0=eta0)


def inverse_scaling(eta0: float, power_t: float = 0.5) -> Schedule:
    """η_t = η₀/t^p, t = 1, 2, ... counting optimizer steps (scikit-learn's "invscaling").

    scikit-learn counts t in *samples seen*, not steps: SGDClassifier uses η₀/t^p with t going
    up by one per sample, and MLPClassifier sets η₀/(n + 1)^p at the end of each epoch, n
    being the samples seen so far. The same curve here needs t scaled by the batch size.
    """
    _positive(eta0, "inverse_scaling")
    check("inverse_scaling", "power_t", power_t, NON_NEGATIVE)
    return Schedule("inverse_scaling", _inverse_power, eta0=eta0, power_t=power_t)


def _step_decay(t, eta0, step_size, gamma):
    return eta0 * gamma ** ((t - 1) // step_size)


def step_decay(eta0: float, step_size: int, gamma: float = 0.1) -> Schedule:
    """η_t = η₀·γ^⌊(t − 1)/step_size⌋: η₀ for steps 1..step_size, then γ·η₀, ...

    t counts optimizer steps; PyTorch's StepLR counts epochs from 0 (same values at
    `last_epoch = t − 1`).
    """
    _positive(eta0, "step_decay")
    check("step_decay", "step_size", step_size, COUNT)
    check("step_decay", "gamma", gamma, UNIT_RIGHT)
    return Schedule("step_decay", _step_decay, eta0=eta0, step_size=step_size, gamma=gamma)


def _exponential(t, eta0, gamma):
    return eta0 * gamma ** (t - 1)


def exponential(eta0: float, gamma: float) -> Schedule:
    """η_t = η₀·γ^(t − 1): η₀ at the first step (PyTorch's ExponentialLR at last_epoch = t − 1).

    t counts optimizer steps. optax's `exponential_decay` writes η₀·γ^(count/transition_steps)
    with count from 0, the same curve for transition_steps = 1.
    """
    _positive(eta0, "exponential")
    check("exponential", "gamma", gamma, UNIT_RIGHT)
    return Schedule("exponential", _exponential, eta0=eta0, gamma=gamma)


def _cosine(t, eta0, total_steps, eta_min):
    done = min(t - 1, total_steps) / total_steps
    return eta_min + (eta0 - eta_min) * (1 + math.cos(math.pi * done)) / 2


def cosine(eta0: float, total_steps: int, eta_min: float = 0.0) -> Schedule:
    """η_t = η_min + (η₀ − η_min)·(1 + cos(π·(t − 1)/T))/2 for t ≤ T + 1, then η_min.

    T = total_steps, t counts optimizer steps: η₀ at step 1, above η_min through step T, and
    η_min from step T + 1 on (with η_min = 0 the optimizer refuses that step: give T as the
    number of steps you will take, or η_min > 0). Loshchilov and Hutter's SGDR without
    restarts; equals PyTorch's CosineAnnealingLR(T_max=T) at last_epoch = t − 1 up to T (PyTorch
    keeps following the cosine back up after T, this stays at η_min).
    """
    _positive(eta0, "cosine")
    check("cosine", "total_steps", total_steps, COUNT)
    check("cosine", "eta_min", eta_min, Interval(Real, 0, eta0, closed="both"))
    return Schedule("cosine", _cosine, eta0=eta0, total_steps=total_steps, eta_min=eta_min)


def _warmup(t, schedule, warmup_steps, start_factor):
    eta = schedule(t) if callable(schedule) else schedule
    return eta * (start_factor + (1 - start_factor) * min(t, warmup_steps) / warmup_steps)


def warmup(
    schedule: float | Callable[[int], float], warmup_steps: int, start_factor: float = 0.0
) -> Schedule:
    """Linear warmup in front of any schedule (or float): η_t = f_t·schedule(t), where

        f_t = start_factor + (1 − start_factor)·min(t, w)/w,     w = warmup_steps,

    so f rises linearly to 1 at t = w and stays there; t counts optimizer steps and the inner
    schedule sees the same t (it is multiplied, not delayed: `warmup(cosine(η₀, T), w)` is one
    cosine over T steps whose first w are damped). With start_factor = 0 the first step has
    η₀/w, never 0. PyTorch's LinearLR (chained) multiplies the same way but reaches 1 one step
    later (at last_epoch = w) and refuses start_factor = 0; Hugging Face's
    `get_cosine_schedule_with_warmup` instead starts the cosine after the warmup.
    """
    check("warmup", "schedule", schedule, *LR)
    check("warmup", "warmup_steps", warmup_steps, COUNT)
    check("warmup", "start_factor", start_factor, UNIT)
    return Schedule(
        "warmup", _warmup, schedule=schedule, warmup_steps=warmup_steps, start_factor=start_factor
    )


def _scaled(t, schedule, factor, min_lr):
    return max(schedule(t) * factor, min_lr)


class _Losses(Protocol):
    """The loss series of fit()'s History that ReduceOnPlateau reads."""

    epoch_loss: list[float]
    val_loss: list[float]


class _Run(Protocol):
    """What ReduceOnPlateau reads of the run fit() passes to its callbacks."""

    history: _Losses
    optimizer: Optimizer


class ReduceOnPlateau:
    """Training callback: η ← max(factor·η, min_lr) when the loss stops improving.

    After each epoch it reads the last value of `run.history.epoch_loss` (monitor="loss") or
    `run.history.val_loss` (monitor="val_loss"). An epoch improves when its loss is at most
    best − tol (tol absolute; best is the lowest loss so far); after `patience` epochs in a
    row without improvement, every param group of `run.optimizer` has its lr scaled and the
    count starts again. A float lr is multiplied; a schedule is wrapped so that its values are
    multiplied (t ↦ max(factor·schedule(t), min_lr)). Each change is appended to `changes`
    as `{"epoch": e, "group": i, "old": lr, "new": lr}` (epochs counted from 1).

    The defaults are scikit-learn's `learning_rate="adaptive"` (MLPClassifier, SGDClassifier):
    η divided by 5 after two epochs that fail to lower the training loss by tol = 1e-4. How
    libraries differ:

    - scikit-learn's MLP documentation says two epochs, its code waits for more than
      `n_iter_no_change` (default 10) such epochs; SGDClassifier waits for n_iter_no_change.
      scikit-learn also stops training once η ≤ 1e-6; here stopping is left to an
      early-stopping callback.
    - PyTorch's ReduceLROnPlateau: factor 0.1, patience 10, reduces after *more than*
      `patience` bad epochs, and its threshold is relative by default (best·(1 − 1e-4)).
    - Keras's ReduceLROnPlateau: factor 0.1, patience 10, absolute min_delta = 1e-4.
    """

    def __init__(
        self,
        factor: float = 0.2,
        patience: int = 2,
        tol: float = 1e-4,
        min_lr: float = 0.0,
        monitor: str = "loss",
    ) -> None:
        owner = "ReduceOnPlateau"
        check(owner, "factor", factor, Interval(Real, 0, 1, closed="neither"))
        check(owner, "patience", patience, COUNT)
        check(owner, "tol", tol, NON_NEGATIVE)
        check(owner, "min_lr", min_lr, NON_NEGATIVE)
        check(owner, "monitor", monitor, Options(("loss", "val_loss")))
        self.factor = factor
        self.patience = patience
        self.tol = tol
        self.min_lr = min_lr
        self.monitor = monitor
        self.best = math.inf
        self.bad_epochs = 0
        self.changes: list[dict] = []

    def on_epoch_end(self, run: _Run) -> None:
        """After each epoch of fit(): count the epochs without improvement of the monitored
        loss, and reduce every group's lr once `patience` of them have passed in a row."""
        history = run.history.epoch_loss if self.monitor == "loss" else run.history.val_loss
        if not history:
            raise refusal(
                f"ReduceOnPlateau(monitor={self.monitor!r})", f"the history's {self.monitor}",
                "non-empty", "none", fix="Give fit() validation data, or use monitor='loss'.",
            )  # fmt: skip
        loss = float(history[-1])
        # Written so that a NaN loss counts as no improvement.
        self.bad_epochs = 0 if loss <= self.best - self.tol else self.bad_epochs + 1
        self.best = min(self.best, loss)
        if self.bad_epochs >= self.patience:
            self.bad_epochs = 0
            for i, group in enumerate(run.optimizer.param_groups):
                self._reduce(group, i, len(history))

    def _reduce(self, group: dict, index: int, epoch: int) -> None:
        old = group["lr"]
        if not callable(old):
            new = max(old * self.factor, self.min_lr)
            if new >= old:
                return
        elif isinstance(old, Schedule) and old.formula is _scaled:
            factor = old.params["factor"] * self.factor
            new = Schedule("scaled", _scaled, **{**old.params, "factor": factor})
        else:
            new = Schedule("scaled", _scaled, schedule=old, factor=self.factor, min_lr=self.min_lr)
        group["lr"] = new
        self.changes.append({"epoch": epoch, "group": index, "old": old, "new": new})


__all__ = [
    "ReduceOnPlateau",
    "Schedule",
    "constant",
    "cosine",
    "exponential",
    "inverse_scaling",
    "inverse_sqrt",
    "step_decay",
    "warmup",
]
