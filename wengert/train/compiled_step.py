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
from wengert.train.step import NonFinite, Step


class CompiledTrainStep(Step):
    """`Step` whose forward and backward are one compiled program (wg.compile_step)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        """Step's arguments: model, loss, optimizer, clip_grad_norm."""
        super().__init__(*args, **kwargs)
        self.compiled = CompiledStep(self.model, self.loss, self.optimizer)  # refuses L-BFGS

    def _gradients(self, xb: np.ndarray, yb: np.ndarray) -> tuple[float, Tensor]:
        """The compiled forward, loss and backward, checked as the eager step's: (the loss,
        the output), with every parameter's .grad set and finite."""
        value, out = self.compiled.gradients(xb, yb)
        if not math.isfinite(value):
            raise NonFinite("loss", value)
        self._check("gradient of", "grad")
        return value, Tensor._make(out, False, None, None, None)


__all__ = ["CompiledTrainStep"]
