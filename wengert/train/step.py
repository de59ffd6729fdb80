"""One checked training step: forward, backward, (clipping), update, with a guard at each stage.

The guard looks at three things, in the order they arise, and stops at the first non-finite one:
the batch loss; then, before the update, the gradient of each parameter (in the order of
model.named_parameters()), so that a NaN gradient never reaches the weights; then each weight
after the update (a finite gradient times a large learning rate can still overflow).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np

from wengert._checks import ConvergenceWarning
from wengert.autodiff.tensor import Tensor
from wengert.nn.module import Module
from wengert.nn.utils import clip_grad_norm_
from wengert.optim.optimizer import Optimizer


class NonFinite(Exception):  # internal: becomes NonFiniteError or a warning
    """Raised inside a step: which quantity became non-finite, and its first bad value."""

    def __init__(self, quantity: str, value: float) -> None:
        super().__init__(quantity, value)
        self.quantity, self.value = quantity, value


def first_bad(array: np.ndarray) -> float | None:
    """The first non-finite element of `array`, or None when all are finite."""
    flat = array.reshape(-1)
    # x.x is finite only if every element is (a NaN or an infinity spreads), and it is faster
    # than isfinite().all() on the small arrays of a step; it can also overflow, hence the check.
    if math.isfinite(flat.dot(flat)):
        return None
    bad = ~np.isfinite(flat)
    return float(flat[bad][0]) if bad.any() else None


class Step:
    """A step of `optimizer` on one batch, checked; returns (the batch loss, the model output)
    or raises NonFinite before the non-finite quantity spreads further."""

    def __init__(
        self,
        model: Module,
        loss: Callable,
        optimizer: Optimizer,
        clip_grad_norm: float | None = None,
    ) -> None:
        self.model, self.loss, self.optimizer = model, loss, optimizer
        self.named = list(model.named_parameters())
        self.params = [p for _, p in self.named]
        self.clip = clip_grad_norm
        self.needs_closure = getattr(optimizer, "needs_closure", False)  # L-BFGS and the like
        self.create_graph = getattr(optimizer, "create_graph", False)  # Newton-CG's products

    def __call__(self, xb: np.ndarray, yb: np.ndarray) -> tuple[float, Tensor]:
        """One checked step on the batch (xb, yb): (its loss before the update, the output)."""
        if self.needs_closure:
            value, out = self._closure_step(xb, yb)
        else:
            value, out = self._gradients(xb, yb)
            if self.clip is not None:
                clip_grad_norm_(self.params, self.clip)
            self.optimizer.step()
        self._check("parameter", "data")
        return value, out

    def _gradients(self, xb: np.ndarray, yb: np.ndarray) -> tuple[float, Tensor]:
        """Forward, loss and backward on the batch, each checked: (the loss, the output), with
        every parameter's .grad set and finite (a compiled step computes them its own way)."""
        self.optimizer.zero_grad()
        out = self.model(xb)
        return self._checked_loss(self.loss(out, yb)), out

    def _checked_loss(self, batch_loss: Tensor) -> float:
        """Check the loss, differentiate, check the gradients: all before any update."""
        # The array itself: .data would hand the result's memory out (saved.py), and backward()
        # would then check every node that saved a fresh array against it.
        value = float(batch_loss._data)
        if not math.isfinite(value):
            raise NonFinite("loss", value)
        batch_loss.backward(create_graph=self.create_graph)
        self._check("gradient of", "grad")
        return value

    def _check(self, what: str, attribute: str) -> None:
        for name, p in self.named:
            array = getattr(p, attribute)
            bad = None if array is None else first_bad(array)
            if bad is not None:
                raise NonFinite(f"{what} {name}", bad)

    def _closure_step(self, xb: np.ndarray, yb: np.ndarray) -> tuple[float, Tensor]:
        """A step of an optimizer that re-evaluates the loss itself (L-BFGS): (the loss before
        the step, the model's output then), as the other optimizers' steps record them. Only
        the first evaluation, at the weights the step starts from, is checked: the line search
        may try points where the loss is infinite, and step back from them."""
        outputs = []

        def closure():
            self.optimizer.zero_grad()
            out = self.model(xb)
            batch_loss = self.loss(out, yb)
            if outputs:
                batch_loss.backward(create_graph=self.create_graph)
                return batch_loss
            self._checked_loss(batch_loss)
            outputs.append(out)
            return batch_loss

        with warnings.catch_warnings():
            # Each step is one slice of the run: fit's epochs are the budget, not max_iter.
            warnings.simplefilter("ignore", ConvergenceWarning)
            first_loss = self.optimizer.step(closure)
        return float(first_loss._data), outputs[0]
