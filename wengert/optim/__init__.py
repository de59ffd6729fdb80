"""Optimizers and learning-rate schedules, with PyTorch's conventions and update rules.

>>> import wengert as wg
>>> from wengert.optim import SGD, schedules
>>> w = wg.tensor([1.0, -2.0], requires_grad=True)
>>> opt = SGD([w], lr=schedules.inverse_sqrt(0.5), momentum=0.9)
>>> loss = wg.sum(w * w)
>>> loss.backward()
>>> opt.step()                    # w ← w − η₁·g, η₁ = 0.5, g = 2w
>>> w
Tensor([0., 0.], grad=[ 2., -4.])

Each optimizer's maths is a pure function (`sgd_rule`, `adam_rule`, ...) from the gradient and
the state to a direction and the new state, whose class's docstring gives the rule in the
lecture's notation and every convention where libraries differ. OPTIMIZERS maps the command
line's names to the classes; adding an optimizer is its module and an import here.

Layer: optimizers, below losses; it imports only the layers above it (checks, engine,
derivatives, models, losses).
"""

# isort: off
# The order of these imports is the order of OPTIMIZERS, the command line's list: the lecture's.
from wengert.optim.sgd import SGD, sgd_rule
from wengert.optim.adagrad import Adagrad, adagrad_rule
from wengert.optim.adadelta import Adadelta, adadelta_rule
from wengert.optim.rmsprop import RMSprop, rmsprop_rule
from wengert.optim.adam import Adam, AdamW, adam_rule
from wengert.optim.lbfgs import BFGS, LBFGS

# isort: on
from wengert.optim import schedules
from wengert.optim.hyperparameters import Hyper
from wengert.optim.minimize import MinimizeResult, minimize
from wengert.optim.newton_cg import NewtonCG
from wengert.optim.optimizer import OPTIMIZERS, Optimizer
from wengert.optim.schedules import ReduceOnPlateau

__all__ = [
    "BFGS",
    "LBFGS",
    "OPTIMIZERS",
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Hyper",
    "MinimizeResult",
    "NewtonCG",
    "Optimizer",
    "RMSprop",
    "ReduceOnPlateau",
    "adadelta_rule",
    "adagrad_rule",
    "adam_rule",
    "minimize",
    "rmsprop_rule",
    "schedules",
    "sgd_rule",
]
