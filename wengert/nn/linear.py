"""Linear: the layer a = x w + b, with w of shape (inputs, outputs)."""

from __future__ import annotations

import numpy as np

from wengert.autodiff.ops import linear
from wengert.autodiff.tensor import Tensor
from wengert.nn.init import as_generator, initial_weight
from wengert.nn.module import Module, Parameter


class Linear(Module):
    """a = x @ weight + bias: `weight` has shape (n_inputs, n_outputs), `bias` (n_outputs,).

    The lecture writes a = w.x + b; storing w as (inputs, outputs) makes a batch of rows x
    (N, inputs) give a (N, outputs) without a transpose (PyTorch stores (outputs, inputs)).
    `init` is one of wengert.nn.init.INITS; the bias starts at 0. `seed` (an int or a
    numpy Generator) makes the draw reproducible.
    """

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        bias: bool = True,
        init: str = "xavier_uniform",
        seed=None,
        dtype=np.float32,
    ) -> None:
        for name, n in (("n_inputs", n_inputs), ("n_outputs", n_outputs)):
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
                raise ValueError(f"Linear: {name} must be an int >= 1; got {n!r}")
        self.n_inputs, self.n_outputs = int(n_inputs), int(n_outputs)
        rng = as_generator(seed)
        self.weight = Parameter(initial_weight(init, self.n_inputs, self.n_outputs, rng), dtype)
        self.bias = Parameter(np.zeros(self.n_outputs), dtype) if bias else None

    def forward(self, x) -> Tensor:
        features = np.shape(x.data if isinstance(x, Tensor) else x)
        if not features or features[-1] != self.n_inputs:
            raise ValueError(
                f"{self.describe()} expects inputs with {self.n_inputs} features (last axis); "
                f"got shape {features}"
            )
        if self.bias is None:
            return linear(x, self.weight)
        return linear(x, self.weight, self.bias)

    def describe(self) -> str:
        return f"Linear({self.n_inputs}, {self.n_outputs})"

    def extra_repr(self) -> str:
        return f"{self.n_inputs}, {self.n_outputs}, bias={self.bias is not None}"


__all__ = ["Linear"]
