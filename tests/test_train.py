"""fit(): the loop against hand-written per-sample and full-batch descent, and its guards."""

import math
import warnings

import numpy as np
import pytest

import wengert as wg
from wengert import data, losses, nn, optim
from wengert.train import (
    Callback,
    ConvergenceWarning,
    EarlyStopping,
    NonFiniteError,
    NonFiniteLossWarning,
    accuracy,
    fit,
)

X_TABLE = np.array([[10.0], [2.0], [3.5], [1.0]])
Y_TABLE = np.array([10.1, 1.9, 3.4, 1.1])


def smallest_perceptron():
    return nn.Perceptron(1, bias=False, dtype=np.float64)


def test_per_sample_fit_is_the_lecture_rule():
    model = smallest_perceptron()
    opt = optim.SGD(model.parameters(), lr=optim.schedules.inverse_sqrt(0.01))
    history = fit(
        model,
        losses.l2,
        opt,
        (X_TABLE, Y_TABLE),
        epochs=20,
        batch_size=1,
        shuffle=False,
        progress=False,
    )
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
    assert len(history.val_loss) == 4
    assert set(history.metrics) == {"accuracy", "val_accuracy"}
    with wg.no_grad():
        final = accuracy(model(X[:30].astype(np.float32)).data, y[:30])
    assert history.metrics["val_accuracy"][-1] == final
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


def test_early_stopping_restores_the_best_weights():
    model = smallest_perceptron()
    states = []

    class Record(Callback):
        def on_epoch_end(self, run):
            states.append(run.model.state_dict())

    # lr = 0.021 > 2/max(x^2)... the full-batch iteration w -= lr * mean((w x - y) x) diverges.
    opt = optim.SGD(model.parameters(), lr=0.021)
    stopper = EarlyStopping(patience=2, monitor="loss")
    history = fit(
        model,
        losses.l2,
        opt,
        (X_TABLE, Y_TABLE),
        epochs=50,
        batch_size=None,
        callbacks=[Record(), stopper],
        progress=False,
    )
    best = int(np.argmin(history.epoch_loss))
    assert history.stop_reason.startswith("early stopping")
    assert history.epochs == best + 1 + 2
    np.testing.assert_array_equal(model.weight.data, states[best]["weight"])


def first_inf_loss_step(w, lr, X, y):
    """The lecture's per-sample rule w <- w - lr (w x - y) x, in order, by hand: the first step
    (from 1) whose loss ½ (w x - y)² is not finite."""
    step = 0
    with np.errstate(over="ignore", invalid="ignore"):
        while True:
            x, t = X[step % len(X), 0], y[step % len(X)]
            step += 1
            residual = w * x - t
            if not np.isfinite(0.5 * residual**2):
                return step
            w = w - lr * residual * x


def test_non_finite_loss_stops_with_the_epoch_step_and_keeps_finite_weights():
    model = smallest_perceptron()
    w0 = np.float64(model.weight.data[0])
    opt = optim.SGD(model.parameters(), lr=10.0)
    with pytest.warns(NonFiniteLossWarning) as caught:
        history = fit(
            model,
            losses.l2,
            opt,
            (X_TABLE, Y_TABLE),
            epochs=500,
            batch_size=1,
            shuffle=False,
            progress=False,
        )
    step = history.steps + 1  # the step whose loss was inf is not recorded
    assert step == first_inf_loss_step(w0, 10.0, X_TABLE, Y_TABLE)
    epoch = (step - 1) // 4 + 1  # four samples per epoch
    assert epoch > 1  # the loss grew over several epochs before it overflowed
    assert str(caught[0].message) == (
        f"fit: the loss became inf at epoch {epoch}, step {step}; training stopped and the last "
        "weights, all finite, were kept. Try a smaller learning rate (or standardise the inputs)."
    )
    assert history.stop_reason == f"non-finite loss (inf) at epoch {epoch}, step {step}"
    assert history.nonfinite == {
        "epoch": epoch,
        "step": step,
        "quantity": "loss",
        "value": math.inf,
    }
    assert np.isfinite(model.weight.data).all()


def nan_gradient_of_the_last_bias(model):
    """A loss that stays finite while the gradient of layers.1.bias is NaN (sqrt at 0)."""

    def loss(y_hat, y):
        return losses.mse(y_hat.reshape(-1), y) + wg.sqrt(model.layers[1].bias * 0.0).sum()

    return loss


@pytest.mark.parametrize("make_opt", [optim.SGD, optim.Adam, optim.LBFGS])
def test_a_nan_gradient_is_named_and_never_reaches_the_weights(make_opt):
    model = nn.MLP([1, 3, 1], seed=0, dtype=np.float64)
    before = model.state_dict()
    opt = make_opt(model.parameters(), lr=0.01)
    with pytest.raises(NonFiniteError) as caught:
        fit(
            model,
            nan_gradient_of_the_last_bias(model),
            opt,
            (X_TABLE, Y_TABLE),
            epochs=3,
            on_nonfinite="raise",
            progress=False,
        )
    error = caught.value
    assert isinstance(error, FloatingPointError)
    assert (error.epoch, error.step, error.quantity) == (1, 1, "gradient of layers.1.bias")
    assert math.isnan(error.value)
    assert str(error) == (
        "fit: the gradient of layers.1.bias became nan at epoch 1, step 1; training stopped and "
        "the last weights, all finite, were kept. Try a smaller learning rate (or standardise "
        "the inputs)."
    )
    for name, value in model.state_dict().items():  # no update was made
        np.testing.assert_array_equal(value, before[name], err_msg=name)


def test_a_weight_that_overflows_in_the_update_is_named_and_the_epoch_start_restored():
    model = smallest_perceptron()
    after_epoch_1 = {}

    class HugeRate(Callback):
        def on_epoch_end(self, run):
            after_epoch_1.update(run.model.state_dict())
            run.optimizer.param_groups[0]["lr"] = 1e308  # finite, times a gradient near -30

    opt = optim.SGD(model.parameters(), lr=1e-3)
    kwargs = {"epochs": 3, "batch_size": None, "callbacks": [HugeRate()], "progress": False}
    with pytest.warns(NonFiniteLossWarning) as caught:
        history = fit(model, losses.l2, opt, (X_TABLE, Y_TABLE), **kwargs)
    assert str(caught[0].message) == (
        "fit: the parameter weight became inf after the update at epoch 2, step 2; training "
        "stopped and the weights from the start of epoch 2 were restored. Try a smaller learning "
        "rate (or standardise the inputs)."
    )
    assert history.nonfinite == {
        "epoch": 2,
        "step": 2,
        "quantity": "parameter weight",
        "value": math.inf,
    }
    assert history.epochs == 1 and history.steps == 1
    np.testing.assert_array_equal(model.weight.data, after_epoch_1["weight"])


def test_non_finite_error_is_exported():
    assert wg.NonFiniteError is NonFiniteError
    assert wg.train.NonFiniteError is NonFiniteError


def test_ctrl_c_keeps_the_weights_and_returns_the_history():
    model = smallest_perceptron()
    seen = []

    class Interrupt(Callback):
        def on_step_end(self, run):
            seen.append(run.model.weight.item())
            if run.step == 3:
                raise KeyboardInterrupt

    opt = optim.SGD(model.parameters(), lr=0.001)
    with pytest.warns(ConvergenceWarning, match="interrupted"):
        history = fit(
            model,
            losses.l2,
            opt,
            (X_TABLE, Y_TABLE),
            epochs=5,
            batch_size=1,
            shuffle=False,
            callbacks=[Interrupt()],
            progress=False,
        )
    assert history.steps == 3
    assert model.weight.item() == seen[-1]


def test_tol_stops_when_settled_and_warns_at_the_epoch_limit():
    model = smallest_perceptron()
    opt = optim.SGD(model.parameters(), lr=0.005)
    history = fit(
        model,
        losses.l2,
        opt,
        (X_TABLE, Y_TABLE),
        epochs=500,
        batch_size=None,
        tol=1e-6,
        n_iter_no_change=3,
        progress=False,
    )
    assert history.stop_reason.startswith("converged")
    assert history.epochs < 500
    model = smallest_perceptron()
    opt = optim.SGD(model.parameters(), lr=1e-5)
    with pytest.warns(ConvergenceWarning, match="reached epochs=3 before"):
        fit(model, losses.l2, opt, (X_TABLE, Y_TABLE), epochs=3, tol=1e-6, progress=False)


def test_no_progress_bar_off_a_terminal(capsys):
    model = smallest_perceptron()
    opt = optim.SGD(model.parameters(), lr=0.001)
    fit(model, losses.l2, opt, (X_TABLE, Y_TABLE), epochs=2, progress=True)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_plateau_callback_divides_the_learning_rate():
    model = smallest_perceptron()
    opt = optim.SGD(model.parameters(), lr=1e-4)
    plateau = optim.schedules.ReduceOnPlateau(factor=0.2, patience=2, tol=1e3)
    history = fit(
        model,
        losses.l2,
        opt,
        (X_TABLE, Y_TABLE),
        epochs=5,
        batch_size=None,
        callbacks=[plateau],
        progress=False,
    )
    assert history.lr[0] == pytest.approx(1e-4)
    assert history.lr[-1] < 1e-4


@pytest.mark.parametrize(
    ("data_", "kwargs", "error", "match"),
    [
        (
            (np.array([[1.0], [np.nan]]), np.array([1.0, 2.0])),
            {},
            ValueError,
            r"fit: X must be finite; got 1 NaN or infinite value\(s\)",
        ),
        ((X_TABLE, Y_TABLE[:3]), {}, ValueError, r"one entry per row of X \(4\); got 3 entries"),
        (
            (np.ones((4, 2)), Y_TABLE),
            {},
            ValueError,
            r"Perceptron\(1\): inputs must be an array with 1 features",
        ),
        (
            (X_TABLE, Y_TABLE),
            {"epochs": 0},
            ValueError,
            "^fit: epochs must be an int >= 1; got 0\\.$",
        ),
        ((X_TABLE, Y_TABLE), {"batch_size": 0}, ValueError, "batch_size"),
        (
            (X_TABLE, Y_TABLE),
            {"tol": -1.0},
            ValueError,
            r"^fit: tol must be a float >= 0 or None; got -1\.0\.$",
        ),
        (
            [X_TABLE],
            {},
            TypeError,
            r"^fit: data must be a DataLoader or a pair \(X, y\); got \[array\(\[\[",
        ),
        (
            (X_TABLE, Y_TABLE),
            {"metrics": ["f1"]},
            ValueError,
            r"^fit: metrics\[0\] must be 'accuracy' or a function \(y_hat, y\) -> float; "
            r"got 'f1'\.$",
        ),
        (
            (X_TABLE, Y_TABLE),
            {"on_nonfinite": "ignore"},
            ValueError,
            "^fit: on_nonfinite must be one of 'raise', 'stop'; got 'ignore'\\.$",
        ),
        (
            (X_TABLE, Y_TABLE),
            {"clip_grad_norm": "1"},
            TypeError,
            "^fit: clip_grad_norm must be a float > 0 or None; got '1'\\.$",
        ),
        (
            (X_TABLE, Y_TABLE),
            {"clip_grad_norm": -1.0},
            ValueError,
            "^fit: clip_grad_norm must be a float > 0 or None; got -1\\.0\\.$",
        ),
        (
            (X_TABLE, Y_TABLE),
            {"batch_size": 1.5},
            TypeError,
            "^fit: batch_size must be an int >= 1 or None; got 1\\.5\\.$",
        ),
        (
            (X_TABLE, Y_TABLE),
            {"shuffle": "yes"},
            TypeError,
            "^fit: shuffle must be a bool \\(True or False\\); got 'yes'\\.$",
        ),
        (
            (X_TABLE, Y_TABLE),
            {"seed": -1},
            ValueError,
            "^fit: seed must be an int >= 0 or None; got -1\\.$",
        ),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(data_, kwargs, error, match):
    model = smallest_perceptron()
    model.weight.data[:] = 0.5
    opt = optim.SGD(model.parameters(), lr=0.001)
    with pytest.raises(error, match=match), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit(model, losses.l2, opt, data_, **{"epochs": 2, "progress": False, **kwargs})
    assert model.weight.item() == 0.5
    assert model.weight.grad is None


def test_early_stopping_on_val_loss_without_val_data_is_refused_before_training():
    model = smallest_perceptron()
    model.weight.data[:] = 0.5
    opt = optim.SGD(model.parameters(), lr=0.001)
    with pytest.raises(
        ValueError,
        match=r"^EarlyStopping\(monitor='val_loss'\): fit's val_data must be a pair "
        r"\(X_val, y_val\); got None\. Pass fit\(\.\.\., val_data=",
    ):
        fit(
            model,
            losses.l2,
            opt,
            (X_TABLE, Y_TABLE),
            epochs=2,
            callbacks=[EarlyStopping()],
            progress=False,
        )
    assert model.weight.item() == 0.5


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


def test_clip_grad_norm_is_refused_for_a_line_search_optimizer():
    model = smallest_perceptron()
    opt = optim.LBFGS(model.parameters())
    with pytest.raises(
        ValueError,
        match=r"^fit: clip_grad_norm must be None with LBFGS, whose line search chooses each "
        r"step; got 1\.0\. Leave it None\.$",
    ):
        fit(model, losses.l2, opt, (X_TABLE, Y_TABLE), clip_grad_norm=1.0, progress=False)
