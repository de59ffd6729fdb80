"""Numerical differentiation and the gradient check.

`numerical_grad` and `numerical_jacobian` differentiate by finite differences (forward,
backward, central, Richardson); `gradcheck` compares wengert's reverse-mode gradients with
central differences in float64 and raises `GradcheckError` where they disagree.
"""

from wengert.derivatives.gradcheck import (
    ArgumentCheck,
    GradcheckError,
    GradcheckReport,
    gradcheck,
)
from wengert.derivatives.numerical import numerical_grad, numerical_jacobian

__all__ = [
    "ArgumentCheck",
    "GradcheckError",
    "GradcheckReport",
    "gradcheck",
    "numerical_grad",
    "numerical_jacobian",
]
