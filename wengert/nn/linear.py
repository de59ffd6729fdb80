"""Linear: the layer a = x w + b, with w of shape (inputs, outputs)."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from wengert._checks import Boolean, Interval, Options, as_generator, check, refusal, what_came
from wengert.autodiff.ops import linear_p
from wengert.autodiff.primitive import apply
from wengert.autodiff.tensor import Tensor
from wengert.nn.init import INITS, initial_weight
from wengert.nn.module import Module, Parameter


class Linear(Module):
    """a = x @ weight + bias: `weight` has shape (n_inputs, n_outputs), `bias` (n_outputs,).

    The lecture writes a = w.x + b; storing w as (inputs, outputs) makes a batch of rows x
    (N, inputs) give a (N, outputs) without a transpose (PyTorch stores (outputs, inputs)).
    `bias` (a bool) says whether there is one; it starts at 0. `init` is one of
    wengert.nn.init.INITS. `seed` (an int or a numpy Generator) makes the draw reproducible.
    """

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        bias: bool = True,
        init: str = "xavier_uniform",
        seed: int | np.random.Generator | None = None,
        dtype: DTypeLike = np.float32,
    ) -> None:
        check_size(n_inputs, "n_inputs", "Linear")
        check_size(n_outputs, "n_outputs", "Linear")
        check("Linear", "bias", bias, Boolean())
        check("Linear", "init", init, Options(INITS))
        dtype = check_float_dtype(dtype, "Linear")
        self.n_inputs, self.n_outputs = int(n_inputs), int(n_outputs)
        rng = as_generator(seed, "Linear")
        self.weight = Parameter(initial_weight(init, self.n_inputs, self.n_outputs, rng), dtype)
        self.bias = Parameter(np.zeros(self.n_outputs), dtype) if bias else None

    def forward(self, x: ArrayLike | Tensor) -> Tensor:
        """x @ weight.T + bias for x of shape (n_samples, n_inputs) (or (n_inputs,))."""
        n = self.n_inputs
        if x.__class__ is not np.ndarray or not x.shape or x.shape[-1] != n:
            check_features(x, n, self.describe())  # an ndarray that fits passes at once
        # The weight and bias shapes are the layer's own: linear()'s checks would repeat this one.
        if self.bias is None:
            return apply(linear_p, x, self.weight)
        return apply(linear_p, x, self.weight, self.bias)

    def config(self) -> dict:
        """The constructor arguments that rebuild this layer's shape (the weights are saved
        apart): n_inputs, n_outputs, bias, dtype."""
        return {
            "n_inputs": self.n_inputs,
            "n_outputs": self.n_outputs,
            "bias": self.bias is not None,
            "dtype": str(self.weight.dtype),
        }

    def describe(self) -> str:
        """The layer as a short call, `Linear(n_inputs, n_outputs)`, for messages."""
        return f"Linear({self.n_inputs}, {self.n_outputs})"

    def extra_repr(self) -> str:
        """The sizes and whether there is a bias, for repr()."""
        return f"{self.n_inputs}, {self.n_outputs}, bias={self.bias is not None}"


def check_size(n: object, name: str, owner: str) -> None:
    """A layer size: an int >= 1."""
    check(owner, name, n, Interval(Integral, 1, None))


def check_float_dtype(dtype: DTypeLike, owner: str) -> np.dtype:
    """A parameter dtype: numpy.dtype(dtype) when it is floating (None is float64, as NumPy
    has it); anything else is refused by `owner`, before a Parameter would be."""
    expected = "a floating dtype such as numpy.float32 or numpy.float64"
    try:
        resolved = np.dtype(dtype)
    except (TypeError, ValueError):
        raise refusal(owner, "dtype", expected, what_came(dtype), TypeError) from None
    if resolved.kind != "f":
        raise refusal(owner, "dtype", expected, f"{what_came(dtype)}, dtype {resolved}", TypeError)
    return resolved


def check_features(x: ArrayLike | Tensor, n_inputs: int, owner: str) -> None:
    """Refuse inputs whose last axis is not n_inputs long, naming the layer and the shape."""
    features = x.shape if isinstance(x, Tensor) else np.shape(x)  # .data would hand it out
    if not features or features[-1] != n_inputs:
        raise refusal(
            owner,
            "inputs",
            f"an array with {n_inputs} features on its last axis",
            f"shape {features}",
        )


__all__ = ["Linear", "check_features", "check_float_dtype", "check_size"]
