"""Write tests/fixtures/classic.json: scikit-learn's linear classifiers on breast_cancer.

The peers' test accuracies, against which tests/test_classic.py (slow) measures
wengert.classic.Perceptron and LinearSVM. The procedure, for each seed in SEEDS:

1. The data: scikit-learn's load_breast_cancer (569 samples, 30 features, labels 0/1).
2. The split: `stratified_split(y, seed)` below, in NumPy: within each class (in sorted order),
   a permutation of the class's row indices drawn from numpy.random.default_rng(seed) (one
   Generator, used class after class); its first round(0.25 n_c) rows go to the test set, the
   rest to the training set; each set is then sorted by row index. The indices are written to
   the fixture, so the test does not depend on this function or on scikit-learn's splitting.
3. Standardisation: x ← (x - mean) / std, with the mean and the (ddof=0) std of the training rows.
4. The peers, with their defaults except where named:
   - Perceptron(random_state=seed): eta0=1, max_iter=1000, tol=1e-3, shuffle=True;
   - LinearSVC(random_state=seed): C=1, the squared hinge, a penalised intercept;
   - LinearSVC(loss="hinge", max_iter=100_000, random_state=seed): wengert's loss, C=1;
   - SVC(kernel="linear", C=1.0): exactly wengert's LinearSVM objective (an unpenalised
     intercept); its optimum F = λ/2 ‖w‖² + mean hinge, λ = 1/(C n), is recorded too.
   Each is fitted on the training rows and scored (accuracy) on the test rows.

Run: .venv/bin/python scripts/make_classic_fixtures.py   (needs the `peers` extra: scikit-learn)
"""

from __future__ import annotations

import json
import platform
import re
from pathlib import Path

import numpy as np

SEEDS = (0, 1, 2, 3, 4)
TEST_FRACTION = 0.25
C = 1.0
OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "classic.json"


def stratified_split(y, seed: int, test_fraction: float = TEST_FRACTION):
    """(train, test) row indices, each sorted; round(test_fraction n_c) test rows per class c."""
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == c))
        n_test = round(test_fraction * len(rows))
        test.append(rows[:n_test])
        train.append(rows[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def standardise(X, train):
    """X scaled by the training rows' mean and (ddof=0) standard deviation."""
    mean, std = X[train].mean(axis=0), X[train].std(axis=0)
    return (X - mean) / std


def peer_results(X, y, seed: int) -> dict:
    """The peers' test accuracies on one split, and SVC's optimal objective."""
    from sklearn.linear_model import Perceptron
    from sklearn.svm import SVC, LinearSVC

    train, test = stratified_split(y, seed)
    Xs = standardise(X, train)
    peers = {
        "Perceptron": Perceptron(random_state=seed),
        "LinearSVC": LinearSVC(C=C, random_state=seed),
        "LinearSVC_hinge": LinearSVC(C=C, loss="hinge", max_iter=100_000, random_state=seed),
        "SVC_linear": SVC(kernel="linear", C=C),
    }
    accuracy = {}
    for name, model in peers.items():
        model.fit(Xs[train], y[train])
        accuracy[name] = float(model.score(Xs[test], y[test]))
    svc = peers["SVC_linear"]
    y_pm = np.where(y[train] == 1, 1.0, -1.0)
    w, b = svc.coef_[0], float(svc.intercept_[0])
    lam = 1.0 / (C * len(train))
    hinge = np.maximum(0.0, 1.0 - y_pm * (Xs[train] @ w + b))
    objective = float(0.5 * lam * w @ w + hinge.mean())
    return {
        "seed": seed,
        "train": train.tolist(),
        "test": test.tolist(),
        "accuracy": accuracy,
        "svc_objective": objective,
    }


def to_json(obj) -> str:
    """Indented JSON, with each list of numbers on one line (readable diffs, short files)."""
    text = json.dumps(obj, indent=1)
    numbers = re.compile(r"\[[-+\d.eE,\s]*\]")
    return (
        numbers.sub(
            lambda m: " ".join(m.group(0).split()).replace("[ ", "[").replace(" ]", "]"), text
        )
        + "\n"
    )


def main() -> None:
    import sklearn
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    X, y = data.data.astype(np.float64), data.target.astype(np.int64)
    splits = [peer_results(X, y, seed) for seed in SEEDS]
    names = list(splits[0]["accuracy"])
    mean = {name: float(np.mean([s["accuracy"][name] for s in splits])) for name in names}
    fixture = {
        "about": (
            "scikit-learn's linear classifiers on breast_cancer, standardised by the training "
            "rows, over stratified 75/25 splits; written by scripts/make_classic_fixtures.py "
            "(its docstring gives the procedure)"
        ),
        "versions": {
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "dataset": {
            "name": "breast_cancer",
            "shape": list(X.shape),
            "X_sum": float(X.sum()),
            "y": y.tolist(),
        },
        "split": {"procedure": "stratified_split", "test_fraction": TEST_FRACTION},
        "C": C,
        "mean_accuracy": mean,
        "splits": splits,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(to_json(fixture))
    print(f"wrote {OUT} (scikit-learn {sklearn.__version__})")
    for name, value in mean.items():
        print(f"  {name:>16}: mean test accuracy {100 * value:.2f}%")


if __name__ == "__main__":
    main()
