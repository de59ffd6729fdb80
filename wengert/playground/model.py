"""A playground run's model, loss, optimizer and schedule, built from its config.

The loss of a batch is the chosen loss's mean plus the L2 penalty (λ/2)·Σ‖W‖² over the weight
matrices (not the biases). `functional_loss` writes the same forward with the weights as
arguments, for `wg.trace`: its Wengert list names them w, b (one perceptron) or W1, b1, W2, ...
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np

from wengert import nn, optim
from wengert.autodiff import ops
from wengert.autodiff.ops import linear_p
from wengert.autodiff.primitive import apply
from wengert.autodiff.tensor import Tensor
from wengert.losses import LOSSES
from wengert.optim import schedules

__all__ = ["build_model", "build_optimizer", "decision", "functional_loss", "make_loss"]


def n_outputs(config: dict) -> int:
    """2 for cross-entropy (one logit per class), 1 otherwise."""
    return 2 if LOSSES[config["loss"]].several_outputs else 1


def build_model(config: dict, n_features: int) -> nn.Module:
    """One perceptron (no hidden layer, one output) or an MLP of the hidden widths, float64."""
    n_out, seed = n_outputs(config), config["seed"]
    if not config["hidden"] and n_out == 1:
        init = "zeros" if config["dataset"] == "seed_table" else "xavier_uniform"
        return nn.Perceptron(
            n_features, bias=config["bias"], init=init, seed=seed, dtype=np.float64
        )
    sizes = [n_features, *config["hidden"], n_out]
    return nn.MLP(
        sizes, activation=config["activation"], bias=config["bias"], seed=seed, dtype=np.float64
    )


def weight_matrices(model: nn.Module) -> list[Tensor]:
    """The weights the L2 penalty reads: every parameter named weight, none of the biases."""
    return [p for name, p in model.named_parameters() if name.rsplit(".", 1)[-1] == "weight"]


def make_loss(config: dict) -> Callable[[Tensor, np.ndarray], Tensor]:
    """ℓ(ŷ, y) of the config's loss, averaged over the batch, on the model's raw outputs."""
    spec = LOSSES[config["loss"]]
    margin = config["margin"]

    def loss(y_hat: Tensor, y: np.ndarray) -> Tensor:
        if not spec.several_outputs and y_hat.ndim == 2:
            y_hat = y_hat.reshape(-1)
        if spec.name == "hinge":
            return spec.function(y_hat, y, margin=margin)
        return spec.function(y_hat, y)

    return loss


def penalty(weights: list[Tensor], l2: float) -> Tensor | float:
    """(λ/2)·Σ‖W‖², or 0.0 when λ = 0."""
    if l2 == 0:
        return 0.0
    total = ops.sum(weights[0] * weights[0])
    for w in weights[1:]:
        total = total + ops.sum(w * w)
    return l2 / 2 * total


def schedule(config: dict) -> float | schedules.Schedule:
    """The learning rate: a number (constant) or the config's schedule from η0."""
    eta0, name = config["learning_rate"], config["schedule"]
    gamma, steps = config["decay"], config["decay_steps"]
    return {
        "constant": lambda: eta0,
        "inverse_sqrt": lambda: schedules.inverse_sqrt(eta0),
        "inverse_scaling": lambda: schedules.inverse_scaling(eta0, 0.25),
        "exponential": lambda: schedules.exponential(eta0, gamma),
        "step_decay": lambda: schedules.step_decay(eta0, steps, gamma),
        "cosine": lambda: schedules.cosine(eta0, steps),
    }[name]()


def build_optimizer(config: dict, params: list) -> optim.Optimizer:
    """The config's optimizer on `params`; L-BFGS takes one iteration per step."""
    name, lr = config["optimizer"], schedule(config)
    if name == "sgd":
        return optim.SGD(
            params,
            lr=lr,
            momentum=config["momentum"],
            nesterov=config["nesterov"] and config["momentum"] > 0,
            momentum_form=config["momentum_form"],
        )
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr, momentum=config["momentum"])
    if name == "lbfgs":
        return optim.LBFGS(params, lr=lr, max_iter=1, line_search="strong_wolfe")
    return optim.OPTIMIZERS[name](params, lr=lr)


def decision(config: dict, outputs: np.ndarray) -> np.ndarray:
    """Outputs as a value in [0, 1] whose 0.5 is the decision boundary: the probability of
    class 1 for logistic and cross-entropy, (clip(score, -1, 1) + 1) / 2 for the others."""
    code = LOSSES[config["loss"]].labels
    if code == "argmax":
        z = outputs - outputs.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e[:, 1] / e.sum(axis=1)
    scores = outputs.reshape(-1)
    if code == "logit":
        return 0.5 * (1.0 + np.tanh(scores / 2.0))  # the sigmoid, without overflow
    return (np.clip(scores, -1.0, 1.0) + 1.0) / 2.0


def parameter_names(model: nn.Module) -> list[str]:
    """The trace's names of the parameters: w, b for one perceptron; W1, b1, W2, b2, ..."""
    if isinstance(model, nn.Perceptron):
        return ["w", "b"][: len(model.parameters())]
    names = []
    for k, layer in enumerate(model.layers, start=1):
        names += [f"W{k}"] + ([f"b{k}"] if layer.bias is not None else [])
    return names


def functional_loss(config: dict, model: nn.Module) -> Callable[..., Tensor]:
    """loss(*parameters, x, y): the model's forward on one sample, with the parameters as
    arguments (for wg.trace), its loss and the L2 penalty; named after parameter_names."""
    names, loss = parameter_names(model), make_loss(config)
    perceptron = isinstance(model, nn.Perceptron)
    activation = model.activation
    output_activation = activation if perceptron else model.output_activation
    biased = config["bias"]

    def f(*args: object) -> Tensor:
        *params, x, y = args
        pairs = [
            (params[i], params[i + 1] if biased else None)
            for i in range(0, len(params), 1 + biased)
        ]
        h = x
        for k, (w, b) in enumerate(pairs, start=1):
            z = apply(linear_p, h, w) if b is None else apply(linear_p, h, w, b)
            h = output_activation(z) if k == len(pairs) else activation(z)
        L = loss(h, y)
        if config["l2"] > 0:
            L = L + penalty(params[:: 1 + biased], config["l2"])
        return L

    f.__name__ = "loss"
    kinds = inspect.Parameter.POSITIONAL_OR_KEYWORD
    f.__signature__ = inspect.Signature([inspect.Parameter(n, kinds) for n in [*names, "x", "y"]])
    return f
