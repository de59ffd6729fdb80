"""What the fit() tests share: the lecture's four-row table and its one-weight perceptron."""

import numpy as np

from wengert import losses, nn
from wengert.train import History, fit

X_TABLE = np.array([[10.0], [2.0], [3.5], [1.0]])
Y_TABLE = np.array([10.1, 1.9, 3.4, 1.1])


def smallest_perceptron():
    """The lecture's model y = w x: one weight, no bias, in float64."""
    return nn.Perceptron(1, bias=False, dtype=np.float64)


def fit_table(model: nn.Module, opt, **kwargs) -> History:
    """fit() of `model` on the table by the l2 loss, without progress unless kwargs ask."""
    return fit(model, losses.l2, opt, (X_TABLE, Y_TABLE), **{"progress": False, **kwargs})
