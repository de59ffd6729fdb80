"""Models: initialisers against their formulas, layers against NumPy, gradients against
central differences, state_dict round trips, and the bad inputs."""

import math
import re

import numpy as np
import pytest

import wengert as wg
from wengert import nn
from wengert.derivatives import gradcheck
from wengert.nn.init import initial_weight


@pytest.mark.parametrize(
    ("init", "bound", "std"),
    [
        ("xavier_uniform", math.sqrt(6 / 700), math.sqrt(6 / 700) / math.sqrt(3)),
        ("he_uniform", math.sqrt(6 / 400), math.sqrt(6 / 400) / math.sqrt(3)),
        ("xavier_normal", None, math.sqrt(2 / 700)),
        ("he_normal", None, math.sqrt(2 / 400)),
    ],
)
def test_initialisers_draw_from_their_distributions(init, bound, std):
    w = initial_weight(init, 400, 300, np.random.default_rng(0))
    assert w.shape == (400, 300)
    assert abs(w.mean()) < 4 * std / math.sqrt(w.size)
    assert w.std() == pytest.approx(std, rel=0.01)
    if bound is not None:
        assert np.abs(w).max() <= bound
        assert np.abs(w).max() > 0.99 * bound


def test_zeros_init_and_unknown_init():
    assert not initial_weight("zeros", 3, 2, np.random.default_rng(0)).any()
    with pytest.raises(ValueError, match="Linear: init must be one of 'he_normal', 'he_uniform'"):
        nn.Linear(3, 2, init="glorot")
    with pytest.raises(ValueError, match="initial_weight: init must be one of 'he_normal', "):
        initial_weight("glorot", 3, 2, np.random.default_rng(0))


def test_linear_is_x_w_plus_b_and_seeded():
    layer = nn.Linear(3, 2, seed=7, dtype=np.float64)
    again = nn.Linear(3, 2, seed=7, dtype=np.float64)
    other = nn.Linear(3, 2, seed=8, dtype=np.float64)
    np.testing.assert_array_equal(layer.weight.data, again.weight.data)
    assert not np.array_equal(layer.weight.data, other.weight.data)
    layer.bias.data[:] = [0.5, -1.0]
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(layer(x).data, x @ layer.weight.data + [0.5, -1.0], rtol=1e-15)


def test_parameters_default_to_float32_and_a_model_can_be_float64():
    assert nn.Linear(2, 2).weight.dtype == np.float32
    assert nn.MLP([2, 3, 1]).dtype == np.float32
    model = nn.MLP([2, 3, 1], dtype=np.float64)
    assert all(p.dtype == np.float64 for p in model.parameters())
    y = nn.MLP([2, 3, 1], seed=0)(np.ones((4, 2), dtype=np.float32))
    assert y.dtype == np.float32


def test_mlp_gradients_pass_gradcheck_to_second_order():
    model = nn.MLP([3, 4, 2], activation="tanh", seed=1, dtype=np.float64)
    w1, b1, w2, b2 = (p.data for p in model.parameters())
    x = np.random.default_rng(2).normal(size=(5, 3))

    def loss(w1, b1, w2, b2):
        h = wg.tanh(x @ w1 + b1)
        return wg.sum((h @ w2 + b2) ** 2)

    gradcheck(loss, w1, b1, w2, b2, order=2)
    out = model(x)
    wg.sum(out**2).backward()
    expected = wg.grad(loss, argnums=(0, 1, 2, 3))(w1, b1, w2, b2)
    for p, g in zip(model.parameters(), expected, strict=True):
        np.testing.assert_allclose(p.grad, g, rtol=1e-12)


def test_mlp_picks_he_for_relu_and_xavier_otherwise():
    relu = nn.MLP([400, 300], activation="relu", seed=0)
    tanh = nn.MLP([400, 300], activation="tanh", seed=0)
    assert relu.layers[0].weight.data.std() == pytest.approx(math.sqrt(2 / 400), rel=0.01)
    assert tanh.layers[0].weight.data.std() == pytest.approx(math.sqrt(2 / 700), rel=0.01)


def test_named_parameters_state_dict_and_load():
    model = nn.MLP([2, 3, 1], seed=0)
    names = [n for n, _ in model.named_parameters()]
    assert names == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    state = model.state_dict()
    state["layers.0.weight"][:] = 5.0  # a copy: the model does not change
    assert not (model.layers[0].weight.data == 5.0).any()
    fresh = nn.MLP([2, 3, 1], seed=1)
    fresh.load_state_dict(model.state_dict())
    for (_, a), (_, b) in zip(fresh.named_parameters(), model.named_parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_load_state_dict_refuses_wrong_shapes_and_changes_nothing():
    model = nn.MLP([2, 3, 1], seed=0)
    before = model.state_dict()
    state = nn.MLP([2, 3, 1], seed=1).state_dict()
    state["layers.1.weight"] = np.zeros((4, 1))
    with pytest.raises(ValueError) as caught:
        model.load_state_dict(state)
    assert str(caught.value) == (
        "load_state_dict: state['layers.1.weight'] must be of shape (3, 1), the shape of that "
        "parameter in the model; got shape (4, 1)."
    )
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])
    with pytest.raises(KeyError, match=r"missing \['layers.1.bias'\]"):
        model.load_state_dict({k: v for k, v in before.items() if k != "layers.1.bias"})


def test_train_and_eval_reach_every_submodule():
    model = nn.Sequential(nn.Linear(2, 2), nn.Activation("tanh"), nn.MLP([2, 2]))
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_smallest_perceptron_gradient_is_the_lecture_formula():
    p = nn.Perceptron(1, bias=False, dtype=np.float64)
    p.weight.data[:] = 0.7
    x, y = np.array([[10.0]]), np.array([10.1])
    y_hat = p(x)
    assert y_hat.shape == (1,)
    ((y - y_hat) ** 2 / 2).sum().backward()
    assert p.weight.grad.item() == pytest.approx(-(10.1 - 7.0) * 10.0, rel=1e-14)


def test_sign_activation_turns_gradient_descent_into_the_perceptron_rule():
    # On a mistake, descent on 1/2 (y - sign(w.x))^2 moves w by eta (y - y_hat) x = 2 eta y x.
    p = nn.Perceptron(2, activation="sign", bias=False, dtype=np.float64)
    p.weight.data[:] = [1.0, -1.0]
    x, y = np.array([[0.5, 2.0]]), np.array([1.0])
    y_hat = p(x)
    assert y_hat.item() == -1.0
    ((y - y_hat) ** 2 / 2).sum().backward()
    np.testing.assert_allclose(-p.weight.grad, (y - y_hat.data) * x[0], rtol=1e-15)
    step = nn.step_ste(wg.tensor([-2.0, 0.0, 3.0], requires_grad=True))
    np.testing.assert_array_equal(step.data, [0.0, 0.0, 1.0])


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: nn.Linear(0, 2), ValueError, "Linear: n_inputs must be an int >= 1; got 0."),
        (lambda: nn.Linear(2, 2.5), TypeError, "Linear: n_outputs must be an int >= 1; got 2.5."),
        (lambda: nn.Linear(True, 2), TypeError,
         "Linear: n_inputs must be an int >= 1; got True (bool)."),
        (lambda: nn.Linear(2, 2, seed="a"), TypeError,
         "Linear: seed must be an int >= 0, a numpy.random.Generator or None; got 'a'."),
        (lambda: nn.MLP([2, 1], seed=-1), ValueError,
         "MLP: seed must be an int >= 0, a numpy.random.Generator or None; got -1."),
        (lambda: nn.MLP([3]), ValueError, "MLP: sizes must be a list of at least 2 layer sizes "
         "(inputs and outputs), e.g. [2, 4, 1]; got [3]."),
        (lambda: nn.MLP([2, 1], activation="swish"), ValueError,
         "MLP: activation must be one of 'identity', 'leaky_relu', 'relu', 'sigmoid', 'sign', "
         "'softplus', 'step', 'tanh', a function or None; got 'swish'."),
        (lambda: nn.MLP([2, 1], output_activation=3), TypeError,
         "MLP: output_activation must be one of 'identity', 'leaky_relu', 'relu', 'sigmoid', "
         "'sign', 'softplus', 'step', 'tanh', a function or None; got 3."),
        (lambda: nn.Sequential(nn.Linear(2, 2), np.tanh), TypeError,
         "Sequential: modules[1] must be a Module (e.g. Linear or Activation); got "
         "<ufunc 'tanh'> (ufunc)."),
        (lambda: nn.Linear(3, 2)(np.ones((4, 2))), ValueError,
         "Linear(3, 2): inputs must be an array with 3 features on its last axis; got shape "
         "(4, 2)."),
    ],
)  # fmt: skip
def test_bad_model_input(make, error, match):
    with pytest.raises(error, match=re.escape(match) + "$"):
        make()


def test_repr_shows_the_structure():
    text = repr(nn.MLP([2, 4, 1], activation="tanh"))
    assert "MLP([2, 4, 1], activation='tanh'" in text
    assert "(layers.0): Linear(2, 4, bias=True)" in text


@pytest.mark.parametrize(
    "build",
    [
        lambda bias: nn.Linear(2, 1, bias=bias),
        lambda bias: nn.Perceptron(2, bias=bias),
        lambda bias: nn.MLP([2, 3, 1], bias=bias),
    ],
    ids=["Linear", "Perceptron", "MLP"],
)
def test_bias_is_a_bool_and_false_builds_no_bias(build):
    assert all(p.ndim == 2 or p.shape == (2,) for p in build(False).parameters())
    assert len(build(np.bool_(False)).parameters()) == len(build(False).parameters())
    assert len(build(True).parameters()) == 2 * len(build(False).parameters())
    for flag in ("no", 0, None):
        with pytest.raises(TypeError, match=r"bias must be a bool \(True or False\)"):
            build(flag)


def test_mlp_sizes_become_python_ints_and_dtype_may_be_named():
    model = nn.MLP(np.array([2, 3, 1]), dtype="float64")
    assert model.sizes == [2, 3, 1] and all(type(n) is int for n in model.sizes)
    assert model.dtype == np.float64


def test_train_takes_a_bool_and_changes_nothing_when_refused():
    model = nn.MLP([2, 3, 1]).eval()
    with pytest.raises(TypeError, match=r"^MLP.train: mode must be a bool"):
        model.train("no")
    assert not any(m.training for m in model.modules())
