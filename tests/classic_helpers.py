"""Data shared by the wengert.classic test files."""

import numpy as np

# The lecture's table: y = w x with one weight.
TABLE_X = np.array([[10.0], [2.0], [3.5], [1.0]])
TABLE_Y = np.array([10.1, 1.9, 3.4, 1.1])

# The AND gate, labels 0/1.
AND_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
AND_Y = np.array([0, 0, 0, 1])
