"""Perceptron, MLP and Sequential: the lecture's networks, from one weight to many layers."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from wengert._checks import Boolean, Options, as_generator, check, refusal, what_came
from wengert.autodiff.ops import linear_p
from wengert.autodiff.primitive import apply
from wengert.autodiff.tensor import Tensor
from wengert.nn.activations import (
    activation_name,
    get_activation,
    identity,
    saved_activation_name,
)
from wengert.nn.init import INITS, initial_weight
from wengert.nn.linear import Linear, check_features, check_float_dtype, check_size
from wengert.nn.module import Module, Parameter

# An activation: a name from wengert.nn.activations, a function of a Tensor, or None (identity).
ActivationLike = str | Callable[[Tensor], Tensor] | None


class Perceptron(Module):
    """y_hat = f(w.x + b) for one output: the lecture's perceptron, from y = w x upwards.

    Perceptron(1, bias=False) is the world's smallest perceptron, y = w x (activation
    "identity"); activation="sign" is Rosenblatt's; "sigmoid" gives logistic regression.
    `weight` has shape (n_inputs,) and `bias` is a scalar, so inputs (N, n_inputs) give an
    output of shape (N,), to sit beside a label vector y (N,), in one graph node (`linear`).
    """

    def __init__(
        self,
        n_inputs: int,
        activation: ActivationLike = "identity",
        bias: bool = True,
        init: str = "zeros",
        seed: int | np.random.Generator | None = None,
        dtype: DTypeLike = np.float32,
    ) -> None:
        check_size(n_inputs, "n_inputs", "Perceptron")
        check("Perceptron", "bias", bias, Boolean())
        check("Perceptron", "init", init, Options(INITS))
        dtype = check_float_dtype(dtype, "Perceptron")
        self.n_inputs = int(n_inputs)
        self.activation = get_activation(activation, "Perceptron")
        w = initial_weight(init, self.n_inputs, 1, as_generator(seed, "Perceptron"))[:, 0]
        self.weight = Parameter(w, dtype)
        self.bias = Parameter(0.0, dtype) if bias else None

    def forward(self, x: ArrayLike | Tensor) -> Tensor:
        """The activation of x @ weight.T + bias, one output per row of x."""
        n = self.n_inputs
        if x.__class__ is not np.ndarray or not x.shape or x.shape[-1] != n:
            check_features(x, n, f"Perceptron({n})")  # an ndarray that fits passes at once
        if self.bias is None:
            out = apply(linear_p, x, self.weight)
        else:
            out = apply(linear_p, x, self.weight, self.bias)
        activation = self.activation
        return out if activation is identity else activation(out)

    def config(self) -> dict:
        """Constructor arguments (JSON values) that rebuild this model's shape."""
        return {
            "n_inputs": self.n_inputs,
            "activation": saved_activation_name(self.activation, "Perceptron"),
            "bias": self.bias is not None,
            "dtype": str(self.weight.dtype),
        }

    def extra_repr(self) -> str:
        """The number of inputs and the activation, for repr()."""
        return f"{self.n_inputs}, activation={activation_name(self.activation)!r}"


class MLP(Module):
    """A multi-layer perceptron: Linear layers of `sizes`, `activation` between them.

    MLP([784, 256, 10]) maps 784 inputs through 256 hidden units to 10 outputs:
    y_hat = f_out(W2 . f(W1 . x + b1) + b2). The output keeps its last axis (N, 10), also
    when it has one unit. `init` defaults to He for ReLU-like activations, Xavier otherwise.
    `seed` (int or Generator) draws every layer from one generator, in order.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: ActivationLike = "relu",
        output_activation: ActivationLike = "identity",
        bias: bool = True,
        init: str | None = None,
        seed: int | np.random.Generator | None = None,
        dtype: DTypeLike = np.float32,
    ) -> None:
        sizes = _check_sizes(sizes)
        check("MLP", "bias", bias, Boolean())
        check("MLP", "init", init, Options(INITS), None)
        dtype = check_float_dtype(dtype, "MLP")
        self.activation = get_activation(activation, "MLP")
        self.output_activation = get_activation(output_activation, "MLP", "output_activation")
        if init is None:
            relu_like = activation_name(self.activation) in ("relu", "leaky_relu")
            init = "he_uniform" if relu_like else "xavier_uniform"
        rng = as_generator(seed, "MLP")
        self.layers = [
            Linear(n_in, n_out, bias=bias, init=init, seed=rng, dtype=dtype)
            for n_in, n_out in itertools.pairwise(sizes)
        ]
        self.sizes = sizes

    def forward(self, x: ArrayLike | Tensor) -> Tensor:
        """Each hidden layer and its activation, then the last layer and the output activation."""
        *hidden, last = self.layers
        for layer in hidden:
            x = self.activation(layer(x))
        return self.output_activation(last(x))

    def config(self) -> dict:
        """Constructor arguments (JSON values) that rebuild this model's shape."""
        first = self.layers[0]
        return {
            "sizes": [int(n) for n in self.sizes],
            "activation": saved_activation_name(self.activation, "MLP"),
            "output_activation": saved_activation_name(
                self.output_activation, "MLP", "output_activation"
            ),
            "bias": first.bias is not None,
            "dtype": str(first.weight.dtype),
        }

    def extra_repr(self) -> str:
        """The layer sizes and both activations, for repr()."""
        return (
            f"{self.sizes}, activation={activation_name(self.activation)!r}, "
            f"output_activation={activation_name(self.output_activation)!r}"
        )


def _check_sizes(sizes: object) -> list[int]:
    """MLP's sizes as a list, each an int >= 1, refused in MLP's name."""
    expected = "a list of at least 2 layer sizes (inputs and outputs), e.g. [2, 4, 1]"
    try:
        sizes = list(sizes)
    except TypeError:
        raise refusal("MLP", "sizes", expected, what_came(sizes), TypeError) from None
    if len(sizes) < 2:
        raise refusal("MLP", "sizes", expected, repr(sizes))
    for i, n in enumerate(sizes):
        check_size(n, f"sizes[{i}]", "MLP")
    return [int(n) for n in sizes]


class Sequential(Module):
    """Modules applied one after the other: Sequential(Linear(2, 4), Activation("tanh"), ...)."""

    def __init__(self, *modules: Module) -> None:
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                many = isinstance(m, (list, tuple)) and len(modules) == 1
                fix = "Pass the modules one by one: Sequential(*layers)." if many else ""
                expected = "a Module (e.g. Linear or Activation)"
                raise refusal("Sequential", f"modules[{i}]", expected, what_came(m), TypeError, fix)
        self.layers = list(modules)

    def forward(self, x: ArrayLike | Tensor) -> Tensor:
        """x passed through each module in turn."""
        for m in self.layers:
            x = m(x)
        return x

    def config(self) -> dict:
        """{"layers": [{"class": name, "config": layer.config()}, ...]}."""
        return {"layers": [{"class": type(m).__name__, "config": m.config()} for m in self.layers]}

    def __getitem__(self, i: int) -> Module:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)


__all__ = ["MLP", "Perceptron", "Sequential"]
