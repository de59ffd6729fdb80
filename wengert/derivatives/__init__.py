"""Numerical, symbolic and automatic differentiation, and how they compare.

`numerical_grad` and `numerical_jacobian` differentiate by finite differences (forward,
backward, central, Richardson); `gradcheck` compares wengert's reverse-mode gradients with
central differences in float64 and raises `GradcheckError` where they disagree.
`symbolic_grad` turns f into a SymPy expression through its Wengert list and differentiates it
(SymPy is imported when it runs, never by `import wengert`); `compare_derivatives` puts every
method side by side, with its error and its cost. `lecture_examples`, `depth_sweep` and
`step_size_sweep` show the lecture's claims about them in numbers.

Layer: derivatives, below the engine; it imports only the engine and wengert._checks.
"""

from wengert.derivatives.compare import Comparison, compare_derivatives, reverse_mode_cost
from wengert.derivatives.gradcheck import (
    ArgumentCheck,
    GradcheckError,
    GradcheckReport,
    gradcheck,
)
from wengert.derivatives.lecture import (
    DepthSweep,
    LectureExample,
    LectureExamples,
    StepSizeSweep,
    depth_sweep,
    lecture_examples,
    step_size_sweep,
)
from wengert.derivatives.numerical import numerical_grad, numerical_jacobian
from wengert.derivatives.symbolic import SymbolicError, SymbolicGradient, symbolic_grad

__all__ = [
    "ArgumentCheck",
    "Comparison",
    "DepthSweep",
    "GradcheckError",
    "GradcheckReport",
    "LectureExample",
    "LectureExamples",
    "StepSizeSweep",
    "SymbolicError",
    "SymbolicGradient",
    "compare_derivatives",
    "depth_sweep",
    "gradcheck",
    "lecture_examples",
    "numerical_grad",
    "numerical_jacobian",
    "reverse_mode_cost",
    "step_size_sweep",
    "symbolic_grad",
]
