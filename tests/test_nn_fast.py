"""The layers' forward: an ndarray of the right width passes one test, anything else the full
check, with its message; the identity activation adds no node."""

import re

import numpy as np
import pytest

import wengert as wg
from wengert import nn


def _message(owner, n, shape):
    return (
        f"{owner}: inputs must be an array with {n} features on its last axis; got shape {shape}."
    )


@pytest.mark.parametrize(
    ("x", "shape"),
    [(np.float32(1.0), "()"), (np.zeros((3, 1)), "(3, 1)"), ([[1.0, 2.0, 3.0]], "(1, 3)")],
    ids=["0-d", "too narrow", "list too wide"],
)
@pytest.mark.parametrize("layer", ["Perceptron", "Linear"])
def test_inputs_of_another_width_are_refused_by_name(layer, x, shape):
    model = nn.Perceptron(2) if layer == "Perceptron" else nn.Linear(2, 4, seed=0)
    owner = "Perceptron(2)" if layer == "Perceptron" else "Linear(2, 4)"
    with pytest.raises(ValueError, match=f"^{re.escape(_message(owner, 2, shape))}$"):
        model(x)


@pytest.mark.parametrize(
    "x",
    [np.array([[1.0, 2.0]]), [[1.0, 2.0]], wg.tensor([[1.0, 2.0]])],
    ids=["ndarray", "list", "Tensor"],
)
def test_every_kind_of_input_of_the_right_width_gives_w_x_plus_b(x):
    model = nn.Perceptron(2, dtype=np.float64)
    model.weight.data[...] = [0.5, -1.0]
    model.bias.data[...] = 0.25
    np.testing.assert_array_equal(model(x).data, [0.5 - 2.0 + 0.25])


def test_the_identity_activation_returns_the_linear_node_itself():
    model = nn.Perceptron(1, bias=False)
    out = model(np.array([[3.0]], np.float32))
    assert out._prim.name == "linear"
    squashed = nn.Perceptron(1, activation="sigmoid", bias=False)(np.array([[3.0]], np.float32))
    assert squashed._prim.name == "sigmoid"
    np.testing.assert_allclose(squashed.data, [0.5])


def test_calling_a_module_calls_the_forward_of_its_own_class():
    class Double(nn.Module):
        def forward(self, x):
            return 2 * x

    class Triple(Double):
        def forward(self, x):
            return 3 * x

    class Logged(Triple):
        def __call__(self, x):
            return ("called", super().__call__(x))

    class Inherits(Triple):
        pass

    assert Double.__call__ is Double.forward and Triple.__call__ is Triple.forward
    assert Double()(np.float64(2.0)) == 4.0
    assert Triple()(np.float64(2.0)) == 6.0
    assert Inherits()(np.float64(2.0)) == 6.0
    assert Logged()(np.float64(2.0)) == ("called", 6.0)
    with pytest.raises(NotImplementedError, match="Module does not define forward"):
        nn.Module()(1.0)
    model = nn.Perceptron(2, bias=False)
    x = np.array([[1.0, 2.0]], np.float32)
    assert model(x).item() == model.forward(x).item() == 0.0
