"""wengert.classic's estimator contract: fitted attributes, a refused fit that changes nothing,
bad input refused with its message, and the not-fitted error.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from classic_helpers import AND_X, AND_Y, TABLE_X, TABLE_Y

import wengert._checks
import wengert.train
from wengert.classic import (
    LMS,
    ConvergenceWarning,
    DivergenceWarning,
    LinearSVM,
    NotFittedError,
    Perceptron,
)


def test_estimator_contract():
    clf = Perceptron(lr=0.5, seed=3)
    assert (
        repr(clf) == "Perceptron(lr=0.5, max_epochs=1000, shuffle=True, seed=3, fit_intercept=True)"
    )
    assert clf.get_params() == {
        "lr": 0.5,
        "max_epochs": 1000,
        "shuffle": True,
        "seed": 3,
        "fit_intercept": True,
    }
    assert clf.set_params(lr=2.0) is clf and clf.lr == 2.0
    assert not hasattr(clf, "w_")
    assert clf.fit(AND_X, AND_Y) is clf
    assert "schedule=None" in repr(LMS()) and "C=1.0" in repr(LinearSVM())


def test_refused_fit_changes_nothing():
    clf = Perceptron(shuffle=False).fit(AND_X, AND_Y)
    w = clf.w_.copy()
    with pytest.raises(ValueError, match="binary classifier"):
        clf.fit(AND_X, [0, 1, 2, 2])
    np.testing.assert_array_equal(clf.w_, w)
    assert clf.classes_.tolist() == [0, 1]


def _fitted(cls, **kw):
    X, y = (TABLE_X, TABLE_Y) if cls is LMS else (AND_X, AND_Y)
    return cls(**kw).fit(X, y)


X2 = AND_X
Y2 = AND_Y
BAD_INPUTS = [
    # (what, call, error, message)
    ("X 1-D", lambda: Perceptron().fit(np.ones(4), Y2), ValueError,
     "Perceptron.fit: X must be 2-D, of shape (n_samples, n_features); got a 1-D array of "
     "shape (4,). Use X.reshape(-1, 1) if it holds one feature, or X.reshape(1, -1) if it "
     "holds one sample."),
    ("X 3-D", lambda: LMS().fit(np.ones((4, 1, 1)), TABLE_Y), ValueError,
     "LMS.fit: X must be 2-D, of shape (n_samples, n_features); got a 3-D array of shape "
     "(4, 1, 1)."),
    ("X empty", lambda: LinearSVM().fit(np.ones((0, 2)), []), ValueError,
     "LinearSVM.fit: X must be an array of at least 1 sample and 1 feature; got shape (0, "
     "2)."),
    ("X strings", lambda: Perceptron().fit([["a", "b"]] * 4, Y2), TypeError,
     "Perceptron.fit: X must be an array of real numbers; got an array of dtype <U1."),
    ("X ragged", lambda: Perceptron().fit([[1.0, 2.0], [3.0]], [0, 1]), ValueError,
     "Perceptron.fit: X must be an array of numbers with one row per sample; got "
     "something NumPy cannot make an array of"),
    ("X NaN", lambda: Perceptron().fit(np.where(X2 == 1, np.nan, X2), Y2), ValueError,
     "Perceptron.fit: X must be finite; got 4 NaN or infinite value(s), the first at "
     "index (1, 1). Remove or impute them."),
    ("X inf", lambda: LinearSVM().fit(np.r_[X2[:3], [[np.inf, 0.0]]], Y2), ValueError,
     "LinearSVM.fit: X must be finite; got 1 NaN or infinite value(s), the first at index "
     "(3, 0). Remove or impute them."),
    ("y NaN", lambda: LMS().fit(TABLE_X, [1.0, np.nan, 2.0, 3.0]), ValueError,
     "LMS.fit: y must be finite; got 1 NaN or infinite value(s), the first at index 1. "
     "Remove or impute them."),
    ("y column", lambda: Perceptron().fit(X2, Y2[:, None]), ValueError,
     "Perceptron.fit: y must be 1-D, of shape (n_samples,); got shape (4, 1). Use "
     "y.ravel() for a column."),
    ("lengths", lambda: LMS().fit(TABLE_X, TABLE_Y[:3]), ValueError,
     "LMS.fit: y must be an array with one entry per row of X (4); got 3 entries."),
    ("3 classes", lambda: Perceptron().fit(X2, [0, 1, 2, 1]), ValueError,
     "Perceptron: y must be labels of exactly two classes (a binary classifier); got 3 "
     "classes: [0, 1, 2]."),
    ("3 classes svm", lambda: LinearSVM().fit(X2, ["a", "b", "c", "a"]), ValueError,
     "LinearSVM: y must be labels of exactly two classes (a binary classifier); got 3 "
     "classes: ['a', 'b', 'c']."),
    ("1 class", lambda: Perceptron().fit(X2, [1, 1, 1, 1]), ValueError,
     "Perceptron: y must be labels of exactly two classes (a binary classifier); got 1 "
     "class: [1]."),
    ("lr 0", lambda: Perceptron(lr=0).fit(X2, Y2), ValueError,
     "Perceptron: lr must be a float > 0; got 0."),
    ("lr negative", lambda: LMS(lr=-0.1).fit(TABLE_X, TABLE_Y), ValueError,
     "LMS: lr must be a float > 0; got -0.1."),
    ("lr nan", lambda: LMS(lr=float("nan")).fit(TABLE_X, TABLE_Y), ValueError,
     "LMS: lr must be a float > 0; got nan."),
    ("lr string", lambda: Perceptron(lr="0.1").fit(X2, Y2), TypeError,
     "Perceptron: lr must be a float > 0; got '0.1'."),
    ("lr bool", lambda: Perceptron(lr=True).fit(X2, Y2), TypeError,
     "Perceptron: lr must be a float > 0; got True (bool)."),
    ("C 0", lambda: LinearSVM(C=0.0).fit(X2, Y2), ValueError,
     "LinearSVM: C must be a float > 0; got 0.0."),
    ("max_epochs 0", lambda: Perceptron(max_epochs=0).fit(X2, Y2), ValueError,
     "Perceptron: max_epochs must be an int >= 1; got 0."),
    ("epochs 0", lambda: LMS(epochs=0).fit(TABLE_X, TABLE_Y), ValueError,
     "LMS: epochs must be an int >= 1; got 0."),
    ("epochs float", lambda: LinearSVM(epochs=2.5).fit(X2, Y2), TypeError,
     "LinearSVM: epochs must be an int >= 1; got 2.5."),
    ("schedule", lambda: LMS(schedule="cosine").fit(TABLE_X, TABLE_Y), ValueError,
     "LMS: schedule must be 'inverse_sqrt' or None; got 'cosine'."),
    ("shuffle", lambda: Perceptron(shuffle="yes").fit(X2, Y2), TypeError,
     "Perceptron: shuffle must be a bool (True or False); got 'yes'."),
    ("fit_intercept", lambda: LinearSVM(fit_intercept=1).fit(X2, Y2), TypeError,
     "LinearSVM: fit_intercept must be a bool (True or False); got 1. Pass True (a bool)."),
    ("seed negative", lambda: Perceptron(seed=-1).fit(X2, Y2), ValueError,
     "Perceptron: seed must be an int >= 0, a numpy.random.Generator or None; got -1."),
    ("predict unfitted", lambda: Perceptron().predict(X2), NotFittedError,
     "This Perceptron is not fitted yet: call fit(X, y) before predict()"),
    ("decision unfitted", lambda: LinearSVM().decision_function(X2), NotFittedError,
     "This LinearSVM is not fitted yet: call fit(X, y) before decision_function()"),
    ("score unfitted", lambda: LMS().score(TABLE_X, TABLE_Y), NotFittedError,
     "This LMS is not fitted yet: call fit(X, y) before predict()"),
    ("predict features", lambda: _fitted(Perceptron).predict(np.ones((2, 3))), ValueError,
     "Perceptron.predict: X must be an array of 2 features (columns), as the data it was "
     "fit on; got 3 features."),
    ("lms features", lambda: _fitted(LMS).predict(np.ones((2, 2))), ValueError,
     "LMS.predict: X must be an array of 1 features (columns), as the data it was fit on; "
     "got 2 features."),
    ("predict NaN", lambda: _fitted(LinearSVM).predict([[np.nan, 0.0]]), ValueError,
     "LinearSVM.predict: X must be finite; got 1 NaN or infinite value(s), the first at "
     "index (0, 0). Remove or impute them."),
    ("score lengths", lambda: _fitted(Perceptron).score(X2, Y2[:2]), ValueError,
     "Perceptron.score: y must be an array with one entry per row of X (4); got 2 entries."),
    ("margin label", lambda: _fitted(LinearSVM).geometric_margin(X2, [0, 0, 0, 5]), ValueError,
     "LinearSVM.geometric_margin: y's labels must be among the classes fitted, [0, 1]; "
     "got 5."),
    ("set_params", lambda: Perceptron().set_params(eta=0.1), ValueError,
     "Perceptron.set_params: each parameter's name must be one of ['lr', 'max_epochs', "
     "'shuffle', 'seed', 'fit_intercept']; got 'eta'."),
]  # fmt: skip


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [row[1:] for row in BAD_INPUTS],
    ids=[row[0] for row in BAD_INPUTS],
)
def test_bad_input_is_refused_with_a_message(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


def test_not_fitted_error_is_value_and_attribute_error():
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    assert issubclass(ConvergenceWarning, UserWarning)
    assert (
        ConvergenceWarning is wengert.train.ConvergenceWarning is wengert._checks.ConvergenceWarning
    )
    assert issubclass(DivergenceWarning, RuntimeWarning)
