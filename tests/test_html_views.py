"""The HTML that Jupyter shows for a Trace, its Sweep, a History, a derivative comparison and a
gradcheck report: parsed back with html.parser, the numbers read from the cells."""

from html.parser import HTMLParser

import numpy as np
import pytest

import wengert as wg
from wengert.derivatives import compare_derivatives, gradcheck
from wengert.train.state import HTML_EPOCHS, History


class Tables(HTMLParser):
    """Every table's rows of cell texts (header cells included), the titles (in <b>), and the
    text of the other paragraphs."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tables, self.titles, self.paragraphs = [], [], []
        self._cell = self._title = self._para = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag == "b":
            self._title = ""
        elif tag == "p":
            self._para = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append(self._cell)
            self._cell = None
        elif tag == "b":
            self.titles.append(self._title)
            self._title = None
        elif tag == "p":
            if self._para not in self.titles:
                self.paragraphs.append(self._para)
            self._para = None

    def handle_data(self, data):
        for field in ("_cell", "_title", "_para"):
            if getattr(self, field) is not None:
                setattr(self, field, getattr(self, field) + data)


def unit(w, x, b, t):
    z = w * x + b
    y = 1 / (1 + wg.exp(-z))
    L = (y - t) ** 2 / 2
    return L


def test_a_trace_shows_its_list_and_after_backward_its_sweep():
    recorded = wg.trace(unit, 0.5, 2.0, 0.1, 1.0)
    before = Tables(recorded._repr_html_())
    assert before.titles == ["Wengert list of unit(w, x, b, t): 9 primitives"]
    assert len(before.tables) == 1  # no sweep yet
    rows = before.tables[0]
    assert rows[0] == ["name", "expression", "primitive", "value"]
    assert rows[1] == ["w", "input", "", "0.5"]
    assert ["z", "t1 + b", "add", "1.1"] in rows
    y = 1 / (1 + np.exp(-1.1))
    assert ["y", "1 / t5", "div", f"{y:.6g}"] in rows
    assert rows[-1] == ["L", "t8 / 2", "div", f"{(y - 1) ** 2 / 2:.6g}"]

    sweep = recorded.backward()
    after = Tables(recorded._repr_html_())
    assert after.titles[1] == "Backward sweep: x\u0304 = dL/dx, from L\u0304 = 1 back to the inputs"
    lines, gradient = after.tables[1], after.tables[2]
    assert [
        "w\u0304",
        "=",
        "t1\u0304 * x",
        f"{2 * y * (1 - y) * (y - 1):.6g}",
        "t1 = w * x",
    ] in lines
    assert dict(gradient[1:]) == {f"dL/d{k}": f"{float(g):.6g}" for k, g in sweep.grads.items()}
    assert dict(gradient[1:])["dL/db"] == f"{y * (1 - y) * (y - 1):.6g}"
    assert Tables(sweep._repr_html_()).tables == after.tables[1:]
    assert repr(sweep) == "<Sweep of 12 rules back to 4 inputs>"


def test_names_and_expressions_are_escaped():
    text = wg.trace(lambda a, b: a * b, 2.0, 3.0)._repr_html_()
    assert "<lambda>" not in text and "&lt;lambda&gt;" in text
    page = Tables(text)
    assert page.titles == ["Wengert list of <lambda>(a, b): 1 primitives"]
    assert page.tables[0][-1] == ["t1", "a * b", "mul", "6"]


def test_a_history_shows_each_epochs_series_and_why_it_stopped():
    history = History(
        {"loss": [0.5, 0.25, 0.125], "val_loss": [0.6, 0.3, 0.2]},
        step_loss=[1.0] * 6,
        stop_reason="val_loss did not improve for 1 epoch",
        best_epoch=2,
    )
    page = Tables(history._repr_html_())
    assert page.titles == ["History: 3 epochs, 6 steps"]
    assert page.tables[0] == [
        ["epoch", "loss", "val_loss"],
        ["1", "0.5", "0.6"],
        ["2", "0.25", "0.3"],
        ["3", "0.125", "0.2"],
    ]
    assert page.paragraphs == ["stopped: val_loss did not improve for 1 epoch", "best epoch: 2"]


def test_a_long_history_shows_its_first_and_last_epochs():
    loss = [1 / (k + 1) for k in range(100)]
    rows = Tables(History({"loss": loss})._repr_html_()).tables[0]
    assert len(rows) == 1 + 2 * HTML_EPOCHS + 1
    assert rows[1] == ["1", "1"] and rows[HTML_EPOCHS + 1] == ["…", "…"]
    assert rows[-1] == ["100", "0.01"]


def test_a_history_of_a_real_fit_shows_its_losses():
    X = np.array([[10.0], [2.0], [3.5], [1.0]])
    y = np.array([[10.1], [1.9], [3.4], [1.1]])
    model = wg.nn.Linear(1, 1, bias=False, dtype=np.float64)
    history = wg.fit(model, wg.losses.mse, wg.optim.SGD(model.parameters(), lr=0.005), (X, y),
                     epochs=3, batch_size=4, progress=False)  # fmt: skip
    rows = Tables(history._repr_html_()).tables[0]
    assert [r[1] for r in rows[1:]] == [f"{v:.6g}" for v in history.history["loss"]]


def test_the_comparison_table_shows_each_method_and_its_gradient():
    table = compare_derivatives(lambda w, x: w * x + x**2, 0.5, 2.0, repeats=1)
    page = Tables(table._repr_html_())
    assert page.titles[0].startswith("Gradient of <lambda>(w, x) at w = 0.5, x = 2: n = 2 inputs")
    rows = {r[0]: r for r in page.tables[0][1:]}
    assert rows["reverse mode (grad)"][1] == "[2, 4.5]"  # [x, w + 2x]
    assert rows["central difference"][1] == "[2, 4.5]"
    assert rows["reverse mode (grad)"][4] == "1"  # one evaluation of f
    assert page.paragraphs[0] == "Errors against symbolic (SymPy), in float64."


def test_the_gradcheck_report_shows_pass_or_fail_per_argument():
    report = gradcheck(lambda w, x: wg.sum(w * x), np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    page = Tables(report._repr_html_())
    assert page.titles[0].startswith("gradcheck passed")
    rows = page.tables[0]
    assert rows[0][:3] == ["argument", "order", "passed"]
    assert [r[:3] for r in rows[1:]] == [
        ["argument 0 (w)", "1", "yes"],
        ["argument 1 (x)", "1", "yes"],
    ]

    def wrong(w):
        return wg.Tensor(w.data**2) + w  # the square is cut from the graph: its rule is lost

    bad = gradcheck(wrong, np.array([3.0]), raise_on_fail=False)
    page = Tables(bad._repr_html_())
    assert page.titles[0].startswith("gradcheck FAILED")
    row = page.tables[0][1]
    assert row[:3] == ["argument 0 (w)", "1", "NO"]
    assert float(row[3]) == pytest.approx(6.0, rel=1e-6)  # 1 against 2w + 1 = 7
    assert (float(row[6]), float(row[7])) == pytest.approx((1.0, 7.0), rel=1e-6)
