"""fit()'s refusals: each bad argument by name, with its message, before anything changes."""

import warnings

import numpy as np
import pytest
from train_helpers import X_TABLE, Y_TABLE, fit_table, smallest_perceptron

from wengert import losses, optim
from wengert.train import EarlyStopping, fit


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
        (
            (X_TABLE, Y_TABLE),
            {"progress": "yes"},
            ValueError,
            r"^fit: progress must be a bool \(True or False\), 'epochs' or None; got 'yes'\.$",
        ),
        (
            (X_TABLE, Y_TABLE),
            {"progress": 1},
            TypeError,
            r"^fit: progress must be a bool \(True or False\), 'epochs' or None; got 1\. "
            r"Pass True \(a bool\)\.$",
        ),
        (
            (X_TABLE, Y_TABLE),
            {"metrics": [lambda y_hat, y: 0.0, lambda y_hat, y: 1.0]},
            ValueError,
            r"^fit: metrics\[1\] must be a metric whose name is not 'loss' nor another "
            r"metric's; got a second metric named '<lambda>'\. Give the function a name of its "
            r"own \(def my_metric\(y_hat, y\): \.\.\.\)\.$",
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
        fit_table(model, opt, epochs=2, callbacks=[EarlyStopping()])
    assert model.weight.item() == 0.5


def test_clip_grad_norm_is_refused_for_a_line_search_optimizer():
    model = smallest_perceptron()
    opt = optim.LBFGS(model.parameters())
    with pytest.raises(
        ValueError,
        match=r"^fit: clip_grad_norm must be None with LBFGS, whose line search chooses each "
        r"step; got 1\.0\. Leave it None\.$",
    ):
        fit(model, losses.l2, opt, (X_TABLE, Y_TABLE), clip_grad_norm=1.0, progress=False)
