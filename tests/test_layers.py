"""The package's layers point one way: each module imports only from its own layer or above.

The order is the "Layers" table of the design: checks, engine, derivatives, models, losses,
optimizers, compiler, data, training, classic, integrations, interfaces. The package's own
``__init__`` may import everything; checks import nothing of wengert.
"""

import ast
from pathlib import Path

import numpy as np
import pytest

import wengert

PACKAGE = Path(wengert.__file__).parent

# Top-level part of a module's dotted name -> its row in the table (0 is the top).
LAYERS = {
    "_checks": 0,
    "_files": 0,
    "autodiff": 1,
    "derivatives": 2,
    "nn": 3,
    "losses": 4,
    "optim": 5,
    "compile": 6,
    "data": 7,
    "train": 8,
    "classic": 9,
    "io": 10,
    "sklearn": 10,
    "plot": 10,
    "cli": 11,
    "playground": 11,
}
# The package root may import everything; importing it (``import wengert as wg``) counts as
# importing the lowest layer it re-exports from, computed below from its own imports.
ROOT = max(LAYERS.values()) + 1


def module_name(path):
    """The dotted name of a file under the package, e.g. ``wengert.train.loop``."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(name):
    """The row of a dotted ``wengert...`` name, or None for a name outside the package."""
    parts = name.split(".")
    if parts[0] != "wengert":
        return None
    if len(parts) == 1:
        return root_row()
    if parts[1] not in LAYERS:
        raise AssertionError(f"{name}: its top-level part is in no layer of the table")
    return LAYERS[parts[1]]


def root_row():
    """The lowest row that ``wengert/__init__.py`` imports from."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    rows = [LAYERS[t.split(".")[1]] for _, t in imported_names(tree, "wengert", True)]
    return max(rows)


def imported_names(tree, name, is_package):
    """Every dotted module name a module's source imports, anywhere in it, with its line."""
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            # ``from wengert import io`` imports the subpackage: count each name with its module.
            for alias in node.names:
                yield node.lineno, f"{target}.{alias.name}"


def upward_imports():
    """``module:line imports target`` for each import that points to a lower layer."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        own = ROOT if name == "wengert" else layer_of(name)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, target in imported_names(tree, name, path.name == "__init__.py"):
            row = layer_of(target)
            if row is None:
                continue
            if name.split(".")[:2] == ["wengert", "_checks"] and target.startswith("wengert"):
                found.append(f"{name}:{line} imports {target} (checks import nothing of wengert)")
            elif row > own:
                found.append(f"{name}:{line} imports {target}")
    return found


def test_every_module_is_in_a_layer():
    for path in PACKAGE.rglob("*.py"):
        assert layer_of(module_name(path)) is not None


@pytest.mark.parametrize(
    ("name", "row"),
    [
        ("wengert", 10),
        ("wengert._checks", 0),
        ("wengert.autodiff.tensor", 1),
        ("wengert.cli", 11),
    ],
)
def test_layer_of_reads_the_table(name, row):
    assert layer_of(name) == row


def test_relative_imports_resolve_against_the_package():
    tree = ast.parse("from . import loop\nfrom ..io import save\nimport numpy\n")
    names = [t for _, t in imported_names(tree, "wengert.train.state", False)]
    assert names == ["wengert.train.loop", "wengert.io.save", "numpy"]


def test_no_import_points_to_a_lower_layer():
    found = upward_imports()
    assert found == [], "imports against the layers:\n" + "\n".join(found)


def test_fit_without_an_installed_checkpoint_format_says_what_to_import(tmp_path, monkeypatch):
    from wengert.train import checkpoints

    monkeypatch.setattr(checkpoints, "_FILES", [])
    model = wengert.nn.Perceptron(2)
    X, y = np.zeros((4, 2)), np.zeros(4)
    with pytest.raises(RuntimeError, match=r"^fit: no checkpoint file format is installed; "):
        opt = wengert.optim.SGD(model.parameters(), lr=0.1)
        wengert.fit(model, wengert.losses.l2, opt, (X, y), epochs=1, checkpoint_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []
