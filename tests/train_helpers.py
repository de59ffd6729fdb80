"""What the fit() tests share: the lecture's four-row table and its one-weight perceptron."""

import numpy as np
from classic_helpers import TABLE_X as X_TABLE
from classic_helpers import TABLE_Y as Y_TABLE

from wengert import losses, nn
from wengert.train import History, fit

__all__ = ["X_TABLE", "Y_TABLE", "fit_table", "smallest_perceptron"]


def smallest_perceptron():
    """The lecture's model y = w x: one weight, no bias, in float64."""
    return nn.Perceptron(1, bias=False, dtype=np.float64)


def fit_table(model: nn.Module, opt, **kwargs) -> History:
    """fit() of `model` on the table by the l2 loss, without progress unless kwargs ask."""
    return fit(model, losses.l2, opt, (X_TABLE, Y_TABLE), **{"progress": False, **kwargs})
