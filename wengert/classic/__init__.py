"""The classic learning rules of the lecture, in plain NumPy, one sample at a time.

- `Perceptron`: Rosenblatt's rule, a sign activation, updated on mistakes only; stops at the
  first epoch without a mistake (Novikoff: at most (R/γ)² mistakes on separable data).
- `LMS`: the lecture's incremental rule w ← w + η (y - ŷ) x for the linear "world's smallest
  perceptron", gradient descent on ½ (y - ŷ)² one sample at a time.
- `LinearSVM`: the hinge loss with L2 regularisation, minimised by Pegasos; it maximises the
  margin, which the perceptron does not.
- `perceptron_criterion` and `NoMistakes`: Rosenblatt's rule as a loss and a stopping rule, so
  that wengert.fit runs it by backpropagation and SGD, step for step the same.

They follow scikit-learn's estimator contract (fit returns self; learned attributes end in `_`)
and keep a record of training in `history_`. No autodiff here: the update rules are the subject,
written out. wengert.nn and wengert.fit train the same models by backpropagation.

>>> import numpy as np
>>> from wengert.classic import LMS
>>> x = np.array([[10.0], [2.0], [3.5], [1.0]])
>>> y = np.array([10.1, 1.9, 3.4, 1.1])
>>> float(np.sum(x[:, 0] * y) / np.sum(x * x))  # least squares, Σ x y / Σ x²
1.004690831556503
>>> round(float(LMS(lr=0.01, epochs=30, schedule="inverse_sqrt").fit(x, y).w_[0]), 4)
1.0047

Layer: classic, below training; it imports only the layers above it (checks through
training).
"""

from wengert._checks import ConvergenceWarning
from wengert.classic._checks import DivergenceWarning, NotFittedError
from wengert.classic.criterion import NoMistakes, perceptron_criterion
from wengert.classic.lms import LMS
from wengert.classic.perceptron import Perceptron
from wengert.classic.svm import LinearSVM

__all__ = [
    "LMS",
    "ConvergenceWarning",
    "DivergenceWarning",
    "LinearSVM",
    "NoMistakes",
    "NotFittedError",
    "Perceptron",
    "perceptron_criterion",
]
