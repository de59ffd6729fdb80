"""JSON from files, parsed only after a cheap scan has bounded how deeply it nests.

json.loads recurses once per level of nesting: a header or metadata string nested a thousand
deep raises RecursionError (or worse, exhausts the C stack), so the depth is measured first,
without recursion, by one left-to-right pass over the text that skips strings.
"""

from __future__ import annotations

import json
import re

from wengert._checks import refusal
from wengert.io.errors import ModelFileError

# One token: a whole JSON string (escapes included), a run of text without quotes or brackets,
# or one bracket. A quote that opens no closed string matches nothing: the scan stops there and
# json.loads reports the text as invalid.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[^"\[\]{}]+|[\[\]{}]', re.DOTALL)
_BYTE_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[^"\[\]{}]+|[\[\]{}]', re.DOTALL)


def nesting_depth(text: str | bytes, limit: int) -> int:
    """How deeply `text` nests arrays and objects, counting up to `limit` + 1 at most."""
    token = _BYTE_TOKEN if isinstance(text, bytes) else _TOKEN
    opening = (b"[", b"{") if isinstance(text, bytes) else ("[", "{")
    depth = deepest = position = 0
    while position < len(text):
        match = token.match(text, position)
        if match is None:
            break
        position = match.end()
        if match.end() - match.start() != 1:
            continue
        char = match.group()
        if char in opening:
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                break
        elif char in (b"]", b"}", "]", "}"):
            depth -= 1
    return deepest


def loads(text: str | bytes, limit: int, where: str, what: str):
    """json.loads(text), refused with ModelFileError when it nests deeper than `limit` or is
    not valid JSON; `what` names the text in the message (e.g. "the header")."""
    if nesting_depth(text, limit) > limit:
        raise ModelFileError(
            f"{where}: {what} nests JSON more than {limit} levels deep; corrupted or hostile file"
        )
    try:
        return json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFileError(f"{where}: {what} is not valid JSON ({e}); corrupted file") from e


def check_nesting(text: str, limit: int, what: str) -> str:
    """`text` itself, refused with ValueError when it nests deeper than `limit`: a file that
    could not be read back is never written."""
    if nesting_depth(text, limit) > limit:
        expected = f"nested at most {limit} levels of lists and dicts deep"
        raise refusal("save", what, expected, "deeper nesting", fix="Flatten it.")
    return text


__all__ = ["check_nesting", "loads", "nesting_depth"]
