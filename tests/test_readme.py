"""The README's examples run as written, each alone, as a reader pastes it (docs that say one
thing while the code does another are a defect)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)
TRACE_BLOCK = next(block for block in BLOCKS if "wg.trace(" in block)
DIGITS_BLOCK = next(block for block in BLOCKS if "data.digits()" in block)


def run_alone(block: str) -> dict:
    """Run one block in a namespace of its own, as a script of its own would."""
    namespace: dict = {"__name__": "__main__"}
    exec(compile(block, "README.md", "exec"), namespace)
    return namespace


def test_the_readme_has_its_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("block", BLOCKS, ids=lambda block: block.splitlines()[-1][:40])
def test_each_readme_example_runs_alone(block, capsys):
    if "data.digits()" in block:
        pytest.importorskip("sklearn")  # the digits example loads scikit-learn's dataset
    run_alone(block)  # a block that uses a name only another block defines fails here


def test_the_trace_example_prints_the_wengert_list(capsys):
    run_alone(TRACE_BLOCK)
    out = capsys.readouterr().out
    assert "t1 = w * x" in out and "z  = t1 + b" in out


def test_every_readme_fit_passes_a_seed():
    # seed=None shuffles from fresh entropy: a seeded split and model still print a new number.
    calls = re.findall(r"wg\.fit\((.*?)\n\)", README, re.S)
    assert calls
    for call in calls:
        assert re.search(r"^\s*seed=\d+", call, re.M), call


def test_the_digits_example_prints_the_same_number_in_a_fresh_process(capsys):
    pytest.importorskip("sklearn")
    here = run_alone(DIGITS_BLOCK)["history"].metrics["val_accuracy"][-1]
    assert here > 0.95
    done = subprocess.run(
        [sys.executable, "-c", DIGITS_BLOCK],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert float(done.stdout.split()[-1]) == here


def test_the_readme_says_where_the_command_is():
    assert "`.venv/bin/wengert`" in README
    assert "`. .venv/bin/activate`" in README


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_demo_ends_with_where_the_command_is():
    # Under `make test` this make is a child of make: without --no-print-directory it would end
    # with "make[1]: Leaving directory ...".
    command = ["make", "--no-print-directory", "-n", "demo"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-2:]
    assert ".venv/bin/wengert" in last[0]
    assert ". .venv/bin/activate" in last[1]
