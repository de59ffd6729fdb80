"""The lecture's facts about derivatives, one call each, as printable and testable objects.

- `lecture_examples()`: the two Mathematica examples of the slide "Symbolic differentiation",
  derived by SymPy and checked against the slide's output, with the comparison of every method.
- `depth_sweep()`: "often results in very redundant (and expensive to evaluate) expressions" in
  numbers. A chain of softplus units h_{k+1} = log(1 + exp(w_k h_k + b_k)), h_1 = x, f = h_{d+1}:
  the symbolic derivative grows with the depth d (quadratically for ∂f/∂w_1, cubically for the
  whole gradient; linearly once common subexpressions are shared, which is what autodiff does by
  construction) while reverse mode costs a constant multiple of one forward pass.
- `step_size_sweep(f, x)`: "numerically unstable" in numbers. The error of a finite difference
  against the step h is V-shaped: truncation, O(h) forward and O(h^2) central, falls as h
  shrinks, and round-off, about eps_mach |f| / h, rises; the bottom lies near h = sqrt(eps_mach)
  for forward differences and eps_mach^(1/3) for central ones (times max(1, |x|)).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from numbers import Integral
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from wengert._checks import COUNT, Interval, as_float_array, as_generator, check, refusal, what_came
from wengert.autodiff.functional import grad
from wengert.autodiff.ops import exp, log
from wengert.autodiff.tensor import Tensor, as_array
from wengert.derivatives.compare import Comparison, compare_derivatives, reverse_mode_cost
from wengert.derivatives.numerical import numerical_grad
from wengert.derivatives.symbolic import SymbolicGradient, symbolic_grad

EPS = float(np.finfo(np.float64).eps)


def softplus_unit(w: Tensor | ArrayLike, x: Tensor | ArrayLike, b: Tensor | ArrayLike) -> Tensor:
    """log(1 + exp(w x + b)): the first example, written as the slide writes it."""
    return log(1 + exp(w * x + b))


def two_layers(
    w1: Tensor | ArrayLike,
    w2: Tensor | ArrayLike,
    x: Tensor | ArrayLike,
    b1: Tensor | ArrayLike,
    b2: Tensor | ArrayLike,
) -> Tensor:
    """log(1 + exp(w2 log(1 + exp(w1 x + b1)) + b2)): the second example."""
    return log(1 + exp(w2 * log(1 + exp(w1 * x + b1)) + b2))


# (function, point, wrt, Mathematica's input, its output in SymPy's syntax, the output as printed
# when it differs, a note)
_EXAMPLES = (
    (
        softplus_unit,
        {"w": 0.5, "x": 1.5, "b": -0.3},
        "w",
        "In[11]:= D[Log[1 + Exp[w*x + b]], w]",
        "exp(b + w*x)*x/(1 + exp(b + w*x))",
        "exp(b + w*x)*w/(1 + exp(b + w*x))",
        "the slide prints w in the numerator, a typo for x: d(w x + b)/dw = x",
    ),
    (
        two_layers,
        {"w1": 0.5, "w2": -1.2, "x": 1.5, "b1": 0.1, "b2": 0.3},
        "w1",
        "In[19]:= D[Log[1 + Exp[w2 * Log[1 + Exp[w1 * x + b1]] + b2]], w1]",
        "exp(b1 + b2 + w1*x + w2*log(1 + exp(b1 + w1*x)))*w2*x"
        "/((1 + exp(b1 + w1*x))*(1 + exp(b2 + w2*log(1 + exp(b1 + w1*x)))))",
        None,
        "Mathematica merged the two exponentials into one; SymPy keeps them apart",
    ),
)


@dataclass(frozen=True, eq=False)
class LectureExample:
    """One example: the slide's derivative, SymPy's, whether they agree, and the comparison."""

    mathematica: str
    wrt: str
    slide: str  # the slide's output in SymPy's syntax, corrected where `printed` differs
    printed: str | None  # the slide's output as printed, when it differs from `slide`
    note: str
    symbolic: SymbolicGradient
    matches_slide: bool  # sympy.simplify(SymPy's derivative - slide) == 0
    matches_printed: bool | None
    comparison: Comparison

    @property
    def derivative(self) -> Any:
        """SymPy's ∂f/∂wrt."""
        return self.symbolic.derivatives[self.wrt]

    def __str__(self) -> str:
        sg, wrt = self.symbolic, self.wrt
        lines = [self.mathematica, f"  slide:  {self.slide}"]
        if self.printed is not None:
            lines.append(f"          (printed: {self.printed})")
        lines.append(f"  SymPy:  {self.derivative}")
        check = f"  simplify(SymPy - slide) == 0: {self.matches_slide}"
        if self.printed is not None:
            check += f"; as printed: {self.matches_printed}"
        lines += [check, f"  note:   {self.note}"]
        lines.append(
            f"  size of ∂f/∂{wrt}: {sg.ops[wrt]} operations, {sg.ops_cse[wrt]} with common "
            f"subexpressions shared; f itself: {sg.expression_ops}"
        )
        return "\n".join(lines) + "\n\n" + str(self.comparison)


@dataclass(frozen=True)
class LectureExamples:
    """The two examples of the slide "Symbolic differentiation" (`examples`)."""

    examples: tuple[LectureExample, ...]

    def __str__(self) -> str:
        return ("\n\n" + "=" * 100 + "\n\n").join(str(e) for e in self.examples)


def lecture_examples(repeats: int = 3) -> LectureExamples:
    """The slide's two Mathematica examples, by SymPy, checked, and compared with every method."""
    out = []
    for f, at, wrt, mathematica, slide, printed, note in _EXAMPLES:
        sg = symbolic_grad(f, *at, at=at)
        out.append(
            LectureExample(
                mathematica=mathematica,
                wrt=wrt,
                slide=slide,
                printed=printed,
                note=note,
                symbolic=sg,
                matches_slide=sg.matches(wrt, slide),
                matches_printed=None if printed is None else sg.matches(wrt, printed),
                comparison=compare_derivatives(f, *at.values(), repeats=repeats),
            )
        )
    return LectureExamples(tuple(out))


# ----------------------------------------------------------------------------- depth
def chain(x: Tensor | ArrayLike, *layers: Tensor | ArrayLike) -> Tensor:
    """h_1 = x, h_{k+1} = log(1 + exp(w_k h_k + b_k)); layers = w_1, b_1, w_2, b_2, ..."""
    h = x
    for w, b in zip(layers[::2], layers[1::2], strict=True):
        h = log(1 + exp(w * h + b))
    return h


@dataclass(frozen=True)
class DepthSweep:
    """Per depth d: the size of the symbolic derivatives and the cost of reverse mode.

    Each row: depth, inputs (2d + 1), dw1_ops and dw1_ops_cse (`count_ops` of ∂f/∂w_1 without and
    with CSE), gradient_ops and gradient_ops_cse (all 2d + 1 derivatives), forward_ops (P, the
    Wengert list), backward_ops (the reverse sweep's operations), ratio ((P + backward) / P, the
    gradient's cost in forward passes) and max_error (symbolic against reverse mode).
    """

    rows: list[dict]

    def to_dicts(self) -> list[dict]:
        """The rows as plain dicts (copies), e.g. for JSON."""
        return [dict(r) for r in self.rows]

    def __str__(self) -> str:
        head = (
            "depth  inputs  ∂f/∂w1 ops  with CSE  ∇f ops  with CSE  forward  backward  "
            "(fwd+bwd)/fwd  |symbolic - reverse|"
        )
        lines = ["Symbolic derivative size against reverse-mode cost, by depth", head]
        for r in self.rows:
            lines.append(
                f"{r['depth']:>5}  {r['inputs']:>6}  {r['dw1_ops']:>10}  {r['dw1_ops_cse']:>8}  "
                f"{r['gradient_ops']:>6}  {r['gradient_ops_cse']:>8}  {r['forward_ops']:>7}  "
                f"{r['backward_ops']:>8}  {r['ratio']:>13.2f}  {r['max_error']:>20.1e}"
            )
        return "\n".join(lines)


def depth_sweep(max_depth: int = 12, seed: int | np.random.Generator = 0) -> DepthSweep:
    """The chain of 1, ..., max_depth softplus units: symbolic sizes and reverse-mode cost.

    The parameters are drawn once from a normal of standard deviation 1/2 (`seed`), x = 1.
    """
    check("depth_sweep", "max_depth", max_depth, Interval(Integral, 1, 30, closed="both"))
    params = as_generator(seed, "depth_sweep").normal(0.0, 0.5, 2 * max_depth)
    rows = []
    for d in range(1, max_depth + 1):
        names = ["x"] + [f"{p}{k}" for k in range(1, d + 1) for p in ("w", "b")]
        values = [1.0, *params[: 2 * d].tolist()]
        sg = symbolic_grad(chain, *names, at=dict(zip(names, values, strict=True)))
        forward, backward = reverse_mode_cost(chain, *values)
        reverse = np.array(grad(chain, tuple(range(len(values))))(*values))
        rows.append(
            {
                "depth": d,
                "inputs": len(values),
                "dw1_ops": sg.ops["w1"],
                "dw1_ops_cse": sg.ops_cse["w1"],
                "gradient_ops": sg.gradient_ops,
                "gradient_ops_cse": sg.gradient_ops_cse,
                "forward_ops": forward,
                "backward_ops": backward,
                "ratio": (forward + backward) / forward,
                "max_error": float(np.max(np.abs(np.array(sg(*values)) - reverse))),
            }
        )
    return DepthSweep(rows)


# ----------------------------------------------------------------------------- step size
@dataclass(frozen=True)
class StepSizeSweep:
    """Errors of forward and central differences against the step h.

    `forward_errors` and `central_errors` hold max_i |D_i(h) - ∂f/∂x_i| per step, the worst over
    a few points near x (NaN where x + h rounds back to x); the reference is reverse mode.
    `best_forward` and `best_central` are the steps of least error; `theory_forward` =
    sqrt(eps) max(1, |x|), `theory_central` = eps^(1/3) max(1, |x|), the steps that balance
    truncation against round-off.
    """

    steps: np.ndarray
    forward_errors: np.ndarray
    central_errors: np.ndarray
    best_forward: float
    best_central: float
    theory_forward: float
    theory_central: float

    def __str__(self) -> str:
        lines = [
            "Finite-difference error against the step h (reference: reverse mode)",
            f"  best forward step {self.best_forward:.1e} (theory sqrt(eps)·scale = "
            f"{self.theory_forward:.1e}); best central step {self.best_central:.1e} "
            f"(theory eps^(1/3)·scale = {self.theory_central:.1e})",
            "        h   forward err   central err   log10 error: F forward, C central (-16 … 0)",
        ]
        for h, ef, ec in zip(self.steps, self.forward_errors, self.central_errors, strict=True):
            lines.append(f"  {h:7.1e}  {ef:12.2e}  {ec:12.2e}   {_bar(ef, ec)}")
        return "\n".join(lines)


def _check_steps(steps) -> np.ndarray:
    expected = "a 1-D array of positive finite steps"
    array = as_float_array("step_size_sweep", "steps", steps, expected)
    if array.ndim != 1 or array.size == 0 or not np.all(np.isfinite(array) & (array > 0)):
        raise refusal("step_size_sweep", "steps", expected, what_came(array.tolist()))
    return array


def step_size_sweep(
    f: Callable[[Tensor], Tensor],
    x: ArrayLike | Tensor,
    steps: ArrayLike | None = None,
    points: int = 5,
) -> StepSizeSweep:
    """The V-shaped error of finite differences of scalar f at x over `steps` (absolute h).

    `steps` defaults to np.logspace(-16, 0, 33), two points a decade. Round-off error is erratic
    in h and in x (at one point it can vanish by luck), so the error at each step is the worst
    over `points` points near x, x + j 1e-3 max(1, |x|) for j = 0, ..., points - 1: the envelope
    eps |f| / h that the theory describes. The reference is reverse mode at each point.
    """
    steps = np.logspace(-16, 0, 33) if steps is None else _check_steps(steps)
    check("step_size_sweep", "points", points, COUNT)
    x = np.asarray(as_array(x, name="x", owner="step_size_sweep"), dtype=np.float64)
    scale = max(1.0, float(np.max(np.abs(x), initial=0.0)))
    errors = {m: np.zeros(steps.size) for m in ("forward", "central")}
    for j in range(points):
        xj = x + j * 1e-3 * scale
        point = float(xj) if xj.ndim == 0 else xj
        exact = np.asarray(grad(f)(point), dtype=np.float64)
        for method, out in errors.items():
            for i, h in enumerate(steps):
                # np.maximum keeps a NaN: a step lost in rounding, or f undefined at x +- h
                out[i] = np.maximum(out[i], _difference_error(f, point, exact, method, float(h)))
    return StepSizeSweep(
        steps=steps,
        forward_errors=errors["forward"],
        central_errors=errors["central"],
        best_forward=float(steps[np.nanargmin(errors["forward"])]),
        best_central=float(steps[np.nanargmin(errors["central"])]),
        theory_forward=EPS**0.5 * scale,
        theory_central=EPS ** (1 / 3) * scale,
    )


def _difference_error(f, point, exact, method: str, h: float) -> float:
    try:
        with np.errstate(all="ignore"):  # a large step may leave f's domain: the error is NaN
            approx = numerical_grad(f, point, method=method, eps=h)
    except ValueError:  # the step is lost in rounding at x: no difference to take
        return np.nan
    return float(np.max(np.abs(np.asarray(approx) - exact)))


def _bar(forward: float, central: float, width: int = 48) -> str:
    """A row of the text plot: F and C placed at log10 of each error, from -16 to 0."""
    row = [" "] * (width + 1)
    for mark, err in (("F", forward), ("C", central)):
        if np.isfinite(err):
            pos = round((float(np.clip(np.log10(max(err, 1e-300)), -16, 0)) + 16) / 16 * width)
            row[pos] = "*" if row[pos] not in (" ", mark) else mark
    return "|" + "".join(row).rstrip()


__all__ = [
    "DepthSweep",
    "LectureExample",
    "LectureExamples",
    "StepSizeSweep",
    "chain",
    "depth_sweep",
    "lecture_examples",
    "softplus_unit",
    "step_size_sweep",
    "two_layers",
]
