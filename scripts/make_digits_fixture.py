"""Write tests/fixtures/digits.json: scikit-learn's MLPClassifier on the digits.

The peer's test accuracy, against which tests/test_accuracy.py (slow) measures a wengert MLP
with the same hidden layer. For each seed in SEEDS:

1. The data: scikit-learn's load_digits (1797 samples, 64 pixel features, 10 classes).
2. The split: wengert.data.train_test_split(test_size=0.25, stratify=True, seed=seed), applied
   to the row indices; the indices are written to the fixture.
3. Standardisation with the training rows' mean and std (wengert.data.standardize).
4. The peer: MLPClassifier(hidden_layer_sizes=(64,), random_state=seed, max_iter=500), its
   other settings the defaults (ReLU, Adam with lr 1e-3, batch_size=min(200, n), alpha=1e-4,
   tol=1e-4 with n_iter_no_change=10), fitted on the training rows, scored on the test rows.

Run: .venv/bin/python scripts/make_digits_fixture.py   (needs the `peers` extra)
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from wengert import data

SEEDS = (0, 1, 2, 3, 4)
OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "digits.json"


def split_indices(y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rows = np.arange(len(y)).reshape(-1, 1).astype(float)
    train, test, _, _ = data.train_test_split(rows, y, test_size=0.25, stratify=True, seed=seed)
    return train[:, 0].astype(int), test[:, 0].astype(int)


def main() -> None:
    import sklearn
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    X, y = data.digits()
    runs = []
    for seed in SEEDS:
        train, test = split_indices(y, seed)
        X_train, X_test = data.standardize(X[train], X[test])
        peer = MLPClassifier(hidden_layer_sizes=(64,), random_state=seed, max_iter=500)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            peer.fit(X_train, y[train])
        accuracy = float(peer.score(X_test, y[test]))
        runs.append(
            {
                "seed": seed,
                "train": train.tolist(),
                "test": test.tolist(),
                "sklearn_accuracy": accuracy,
                "sklearn_epochs": int(peer.n_iter_),
            }
        )
        print(
            f"seed {seed}: MLPClassifier(64) test accuracy {accuracy:.4f} "
            f"after {peer.n_iter_} epochs"
        )
    fixture = {
        "peer": f"scikit-learn {sklearn.__version__} MLPClassifier(hidden_layer_sizes=(64,))",
        "mean_sklearn_accuracy": float(np.mean([r["sklearn_accuracy"] for r in runs])),
        "runs": runs,
    }
    OUT.write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
    print(f"mean {fixture['mean_sklearn_accuracy']:.4f}; wrote {OUT}")


if __name__ == "__main__":
    main()
