"""The argument checker's parts: each constraint class accepts its values and describes itself,
check_params names the first refused argument, and the small checks (finite arrays, generators,
labels, the convergence warning) behave as documented. The checker imports nothing of wengert.
"""

import math
import subprocess
import sys
import warnings
from numbers import Integral, Real

import numpy as np
import pytest
from checks_helpers import UNIT, X3

import wengert as wg
from wengert import _checks, classic, optim
from wengert._checks import (
    Boolean,
    Callable,
    ConvergenceWarning,
    Interval,
    Options,
    TupleOf,
    as_generator,
    check,
    check_finite,
    check_params,
)


@pytest.mark.parametrize(
    ("constraint", "inside", "outside", "description"),
    [
        (Interval(Real, 0, None, closed="neither"), [1e-300, 3, 2.5, np.float32(1)],
         [0, -1.0, math.inf, math.nan, True, "1", None], "a float > 0"),
        (Interval(Real, 0, 1, closed="left"), [0, 0.5, np.float64(0.99)], [1, 1.0, -0.1],
         "a float in [0, 1)"),
        (Interval(Real, None, 0, closed="right"), [0, -5.0], [0.1, -math.inf], "a float <= 0"),
        (Interval(Real, 0, math.inf, closed="both"), [0, math.inf], [-1, math.nan],
         "a float in [0, inf]"),
        (Interval(Integral, 1, None), [1, 7, np.int64(3)], [0, 2.0, True, np.bool_(True)],
         "an int >= 1"),
        (Interval(Integral), [-3, 0], [0.5], "an int"),
        (Options(["relu", "tanh"]), ["relu", np.str_("tanh")], ["ReLU", 1, None],
         "one of 'relu', 'tanh'"),
        (Options([1, 2]), [1, 2], [True, 3], "one of 1, 2"),
        (Boolean(), [True, False, np.bool_(False)], [0, 1, "True", None], "a bool (True or False)"),
        (Callable("a schedule"), [math.sqrt, lambda t: t], [1.0, "f"], "a schedule"),
        (TupleOf(UNIT, 3), [(0, 0.5, 1), [1, 1, 1]], [(0, 0.5), (0, 2, 0), 0.5],
         "a tuple of 3 values, each a float in [0, 1]"),
    ],
)  # fmt: skip
def test_each_constraint_accepts_its_values_and_describes_itself(
    constraint, inside, outside, description
):
    assert constraint.description == description
    assert all(constraint.accepts(v) for v in inside), inside
    assert not any(constraint.accepts(v) for v in outside), outside


def test_wrong_kind_is_a_type_error_out_of_range_a_value_error():
    lr = [Interval(Real, 0, None, closed="neither"), Callable("a schedule")]
    expected = "o: lr must be a float > 0 or a schedule; got "
    with pytest.raises(ValueError) as caught:
        check("o", "lr", 0.0, *lr)
    assert str(caught.value) == expected + "0.0."
    wrong_kinds = [("0.1", "'0.1'"), (True, "True (bool)"), (None, "None"), ([0.1], "[0.1]")]
    for wrong_kind, shown in wrong_kinds:
        with pytest.raises(TypeError) as caught:
            check("o", "lr", wrong_kind, *lr)
        assert str(caught.value) == f"{expected}{shown}."
    assert check("o", "lr", 0.1, *lr) == 0.1
    assert check("o", "x", None, Interval(Real), None) is None


def test_interval_refuses_a_kind_it_does_not_know_and_a_bad_closed():
    with pytest.raises(
        TypeError, match=r"Interval: kind must be numbers\.Real or numbers\.Integral"
    ):
        Interval(float, 0, 1)
    with pytest.raises(ValueError, match="Interval: closed must be 'left', 'right', 'both'"):
        Interval(Real, 0, 1, closed="open")


def test_check_params_checks_the_table_in_order_and_names_the_first_refused():
    table = {"lr": [Interval(Real, 0, None, closed="neither")], "nesterov": [Boolean()]}
    check_params("SGD", {"lr": 0.1, "nesterov": False, "other": object()}, table)
    with pytest.raises(ValueError, match=r"^SGD: lr must be a float > 0; got -1\.$"):
        check_params("SGD", {"lr": -1, "nesterov": "no"}, table)


def test_what_came_is_short_and_says_the_type_of_what_is_not_plain():
    assert _checks.what_came("x" * 100) == "'" + "x" * 56 + "..."
    assert _checks.what_came(np.zeros((2, 3))) == "an array of shape (2, 3) and dtype float64"
    assert _checks.what_came([1, 2]) == "[1, 2]"
    assert _checks.what_came(np.int64(3)) == "np.int64(3) (int64)"


def test_check_finite_passes_finite_and_integer_arrays():
    check_finite("f", "X", np.ones((3, 2)))
    check_finite("f", "y", np.arange(4))
    with pytest.raises(ValueError, match=r"^f: y must be finite; got 2 NaN or infinite value\(s\)"):
        check_finite("f", "y", [np.inf, 1.0, -np.inf])


def test_as_generator_uses_a_generator_as_it_is_and_seeds_reproducibly():
    rng = np.random.default_rng(0)
    assert as_generator(rng) is rng
    assert as_generator(5).integers(1000) == np.random.default_rng(5).integers(1000)
    assert as_generator(np.int64(5)).integers(1000) == np.random.default_rng(5).integers(1000)
    assert isinstance(as_generator(None), np.random.Generator)


def test_classifier_labels_may_be_text_and_regression_targets_may_not():
    perceptron = classic.Perceptron(seed=0).fit(X3, np.array(["no", "no", "yes"], dtype=object))
    assert perceptron.classes_.tolist() == ["no", "yes"]
    assert perceptron.predict(X3).tolist() == ["no", "no", "yes"]


def test_one_convergence_warning_for_train_classic_and_minimize():
    assert wg.train.ConvergenceWarning is classic.ConvergenceWarning is ConvergenceWarning
    assert issubclass(ConvergenceWarning, UserWarning)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        optim.minimize(lambda x: wg.sum(x**4), [3.0], max_iter=1)
    assert [w.category for w in caught] == [ConvergenceWarning]


def test_the_checks_module_imports_nothing_of_wengert():
    code = (
        "import importlib.util, sys\n"
        "spec = importlib.util.spec_from_file_location('c', 'wengert/_checks.py')\n"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "print(sorted(m for m in sys.modules if m.startswith('wengert')))"
    )
    root = __import__("pathlib").Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip() == "[]"
