"""Initial weights: zeros, and Xavier (Glorot) and He (Kaiming) in their uniform and normal forms.

For a weight of shape (fan_in, fan_out):

    xavier_uniform   U(-a, a),  a = sqrt(6 / (fan_in + fan_out))      Glorot & Bengio 2010
    xavier_normal    N(0, s²),  s = sqrt(2 / (fan_in + fan_out))
    he_uniform       U(-a, a),  a = sqrt(6 / fan_in)                   He et al. 2015
    he_normal        N(0, s²),  s = sqrt(2 / fan_in)
    zeros            0 (fine for a single perceptron; a hidden layer's units would stay equal)

Xavier keeps the variance of activations and gradients equal across tanh/sigmoid layers; He
doubles it to make up for ReLU zeroing half of its inputs. PyTorch's own default for a Linear
layer is neither (kaiming_uniform with a = sqrt(5), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)));
scikit-learn's MLP uses xavier_uniform (with 2 instead of 6 for logistic units).
"""

from __future__ import annotations

import math

import numpy as np

from wengert._checks import Options, check

INITS = ("zeros", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal")


def initial_weight(init: str, fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """A (fan_in, fan_out) float64 array drawn by the scheme `init` (see the module docstring)."""
    shape = (fan_in, fan_out)
    if init == "zeros":
        return np.zeros(shape)
    if init == "xavier_uniform":
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-bound, bound, size=shape)
    if init == "xavier_normal":
        return rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=shape)
    if init == "he_uniform":
        bound = math.sqrt(6.0 / fan_in)
        return rng.uniform(-bound, bound, size=shape)
    if init == "he_normal":
        return rng.normal(0.0, math.sqrt(2.0 / fan_in), size=shape)
    check("initial_weight", "init", init, Options(INITS))
    raise AssertionError(init)  # unreachable: check() refused every name not handled above


__all__ = ["INITS", "initial_weight"]
