"""How fit() ends: early stopping, the non-finite guard, Ctrl-C, tol, and a plateau schedule."""

import math

import numpy as np
import pytest
from train_helpers import X_TABLE, Y_TABLE, fit_table, smallest_perceptron

import wengert as wg
from wengert import losses, nn, optim
from wengert.train import (
    Callback,
    ConvergenceWarning,
    EarlyStopping,
    NonFiniteError,
    NonFiniteLossWarning,
    fit,
)


def test_early_stopping_restores_the_best_weights():
    model = smallest_perceptron()
    states = []

    class Record(Callback):
        def on_epoch_end(self, run):
            states.append(run.model.state_dict())

    # lr = 0.021 > 2/max(x^2)... the full-batch iteration w -= lr * mean((w x - y) x) diverges.
    opt = optim.SGD(model.parameters(), lr=0.021)
    stopper = EarlyStopping(patience=2, monitor="loss")
    history = fit_table(model, opt, epochs=50, batch_size=None, callbacks=[Record(), stopper])
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
        history = fit_table(model, opt, epochs=500, batch_size=1, shuffle=False)
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
        history = fit_table(model, opt, **kwargs)
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
        history = fit_table(
            model, opt, epochs=5, batch_size=1, shuffle=False, callbacks=[Interrupt()]
        )
    assert history.steps == 3
    assert model.weight.item() == seen[-1]


def test_tol_stops_when_settled_and_warns_at_the_epoch_limit():
    model = smallest_perceptron()
    opt = optim.SGD(model.parameters(), lr=0.005)
    history = fit_table(model, opt, epochs=500, batch_size=None, tol=1e-6, n_iter_no_change=3)
    assert history.stop_reason.startswith("converged")
    assert history.epochs < 500
    model = smallest_perceptron()
    opt = optim.SGD(model.parameters(), lr=1e-5)
    with pytest.warns(ConvergenceWarning, match="reached epochs=3 before"):
        fit_table(model, opt, epochs=3, tol=1e-6)


def test_plateau_callback_divides_the_learning_rate():
    model = smallest_perceptron()
    opt = optim.SGD(model.parameters(), lr=1e-4)
    plateau = optim.schedules.ReduceOnPlateau(factor=0.2, patience=2, tol=1e3)
    history = fit_table(model, opt, epochs=5, batch_size=None, callbacks=[plateau])
    assert history.lr[0] == pytest.approx(1e-4)
    assert history.lr[-1] < 1e-4


def test_fit_warnings_name_the_line_that_called_fit():
    class Interrupt(Callback):
        def on_step_end(self, run):
            raise KeyboardInterrupt

    runs = [
        (NonFiniteLossWarning, {"lr": 10.0, "epochs": 500, "batch_size": 1}),
        (ConvergenceWarning, {"lr": 1e-5, "epochs": 3, "tol": 1e-6}),
        (ConvergenceWarning, {"lr": 1e-3, "epochs": 3, "callbacks": [Interrupt()]}),
    ]
    for category, kwargs in runs:
        model = smallest_perceptron()
        opt = optim.SGD(model.parameters(), lr=kwargs.pop("lr"))
        with pytest.warns(category) as caught:
            fit(model, losses.l2, opt, (X_TABLE, Y_TABLE), shuffle=False, progress=False, **kwargs)
        assert [w.filename for w in caught] == [__file__], category
