"""The strong-Wolfe line search: both conditions met on Moré and Thuente's functions, on
Rosenbrock along a line and where the function turns NaN; cubic interpolation exact on a cubic.
"""

import math

import numpy as np
import pytest
from second_order_helpers import rosenbrock_fg

from wengert.optim.line_search import C1, C2, cubic_minimizer, strong_wolfe


def more_thuente_1(a, beta=2.0):  # Moré and Thuente (1994), function 1
    return -a / (a * a + beta), (a * a - beta) / (a * a + beta) ** 2


def more_thuente_2(a, beta=0.004):  # function 2
    return (a + beta) ** 5 - 2 * (a + beta) ** 4, 5 * (a + beta) ** 4 - 8 * (a + beta) ** 3


def rosenbrock_line(a):
    x, d = np.array([-1.2, 1.0]), -rosenbrock_fg(np.array([-1.2, 1.0]))[1]
    f, g = rosenbrock_fg(x + a * d)
    return f, g @ d


def nan_beyond_half(a):
    return (math.nan, math.nan) if a > 0.5 else ((a - 2) ** 2, 2 * (a - 2))


@pytest.mark.parametrize("phi", [more_thuente_1, more_thuente_2, rosenbrock_line, nan_beyond_half])
@pytest.mark.parametrize("alpha", [1e-3, 0.1, 1.0, 10.0, 1e3])
def test_the_line_search_meets_both_strong_wolfe_conditions(phi, alpha):
    if phi is rosenbrock_line:
        alpha *= 1e-3  # the gradient there is ~200: steps of ~1e-3 are unit-sized
    phi0, dphi0 = phi(0.0)
    calls = []
    result = strong_wolfe(lambda a: calls.append(a) or phi(a), phi0, dphi0, alpha)
    assert result.success, result.message
    assert result.phi <= phi0 + C1 * result.alpha * dphi0
    assert abs(result.dphi) <= C2 * abs(dphi0)
    assert (result.phi, result.dphi) == phi(result.alpha)
    assert result.n_eval == len(calls) <= 25


def test_cubic_interpolation_finds_the_minimizer_of_a_cubic():
    f = lambda a: (a - 1) ** 3 - 3 * (a - 1) + 2  # minimum at a = 2
    df = lambda a: 3 * (a - 1) ** 2 - 3
    assert cubic_minimizer(0.5, f(0.5), df(0.5), 3.0, f(3.0), df(3.0)) == pytest.approx(2.0)
    assert math.isnan(cubic_minimizer(0.0, 0.0, -1.0, 1.0, -1.0, -1.0))  # a line: no minimum
