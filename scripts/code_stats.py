"""Print size, docstring, type-hint and import-cycle statistics of the wengert package.

Run from anywhere, as often as you like (standard library only):

    .venv/bin/python scripts/code_stats.py
    .venv/bin/python scripts/code_stats.py --unhinted   # also list public functions lacking hints

How things are counted:

- A module's lines are the lines of its file.
- A function's lines are its body's: from the first statement after its docstring to its last
  line. The signature, decorators and docstring are left out, so that documenting a function
  or giving each parameter a line of its own never counts against it. Nested functions are
  counted on their own as well (``outer.<locals>.inner``).
- A public function is a module-level function or a method of a class whose name does not start
  with ``_``, in a module whose dotted path has no part starting with ``_`` (a package's
  ``__init__.py`` counts as the package). Dunder methods, ``__init__`` included, start with
  ``_`` and so are not public: a class's docstring documents its constructor; they do count
  among "all functions" for type hints, where ``__init__`` needs its ``-> None``. A property's
  setter and deleter are counted with its getter, not as public functions of their own.
- Full type hints: every parameter except a method's ``self``/``cls`` is annotated (``*args``
  and ``**kwargs`` included), and the return is annotated.
- Import cycles are cycles of explicit imports between wengert's modules (``from . import x``
  points at the submodule ``x`` when there is one, else at the package). A module's import
  of its own parent package is not counted. Top-level imports (module body, not
  under ``if TYPE_CHECKING``) and the graph with function-level imports added are shown apart.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "wengert"
MODULE_LIMIT = 400
FUNCTION_LIMIT = 40
TEST_FILE_LIMIT = 500


@dataclass(frozen=True)
class FunctionInfo:
    """One ``def`` of the package: where it is and what the counts need from it."""

    qualname: str
    lines: int
    public: bool
    has_docstring: bool
    fully_hinted: bool


@dataclass
class ModuleInfo:
    """One module of the package: its size, its functions and the wengert modules it imports."""

    name: str
    lines: int
    functions: list[FunctionInfo] = field(default_factory=list)
    top_imports: set[str] = field(default_factory=set)
    function_imports: set[str] = field(default_factory=set)


def module_name(path: Path, root: Path = ROOT) -> str:
    """Return the dotted module name of ``path``, a file under ``root``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_public_module(name: str) -> bool:
    """Whether no part of the dotted module ``name`` starts with an underscore."""
    return not any(part.startswith("_") for part in name.split("."))


def is_fully_hinted(node: ast.FunctionDef | ast.AsyncFunctionDef, is_method: bool) -> bool:
    """Whether every parameter (but a method's first, ``self``/``cls``) and the return are typed."""
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    if is_method and positional and positional[0].arg in ("self", "cls"):
        positional = positional[1:]
    params = [*positional, *args.kwonlyargs]
    params += [arg for arg in (args.vararg, args.kwarg) if arg is not None]
    return node.returns is not None and all(p.annotation is not None for p in params)


def body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """The lines of ``node``'s body, its docstring left out (0 for a docstring alone)."""
    body = node.body[1:] if ast.get_docstring(node) is not None else node.body
    return node.end_lineno - body[0].lineno + 1 if body else 0


def _walk_functions(
    body: list[ast.stmt], prefix: str, public_scope: bool, in_class: bool
) -> Iterator[FunctionInfo]:
    """Yield every function under ``body``, nested ones included, with its qualified name."""
    for node in body:
        if isinstance(node, ast.ClassDef):
            scope = public_scope and not node.name.startswith("_")
            yield from _walk_functions(node.body, f"{prefix}{node.name}.", scope, True)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield FunctionInfo(
                qualname=prefix + node.name,
                lines=body_lines(node),
                public=public_scope and not node.name.startswith("_") and not _is_accessor(node),
                has_docstring=ast.get_docstring(node) is not None,
                fully_hinted=is_fully_hinted(node, in_class),
            )
            yield from _walk_functions(node.body, f"{prefix}{node.name}.<locals>.", False, False)
        elif isinstance(node, ast.If | ast.Try | ast.With):
            inner = [*node.body, *getattr(node, "orelse", []), *getattr(node, "finalbody", [])]
            inner += [stmt for handler in getattr(node, "handlers", []) for stmt in handler.body]
            yield from _walk_functions(inner, prefix, public_scope, in_class)


def _is_accessor(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether ``node`` is a property's setter or deleter (``@name.setter``, ``@name.deleter``)."""
    return any(
        isinstance(d, ast.Attribute) and d.attr in ("setter", "deleter")
        for d in node.decorator_list
    )


def _is_type_checking_block(node: ast.AST) -> bool:
    """Whether ``node`` is ``if TYPE_CHECKING:`` (its imports never run)."""
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_names(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> set[str]:
    """Return the dotted names an import statement in ``module`` may point at."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    if node.level == 0:
        base = node.module or ""
    else:
        parts = module.split(".")
        keep = len(parts) - node.level + (1 if is_package else 0)
        base = ".".join(parts[:keep] + ([node.module] if node.module else []))
    return {base} | {f"{base}.{alias.name}" for alias in node.names}


def _imports(tree: ast.Module, module: str, is_package: bool) -> tuple[set[str], set[str]]:
    """Return the names imported at the top level of ``tree`` and those imported in functions."""
    top: set[str] = set()
    inner: set[str] = set()
    skipped = {id(n) for stmt in tree.body if _is_type_checking_block(stmt) for n in ast.walk(stmt)}
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    in_function = {id(n) for fn in functions for n in ast.walk(fn) if n is not fn}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom) or id(node) in skipped:
            continue
        target = inner if id(node) in in_function else top
        target |= _imported_names(node, module, is_package)
    return top, inner


def read_module(path: Path, root: Path = ROOT) -> ModuleInfo:
    """Parse the file at ``path`` into a :class:`ModuleInfo`."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    name = module_name(path, root)
    info = ModuleInfo(name=name, lines=len(source.splitlines()))
    public = is_public_module(name)
    info.functions = list(_walk_functions(tree.body, f"{name}.", public, False))
    top, inner = _imports(tree, name, path.name == "__init__.py")
    info.top_imports, info.function_imports = top, inner
    return info


def read_package(root: Path = ROOT, package: str = PACKAGE) -> dict[str, ModuleInfo]:
    """Read every module of ``package`` under ``root``, keyed by dotted name."""
    modules = (read_module(path, root) for path in sorted((root / package).rglob("*.py")))
    known = {info.name: info for info in modules}
    for info in known.values():
        info.top_imports = _resolve(info.top_imports, known, info.name)
        info.function_imports = _resolve(info.function_imports, known, info.name) - info.top_imports
    return known


def _resolve(names: set[str], known: dict[str, ModuleInfo], module: str) -> set[str]:
    """Keep the names that are modules of the package, other than ``module`` and its parents."""
    parents = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
    return {name for name in names if name in known and name != module and name not in parents}


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected components of ``graph`` with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    found.append(_pop_component(stack, on_stack, node))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return [sorted(c) for c in found if len(c) > 1]


def _pop_component(stack: list[str], on_stack: set[str], root: str) -> list[str]:
    """Pop the nodes of one strongly connected component, down to ``root``, off ``stack``."""
    component = []
    while True:
        node = stack.pop()
        on_stack.discard(node)
        component.append(node)
        if node == root:
            return component


def import_cycles(modules: dict[str, ModuleInfo], with_functions: bool) -> list[list[str]]:
    """Return the groups of modules that import each other, top-level imports only or all."""
    graph = {
        name: info.top_imports | (info.function_imports if with_functions else set())
        for name, info in modules.items()
    }
    return strongly_connected(graph)


def long_test_files(root: Path = ROOT, limit: int = TEST_FILE_LIMIT) -> list[tuple[str, int]]:
    """Return ``(file name, lines)`` for each test file over ``limit`` lines."""
    sizes = [
        (p.name, len(p.read_text(encoding="utf-8").splitlines()))
        for p in (root / "tests").glob("*.py")
    ]
    return sorted((item for item in sizes if item[1] > limit), key=lambda item: -item[1])


def _percent(part: int, whole: int) -> str:
    """Format ``part`` of ``whole`` as ``"part/whole (p%)"``."""
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else "0/0"


def _print_section(title: str, rows: list[str]) -> None:
    """Print a titled list of rows, or "none"."""
    print(f"{title}: {len(rows)}")
    for row in rows or ["(none)"]:
        print(f"  {row}")


def oversize_modules(modules: dict[str, ModuleInfo], limit: int = MODULE_LIMIT) -> list[ModuleInfo]:
    """Return the modules over ``limit`` lines, longest first."""
    return sorted((i for i in modules.values() if i.lines > limit), key=lambda i: -i.lines)


def oversize_functions(
    modules: dict[str, ModuleInfo], limit: int = FUNCTION_LIMIT
) -> list[FunctionInfo]:
    """Return the functions over ``limit`` lines, longest first."""
    functions = (fn for info in modules.values() for fn in info.functions)
    return sorted((fn for fn in functions if fn.lines > limit), key=lambda fn: -fn.lines)


def public_functions(modules: dict[str, ModuleInfo]) -> list[FunctionInfo]:
    """Return the public functions and methods of the package, in module order."""
    return [fn for info in modules.values() for fn in info.functions if fn.public]


def unhinted_public_functions(modules: dict[str, ModuleInfo]) -> list[FunctionInfo]:
    """Return the public functions and methods that lack a type hint, in module order."""
    return [fn for fn in public_functions(modules) if not fn.fully_hinted]


def _print_details(modules: dict[str, ModuleInfo], root: Path, unhinted: bool = False) -> None:
    """Print each section's list: what is over a limit, undocumented, unhinted or in a cycle."""
    rows = [f"{i.name}: {i.lines}" for i in oversize_modules(modules)]
    _print_section(f"modules over {MODULE_LIMIT} lines", rows)
    rows = [f"{fn.qualname}: {fn.lines}" for fn in oversize_functions(modules)]
    _print_section(f"functions over {FUNCTION_LIMIT} lines", rows)
    rows = [fn.qualname for fn in public_functions(modules) if not fn.has_docstring]
    _print_section("public functions without a docstring", rows)
    if unhinted:
        rows = [fn.qualname for fn in unhinted_public_functions(modules)]
        _print_section("public functions not fully hinted", rows)
    top_cycles = import_cycles(modules, with_functions=False)
    all_cycles = [c for c in import_cycles(modules, with_functions=True) if c not in top_cycles]
    title = "import cycles (groups of modules that import each other)"
    _print_section(f"{title}, top-level", [", ".join(c) for c in top_cycles])
    _print_section(f"{title}, added by function-level imports", [", ".join(c) for c in all_cycles])
    rows = [f"{name}: {lines}" for name, lines in long_test_files(root)]
    _print_section(f"test files over {TEST_FILE_LIMIT} lines", rows)


def summary(modules: dict[str, ModuleInfo], root: Path = ROOT) -> dict[str, str]:
    """Return the summary table's rows: each count, and each share as a count and a percent."""
    functions = [fn for info in modules.values() for fn in info.functions]
    public = public_functions(modules)
    top_cycles = import_cycles(modules, with_functions=False)
    all_cycles = [c for c in import_cycles(modules, with_functions=True) if c not in top_cycles]
    return {
        "modules": str(len(modules)),
        f"modules over {MODULE_LIMIT} lines": str(len(oversize_modules(modules))),
        "functions (all defs)": str(len(functions)),
        f"functions over {FUNCTION_LIMIT} lines": str(len(oversize_functions(modules))),
        "public functions": str(len(public)),
        "public with a docstring": _percent(sum(f.has_docstring for f in public), len(public)),
        "public fully hinted": _percent(sum(f.fully_hinted for f in public), len(public)),
        "all fully hinted": _percent(sum(f.fully_hinted for f in functions), len(functions)),
        "import cycles (top-level)": str(len(top_cycles)),
        "import cycles (added by function-level)": str(len(all_cycles)),
        f"test files over {TEST_FILE_LIMIT} lines": str(len(long_test_files(root))),
    }


def main(argv: list[str] | None = None) -> int:
    """Print the report and its summary table; return the exit status."""
    parser = argparse.ArgumentParser(description="Size and documentation statistics of wengert.")
    parser.add_argument(
        "--unhinted",
        action="store_true",
        help="also list the public functions that lack a parameter or return type hint",
    )
    args = parser.parse_args(argv)
    modules = read_package()
    _print_details(modules, ROOT, unhinted=args.unhinted)
    rows = summary(modules)
    width = max(len(key) for key in rows)
    print("\nsummary")
    for key, value in rows.items():
        print(f"  {key:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
