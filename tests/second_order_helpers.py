"""Helpers shared by the second-order optimizer test files."""

import numpy as np

from wengert.optim import BFGS, LBFGS, NewtonCG

CLASSES = {"lbfgs": LBFGS, "bfgs": BFGS, "newton-cg": NewtonCG}


def rosenbrock(x):
    """Rosenbrock's function of a two-element x."""
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def rosenbrock_fg(x):
    """Rosenbrock's function and its gradient, by hand."""
    f = (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
    g = np.array([-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2), 200 * (x[1] - x[0] ** 2)])
    return f, g


def closure_for(opt, x, f, points=None):
    """The PyTorch-style closure: zero_grad, loss, backward, return the loss."""

    def closure():
        opt.zero_grad()
        if points is not None:
            points.append(x.data.copy())
        loss = f(x)
        loss.backward(create_graph=opt.create_graph)
        return loss

    return closure
