"""A trace's graph: Trace.to_dot() with values and adjoints, to_svg() through Graphviz or a
clear error without it, and `wengert trace --dot`."""

import re
from xml.etree import ElementTree

import numpy as np
import pytest
from click.testing import CliRunner

import wengert as wg
from wengert.autodiff import render
from wengert.autodiff.render import GraphvizNotFoundError
from wengert.cli import main

HAVE_DOT = render.graphviz_dot() is not None
needs_dot = pytest.mark.skipif(not HAVE_DOT, reason="Graphviz's dot is not installed")
SVG_NS = "{http://www.w3.org/2000/svg}"
SIGMOID = 1 / (1 + np.exp(-1.1))  # sigmoid(w*x + b) at w=0.5, x=2, b=0.1


def unit(w, x, b):
    y = wg.sigmoid(w * x + b)
    return y


def labels(dot: str) -> dict[str, str]:
    """Each node's label, by node name, with DOT's \\n as a newline."""
    found = re.findall(r'^  "([^"]+)" \[[^\]]*label="((?:[^"\\]|\\.)*)"\];$', dot, re.M)
    return {name: label.replace("\\n", "\n") for name, label in found}


def test_to_dot_has_a_node_per_input_and_primitive_and_edges_from_operands():
    dot = wg.trace(unit, 0.5, 2.0, 0.1).to_dot()
    assert dot.startswith("digraph wengert {\n") and dot.endswith("}\n")
    assert labels(dot) == {
        "w": "w  (input)\nvalue 0.5",
        "x": "x  (input)\nvalue 2",
        "b": "b  (input)\nvalue 0.1",
        "t1": "t1 = w * x\nmul  value 1",
        "t2": "t2 = t1 + b\nadd  value 1.1",
        "y": f"y = sigmoid(t2)\nsigmoid  value {SIGMOID:.6g}",
    }
    edges = re.findall(r'^  "(\S+)" -> "(\S+)";$', dot, re.M)
    assert edges == [("w", "t1"), ("x", "t1"), ("t1", "t2"), ("b", "t2"), ("t2", "y")]
    assert '"y" [shape=box, peripheries=2' in dot  # the output is doubled


def test_after_backward_each_node_shows_its_adjoint():
    recorded = wg.trace(unit, 0.5, 2.0, 0.1)
    sweep = recorded.backward()
    found = labels(recorded.to_dot())
    s1 = SIGMOID * (1 - SIGMOID)  # dy/dz
    assert found["y"].endswith("\ny\u0304 = 1")
    assert found["t2"].endswith(f"\nt2\u0304 = {s1:.6g}")
    assert found["w"] == f"w  (input)\nvalue 0.5\nw\u0304 = {2 * s1:.6g}"
    assert found["x"].endswith(f"\nx\u0304 = {0.5 * s1:.6g}")
    assert float(sweep.grads["w"]) == pytest.approx(2 * s1)


def test_constants_are_dashed_and_numbers_stay_in_the_expressions():
    def loss(w, X, y):
        return wg.sum((X @ w - y) ** 2)

    X, y = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([1.0, 0.0])
    recorded = wg.trace(loss, np.array([0.5, -0.5]), X, y, argnums=0)
    recorded.backward()
    dot = recorded.to_dot()
    assert '"X" [shape=ellipse, style=dashed, label="X  (constant)\\nvalue <float64 2x2>' in dot
    assert '"w" [shape=ellipse, label="w  (input)\\nvalue [0.5, -0.5]\\nw\u0304 = [-6, -10]"' in dot
    assert '"X" -> "t1";' in dot and "t2 ** 2" in dot  # the 2 is written, not drawn


@needs_dot
def test_to_svg_draws_the_graph_with_values_and_adjoints():
    recorded = wg.trace(unit, 0.5, 2.0, 0.1)
    recorded.backward()
    svg = recorded.to_svg()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    texts = [" ".join(t.text.split()) for t in ElementTree.fromstring(svg).iter(SVG_NS + "text")]
    assert f"sigmoid value {SIGMOID:.6g}" in texts and "w\u0304 = 0.37474" in texts
    assert texts.count("y = sigmoid(t2)") == 1
    assert svg._repr_svg_() == str(svg)


def test_to_svg_without_graphviz_says_what_to_install(monkeypatch):
    monkeypatch.setattr(render, "graphviz_dot", lambda: None)
    with pytest.raises(GraphvizNotFoundError, match=r"Trace\.to_svg: .* apt-get install graphviz"):
        wg.trace(unit, 0.5, 2.0, 0.1).to_svg()


def test_a_failing_dot_says_why(monkeypatch):
    monkeypatch.setattr(render, "graphviz_dot", lambda: "false")
    with pytest.raises(
        RuntimeError, match=r"^Trace\.to_svg: Graphviz's dot failed: exit status 1$"
    ):
        wg.trace(unit, 0.5, 2.0, 0.1).to_svg()


def trace_cli(*args):
    return CliRunner().invoke(main, ["trace", "sigmoid(w*x + b)", "--at", "w=0.5,x=2,b=0.1", *args])


def test_cli_dot_without_graphviz_writes_the_text_and_says_no_picture(tmp_path, monkeypatch):
    monkeypatch.setattr(render, "graphviz_dot", lambda: None)
    result = trace_cli("--dot", str(tmp_path / "g.dot"))
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"wrote {tmp_path / 'g.dot'}",
        f"no picture written: {tmp_path / 'g.png'} needs Graphviz's `dot` program (apt-get "
        f"install graphviz, brew install graphviz or conda install graphviz); "
        f"{tmp_path / 'g.dot'} holds the graph as text",
    ]
    assert "w\u0304 = 0.37474" in (tmp_path / "g.dot").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.dot"]


@needs_dot
@pytest.mark.parametrize(("asked", "picture", "magic"), [
    ("g.svg", "g.svg", b"<?xml"), ("g.png", "g.png", b"\x89PNG"), ("g.dot", "g.png", b"\x89PNG"),
])  # fmt: skip
def test_cli_dot_draws_the_picture_the_suffix_asks_for(tmp_path, asked, picture, magic):
    result = trace_cli("--dot", str(tmp_path / asked))
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"wrote {tmp_path / 'g.dot'}",
        f"wrote {tmp_path / picture}",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({"g.dot", picture})
    assert (tmp_path / picture).read_bytes().startswith(magic)
    assert labels((tmp_path / "g.dot").read_text())["b"].endswith("b\u0304 = 0.18737")
