"""The engine: Tensor, the primitives, the reverse sweep, the functional API and the trace."""

from wengert.autodiff.backward import GraphFreedError
from wengert.autodiff.functional import grad, hessian, hvp, jacobian, value_and_grad
from wengert.autodiff.mode import enable_grad, is_grad_enabled, no_grad
from wengert.autodiff.tensor import REGISTRY, Primitive, Tensor, tensor

__all__ = [
    "REGISTRY",
    "GraphFreedError",
    "Primitive",
    "Tensor",
    "enable_grad",
    "grad",
    "hessian",
    "hvp",
    "is_grad_enabled",
    "jacobian",
    "no_grad",
    "tensor",
    "value_and_grad",
]
