"""JSON from files, parsed only after a cheap scan has bounded how deeply it nests.

json.loads recurses once per level of nesting: a header or metadata string nested a thousand
deep raises RecursionError (or worse, exhausts the C stack), so the depth is measured first,
without recursion and at C speed: bytes methods drop the escapes and everything but quotes and
brackets, then NumPy marks the brackets inside strings (an odd number of quotes before them)
and counts the rest with a cumulative sum. A few MB take milliseconds.

Whatever goes wrong in the parse raises ModelFileError: invalid JSON, an integer of more digits
than Python converts (sys.get_int_max_str_digits(), 4300 by default), and, where `finite` is
asked for, the NaN and Infinity literals and numbers too large for a float.
"""

from __future__ import annotations

import json
import math
import sys

import numpy as np

from wengert._checks import refusal
from wengert.io.errors import ModelFileError

_DROP = bytes(sorted(set(range(256)) - set(b'"[]{}')))  # every byte but quotes and brackets
_STEP = np.zeros(256, dtype=np.int8)
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1
_CHUNK = 1 << 22  # quotes and brackets counted at a time: a few tens of MB at most


def _scan(text: str | bytes, limit: int, layout: bytes = b"") -> tuple[int, bool]:
    """(depth, fits): how deeply `text` nests arrays and objects (up to `limit` + 1 at most),
    and, when `layout` is given, whether every array or object opens with the bracket that
    layout[d - 1] names for its depth d (b"{{[": an object of objects of arrays of scalars).

    Exact for valid JSON; for invalid JSON, exact up to the first error, where json.loads
    stops: the depth it reaches is never more than the one counted."""
    if isinstance(text, str):  # only ASCII matters; a lone surrogate encodes to other bytes
        text = text.encode("utf-8", "surrogatepass")
    # A backslash escapes the next character, pairs first: drop the escaped backslashes, then
    # the escaped quotes; every quote left opens or closes a string.
    kept = text.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _DROP)
    allowed = np.frombuffer(b"\0" + layout, np.uint8)
    depth = deepest = 0
    inside = 0
    for start in range(0, len(kept), _CHUNK):
        codes = np.frombuffer(kept, np.uint8, min(_CHUNK, len(kept) - start), start)
        # uint8 sums wrap at 256, which keeps their parity: odd means inside a string
        in_string = (np.cumsum(codes == ord('"'), dtype=np.uint8) + inside) & 1
        steps = _STEP[codes] * (1 - in_string).astype(np.int8)
        levels = np.cumsum(steps, dtype=np.int32) + depth
        depth, inside = int(levels[-1]), int(in_string[-1])
        deepest = max(deepest, int(levels.max()))
        if deepest > limit:
            return limit + 1, False
        if layout:
            opening = steps > 0
            opened = levels[opening]  # below 1 only in JSON that closes more than it opened
            if deepest > len(layout) or (opened < 1).any():
                return deepest, False
            if (allowed[opened] != codes[opening]).any():
                return deepest, False
    return deepest, True


def nesting_depth(text: str | bytes, limit: int) -> int:
    """How deeply `text` nests arrays and objects, counting up to `limit` + 1 at most."""
    return _scan(text, limit)[0]


def fits_layout(text: str | bytes, layout: bytes) -> bool:
    """Whether every array or object in `text` opens with the bracket that `layout` names for
    its depth: layout[d - 1] for depth d (b"{{[" is an object of objects of arrays of
    scalars); nothing nests deeper than len(layout)."""
    return _scan(text, len(layout), layout)[1]


class _Refused(Exception):
    """A constant that the parse refuses; its text is the reason."""


def _refuse_constant(name: str):
    raise _Refused(f"{name} stands where a number must be finite")


def loads(
    text: str | bytes,
    limit: int,
    where: str,
    what: str,
    finite: bool = True,
    layout: tuple[bytes, str] | None = None,
) -> object:
    """json.loads(text), refused with ModelFileError when it nests deeper than `limit`, holds
    an integer of more digits than Python converts, holds NaN or an infinity literal (unless
    `finite` is false), or is not valid JSON; `what` names the text in the message (e.g. "the
    header"). With `finite`, a number too large for a float (1e999) is refused too. `layout`
    (see fits_layout), when given, is checked before the parse, and described in the message."""
    depth, fits = _scan(text, limit, b"" if layout is None else layout[0])
    if depth > limit:
        raise ModelFileError(
            f"{where}: {what} nests JSON more than {limit} levels deep; corrupted or hostile file"
        )
    if not fits:
        raise ModelFileError(f"{where}: {what} is not {layout[1]}; corrupted file")
    hooks = {"parse_constant": _refuse_constant} if finite else {}
    try:
        value = json.loads(text, **hooks)
        if finite and not finite_numbers(value):
            raise _Refused("a number is too large for a float")
        return value
    except _Refused as e:
        raise ModelFileError(f"{where}: in {what}, {e}; corrupted or hostile file") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise ModelFileError(f"{where}: {what} is not valid JSON ({e}); corrupted file") from e
    except ValueError as e:  # int() refused a long run of digits (and nothing else does)
        digits = sys.get_int_max_str_digits()
        raise ModelFileError(
            f"{where}: an integer in {what} has more than {digits} digits; corrupted or hostile "
            f"file"
        ) from e


def finite_numbers(value: object) -> bool:
    """Whether every float in the JSON value `value` is finite (walked without recursion)."""
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return False
        if isinstance(item, dict):
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return True


def check_nesting(text: str, limit: int, what: str) -> str:
    """`text` itself, refused with ValueError when it nests deeper than `limit`: a file that
    could not be read back is never written."""
    if nesting_depth(text, limit) > limit:
        expected = f"nested at most {limit} levels of lists and dicts deep"
        raise refusal("save", what, expected, "deeper nesting", fix="Flatten it.")
    return text


__all__ = ["check_nesting", "finite_numbers", "fits_layout", "loads", "nesting_depth"]
