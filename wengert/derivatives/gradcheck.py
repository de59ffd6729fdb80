"""gradcheck: reverse-mode gradients against central differences, in float64.

The check passes where, for every element, |autodiff - numerical| <= atol + rtol * |numerical|.
The defaults, atol=1e-6 and rtol=1e-5, sit far above the error of central differences in
float64 (about eps_mach^(2/3) ~ 4e-11 times the scale of f) and far below the error of a wrong
rule (a missing factor, sign or term is off by the size of the gradient itself).

A function with a non-scalar output is checked through a random projection: the scalar
s(x) = sum(u * f(x)), with u drawn once from a standard normal (`seed`). Its gradient is
J(x)^T u, so a wrong Jacobian J goes unnoticed only if its error E happens to satisfy E^T u = 0,
which, for a fixed E != 0 and a continuous random u, has probability 0.

`order=2` also checks second derivatives, the same way: h(x) = sum(v * grad(s)(x)) with a random
v, whose gradient is the Hessian of s times v. `wengert.grad(h)` differentiates the backward
pass itself, so it tests that every rule is written with differentiable operations; the
numerical side takes central differences of h, each evaluation of h being a reverse sweep.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from wengert._checks import (
    NON_NEGATIVE,
    Boolean,
    Options,
    as_generator,
    check_finite,
    check_params,
    refusal,
)
from wengert.autodiff import ops
from wengert.autodiff.functional import grad
from wengert.autodiff.mode import no_grad
from wengert.autodiff.render import html_block, html_table, text_table
from wengert.autodiff.tensor import Tensor, as_array, tensor
from wengert.derivatives.numerical import _check_eps, numerical_grad

# Gradients up to this many elements are printed in full in a failure message.
_PRINT_LIMIT = 36


class GradcheckError(AssertionError):
    """A gradient check found autodiff and numerical derivatives that disagree.

    An AssertionError, not a ValueError: the input was fine, the checked claim (this gradient is
    right) is false, which is what pytest's and NumPy's testing assertions raise. `report` holds
    the full GradcheckReport.
    """

    def __init__(self, message: str, report: GradcheckReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class ArgumentCheck:
    """The comparison for one argument at one order of derivative.

    `worst_index` is the element that exceeds its tolerance atol + rtol |numerical| the most (or
    comes closest to it); `autodiff` and `numerical` are the two derivatives there. The relative
    error of an element is |autodiff - numerical| / max(|autodiff|, |numerical|) (0 when both
    are 0). The full gradients are kept in `autodiff_grad` and `numerical_grad`.
    """

    index: int
    name: str | None
    order: int
    max_abs_error: float
    max_rel_error: float
    worst_index: tuple[int, ...]
    autodiff: float
    numerical: float
    passed: bool
    autodiff_grad: np.ndarray = field(repr=False, compare=False)
    numerical_grad: np.ndarray = field(repr=False, compare=False)

    @property
    def label(self) -> str:
        """'argument 1 (w)', or 'argument 1' when f's signature does not name it."""
        return f"argument {self.index}" + (f" ({self.name})" if self.name else "")


@dataclass(frozen=True)
class GradcheckReport:
    """What gradcheck compared: one ArgumentCheck per (argument, order), the tolerances, and
    whether every element of every one passed. `print(report)` shows a table."""

    arguments: tuple[ArgumentCheck, ...]
    atol: float
    rtol: float
    passed: bool

    def __str__(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        head = (
            f"gradcheck {verdict}: autodiff vs central differences in float64, "
            f"tolerance atol + rtol*|numerical| with atol={self.atol:g}, rtol={self.rtol:g}"
        )
        rows = [("argument", "order", "max abs err", "max rel err", "worst index")]
        rows[0] += ("autodiff", "numerical", "ok")
        for c in self.arguments:
            rows.append(
                (
                    *(c.label, str(c.order), f"{c.max_abs_error:.3g}", f"{c.max_rel_error:.3g}"),
                    *(str(c.worst_index), f"{c.autodiff:.10g}", f"{c.numerical:.10g}"),
                    "yes" if c.passed else "NO",
                )
            )
        return "\n".join([head, *text_table(rows)])

    def _repr_html_(self) -> str:
        """The report as HTML for Jupyter: the verdict, and per argument and order whether it
        passed, its largest errors and the worst element's two derivatives."""
        verdict = "passed" if self.passed else "FAILED"
        title = (
            f"gradcheck {verdict}: autodiff vs central differences in float64, "
            f"atol={self.atol:g}, rtol={self.rtol:g}"
        )
        header = ["argument", "order", "passed", "max abs err", "max rel err", "worst index"]
        rows = [_html_row(c) for c in self.arguments]
        return html_block(
            "gradcheck", title, [html_table([*header, "autodiff", "numerical"], rows)]
        )


def gradcheck(
    f: Callable[..., Tensor],
    *args: ArrayLike | Tensor,
    atol: float = 1e-6,
    rtol: float = 1e-5,
    eps: float | None = None,
    order: int = 1,
    seed: int | np.random.Generator = 0,
    raise_on_fail: bool = True,
) -> GradcheckReport:
    """Check wengert's gradient of f against central differences at `args`.

    Every floating-point argument (ndarray, Python float or Tensor) is differentiated; they must
    be float64 and finite. Integer arguments are passed through unchanged. f may return any
    shape: a non-scalar output is checked through the random projection sum(u * f(x)) (module
    docstring). `order=2` checks second derivatives too, through sum(v * grad f(x)). `eps` is the
    step of the central differences (default: eps_mach^(1/3) max(1, |x_i|)); `seed` draws u, v.

    Returns a GradcheckReport. On a mismatch, |autodiff - numerical| > atol + rtol*|numerical|
    for some element, raises GradcheckError naming the argument, the order, the element, both
    values and the tolerances; with raise_on_fail=False the report says passed=False instead.
    """
    values = {"atol": atol, "rtol": rtol, "order": order, "raise_on_fail": raise_on_fail}
    check_params("gradcheck", values, OPTIONS)
    _check_eps(eps, "gradcheck")
    names = _parameter_names(f, len(args))
    call_args, nums = _prepare(args, names)
    rng = as_generator(seed, "gradcheck")
    scalar_f = _scalarize(f, call_args, rng)
    checks = _compare(scalar_f, call_args, nums, names, 1, (atol, rtol, eps))
    if order == 2:
        second = _projected_gradient(scalar_f, call_args, nums, rng)
        checks += _compare(second, call_args, nums, names, 2, (atol, rtol, eps))
    report = GradcheckReport(tuple(checks), atol, rtol, all(c.passed for c in checks))
    if raise_on_fail and not report.passed:
        raise GradcheckError(_failure_message(report), report)
    return report


def _html_row(c: ArgumentCheck) -> list[str]:
    """One argument's row of GradcheckReport's HTML table."""
    verdict = "yes" if c.passed else "NO"
    errors = [f"{c.max_abs_error:.3g}", f"{c.max_rel_error:.3g}", str(c.worst_index)]
    return [c.label, str(c.order), verdict, *errors, f"{c.autodiff:.10g}", f"{c.numerical:.10g}"]


# ----------------------------------------------------------------------------- the comparison
def _compare(f, call_args, nums, names, order, tolerances) -> list[ArgumentCheck]:
    """One check per differentiated argument: f's reverse-mode gradient against central
    differences, at `order` (1: f itself; 2: a projection of its gradient)."""
    atol, rtol, eps = tolerances
    autodiff = grad(f, argnums=nums)(*call_args)
    numerical = numerical_grad(f, *call_args, argnums=nums, method="central", eps=eps)
    return [
        _check_argument(a, m, n, names[n], order, atol, rtol)
        for a, m, n in zip(autodiff, numerical, nums, strict=True)
    ]


def _check_argument(autodiff, numerical, n, name, order, atol, rtol) -> ArgumentCheck:
    auto = np.asarray(autodiff, dtype=np.float64)
    num = np.asarray(numerical, dtype=np.float64)
    abs_err = np.abs(auto - num)
    scale = np.maximum(np.abs(auto), np.abs(num))
    with np.errstate(invalid="ignore", divide="ignore"):
        rel_err = np.where(scale > 0, abs_err / scale, 0.0)
    excess = abs_err - (atol + rtol * np.abs(num))
    # NaN anywhere is a failure: NaN > bound is False, so it is tested on its own.
    bad = np.isnan(excess)
    worst = np.unravel_index(np.argmax(np.where(bad, np.inf, excess)), auto.shape)
    return ArgumentCheck(
        index=n,
        name=name,
        order=order,
        max_abs_error=float(np.max(abs_err, initial=0.0)),
        max_rel_error=float(np.max(rel_err, initial=0.0)),
        worst_index=tuple(int(i) for i in worst),
        autodiff=float(auto[worst]) if auto.size else 0.0,
        numerical=float(num[worst]) if num.size else 0.0,
        passed=not (bad.any() or (excess > 0).any()),
        autodiff_grad=auto,
        numerical_grad=num,
    )


def _scalarize(f, call_args, rng) -> Callable:
    """f itself when it returns a scalar, else x -> sum(u * f(x)) with a random u."""
    with no_grad():
        out = f(*call_args)
    data = out.data if isinstance(out, Tensor) else np.asarray(out)
    if data.dtype.kind == "f" and data.dtype != np.float64:
        raise refusal(
            "gradcheck",
            "f's value",
            "float64 for float64 arguments",
            f"{data.dtype}, so its derivatives carry {data.dtype} round-off",
            TypeError,
            fix="Compute f in float64 (convert its parameters, e.g. w.astype(np.float64)).",
        )
    check_finite("gradcheck", "f's value", data, fix="Check f at a point inside its domain.")
    if data.size == 1:
        return f
    u = rng.standard_normal(data.shape)

    def projected(*xs):
        return ops.sum(u * f(*xs))

    projected.__name__ = f"projected_{getattr(f, '__name__', 'f')}"
    return projected


def _projected_gradient(scalar_f, call_args, nums, rng) -> Callable:
    """x -> sum_k sum(v_k * d scalar_f / d x_k) with random v_k: its gradient is H v."""
    vs = [rng.standard_normal(call_args[n].shape) for n in nums]
    grad_f = grad(scalar_f, argnums=nums)

    def directional(*xs):
        total = 0.0
        for v, g in zip(vs, grad_f(*xs), strict=True):
            total = total + ops.sum(v * g)
        return total

    return directional


# ----------------------------------------------------------------------------- the inputs
def _prepare(args, names) -> tuple[list, tuple[int, ...]]:
    """The arguments f is called with (float ones as float64 Tensors) and which are float."""
    call_args = list(args)
    nums = []
    for n, arg in enumerate(args):
        if isinstance(arg, (bool, int, np.integer)):
            continue
        data = as_array(arg, name=_label(n, names[n]), owner="gradcheck")
        if data.dtype.kind != "f":
            continue
        _check_float64(data, n, names[n])
        call_args[n] = tensor(data)
        nums.append(n)
    if not nums:
        raise refusal(
            "gradcheck",
            "one of args",
            "floating-point (to be differentiated)",
            ", ".join(type(a).__name__ for a in args) or "no arguments",
            TypeError,
        )
    return call_args, tuple(nums)


def _check_float64(data: np.ndarray, n: int, name: str | None) -> None:
    label = _label(n, name)
    if data.dtype != np.float64:
        var = name or "x"
        raise refusal(
            "gradcheck",
            label,
            "float64, because central differences in lower precision have errors around 1e-3 "
            "that swamp the comparison",
            str(data.dtype),
            TypeError,
            fix=f"Convert it, e.g. {var}.astype(np.float64) or wg.tensor({var}, dtype='float64').",
        )
    check_finite("gradcheck", label, data, fix="Derivatives there cannot be checked.")


def _parameter_names(f, nargs: int) -> list[str | None]:
    """The names f's signature gives its first nargs positional parameters (None if unknown)."""
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        return [None] * nargs
    names: list[str | None] = []
    for p in params:
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
        elif p.kind is p.VAR_POSITIONAL:
            names += [f"{p.name}[{k}]" for k in range(nargs - len(names))]
        else:
            break
    return (names + [None] * nargs)[:nargs]


def _label(n: int, name: str | None) -> str:
    return f"argument {n}" + (f" ({name})" if name else "")


OPTIONS = {
    "atol": [NON_NEGATIVE],
    "rtol": [NON_NEGATIVE],
    "order": [Options([1, 2])],
    "raise_on_fail": [Boolean()],
}


def _failure_message(report: GradcheckReport) -> str:
    c = next(check for check in report.arguments if not check.passed)
    what = "gradient" if c.order == 1 else "second derivative (Hessian times a random v)"
    bound = report.atol + report.rtol * abs(c.numerical)
    lines = [
        f"gradcheck failed for {c.label}, order {c.order} ({what}): at index {c.worst_index} "
        f"autodiff gives {c.autodiff:.10g} but central differences give {c.numerical:.10g}; "
        f"absolute error {abs(c.autodiff - c.numerical):.3g}, relative error "
        f"{_relative(c.autodiff, c.numerical):.3g}, over the tolerance atol + rtol*|numerical| "
        f"= {report.atol:g} + {report.rtol:g}*{abs(c.numerical):.3g} = {bound:.3g}.",
    ]
    if c.autodiff_grad.size <= _PRINT_LIMIT:
        lines.append(f"autodiff:\n{c.autodiff_grad}\nnumerical:\n{c.numerical_grad}")
    lines.append(str(report))
    lines.append(
        "If every rule is right, f may have a kink near this point (relu, abs, max) or the "
        "tolerances may be too tight for its scale."
    )
    return "\n".join(lines)


def _relative(a: float, b: float) -> float:
    scale = max(abs(a), abs(b))
    return abs(a - b) / scale if scale > 0 else 0.0


__all__ = ["ArgumentCheck", "GradcheckError", "GradcheckReport", "gradcheck"]
