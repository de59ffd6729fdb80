"""Count the direct uses of NumPy in a package folder, for the move to the array API standard.

Run from the repository root (standard library only):

    .venv/bin/python scripts/numpy_usage.py                        # wengert/autodiff
    .venv/bin/python scripts/numpy_usage.py --path wengert/optim
    .venv/bin/python scripts/numpy_usage.py --json                 # the same counts as JSON

How things are counted (with the ast module, file by file, in sorted order):

- A use is one reference to a NumPy name: ``np.exp`` (``import numpy as np``), ``numpy.exp``,
  or a name imported ``from numpy import ...``. Attribute chains are read whole, so that
  ``np.add.at`` is one use of ``add.at`` and ``np.random.default_rng`` one of
  ``random.default_rng``; a call's result ends the chain (``np.finfo(x).eps`` is ``finfo``).
  The bare module (``xp = np``) is not a use.
- Each use gets the kind of change it needs: ``annotation`` (inside a type hint, string hints
  included), ``type check`` (inside isinstance/issubclass, or a NumPy type such as ndarray),
  ``drop-in`` (the standard has the same name: ``xp.exp``), ``differs`` (the standard spells it
  otherwise: ``concatenate`` is ``concat``), ``outside`` (the standard has no such name).
- Features are counted by site, apart from the uses: ufunc methods (``np.add.at``), ``out=``
  keywords of any call, NumPy's floating-point error state, ``np.asarray``/``np.array`` of a
  Python number, ``.flags``/``setflags`` and ``.base`` of any object, isinstance checks against
  a NumPy type, dtype objects (``np.dtype``, ``.dtype.kind`` and the like), writes into
  ``.data`` (augmented assignment or item assignment), ``np.random``, and calls of array
  methods that the standard's array object lacks (by method name, on any receiver).
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from array_api_names import (
    ARRAY_METHODS,
    DIFFERS,
    DTYPE_ATTRIBUTES,
    ERRSTATE,
    STANDARD,
    TYPE_NAMES,
    UFUNC_METHODS,
)

DEFAULT_PATH = "wengert/autodiff"
KINDS = ("drop-in", "differs", "outside", "type check", "annotation")

FEATURES = {
    "ufunc_method": "ufunc methods (np.add.at, .reduce, .outer, ...)",
    "out_argument": "out= arguments",
    "errstate": "floating-point error state (np.errstate, seterr, geterr)",
    "asarray_scalar": "np.asarray / np.array of a Python number",
    "flags": ".flags / .setflags (any object)",
    "base": ".base (views; any object)",
    "isinstance": "isinstance / issubclass against a NumPy type",
    "dtype_object": "dtype objects (np.dtype, .dtype.kind, .dtype.itemsize, ...)",
    "inplace_data": "in-place writes into .data",
    "random": "np.random",
    "array_methods": "array methods the standard lacks (by name, any receiver)",
}


@dataclass
class Counts:
    """What one folder holds: NumPy uses by name and module, and features by module."""

    files: int = 0
    names: dict[str, Counter] = field(default_factory=dict)  # name -> module -> uses
    contexts: dict[str, Counter] = field(default_factory=dict)  # name -> context -> uses
    kinds: dict[str, Counter] = field(default_factory=dict)  # module -> kind -> uses
    features: dict[str, Counter] = field(default_factory=dict)  # feature -> module -> sites

    def add_use(self, name: str, module: str, context: str) -> None:
        """Count one use of NumPy's `name` in `module`, found in `context`."""
        self.names.setdefault(name, Counter())[module] += 1
        self.contexts.setdefault(name, Counter())[context] += 1
        self.kinds.setdefault(module, Counter())[use_kind(name, context)] += 1

    def add_feature(self, key: str, module: str) -> None:
        """Count one site of the feature `key` in `module`."""
        self.features.setdefault(key, Counter())[module] += 1


def name_kind(name: str) -> str:
    """The kind of change a NumPy name needs wherever it is used at run time."""
    if name in TYPE_NAMES:
        return "type check"
    if name.startswith("typing."):
        return "annotation"
    if name in STANDARD:
        return "drop-in"
    if name in DIFFERS:
        return "differs"
    return "outside"


def use_kind(name: str, context: str) -> str:
    """The kind of change one use needs: its context ("annotation", "isinstance" or "code")
    first, then its name."""
    if context == "annotation":
        return "annotation"
    if context == "isinstance":
        return "type check"
    return name_kind(name)


def numpy_aliases(tree: ast.Module) -> dict[str, str]:
    """Local names bound to NumPy, with what they stand for: "" for the module itself,
    "typing" for numpy.typing, "exp" for ``from numpy import exp``."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "numpy" or a.name.startswith("numpy."):
                    local = a.asname or a.name.split(".")[0]
                    aliases[local] = a.name[len("numpy.") :] if a.asname else ""
        elif isinstance(node, ast.ImportFrom) and _from_numpy(node):
            prefix = node.module[len("numpy.") :]
            for a in node.names:
                aliases[a.asname or a.name] = f"{prefix}.{a.name}" if prefix else a.name
    return aliases


def _from_numpy(node: ast.ImportFrom) -> bool:
    """Whether `node` imports from numpy or one of its submodules (not a relative import)."""
    module = node.module or ""
    return node.level == 0 and (module == "numpy" or module.startswith("numpy."))


def _marked(roots: list[ast.AST]) -> set[int]:
    """The ids of every node under `roots`."""
    return {id(n) for root in roots if root is not None for n in ast.walk(root)}


def _annotations(tree: ast.Module) -> list[ast.AST]:
    """Every annotation of the module: parameters, returns and annotated assignments."""
    found: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            params = a.posonlyargs + a.args + a.kwonlyargs + [a.vararg, a.kwarg]
            found += [p.annotation for p in params if p is not None and p.annotation]
            found.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            found.append(node.annotation)
    return [n for n in found if n is not None]


def _string_hints(annotations: list[ast.AST]) -> list[ast.AST]:
    """The expressions written as strings inside annotations ("np.ndarray")."""
    parsed = []
    for root in annotations:
        for n in ast.walk(root):
            if isinstance(n, ast.Constant) and isinstance(n.value, str):
                try:
                    parsed.append(ast.parse(n.value, mode="eval").body)
                except SyntaxError:
                    continue
    return parsed


def _is_type_check(node: ast.AST) -> bool:
    """Whether `node` is a call of isinstance or issubclass with a second argument."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("isinstance", "issubclass")
        and len(node.args) >= 2
    )


def _chains(tree: ast.AST, aliases: dict[str, str]) -> list[tuple[str, ast.AST]]:
    """Each NumPy name used under `tree`, whole (``add.at``), with the outermost node of it."""
    parents = {id(c): p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Name) and node.id in aliases):
            continue
        if not isinstance(node.ctx, ast.Load):
            continue
        parts = [aliases[node.id]] if aliases[node.id] else []
        top = node
        while isinstance(parent := parents.get(id(top)), ast.Attribute) and parent.value is top:
            parts.append(parent.attr)
            top = parent
        if parts:
            found.append((".".join(parts), top))
    return found


def count_uses(tree: ast.Module, module: str, aliases: dict[str, str], counts: Counts) -> None:
    """Add the NumPy uses of one module's `tree` to `counts`, with their contexts."""
    hints = _annotations(tree)
    in_hint = _marked(hints)
    in_check = _marked([n.args[1] for n in ast.walk(tree) if _is_type_check(n)])
    for name, top in _chains(tree, aliases):
        context = "annotation" if id(top) in in_hint else "code"
        if context == "code" and id(top) in in_check:
            context = "isinstance"
        counts.add_use(name, module, context)
        _name_features(name, module, counts)
    for expr in _string_hints(hints):
        for name, _ in _chains(expr, aliases):
            counts.add_use(name, module, "annotation")


def _name_features(name: str, module: str, counts: Counts) -> None:
    """The features that a NumPy name is by itself a site of."""
    parts = name.split(".")
    if len(parts) == 2 and parts[1] in UFUNC_METHODS and parts[0] not in ("random", "linalg"):
        counts.add_feature("ufunc_method", module)
    if parts[0] in ERRSTATE:
        counts.add_feature("errstate", module)
    if parts[0] == "random":
        counts.add_feature("random", module)
    if parts[0] == "dtype":
        counts.add_feature("dtype_object", module)


def _is_number(node: ast.AST) -> bool:
    """Whether `node` is a Python number written out (2, -1.5, True)."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant) and isinstance(node.value, (bool, int, float, complex))


def _writes_data(node: ast.AST) -> bool:
    """Whether an assignment target is ``x.data`` (augmented) or an item of ``x.data``."""
    if isinstance(node, ast.Subscript):
        node = node.value
    return isinstance(node, ast.Attribute) and node.attr == "data"


def count_features(tree: ast.Module, module: str, aliases: dict[str, str], counts: Counts) -> None:
    """Add the feature sites of one module's `tree` that are not NumPy names to `counts`."""
    numpy_calls = {id(top): name for name, top in _chains(tree, aliases)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            _call_features(node, numpy_calls, aliases, module, counts)
        elif isinstance(node, ast.Attribute):
            if node.attr in ("flags", "setflags", "base"):
                counts.add_feature("base" if node.attr == "base" else "flags", module)
            is_dtype = isinstance(node.value, ast.Attribute) and node.value.attr == "dtype"
            if is_dtype and node.attr in DTYPE_ATTRIBUTES:
                counts.add_feature("dtype_object", module)
        elif isinstance(node, ast.AugAssign) and _writes_data(node.target):
            counts.add_feature("inplace_data", module)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Subscript) and _writes_data(target):
                    counts.add_feature("inplace_data", module)


def _call_features(
    node: ast.Call,
    numpy_calls: dict[int, str],
    aliases: dict[str, str],
    module: str,
    counts: Counts,
) -> None:
    """The features of one call: out=, asarray of a number, isinstance, array methods."""
    if any(k.arg == "out" for k in node.keywords):
        counts.add_feature("out_argument", module)
    callee = numpy_calls.get(id(node.func))
    if callee in ("asarray", "array", "asanyarray") and node.args and _is_number(node.args[0]):
        counts.add_feature("asarray_scalar", module)
    if _is_type_check(node) and any(id(n) in numpy_calls for n in ast.walk(node.args[1])):
        counts.add_feature("isinstance", module)
    func = node.func
    if isinstance(func, ast.Attribute) and callee is None and func.attr in ARRAY_METHODS:
        receiver = func.value
        if not (isinstance(receiver, ast.Name) and receiver.id in aliases):
            counts.add_feature("array_methods", module)


def read_folder(folder: Path) -> Counts:
    """The counts of every .py file under `folder` (modules named by their path inside it)."""
    counts = Counts()
    for path in sorted(folder.rglob("*.py")):
        module = path.relative_to(folder).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        aliases = numpy_aliases(tree)
        counts.files += 1
        counts.kinds.setdefault(module, Counter())
        count_uses(tree, module, aliases, counts)
        count_features(tree, module, aliases, counts)
    return counts


def as_dict(counts: Counts, path: str) -> dict:
    """The counts as plain data, every mapping sorted: what --json prints."""
    names = {}
    for name in sorted(counts.names):
        contexts = counts.contexts[name]
        names[name] = {
            "kind": name_kind(name),
            "uses": sum(counts.names[name].values()),
            "annotation": contexts["annotation"],
            "isinstance": contexts["isinstance"],
            "standard": DIFFERS.get(name, ""),
            "modules": dict(sorted(counts.names[name].items())),
        }
    modules = {
        module: {kind: kinds[kind] for kind in KINDS} | {"total": sum(kinds.values())}
        for module, kinds in sorted(counts.kinds.items())
    }
    kinds = {kind: sum(m[kind] for m in modules.values()) for kind in KINDS}
    features = {
        key: {
            "sites": sum(counts.features.get(key, Counter()).values()),
            "modules": dict(sorted(counts.features.get(key, Counter()).items())),
        }
        for key in FEATURES
    }
    total = sum(kinds.values())
    summary = {"path": path, "files": counts.files, "uses": total, "kinds": kinds}
    return summary | {"names": names, "modules": modules, "features": features}


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def _where(modules: dict[str, int]) -> str:
    """`module (n)` for each module, most uses first, then by name."""
    ordered = sorted(modules.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{m} ({n})" for m, n in ordered)


def markdown(data: dict) -> str:
    """The counts of `as_dict` as markdown: totals by kind, by name, by module, features."""
    out = [
        f"# Direct NumPy use in {data['path']}",
        "",
        f"{data['files']} files, {data['uses']} uses of NumPy names.",
        "",
        "## By kind of change",
        "",
    ]
    out += _table(["kind", "uses"], [[k, n] for k, n in data["kinds"].items()])
    out += ["", "## By name", ""]
    columns = ("kind", "uses", "annotation", "isinstance", "standard")
    by_uses = sorted(data["names"].items(), key=lambda i: (-i[1]["uses"], i[0]))
    rows = [[f"`{n}`", *(v[c] for c in columns), _where(v["modules"])] for n, v in by_uses]
    header = ["name", "kind", "uses", "in hints", "in isinstance", "standard", "modules"]
    out += _table(header, rows)
    out += ["", "## By module", ""]
    rows = [[m] + [v[k] for k in KINDS] + [v["total"]] for m, v in data["modules"].items()]
    out += _table(["module", *KINDS, "total"], rows)
    out += ["", "## Features outside the standard", ""]
    rows = [
        [FEATURES[key], v["sites"], _where(v["modules"])] for key, v in data["features"].items()
    ]
    out += _table(["feature", "sites", "modules"], rows)
    return "\n".join(out) + "\n"


def _refuse(message: str) -> int:
    """Print a one-line error to stderr; the exit status of a refusal."""
    print(f"numpy_usage: error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Print the counts of one folder as markdown (or JSON); exit status 2 on a bad path."""
    parser = argparse.ArgumentParser(description="Count direct uses of NumPy in a folder.")
    parser.add_argument("--path", default=DEFAULT_PATH, help=f"a folder (default {DEFAULT_PATH})")
    parser.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    args = parser.parse_args(argv)
    folder = Path(args.path)
    if not folder.is_dir():
        what = "a file" if folder.exists() else "which does not exist"
        return _refuse(f"--path must be a folder of Python files; got {args.path!r}, {what}.")
    try:
        data = as_dict(read_folder(folder), folder.as_posix())
    except SyntaxError as error:
        return _refuse(f"{error.filename} is not valid Python: {error.msg}.")
    print(json.dumps(data, indent=2) if args.json else markdown(data).rstrip("\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
