"""Pictures of the lecture, drawn from numbers computed by wengert (pip install 'wengert[plot]').

Each function returns a matplotlib Figure made without pyplot (no backend, no global state:
show it in a notebook by leaving it as the cell's value, or write it with save="x.png"/".svg"),
and attaches the numbers it drew as the dict `fig.wengert_data` (its keys are in each
docstring), so that a test, or a reader, can check the picture against the library.
matplotlib is imported when a picture is drawn, never by `import wengert.plot`.

    plot_losses              the four losses (L1, L2, zero-one, hinge) against ŷ, y = 1
    plot_loss_curve          a History's loss per step and epoch, its learning rate below;
                             a diverged run's finite part, and where it diverged
    plot_descent             gradient descent on a 1-D function, the steps as arrows
    plot_learning_rates      learning rate too small / about right / too big
    plot_optimizer_paths     SGD, momentum, Nesterov, Adagrad, Adadelta, RMSprop, Adam, L-BFGS
                             on a long narrow valley or a saddle
    plot_margins             a perceptron's and an SVM's boundaries, with the SVM's margin
    plot_boundary_evolution  an MLP's boundary on xor / circles / spirals as it trains
    plot_step_size_error     the V of finite-difference error against the step h
    plot_boundary            any trained classifier's decision regions on 2-feature data
    plot_schedule            a learning-rate schedule over the steps, beside the rates recorded

PICTURES maps a short name to a function callable with no arguments (for `wengert plot NAME`).

Layer: integrations, with io and sklearn; it imports the layers above it (checks through
classic) and the other integrations, never the interfaces (wengert.cli).
"""

from wengert.plot.boundaries import (
    DATASETS,
    plot_boundary,
    plot_boundary_evolution,
    plot_margins,
)
from wengert.plot.curves import example_history, plot_loss_curve, plot_losses, plot_step_size_error
from wengert.plot.descent import descend_1d, plot_descent, plot_learning_rates
from wengert.plot.paths import OPTIMIZERS, SURFACES, optimizer_path, plot_optimizer_paths
from wengert.plot.schedules import plot_schedule

PICTURES = {
    "losses": plot_losses,
    "loss-curve": plot_loss_curve,
    "descent": plot_descent,
    "learning-rates": plot_learning_rates,
    "optimizer-paths": plot_optimizer_paths,
    "margins": plot_margins,
    "boundary-evolution": plot_boundary_evolution,
    "step-size-error": plot_step_size_error,
}

__all__ = [
    "DATASETS",
    "OPTIMIZERS",
    "PICTURES",
    "SURFACES",
    "descend_1d",
    "example_history",
    "optimizer_path",
    "plot_boundary",
    "plot_boundary_evolution",
    "plot_descent",
    "plot_learning_rates",
    "plot_loss_curve",
    "plot_losses",
    "plot_margins",
    "plot_optimizer_paths",
    "plot_schedule",
    "plot_step_size_error",
]
