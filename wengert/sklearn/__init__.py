"""scikit-learn estimators over wengert's models: MLPClassifier, MLPRegressor,
PerceptronClassifier, LinearSVMClassifier.

They follow scikit-learn's estimator contract and pass its estimator checks
(sklearn.utils.estimator_checks; see tests/test_sklearn.py for the short list of expected
failures), so they work in Pipeline, GridSearchCV and cross_val_score. Needs scikit-learn
(pip install 'wengert[datasets]'); `import wengert` does not import this module.

A search runs on joblib's process backends, on Dask and on Ray (`joblib.parallel_config`), with
the numbers of the sequential search. In threads of one process the estimators take turns (the
engine's no_grad switch is the process's), so a threaded search is correct but not faster.

>>> from wengert.sklearn import MLPClassifier
>>> clf = MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0)
>>> clf.fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1]).predict([[0.2], [2.8]]).tolist()
[0, 1]

Layer: integrations, with io and plot; it imports the layers above it (checks through
classic) and the other integrations, never the interfaces (wengert.cli).
"""

try:
    import sklearn  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "wengert.sklearn needs scikit-learn: pip install 'wengert[datasets]'"
    ) from exc

from wengert.sklearn._linear import LinearSVMClassifier, PerceptronClassifier
from wengert.sklearn._mlp import MLPClassifier, MLPRegressor

__all__ = ["LinearSVMClassifier", "MLPClassifier", "MLPRegressor", "PerceptronClassifier"]
