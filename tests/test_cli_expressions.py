"""The expression commands (trace, gradcheck, derivatives) on deep and long expressions, at points
outside the function's domain, and with bad --at points: a correct answer or one error line with
exit status 2, never a traceback or a NumPy warning."""

import os
import random
import re
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

from wengert.cli import main
from wengert.cli.calculus import DERIVATIVES_LIMIT, SYMBOLIC_LIMIT
from wengert.cli.expr import MAX_OPERATIONS, ExpressionError, compile_expression

WENGERT = os.path.join(os.path.dirname(sys.executable), "wengert")
TERMS = 10_000
LONG_SUM = " + ".join(f"x*{i}" for i in range(1, TERMS + 1))  # d/dx = 1 + 2 + ... + TERMS
SUM_1000 = " + ".join(f"x*{i}" for i in range(1, 1001))
PARENTHESES = "(" * 200 + "x" + ")" * 200


def run(*args):
    """The command run in this process, with every warning turned into a failure."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = CliRunner().invoke(main, [str(a) for a in args])
    assert not caught, [f"{w.category.__name__}: {w.message}" for w in caught]
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def refused(*args) -> str:
    """The one error line of a refused command."""
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"wengert {args[0]}: error: ")
    return lines[0]


def gradient_line(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("Gradient:"))


# ------------------------------------------------------------------------- deep and long
def test_200_nested_parentheses_are_x_in_every_command():
    f = compile_expression(PARENTHESES, ["x"])
    assert float(f(1.5)) == 1.5
    out = run("trace", "--at", "x=1.5", "--", PARENTHESES).stdout
    assert "input  x = 1.5" in out and gradient_line(out) == "Gradient: dx/dx = 1."
    result = run("gradcheck", "--at", "x=1.5", "--", f"3 * {PARENTHESES}")
    assert result.exit_code == 0 and "gradcheck passed" in result.stdout
    result = run("derivatives", "--at", "x=1.5", "--repeats", 1, "--", f"3 * {PARENTHESES}")
    assert result.exit_code == 0
    assert "reverse mode (grad)  [3]" in result.stdout


def test_nesting_of_5000_parentheses_and_1000_signs_parses():
    assert float(compile_expression("(" * 5000 + "x" + ")" * 5000, ["x"])(2.0)) == 2.0
    assert float(compile_expression("-" * 1001 + "x", ["x"])(2.0)) == -2.0
    assert float(compile_expression("- + " * 1000 + "x", ["x"])(2.0)) == 2.0


NESTED_TANH = "tanh(" * 300 + "x" + ")" * 300


def test_300_nested_functions_trace():
    text = NESTED_TANH
    value, slope = 0.5, 1.0
    for _ in range(300):  # the chain rule by hand: d tanh(u) = (1 - tanh(u)^2) du
        value = np.tanh(value)
        slope *= 1 - value**2
    out = run("trace", "--at", "x=0.5", "--", text).stdout
    assert f"y    = tanh(t299)   # {value:.6g}" in out
    assert f"x̄    =  t1̄ * (1 - t1 * t1)         # {slope:.6g}   from t1 = tanh(x)" in out


@pytest.mark.slow
def test_300_nested_functions_derivatives_without_sympy():
    result = run("derivatives", "--at", "x=0.5", "--repeats", 1, "--", NESTED_TANH)
    assert result.exit_code == 0, result.output
    assert "symbolic (SymPy): absent: f is nested too deeply for SymPy" in result.stdout
    assert "Errors against reverse mode (grad)" in result.stdout


def test_trace_of_a_sum_of_10000_terms_has_the_analytic_gradient():
    start = time.perf_counter()
    result = run("trace", "--at", "x=0.5", "--", LONG_SUM)
    assert result.exit_code == 0
    assert gradient_line(result.stdout) == f"Gradient: dy/dx = {TERMS * (TERMS + 1) // 2}."
    assert f"Wengert list of f(x): {2 * TERMS - 1} primitives" in result.stdout
    assert "t19998 = x * 10000         # 5000\n" in result.stdout
    assert "y      = t19997 + t19998   # 2.50025e+07\n" in result.stdout
    assert time.perf_counter() - start < 10


def test_gradcheck_of_a_sum_of_10000_terms_passes():
    result = run("gradcheck", "--at", "x=0.5", "--", LONG_SUM)
    assert result.exit_code == 0, result.output
    assert "gradcheck passed" in result.stdout and "50005000" in result.stdout


def test_derivatives_skips_sympy_past_its_limit_and_refuses_past_its_own():
    terms = SYMBOLIC_LIMIT
    text = " + ".join(f"x*{i}" for i in range(1, terms + 1))
    result = run("derivatives", "--at", "x=2", "--repeats", 1, "--", text)
    assert result.exit_code == 0, result.output
    primitives = 2 * terms - 1
    assert (
        f"symbolic (SymPy): skipped: f has {primitives} primitives, over the limit of "
        f"{SYMBOLIC_LIMIT}" in result.stdout
    )
    assert f"reverse mode (grad)  [{terms * (terms + 1) // 2}]" in result.stdout
    line = refused("derivatives", "--at", "x=2", "--", LONG_SUM)
    assert f"the expression has more than {DERIVATIVES_LIMIT:,} operations, the limit" in line


def test_more_operations_than_the_limit_is_one_short_message():
    text = "+".join(["x"] * (MAX_OPERATIONS + 2))
    assert refused("trace", "--at", "x=1", "--", text) == (
        f"wengert trace: error: the expression has more than {MAX_OPERATIONS:,} operations, "
        f"the limit here; split it, or differentiate it with the library (wengert.grad)"
    )
    with pytest.raises(ExpressionError, match=r"^the expression has more than 3 operations"):
        compile_expression("-x + x * exp(x)", ["x"], max_operations=3)
    assert float(compile_expression("+x + x * exp(x)", ["x"], max_operations=3)(0.0)) == 0.0


def test_a_mistake_at_the_end_of_a_long_expression_is_shown_around_its_column():
    with pytest.raises(ExpressionError) as info:
        compile_expression(LONG_SUM + " +", ["x"])
    column = len(LONG_SUM) + 2
    message, shown, caret = str(info.value).splitlines()
    assert message.endswith(f"found the end of the expression at column {column + 1}")
    assert shown.startswith("  …") and shown.endswith("x*10000 +")
    assert caret == " " * len(shown) + "^"  # under the end, just past the last "+"


# ---------------------------------------------------------------- the parser, against Python
def _random_expression(rng: random.Random, depth: int) -> str:
    if depth == 0 or rng.random() < 0.2:
        return rng.choice(["x", "2", "3", "0.5", "x"])
    if rng.random() < 0.15:
        return "-" + _random_expression(rng, depth - 1)
    if rng.random() < 0.15:
        return f"({_random_expression(rng, depth - 1)})"
    op = rng.choice(["+", "-", "*", "/", "**", "**"])
    return f"{_random_expression(rng, depth - 1)} {op} {_random_expression(rng, depth - 1)}"


def test_precedence_and_associativity_agree_with_python():
    rng = random.Random(7)
    checked = 0
    for _ in range(400):
        text = _random_expression(rng, 4)
        if "x" not in text:
            continue
        try:
            expected = eval(text, {}, {"x": 1.25})  # the oracle: Python's own grammar
        except (ZeroDivisionError, OverflowError):
            continue
        if isinstance(expected, complex) or not np.isfinite(expected):
            continue
        with np.errstate(all="ignore"):
            got = float(compile_expression(text, ["x"])(1.25))
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-12), text
        checked += 1
    assert checked > 200


# ---------------------------------------------------------------------------- the domain
@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["trace", "log(x)", "--at", "x=-1"],
            "wengert trace: error: log(x) is not finite at x=-1 (nan): the point is outside the "
            "function's domain, or a step overflows float64; choose another point with --at",
        ),
        (
            ["derivatives", "1/x", "--at", "x=0"],
            "wengert derivatives: error: 1/x is not finite at x=0 (inf): the function has a pole "
            "there, or its value overflows float64; choose another point with --at",
        ),
        (
            ["derivatives", "log(x)", "--at", "x=0"],
            "wengert derivatives: error: log(x) is not finite at x=0 (-inf): the function has a "
            "pole there, or its value overflows float64; choose another point with --at",
        ),
        (
            ["derivatives", "x**10**10", "--at", "x=2"],
            "wengert derivatives: error: x**10**10 is not finite at x=2 (inf): the function has "
            "a pole there, or its value overflows float64; choose another point with --at",
        ),
        (
            ["derivatives", "x**0.5", "--at", "x=-1"],
            "wengert derivatives: error: x**0.5 is not finite at x=-1 (nan): the point is outside "
            "the function's domain, or a step overflows float64; choose another point with --at",
        ),
        (
            ["trace", "exp(x*x) - exp(x*x)", "--at", "x=30"],
            "wengert trace: error: exp(x*x) - exp(x*x) is not finite at x=30 (nan): the point is "
            "outside the function's domain, or a step overflows float64; choose another point "
            "with --at",
        ),
        (
            ["gradcheck", "w * 10**400 + x", "--at", "w=1,x=2"],
            "wengert gradcheck: error: w * 10**400 + x is not finite at w=1,x=2 (inf): the "
            "function has a pole there, or its value overflows float64; choose another point "
            "with --at",
        ),
        (
            ["gradcheck", "sqrt(x) + w", "--at", "w=1,x=0"],
            "wengert gradcheck: error: the gradient is not finite at w=1,x=0 (∂/∂x = inf): f is "
            "not differentiable there, or its derivative's formula breaks down in float64; "
            "gradcheck compares finite numbers, choose another point",
        ),
    ],
)
def test_a_point_outside_the_domain_is_one_line(args, line):
    assert refused(*args) == line


def test_python_float_arithmetic_never_raises():
    with np.errstate(all="ignore"):
        assert float(compile_expression("1/x", ["x"])(0.0)) == np.inf
        assert float(compile_expression("x * 10**400", ["x"])(1.0)) == np.inf
        assert np.isnan(float(compile_expression("x**0.5", ["x"])(-1.0)))
        assert float(compile_expression("(x - 1)**-2", ["x"])(1.0)) == np.inf


def test_trace_shows_an_infinite_derivative_with_a_note():
    result = run("trace", "sqrt(x)", "--at", "x=0")
    assert result.exit_code == 0
    assert gradient_line(result.stdout) == "Gradient: dy/dx = inf"
    assert result.stdout.rstrip().splitlines()[-1] == (
        "Note: the gradient is not finite at x=0 (∂/∂x = inf): f is not differentiable there, "
        "or its derivative's formula breaks down in float64."
    )


@pytest.mark.parametrize(
    ("expression", "at", "rows", "note"),
    [
        (  # not differentiable at the point
            "sqrt(x)",
            "x=0",
            [
                r"central difference +\[nan\]",
                r"reverse mode \(grad\) +\[inf\]",
                r"symbolic \(SymPy\) +\[inf\]",
            ],
            "central difference, Richardson, symbolic (SymPy), forward mode (jvp), reverse "
            "mode (grad): f is not differentiable at x=0, or a finite difference stepped outside "
            "its domain; errors measured against a non-finite number are nan.",
        ),
        (  # differentiable, but the finite differences step outside the domain
            "log(x)",
            "x=1e-10",
            [
                r"central difference +\[nan\] +nan +nan ",
                r"reverse mode \(grad\) +\[1e\+10\] +0 +0 ",
            ],
            "central difference, Richardson: a finite difference's step leaves f's domain near "
            "x=1e-10, where the exact methods' gradient is finite; their errors are nan.",
        ),
    ],
)
def test_derivatives_shows_nan_and_inf_rows_with_a_note(expression, at, rows, note):
    result = run("derivatives", expression, "--at", at, "--repeats", 1)
    assert result.exit_code == 0
    out = result.stdout
    for row in rows:
        assert re.search("^" + row, out, re.MULTILINE), row
    assert out.rstrip().splitlines()[-1] == f"Note: nan or inf in the gradient by {note}"


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["log(x)", "--at", "x=1e-10"],
            "the numerical derivative in x is not finite at x=1e-10 (nan; autodiff's is 1e+10): "
            "a step of h=6.06e-06 in x leaves the function's domain; choose a point farther "
            "from it",
        ),
        (
            ["w * sqrt(x)", "--at", "w=3,x=4e-6", "--order", "2"],
            "the numerical derivative in x is not finite at w=3,x=4e-06 (nan; autodiff's is "
            "750): a step of h=6.06e-06 in x leaves the function's domain; choose a point "
            "farther from it",
        ),
        (
            ["exp(x)", "--at", "x=709.78"],
            "the numerical derivative in x is not finite at x=709.78 (inf; autodiff's is "
            "1.79282e+308): a step of h=0.0043 in x reaches a pole or overflows float64; choose "
            "a point farther from it",
        ),
    ],
)
def test_gradcheck_refuses_a_step_outside_the_domain_instead_of_failing(args, line):
    assert refused("gradcheck", *args) == f"wengert gradcheck: error: {line}"


def test_library_warnings_are_one_line_each(monkeypatch):
    import wengert.derivatives

    real = wengert.derivatives.gradcheck

    def gradcheck(*args, **kwargs):
        warnings.warn("gradcheck: float32 input; checks assume float64", UserWarning, stacklevel=2)
        warnings.warn("gradcheck: float32 input; checks assume float64", UserWarning, stacklevel=2)
        return real(*args, **kwargs)

    monkeypatch.setattr(wengert.derivatives, "gradcheck", gradcheck)
    result = run("gradcheck", "x*x", "--at", "x=3")
    assert result.exit_code == 0
    assert result.stdout.startswith("gradcheck passed")
    assert result.stderr == (
        "wengert gradcheck: warning: gradcheck: float32 input; checks assume float64\n"
    )


# ---------------------------------------------------------------------------------- --at
@pytest.mark.parametrize(
    ("at", "message"),
    [
        ("", "--at must be name=value pairs separated by commas; got nothing"),
        (
            "x=1,,w=2",
            "--at must be name=value pairs separated by commas; got an empty pair in 'x=1,,w=2'",
        ),
        ("x=1,", "--at must be name=value pairs separated by commas; got an empty pair in 'x=1,'"),
        ("x=", "--at: x must be a number; got nothing after 'x='"),
        ("=1", "--at must be name=value pairs separated by commas; got '=1'"),
        ("x=nan", "--at: x=nan is not a finite number"),
        ("x=-inf", "--at: x=-inf is not a finite number"),
        (
            "x=1e400",
            "--at: x=1e400 is not a finite number (it is beyond float64's range, ±1.8e308)",
        ),
        ("x=1,x=2", "--at gives 'x' twice"),
        ("x=0x10", "--at: x='0x10' is not a number"),
        ("log=1", "--at: 'log' is a function name; choose another variable name"),
    ],
)
def test_bad_points_are_one_line(at, message):
    for command in ("trace", "gradcheck", "derivatives"):
        assert refused(command, "x", "--at", at) == f"wengert {command}: error: {message}"


# ------------------------------------------------------------------ as a real process
@pytest.mark.parametrize(
    ("args", "code", "stdout_has"),
    [
        (["trace", "log(x)", "--at", "x=-1"], 2, ""),
        (["derivatives", "1/x", "--at", "x=0"], 2, ""),
        (["trace", "--at", "x=1.5", "--", f"{PARENTHESES} + {SUM_1000}"], 0, "dy/dx = 500501."),
    ],
)
def test_real_process_prints_no_traceback_and_no_warning(args, code, stdout_has):
    done = subprocess.run([WENGERT, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    assert not re.search(r"\.py:\d+: \w*Warning", done.stderr), done.stderr
    assert stdout_has in done.stdout
    if code == 2:
        assert len(done.stderr.splitlines()) == 1 and done.stdout == ""
