"""scripts/numpy_usage.py: its counts on a small package written here, its markdown and JSON, and
its refusals; and the counts that docs/gpu-array-api.md quotes, against the engine as it is."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "numpy_usage.py"

CORE = """
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def scale(x: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
    a = np.asarray(x)
    if isinstance(a, (np.ndarray, np.integer)):
        a = np.concatenate([a, a])
    np.multiply(a, 2.0, out=out)
    np.add.at(a, [0, 0], 1.0)
    with np.errstate(under="ignore"):
        b = np.exp(a)
    return b.astype(np.float32)
"""

STATE = """
import numpy
from numpy import random as npr, zeros


class Holder:
    def __init__(self) -> None:
        self.data = zeros(3)
        self.rng = npr.default_rng(0)
        self.seed = numpy.asarray(-1.5)
        self.kind = self.data.dtype.kind

    def step(self, g: "numpy.ndarray") -> None:
        self.data -= g
        self.data[0] = 0.0
        self.data.flags.writeable = False
        self.view = self.data.base
        self.norm = numpy.linalg.norm(g)
"""

FEATURE_SITES = {
    "ufunc_method": 1,
    "out_argument": 1,
    "errstate": 1,
    "asarray_scalar": 1,
    "flags": 1,
    "base": 1,
    "isinstance": 1,
    "dtype_object": 1,
    "inplace_data": 2,
    "random": 1,
    "array_methods": 1,
}


@pytest.fixture(scope="module")
def usage() -> ModuleType:
    """scripts/numpy_usage.py as a module: scripts/ is a folder of scripts, not a package."""
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        return importlib.import_module(SCRIPT.stem)
    finally:
        sys.path.remove(str(SCRIPT.parent))


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A package of three modules: one empty, two that use NumPy in known ways."""
    root = tmp_path / "pkg"
    (root / "sub").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "core.py").write_text(CORE)
    (root / "sub" / "state.py").write_text(STATE)
    return root


def _run(usage: ModuleType, capsys, *argv: str) -> tuple[int, str, str]:
    status = usage.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_json_counts_every_use_by_kind_name_and_module(usage, package, capsys):
    status, out, err = _run(usage, capsys, "--path", str(package), "--json")
    assert (status, err) == (0, "")
    data = json.loads(out)
    assert (data["files"], data["uses"]) == (3, 17)
    kinds = {"drop-in": 6, "differs": 2, "outside": 3, "type check": 2, "annotation": 4}
    assert data["kinds"] == kinds
    assert data["names"]["ndarray"] == {
        "kind": "type check",
        "uses": 4,
        "annotation": 3,
        "isinstance": 1,
        "standard": "",
        "modules": {"core.py": 3, "sub/state.py": 1},
    }
    assert data["names"]["concatenate"]["standard"] == "concat"
    assert data["names"]["linalg.norm"]["kind"] == "differs"
    assert data["names"]["add.at"]["kind"] == "outside"
    assert data["names"]["random.default_rng"]["kind"] == "outside"
    assert data["names"]["typing.ArrayLike"]["kind"] == "annotation"
    assert sorted(data["names"]) == [
        "add.at", "asarray", "concatenate", "errstate", "exp", "float32", "integer",
        "linalg.norm", "multiply", "ndarray", "random.default_rng", "typing.ArrayLike", "zeros",
    ]  # fmt: skip
    assert data["modules"] == {
        "__init__.py": dict.fromkeys([*kinds, "total"], 0),
        "core.py": {"drop-in": 4, "differs": 1, "outside": 2, "type check": 2, "annotation": 3}
        | {"total": 12},
        "sub/state.py": {"drop-in": 2, "differs": 1, "outside": 1, "type check": 0}
        | {"annotation": 1, "total": 5},
    }


def test_json_counts_each_feature_site_by_module(usage, package, capsys):
    data = json.loads(_run(usage, capsys, "--path", str(package), "--json")[1])
    assert {key: v["sites"] for key, v in data["features"].items()} == FEATURE_SITES
    assert data["features"]["inplace_data"]["modules"] == {"sub/state.py": 2}
    assert data["features"]["out_argument"]["modules"] == {"core.py": 1}
    assert data["features"]["asarray_scalar"]["modules"] == {"sub/state.py": 1}


def test_markdown_tables_show_the_same_counts(usage, package, capsys):
    status, out, err = _run(usage, capsys, "--path", str(package))
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"# Direct NumPy use in {package.as_posix()}"
    assert lines[2] == "3 files, 17 uses of NumPy names."
    for row in (
        "| drop-in | 6 |",
        "| annotation | 4 |",
        "| `ndarray` | type check | 4 | 3 | 1 |  | core.py (3), sub/state.py (1) |",
        "| `concatenate` | differs | 1 | 0 | 0 | concat | core.py (1) |",
        "| sub/state.py | 2 | 1 | 1 | 0 | 1 | 5 |",
        "| __init__.py | 0 | 0 | 0 | 0 | 0 | 0 |",
        "| in-place writes into .data | 2 | sub/state.py (2) |",
        "| np.random | 1 | sub/state.py (1) |",
    ):
        assert row in lines
    # the most used name comes first in its table
    assert lines[lines.index("## By name") + 4].startswith("| `ndarray` |")
    assert _run(usage, capsys, "--path", str(package))[1] == out  # deterministic


@pytest.mark.parametrize(
    ("name", "what"), [("core.py", "a file"), ("missing", "which does not exist")]
)
def test_a_path_that_is_not_a_folder_is_refused_in_one_line(package, name, what):
    path = package / name
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--path", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr == (
        f"numpy_usage: error: --path must be a folder of Python files; got {str(path)!r}, {what}.\n"
    )


def test_a_file_that_is_not_python_is_refused_by_name(usage, package, capsys):
    (package / "broken.py").write_text("def f(:\n")
    status, out, err = _run(usage, capsys, "--path", str(package))
    assert (status, out) == (2, "")
    broken = package / "broken.py"
    assert err == f"numpy_usage: error: {broken} is not valid Python: invalid syntax.\n"


def test_the_design_note_quotes_the_engine_as_it_is(usage):
    # The engine changed its NumPy use: rerun `python scripts/numpy_usage.py` and copy its
    # counts into docs/gpu-array-api.md, so that the note stays true.
    data = usage.as_dict(usage.read_folder(ROOT / "wengert" / "autodiff"), "wengert/autodiff")
    note = (ROOT / "docs" / "gpu-array-api.md").read_text(encoding="utf-8")
    stale = "docs/gpu-array-api.md is stale: update it from scripts/numpy_usage.py"
    assert f"{data['files']} files, {data['uses']} uses" in note, stale
    for kind, uses in data["kinds"].items():
        assert f"| {kind} | {uses} |" in note, f"{stale} ({kind})"
    for key, v in data["features"].items():
        assert f"| {usage.FEATURES[key]} | {v['sites']} |" in note, f"{stale} ({key})"
