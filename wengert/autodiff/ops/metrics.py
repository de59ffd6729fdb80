"""Primitives of metrics that have no useful derivative: their rules refuse, by name.

`zero_one` (wengert.losses.zero_one applies it) counts mistakes. It is piecewise constant, so its
true derivative is 0 wherever it exists: a sweep that took it would let training stall in
silence. Its rules raise instead, with the reason and what to train with.
"""

from __future__ import annotations

import numpy as np

from wengert.autodiff.primitive import Primitive, Without

__all__ = ["zero_one_p"]

NO_GRADIENT = (
    "zero_one: the zero-one loss is piecewise constant in y_hat: its derivative is 0 wherever it "
    "exists and undefined at the steps, so it has no useful gradient to descend. Train with a "
    "surrogate, hinge(y_hat, y) (the SVM; margin=0 for the perceptron criterion) or "
    "logistic(logits, y), and use zero_one as a metric, under wg.no_grad() or on y_hat.detach()."
)


def _mistakes(y_hat, y, scores):
    predicted = np.sign(y_hat) if scores else y_hat  # sign(0) = 0 matches neither label
    return (predicted != y).astype(y_hat.dtype if scores else np.float64)


def _refuses(g, ans, y_hat, y, scores):
    raise RuntimeError(NO_GRADIENT)


# `scores`: y_hat holds real-valued scores of a ±1 classifier (compared by sign) rather than
# labels (compared as they are); y, the targets, carry no gradient.
zero_one_p = Primitive(
    "zero_one",
    _mistakes,
    (_refuses, None),
    jvps=(_refuses, None),
    sympy=Without("a count of mistakes: no expression whose derivative means anything"),
)
