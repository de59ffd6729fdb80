"""fit(): the loop against hand-written per-sample, full-batch and L-BFGS descent; metrics."""

import math

import numpy as np
import pytest
from train_helpers import X_TABLE, Y_TABLE, fit_table, smallest_perceptron

import wengert as wg
from wengert import data, losses, nn, optim
from wengert.train import accuracy, fit


def test_per_sample_fit_is_the_lecture_rule():
    model = smallest_perceptron()
    opt = optim.SGD(model.parameters(), lr=optim.schedules.inverse_sqrt(0.01))
    history = fit_table(model, opt, epochs=20, batch_size=1, shuffle=False)
    w, t = 0.0, 0
    for _ in range(20):
        for x, y in zip(X_TABLE[:, 0], Y_TABLE, strict=True):
            t += 1
            w += 0.01 / math.sqrt(t) * (y - w * x) * x
    assert model.weight.item() == pytest.approx(w, rel=1e-13)
    assert round(w, 4) == 1.0047  # the least-squares answer, sum(xy)/sum(x^2) = 1.00469
    assert history.steps == 80 and history.epochs == 20
    np.testing.assert_allclose(history.lr[:3], [0.01, 0.01 / math.sqrt(2), 0.01 / math.sqrt(3)])


def test_full_batch_fit_is_gradient_descent_on_the_mean_loss():
    model = smallest_perceptron()
    opt = optim.SGD(model.parameters(), lr=0.005)
    history = fit(
        model, losses.l2, opt, (X_TABLE, Y_TABLE), epochs=5, batch_size=None, progress=False
    )
    w, x = 0.0, X_TABLE[:, 0]
    for _ in range(5):
        w -= 0.005 * np.mean(-(Y_TABLE - w * x) * x)
    assert model.weight.item() == pytest.approx(w, rel=1e-13)
    assert history.steps == 5


def test_epoch_loss_weights_batch_losses_by_batch_size():
    X = np.arange(10.0).reshape(5, 2)
    y = np.array([1.0, -1.0, 2.0, 0.5, 3.0])
    model = nn.Perceptron(2, dtype=np.float64)
    opt = optim.SGD(model.parameters(), lr=1e-3)
    history = fit(
        model, losses.mse, opt, (X, y), epochs=1, batch_size=2, shuffle=False, progress=False
    )
    sizes = [2, 2, 1]
    expected = sum(s * n for s, n in zip(history.step_loss, sizes, strict=True)) / 5
    assert history.epoch_loss[0] == pytest.approx(expected, rel=1e-14)
    assert history.epoch_loss[0] != pytest.approx(np.mean(history.step_loss), rel=1e-3)


def test_same_seed_same_history():
    X, y = data.moons(n=64, seed=1)

    def run():
        model = nn.MLP([2, 8, 2], seed=3)
        opt = optim.Adam(model.parameters(), lr=0.01)
        return fit(
            model, losses.cross_entropy, opt, (X, y), epochs=3, batch_size=8, seed=5, progress=False
        ), model

    (h1, m1), (h2, m2) = run(), run()
    assert h1.step_loss == h2.step_loss
    for a, b in zip(m1.parameters(), m2.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_validation_loss_and_metrics_per_epoch():
    X, y = data.blobs(n=120, seed=0)
    model = nn.MLP([2, 2], seed=0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    history = fit(
        model,
        losses.cross_entropy,
        opt,
        (X, y),
        epochs=4,
        val_data=(X[:30], y[:30]),
        metrics=["accuracy"],
        progress=False,
    )
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert [len(series) for series in history.history.values()] == [4, 4, 4, 4]
    with wg.no_grad():
        out = model(X[:30].astype(np.float32))
        final = accuracy(out.data, y[:30])
        final_loss = float(losses.cross_entropy(out, y[:30]).data)
    assert history.history["val_accuracy"][-1] == final
    assert history.history["val_loss"][-1] == final_loss
    assert final == 1.0  # blobs 5 sigma apart


@pytest.mark.parametrize(
    ("scores", "y", "kwargs", "expected"),
    [
        (np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]), np.array([1, 0, 0]), {}, 2 / 3),
        (np.array([0.4, -2.0, 0.1]), np.array([1, -1, -1]), {}, 2 / 3),
        (np.array([0.7, 0.2, 0.6]), np.array([1, 0, 0]), {}, 2 / 3),
        (np.array([0.7, -0.2, 0.6]), np.array([1, 0, 0]), {"logits": True}, 2 / 3),
    ],
)
def test_accuracy_decision_rules(scores, y, kwargs, expected):
    assert accuracy(scores, y, **kwargs) == pytest.approx(expected)


def test_full_batch_fit_with_lbfgs_reaches_the_least_squares_solution():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 3))
    y = X @ np.array([1.5, -2.0, 0.25]) + 0.7 + 0.1 * rng.normal(size=40)
    model = nn.Perceptron(3, dtype=np.float64)
    opt = optim.LBFGS(model.parameters(), tolerance_grad=1e-12, tolerance_change=0.0)
    history = fit(model, losses.l2, opt, (X, y), epochs=3, batch_size=None, progress=False)
    solution = np.linalg.lstsq(np.c_[X, np.ones(40)], y, rcond=None)[0]
    np.testing.assert_allclose(model.weight.data, solution[:3], atol=1e-6, rtol=0)
    assert model.bias.item() == pytest.approx(solution[3], abs=1e-6)
    assert history.steps == 3  # one step(closure) per full batch, each up to max_iter iterations
    assert history.step_loss[0] == pytest.approx(np.mean(y**2) / 2)  # l2 = ½ mean at w = 0
    assert history.step_loss[-1] < 0.01 and opt.n_iter > 3


def test_clip_grad_norm_clips_between_backward_and_step():
    X, y = data.blobs(n=40, seed=0)
    y = y.astype(np.float64)

    def loss(y_hat, t):
        return losses.mse(y_hat.reshape(-1), t)

    def model_and_opt():
        model = nn.MLP([2, 4, 1], seed=0, dtype=np.float64)
        return model, optim.SGD(model.parameters(), lr=0.5)

    by_hand, opt = model_and_opt()
    norms = []
    for _ in range(3):
        opt.zero_grad()
        loss(by_hand(X), y).backward()
        norms.append(nn.utils.clip_grad_norm_(by_hand.parameters(), 0.1))
        opt.step()
    assert min(norms) > 0.1  # every step was clipped
    model, opt = model_and_opt()
    fit(model, loss, opt, (X, y), epochs=3, batch_size=None, shuffle=False, clip_grad_norm=0.1)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, by_hand.state_dict()[name], err_msg=name)
