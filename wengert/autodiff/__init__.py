"""The engine: Tensor, the primitives, reverse and forward mode, the functional API, the trace.

Layer: the engine, the second row of the layers; it imports only wengert._checks.
"""

from wengert.autodiff.anomaly import detect_anomaly
from wengert.autodiff.backward import GraphFreedError
from wengert.autodiff.forward import jacfwd, jvp
from wengert.autodiff.functional import grad, hessian, hvp, jacobian, value_and_grad
from wengert.autodiff.mode import enable_grad, is_grad_enabled, no_grad
from wengert.autodiff.primitive import REGISTRY, Primitive
from wengert.autodiff.tensor import Tensor, tensor

__all__ = [
    "REGISTRY",
    "GraphFreedError",
    "Primitive",
    "Tensor",
    "detect_anomaly",
    "enable_grad",
    "grad",
    "hessian",
    "hvp",
    "is_grad_enabled",
    "jacfwd",
    "jacobian",
    "jvp",
    "no_grad",
    "tensor",
    "value_and_grad",
]
