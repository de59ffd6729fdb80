"""What the sweep tests share: the small grid, `wengert` through CliRunner, the summary read
back, and the searches that the sequential, Dask and Ray runs must agree on."""

from __future__ import annotations

import csv
import json
import os
import warnings

import numpy as np
from click.testing import CliRunner
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

from wengert.cli import main
from wengert.data import xor
from wengert.sklearn import MLPClassifier

# Four points of xor, two epochs' worth of seconds each at most.
FIXED = {"data": "xor", "model": "mlp", "epochs": 15, "optimizer": "sgd", "seed": 4}
GRID = {"lr": [0.05, 0.2], "hidden": ["4", "8"]}
NAMES = [
    "000-lr=0.05-hidden=4",
    "001-lr=0.05-hidden=8",
    "002-lr=0.2-hidden=4",
    "003-lr=0.2-hidden=8",
]
NUMBERS = ("loss", "val_loss", "accuracy", "val_accuracy", "epochs")


def run(*args):
    """`wengert ARGS` in this process: the result with exit_code, stdout and stderr."""
    return CliRunner().invoke(main, [str(a) for a in args])


def write_grid(path, fixed=FIXED, grid=GRID):
    """A JSON grid file at `path` of the fixed options and the grid."""
    path.write_text(json.dumps({"train": fixed, "grid": grid}))
    return path


def summary(directory) -> list[dict]:
    """DIR/summary.csv as rows of strings, in the file's order."""
    with open(os.path.join(directory, "summary.csv"), newline="") as file:
        return list(csv.DictReader(file))


def numbers(rows: list[dict]) -> dict:
    """Each point's metrics, by point: what two backends must give alike (not the seconds)."""
    return {row["point"]: {k: row[k] for k in NUMBERS} | {"status": row["status"]} for row in rows}


def sweep(grid_file, out, *options):
    """`wengert sweep GRID --out OUT OPTIONS`, which must succeed; its summary rows."""
    result = run("sweep", grid_file, "--out", out, *options)
    assert result.exit_code == 0, result.output
    return summary(out)


def by_hand(out, options: dict):
    """`wengert train` typed by hand with `options`: its metrics.json's bytes."""
    args = []
    for name, value in options.items():
        args += [f"--{name}", value]
    result = run("train", *args, "--out", out)
    assert result.exit_code == 0, result.output
    return (out / "metrics.json").read_bytes()


def searches(pid_dir):
    """A GridSearchCV and a RandomizedSearchCV of MLPClassifier on xor, unfitted, both
    scoring by accuracy and leaving a file named by each scoring process's id in `pid_dir`."""

    def accuracy(estimator, X, y):
        (pid_dir / str(os.getpid())).touch()
        return estimator.score(X, y)

    estimator = MLPClassifier(hidden_layer_sizes=(8,), max_iter=25, random_state=0, tol=0.0)
    grid = {"hidden_layer_sizes": [(4,), (8,)], "learning_rate_init": [0.01, 0.05]}
    draws = {"alpha": [1e-4, 1e-3, 1e-2, 1e-1], "solver": ["adam", "sgd"], "batch_size": [16, 64]}
    return [
        GridSearchCV(estimator, grid, cv=3, scoring=accuracy),
        RandomizedSearchCV(estimator, draws, n_iter=3, cv=3, scoring=accuracy, random_state=0),
    ]


def fit_quietly(search):
    """The search fitted on xor (its epoch-limit warnings hidden)."""
    X, y = xor()[:2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return search.fit(X, y)


def assert_same_search(got, expected) -> None:
    """Every score of cv_results_, best_params_, best_score_ and the refit model's predictions
    equal, exactly."""
    for key, value in expected.cv_results_.items():
        if key.endswith("_score") and "time" not in key:
            np.testing.assert_array_equal(got.cv_results_[key], value, err_msg=key)
    assert got.best_params_ == expected.best_params_
    assert got.best_score_ == expected.best_score_
    X = xor()[0]
    np.testing.assert_array_equal(got.predict_proba(X), expected.predict_proba(X))


def by_hand_points(directory) -> dict:
    """Each point of the small grid trained by `wengert train` typed by hand, under
    `directory`: its metrics.json's bytes, by point."""
    values = [(lr, hidden) for lr in GRID["lr"] for hidden in GRID["hidden"]]
    return {
        name: by_hand(directory / name, FIXED | {"lr": lr, "hidden": hidden})
        for name, (lr, hidden) in zip(NAMES, values, strict=True)
    }


def assert_points_by_hand(out, directory) -> None:
    """The sweep in `out` wrote, for each point, the metrics.json that `wengert train` typed by
    hand writes (trained under `directory`), bit for bit, and its summary says so."""
    expected = by_hand_points(directory)
    rows = {row["point"]: row for row in summary(out)}
    assert sorted(rows) == NAMES
    for name, metrics in expected.items():
        assert (out / name / "metrics.json").read_bytes() == metrics, name
        assert float(rows[name]["val_loss"]) == json.loads(metrics)["val_loss"], name
        assert rows[name]["status"] == "ok"


def search_on(backend: str, tmp_path, which: int, n_jobs: int = -1) -> set[int]:
    """Search `which` of `searches` fitted here and under joblib's `backend` with `n_jobs`
    (-1: every worker; Ray's default, 1, would run in this process) must agree exactly;
    returns the ids of the processes that scored its folds on the backend."""
    import joblib

    (tmp_path / "here").mkdir()
    (tmp_path / backend).mkdir()
    expected = fit_quietly(searches(tmp_path / "here")[which])
    with joblib.parallel_config(backend=backend, n_jobs=n_jobs):
        got = fit_quietly(searches(tmp_path / backend)[which])
    assert_same_search(got, expected)
    assert os.listdir(tmp_path / "here") == [str(os.getpid())]
    return {int(pid) for pid in os.listdir(tmp_path / backend)}
