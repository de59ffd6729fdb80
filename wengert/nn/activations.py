"""Activation functions, by name and as modules.

The smooth ones are the engine's primitives. `sign` and `step`, the classic perceptron's
activations, have no useful derivative (0 almost everywhere, undefined at 0): here their
gradient is taken as 1, the straight-through choice. With it, gradient descent on
1/2 (y - sign(w.x))^2 is exactly the lecture's rule w <- w + eta (y - y_hat) x, which is
Rosenblatt's perceptron rule (on a mistake y - y_hat = 2y).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from wengert import _checks
from wengert._checks import Options, check, refusal
from wengert.autodiff.mode import no_grad
from wengert.autodiff.ops import leaky_relu, relu, sigmoid, sign, softplus, tanh, where
from wengert.autodiff.tensor import Tensor
from wengert.nn.module import Module

_X = TypeVar("_X")


def identity(x: _X) -> _X:
    """x itself: the linear unit of the lecture's y = w x."""
    return x


def _straight_through(x, value):
    """`value` forward, the gradient of x backward (d value / dx taken as 1)."""
    with no_grad():
        offset = value - x
    return x + offset


def sign_ste(x: Tensor) -> Tensor:
    """sign(x) (-1, 0 or 1), with the gradient of the identity (see the module docstring)."""
    return _straight_through(x, sign(x))


def step_ste(x: Tensor) -> Tensor:
    """1 where x > 0, else 0 (Heaviside), with the gradient of the identity."""
    return _straight_through(x, where(x > 0, 1.0, 0.0))


ACTIVATIONS: dict[str, Callable] = {
    "identity": identity,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "softplus": softplus,
    "sign": sign_ste,
    "step": step_ste,
}


def get_activation(
    activation: str | Callable[[Tensor], Tensor] | None,
    owner: str = "get_activation",
    name: str = "activation",
) -> Callable[[Tensor], Tensor]:
    """The activation function named `activation` (or `activation` itself if callable; None
    is the identity); anything else is refused with `owner` and `name` in the message."""
    if callable(activation):
        return activation
    if activation is None:
        return identity
    check(owner, name, activation, Options(ACTIVATIONS), _checks.Callable("a function"), None)
    return ACTIVATIONS[activation]


def activation_name(fn: Callable) -> str:
    """The name under which `fn` is registered in ACTIVATIONS, else its own __name__."""
    for name, f in ACTIVATIONS.items():
        if f is fn:
            return name
    return getattr(fn, "__name__", repr(fn))


def saved_activation_name(fn: Callable, owner: str, argument: str = "activation") -> str:
    """The registered name of `fn`, for a model file; a custom function cannot be saved."""
    for name, f in ACTIVATIONS.items():
        if f is fn:
            return name
    expected = f"one of {', '.join(repr(a) for a in ACTIVATIONS)} to be saved"
    got = (
        f"the custom activation {activation_name(fn)!r}, which cannot be saved in a model file "
        f"(a file stores activations by name, never code)"
    )
    raise refusal(owner, argument, expected, got)


class Activation(Module):
    """An activation function as a module, for Sequential: Activation("relu")."""

    def __init__(self, activation: str | Callable[[Tensor], Tensor] | None = "relu") -> None:
        self.fn = get_activation(activation, "Activation")

    def forward(self, x: Tensor) -> Tensor:
        """The activation applied to x, elementwise."""
        return self.fn(x)

    def config(self) -> dict:
        """What a model file stores to build this module again: the activation's name."""
        return {"activation": saved_activation_name(self.fn, "Activation")}

    def extra_repr(self) -> str:
        """The activation's name, as repr() of the module shows it."""
        return repr(activation_name(self.fn))


__all__ = [
    "ACTIVATIONS",
    "Activation",
    "activation_name",
    "get_activation",
    "identity",
    "saved_activation_name",
    "sign_ste",
    "step_ste",
]
