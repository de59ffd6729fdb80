"""The grid of `wengert sweep`: read from a YAML or JSON file, checked, and expanded into points.

A grid file holds two mappings of `wengert train`'s options (named as on its command line, with
or without the leading dashes, `batch-size` or `batch_size`):

    train: {data: xor, model: mlp, epochs: 20}     # fixed for every point
    grid: {lr: [0.01, 0.1], hidden: ["8", "16"]}   # each point one value of each list

Every point is one `wengert train` command line: the `train` options, then one value of each
`grid` list (the lists' product, in the file's order, the last option varying fastest). A flag
option (`bias`, `standardize`, `shuffle`) takes true or false. Everything about the file is
checked here, before anything is written; a value that `wengert train` refuses (lr: "abc") is
its point's error, recorded in the summary while the other points run.

The file is UTF-8 text (a byte-order mark allowed) of at most 1 MiB. YAML is read as
yaml.safe_load reads it (anchors and aliases work; a tag that would build a Python object is
refused, never run); in YAML and JSON alike a key named twice in one mapping is refused, as are
two spellings of one option (`batch-size` and `batch_size`), rather than one silently winning.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import reprlib
from dataclasses import dataclass

import click

__all__ = ["Point", "command_line", "flag", "points", "read_grid"]

# Options a sweep sets itself, for each point: never in the grid file.
OWN = {"out": "--out is the sweep's own: each point writes to a directory under DIR"}
OWN["force"] = "--force is the sweep's own: DIR must be new or empty, so nothing is overwritten"
SECTIONS = ("train", "grid")
MAX_POINTS = 10_000
# A grid file is a few lines; a larger one is refused before it is read.
MAX_BYTES = 2**20
# A point's directory name is cut to this many characters (ASCII): far below the 255 bytes a
# file name may have on common filesystems, however many options the grid varies.
MAX_NAME = 120


@dataclass(frozen=True)
class Point:
    """One point of the grid: its number, its directory's name, the grid's values at it (in the
    grid's order) and every option of its `wengert train` command line (fixed ones first)."""

    index: int
    name: str
    varied: dict
    options: dict


def read_grid(path: str, train: click.Command) -> tuple[dict, dict]:
    """The (fixed, grid) option mappings of the grid file `path`, checked against the options
    of the command `train`; ValueError or ImportError naming what is wrong."""
    document = _load(path)
    if not isinstance(document, dict):
        raise ValueError(
            f"GRID: {path} must hold a mapping with 'train' and 'grid'; got {_kind(document)}"
        )
    unknown = [key for key in document if key not in SECTIONS]
    if unknown:
        raise ValueError(
            f"GRID: unknown section {unknown[0]!r} in {path}; expected only 'train' and 'grid'"
        )
    if "grid" not in document:
        raise ValueError(f"GRID: {path} has no 'grid' section (the options to vary)")
    options = {p.name: p for p in train.params if isinstance(p, click.Option)}
    fixed = _section(document.get("train", {}), "train", options)
    grid = _section(document["grid"], "grid", options)
    for name, values in grid.items():
        _check_list(name, values)
    both = [name for name in grid if name in fixed]
    if both:
        raise ValueError(f"GRID: {both[0]!r} is both in 'train' and in 'grid'; keep it in one")
    required = [p.name for p in options.values() if p.required and p.name not in OWN]
    missing = [name for name in required if name not in fixed and name not in grid]
    if missing:
        raise ValueError(f"GRID: {missing[0]!r} is required by wengert train; set it in 'train'")
    return fixed, grid


def points(fixed: dict, grid: dict) -> list[Point]:
    """The points of the grid, numbered from 0, each named like 003-lr=0.1-batch-size=16 (cut
    to MAX_NAME characters)."""
    count = math.prod(len(values) for values in grid.values())
    if count > MAX_POINTS:
        sizes = " x ".join(str(len(values)) for values in grid.values())
        raise ValueError(f"GRID: a sweep has at most {MAX_POINTS} points; got {sizes} = {count}")
    combos = list(itertools.product(*grid.values()))
    width = max(3, len(str(len(combos) - 1)))
    result = []
    for index, values in enumerate(combos):
        varied = dict(zip(grid, values, strict=True))
        name = "-".join(
            [f"{index:0{width}d}", *(f"{_dashed(k)}={_safe(v)}" for k, v in varied.items())]
        )[:MAX_NAME]  # the number keeps it unique; the summary has every value in full
        result.append(Point(index, name, varied, fixed | varied))
    return result


def command_line(options: dict, train: click.Command) -> list[str]:
    """The arguments of `wengert train` that set `options`; ValueError for a flag given
    something other than true or false."""
    params = {p.name: p for p in train.params}
    args = []
    for name, value in options.items():
        param = params[name]
        if param.is_flag:
            if not isinstance(value, bool):
                raise ValueError(f"--{_dashed(name)} must be true or false; got {value!r}")
            on, off = param.opts[0], (param.secondary_opts or [None])[0]
            if value or off is not None:
                args.append(on if value else off)
            continue
        args += [param.opts[0], _text(value)]
    return args


def _load(path: str):
    text = _read_text(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".json":
        try:
            return json.loads(text, object_pairs_hook=_unique_pairs)
        except _DuplicateKey as exc:
            raise ValueError(f"GRID: {path} {exc}") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"GRID: {path} is not valid JSON ({exc})") from None
    return _load_yaml(path, text)


def _read_text(path: str) -> str:
    """The grid file's text: a file of a .json, .yaml or .yml name, at most MAX_BYTES, UTF-8."""
    if not os.path.exists(path):
        raise ValueError(f"GRID: no such file: {path}")
    if not os.path.isfile(path):
        raise ValueError(f"GRID: {path} must be a file; got a directory or a device")
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in (".json", ".yaml", ".yml"):
        raise ValueError(
            f"GRID: {path} must end in .json, .yaml or .yml; got {suffix or 'no suffix'!r}"
        )
    size = os.path.getsize(path)
    if size > MAX_BYTES:
        raise ValueError(
            f"GRID: {path} must be a grid file of at most {MAX_BYTES // 1024} KiB; got "
            f"{size / 1024:,.0f} KiB"
        )
    with open(path, "rb") as file:
        data = file.read(MAX_BYTES + 1)
    try:
        return data.decode("utf-8-sig")  # a byte-order mark, as some editors write, is dropped
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"GRID: {path} must be UTF-8 text; got byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}"
        ) from None


class _DuplicateKey(ValueError):
    """A key given twice in one mapping of the grid file."""


def _unique_pairs(pairs: list) -> dict:
    """json's object_pairs_hook: the object's mapping, refused when a key comes twice."""
    result = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(f"names {key!r} twice in one mapping; keep one")
        result[key] = value
    return result


def _load_yaml(path: str, text: str):
    try:
        import yaml
    except ImportError as exc:
        raise ImportError(
            "GRID: a YAML grid needs PyYAML: pip install 'wengert[sweep]' (or write it as JSON)"
        ) from exc
    try:
        return yaml.load(text, Loader=_unique_keys_loader(yaml))  # a SafeLoader: no tags run
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(exc, "problem", None)
        why = f" ({' '.join(str(problem).split())})" if problem else ""
        raise ValueError(f"GRID: {path} is not valid YAML{at}{why}") from None


def _unique_keys_loader(yaml):
    """yaml.SafeLoader that refuses a mapping naming a key twice (keys that a `<<` merge
    brings may still be set again)."""

    class UniqueKeysLoader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=deep)
                if isinstance(key, (str, int, float, bool)) and key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"{key!r} is named twice in one mapping; keep one",
                        key_node.start_mark,
                    )  # fmt: skip
                seen.add(key if isinstance(key, (str, int, float, bool)) else id(key_node))
            return super().construct_mapping(node, deep=deep)

    return UniqueKeysLoader


def _section(value: object, section: str, options: dict) -> dict:
    """The section's mapping with each name as `wengert train` spells its parameter."""
    if not isinstance(value, dict):
        raise ValueError(f"GRID: '{section}' must be a mapping of option names; got {_kind(value)}")
    result, keys = {}, {}
    for key, item in value.items():
        name = str(key).lstrip("-").replace("-", "_")
        if name in keys:
            raise ValueError(
                f"GRID: '{section}' names {keys[name]!r} and {key!r}, both {flag(name)}; keep one"
            )
        keys[name] = key
        if name in OWN:
            raise ValueError(f"GRID: '{section}' sets {key!r}; {OWN[name]}")
        if name not in options:
            known = ", ".join(_dashed(n) for n in options if n not in OWN)
            raise ValueError(
                f"GRID: '{section}' names {key!r}, which is not an option of wengert train "
                f"(its options: {known})"
            )
        if section == "train":
            _check_scalar(f"train.{key}", item)
        result[name] = item
    return result


def _check_list(name: str, values: object) -> None:
    where = f"grid.{_dashed(name)}"
    if not isinstance(values, list):
        raise ValueError(f"GRID: {where} must be a list of values to try; got {_kind(values)}")
    if not values:
        raise ValueError(f"GRID: {where} must be a list of at least one value; got []")
    for value in values:
        _check_scalar(where, value)


def _check_scalar(where: str, value: object) -> None:
    if not isinstance(value, (str, int, float, bool)):
        raise ValueError(
            f"GRID: {where} must be a string, a number or true/false; got {_kind(value)}"
        )


def _kind(value: object) -> str:
    if isinstance(value, (list, dict)):
        return f"{'a list' if isinstance(value, list) else 'a mapping'} {_SHORT.repr(value)[:60]}"
    return "nothing" if value is None else f"{type(value).__name__} {_SHORT.repr(value)}"


# What came, shown in a message: a few items of a few levels, never the whole of a value that
# YAML's aliases make huge from a few lines.
_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxstring = 3, 6, 4, 40


def _text(value: object) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _safe(value: object) -> str:
    """The value as it may stand in a directory's name."""
    return re.sub(r"[^A-Za-z0-9.,+_-]", "_", _text(value))[:40]


def _dashed(name: str) -> str:
    return name.replace("_", "-")


def flag(name: str) -> str:
    """The option `name` (a parameter's name, batch_size) as typed: --batch-size."""
    return f"--{_dashed(name)}"
