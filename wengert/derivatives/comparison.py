"""The result of `compare_derivatives`: one row per method, and the table it prints as."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

import numpy as np

from wengert.autodiff.render import html_block, html_table, text_table
from wengert.derivatives.program import short

LABELS = {
    "forward": "forward difference",
    "central": "central difference",
    "richardson": "Richardson",
    "symbolic": "symbolic (SymPy)",
    "forward-mode": "forward mode (jvp)",
    "reverse-mode": "reverse mode (grad)",
}
KEYS = (
    "method",
    "label",
    "gradient",
    "max_abs_error",
    "max_rel_error",
    "evaluations",
    "primitive_ops",
    "time_s",
    "setup_s",
    "expression_ops",
    "expression_ops_cse",
    "note",
)
# The columns of the printed table.
COLUMNS = ["method", "gradient", "max error", "rel. error", "f evals", "prim. ops", "time"]
COLUMNS.append("expr. ops / CSE")


@dataclass(frozen=True)
class Comparison:
    """One row per method (`rows`, dicts with the keys in KEYS), printable as a table.

    `names` are f's arguments, `point` where it was differentiated, `n` the number of scalar
    inputs, `primitives` the length P of f's Wengert list, `reference` the method (or "given")
    the errors are measured against.
    """

    function: str
    names: tuple[str, ...]
    point: tuple
    n: int
    primitives: int
    reference: str
    rows: list[dict]

    def row(self, method: str) -> dict:
        """The row of one method ("forward", "central", ..., "reverse-mode")."""
        for r in self.rows:
            if r["method"] == method:
                return r
        raise KeyError(f"no row {method!r}; the rows are {[r['method'] for r in self.rows]}")

    def to_dicts(self) -> list[dict]:
        """The rows as plain Python values (the gradient as a list of floats), e.g. for JSON."""
        out = []
        for r in self.rows:
            d = dict(r)
            d["gradient"] = None if r["gradient"] is None else r["gradient"].tolist()
            out.append(d)
        return out

    def _heading(self) -> str:
        point = ", ".join(f"{n} = {short(v)}" for n, v in zip(self.names, self.point, strict=True))
        return (
            f"Gradient of {self.function}({', '.join(self.names)}) at {point}: n = "
            f"{plural(self.n, 'input')}; one evaluation of f = "
            f"{plural(self.primitives, 'primitive')}"
        )

    def _notes(self) -> list[str]:
        notes = [f"Errors against {LABELS.get(self.reference, self.reference)}, in float64."]
        return notes + [f"  {r['label']}: {r['note']}" for r in self.rows if r["note"]]

    def __str__(self) -> str:
        table = text_table([COLUMNS] + [_cells(r) for r in self.rows])
        return "\n".join([self._heading(), "", *table, "", *self._notes()])

    def _repr_html_(self) -> str:
        """The table as HTML for Jupyter: the same heading, columns and notes as print()."""
        table = html_table(COLUMNS, [_cells(r) for r in self.rows])
        notes = [f"<p>{escape(n.strip())}</p>" for n in self._notes()]
        return html_block("comparison", self._heading(), [table, *notes])


def plural(k: int, word: str, words: str | None = None) -> str:
    """`k` and the word for one or for many (`words`, by default `word` + "s")."""
    return f"{k} {word if k == 1 else (words or word + 's')}"


def _cells(r: dict) -> list[str]:
    g = r["gradient"]
    size = ""
    if r["expression_ops"] is not None:
        size = f"{r['expression_ops']} / {r['expression_ops_cse']}"
    return [
        r["label"],
        "—" if g is None else _compact(g),
        _number(r["max_abs_error"]),
        _number(r["max_rel_error"]),
        _number(r["evaluations"]),
        _number(r["primitive_ops"]),
        "—" if r["time_s"] is None else format_seconds(r["time_s"]),
        size,
    ]


def _compact(g: np.ndarray, shown: int = 3) -> str:
    text = ", ".join(f"{v:.6g}" for v in g[:shown])
    return f"[{text}, … ({g.size})]" if g.size > shown else f"[{text}]"


def _number(v: float | int | None) -> str:
    if v is None:
        return "—"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return "0" if v == 0 else f"{v:.1e}"


def format_seconds(s: float) -> str:
    """A duration in seconds, to 3 digits, in s, ms or µs, whichever keeps it at least 1."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if s >= scale or unit == "µs":
            return f"{s / scale:.3g} {unit}"
    return f"{s:.3g} s"


__all__ = ["KEYS", "LABELS", "Comparison", "format_seconds", "plural"]
