"""Helpers shared by the Tensor and Tensor.backward() test files."""

import numpy as np

import wengert as wg


def leaf(data, dtype=np.float64):
    """A float leaf tensor that requires grad."""
    return wg.tensor(np.asarray(data, dtype=dtype), requires_grad=True)
