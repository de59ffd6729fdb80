"""Models: Module, Parameter, Linear, Perceptron, MLP, Sequential, activations, initialisers,
gradient clipping (`wengert.nn.utils`).

Layer: models, below derivatives; it imports only the layers above it (checks, engine,
derivatives).
"""

from wengert.nn import utils
from wengert.nn.activations import (
    ACTIVATIONS,
    Activation,
    get_activation,
    identity,
    sign_ste,
    step_ste,
)
from wengert.nn.init import INITS, initial_weight
from wengert.nn.linear import Linear
from wengert.nn.models import MLP, Perceptron, Sequential
from wengert.nn.module import Module, Parameter

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "MLP",
    "Activation",
    "Linear",
    "Module",
    "Parameter",
    "Perceptron",
    "Sequential",
    "get_activation",
    "identity",
    "initial_weight",
    "sign_ste",
    "step_ste",
    "utils",
]
