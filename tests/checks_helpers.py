"""Helpers shared by the argument-checker test files."""

from numbers import Real

from wengert._checks import Interval

UNIT = Interval(Real, 0, 1, closed="both")
X3 = [[0.0], [1.0], [3.0]]  # three one-feature rows
