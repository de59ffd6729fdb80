"""The `wengert` command line: a thin layer over the public API, parsed by click.

    wengert train        train a perceptron or an MLP on a bundled dataset or a CSV file
    wengert predict      predictions of a saved model, as CSV on stdout
    wengert resume       continue a training run where it stopped
    wengert trace        the Wengert list of an expression, its backward sweep and gradient
    wengert gradcheck    autodiff against central differences, for an expression
    wengert derivatives  the gradient of an expression by six methods, side by side
    wengert plot         the lecture's pictures
    wengert playground   a page on localhost to train a network and watch it learn
    wengert sweep        one training run per point of a grid, locally or on Dask or Ray

Results go to stdout, progress to stderr. A mistake in the input exits with status 2 and one
line, `wengert <command>: error: <what was wrong>`, and writes nothing.

Layer: interfaces, the last row of the layers; it may import every other layer.
"""

from __future__ import annotations

import click

from wengert.cli.boundary import UserError
from wengert.cli.calculus import derivatives, gradcheck, trace
from wengert.cli.playground import playground
from wengert.cli.plot import plot
from wengert.cli.predict import predict
from wengert.cli.sweep import sweep
from wengert.cli.train import resume, train

__all__ = ["UserError", "main"]

EPILOG = """\b
Examples:
  wengert trace 'sigmoid(w*x + b)' --at w=0.5,x=2,b=0.1
  wengert train --data xor --model mlp --hidden 8 --epochs 50 --out runs/xor
  wengert predict --model runs/xor --data points.csv
"""


@click.group(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="wengert")
def main() -> None:
    """Train perceptrons and MLPs by gradient descent, and watch backpropagation work."""


for _command in (train, predict, resume, trace, gradcheck, derivatives, plot, playground, sweep):
    main.add_command(_command)
