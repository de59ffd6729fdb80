"""The README's examples run as written (docs that say one thing while the code does another
are a defect)."""

import re
from pathlib import Path

import pytest

README = (Path(__file__).parent.parent / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


def test_the_readme_has_its_examples():
    assert len(BLOCKS) >= 2


def test_the_readme_examples_run(capsys):
    pytest.importorskip("sklearn")  # the digits example loads scikit-learn's dataset
    namespace: dict = {}
    for block in BLOCKS:
        exec(compile(block, "README.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "t1 = w * x" in out and "z  = t1 + b" in out
    assert namespace["history"].metrics["val_accuracy"][-1] > 0.95
