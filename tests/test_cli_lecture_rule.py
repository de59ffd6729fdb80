"""Rosenblatt's rule as `wengert train --model rosenblatt` runs it: wengert.classic's
perceptron_criterion (a loss whose SGD step is the rule's update) and NoMistakes (stop at the
first epoch without a mistake)."""

import numpy as np
import pytest

import wengert as wg
from wengert import nn, optim
from wengert.classic import NoMistakes, Perceptron, perceptron_criterion
from wengert.train import fit


def test_the_criterion_counts_a_tie_as_a_mistake():
    w = wg.tensor(np.zeros(2), requires_grad=True)
    X = np.array([[1.0, 2.0], [3.0, -1.0]])
    loss = perceptron_criterion(X @ w, np.array([1.0, -1.0]))
    loss.backward()
    assert loss.item() == 0.0  # both on the line: no loss, but both mistakes
    # -(1·[1, 2] + (-1)·[3, -1]) / 2: the mean of -y x over the mistakes
    np.testing.assert_array_equal(w.grad, [1.0, -1.5])


def test_the_criterion_is_zero_with_zero_gradient_on_the_right_side():
    w = wg.tensor(np.array([1.0, 0.0]), requires_grad=True)
    X = np.array([[2.0, 5.0], [-1.0, 4.0], [0.5, 1.0]])
    loss = perceptron_criterion(X @ w, np.array([1.0, -1.0, -1.0]))  # the last is wrong
    loss.backward()
    assert loss.item() == pytest.approx(0.5 / 3)
    np.testing.assert_allclose(w.grad, np.array([0.5, 1.0]) / 3)


def test_the_criterion_refuses_labels_other_than_plus_minus_one():
    w = wg.tensor(np.zeros(1), requires_grad=True)
    with pytest.raises(ValueError) as caught:
        perceptron_criterion(np.array([[1.0], [2.0]]) @ w, np.array([1.0, 0.0]))
    assert str(caught.value) == (
        "perceptron_criterion: y must be labels -1 and +1; got 0.0 at index (1,) (1 such "
        "value(s)). Use labels -1/+1, e.g. 2*y - 1 for 0/1 labels."
    )


def test_fit_on_the_criterion_stops_where_the_classic_perceptron_does():
    X = np.array([[2.0, 1.0], [1.0, 3.0], [-1.0, -1.0], [-2.0, 1.0]])
    y = np.array([1.0, 1.0, -1.0, -1.0])
    classic = Perceptron(lr=1.0, shuffle=False).fit(X, y)
    model = nn.Perceptron(2, init="zeros", dtype=np.float64)
    opt = optim.SGD(model.parameters(), lr=1.0)
    history = fit(
        model, perceptron_criterion, opt, (X, y), epochs=50, batch_size=1, shuffle=False,
        callbacks=[NoMistakes()],
    )  # fmt: skip
    # the classic rule stops in the epoch without a mistake; fit needs that epoch to see it
    assert history.epochs == classic.n_epochs_
    np.testing.assert_array_equal(model.weight.data, classic.w_)
    assert float(model.bias.data) == classic.b_
    assert history.stop_reason == (
        f"no mistake in epoch {classic.n_epochs_}: every training point on its side"
    )
