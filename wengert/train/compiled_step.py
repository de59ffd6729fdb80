"""fit()'s step with compile=True: the compiled program of wg.compile_step, checked like `Step`.

The program returns the batch loss, the model's output and every gradient at once; the guard
then looks at them in the eager step's order (the loss, then each gradient, before anything is
updated; each weight after the update), clips, and lets the optimizer step. The gradients a
non-finite loss came with are computed, but never applied.
"""

from __future__ import annotations

import math

import numpy as np

from wengert.autodiff.tensor import Tensor
from wengert.compile.step import CompiledStep
from wengert.nn.utils import clip_grad_norm_
from wengert.train.step import NonFinite, Step


class CompiledTrainStep(Step):
    """`Step` whose forward and backward are one compiled program (wg.compile_step)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        """Step's arguments: model, loss, optimizer, clip_grad_norm."""
        super().__init__(*args, **kwargs)
        self.compiled = CompiledStep(self.model, self.loss, self.optimizer)  # refuses L-BFGS

    def __call__(self, xb: np.ndarray, yb: np.ndarray) -> tuple[float, Tensor]:
        """One checked step on the batch (xb, yb): (its loss before the update, the output)."""
        value, out = self.compiled.gradients(xb, yb)
        if not math.isfinite(value):
            raise NonFinite("loss", value)
        self._check("gradient of", "grad")
        if self.clip is not None:
            clip_grad_norm_(self.params, self.clip)
        self.optimizer.step()
        self._check("parameter", "data")
        return value, Tensor._make(out, False, None, None, None)


__all__ = ["CompiledTrainStep"]
