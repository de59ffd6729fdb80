"""Accuracy against a peer (slow): a wengert MLP on the digits against scikit-learn's
MLPClassifier with the same hidden layer, on the same five splits (tests/fixtures/digits.json,
written by scripts/make_digits_fixture.py)."""

import json
from pathlib import Path

import numpy as np
import pytest

import wengert as wg
from wengert import data, losses, nn, optim

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "digits.json").read_text())


def wengert_accuracy(X, y, run) -> float:
    train, test = np.array(run["train"]), np.array(run["test"])
    X_train, X_test = data.standardize(X[train], X[test])
    # Glorot-uniform weights, as scikit-learn's MLP draws them (He's would be the default).
    model = nn.MLP([64, 64, 10], activation="relu", init="xavier_uniform", seed=run["seed"])
    opt = optim.Adam(model.parameters(), lr=1e-3)
    wg.fit(
        model,
        losses.cross_entropy,
        opt,
        (X_train, y[train]),
        epochs=60,
        batch_size=32,
        seed=run["seed"],
        progress=False,
    )
    with wg.no_grad():
        scores = model(X_test.astype(np.float32)).data
    return float(np.mean(scores.argmax(axis=1) == y[test]))


@pytest.mark.slow
def test_mlp_on_digits_is_within_half_a_point_of_scikit_learn():
    pytest.importorskip("sklearn")  # for the dataset only
    X, y = data.digits()
    ours = [wengert_accuracy(X, y, run) for run in FIXTURE["runs"]]
    peer = FIXTURE["mean_sklearn_accuracy"]
    print(f"wengert {np.mean(ours):.4f} {np.round(ours, 4)}; {FIXTURE['peer']} {peer:.4f}")
    assert np.mean(ours) >= peer - 0.005
