"""What f does in Python while it is traced: the names it gives, the values it reads.

A profile hook sees every Python function return and call while f runs. At a return it reads
the function's local variables, and names each traced Tensor after the first one that holds it
(outside wengert, the standard library and NumPy): the slide's z, y and L. At a call of
`bool`, `float`, `int`, `.item()` or `.tolist()` on a Tensor that f computed from its arguments
(or on a comparison of one, `x > 0`) it notes that f read a traced value into Python: the
compiled program would keep what that value was at the first call, whatever the branch or the
number it chose. The first such read is refused once f has returned (an error raised inside a
profile hook would not reach f's caller cleanly).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from wengert.autodiff.tensor import Tensor

# Frames whose local names are not the user's: wengert's own, the standard library, NumPy, and
# generated code (a dataclass's __init__, "<string>").
LIBRARIES = (str(Path(__file__).resolve().parents[1]), sys.prefix, sys.base_prefix, "<")
READS = {
    Tensor.__bool__.__code__: "bool()",
    Tensor.__float__.__code__: "float()",
    Tensor.__int__.__code__: "int()",
    Tensor.item.__code__: ".item()",
    Tensor.tolist.__code__: ".tolist()",
}
COMPARISONS = {
    getattr(Tensor, name).__code__
    for name in ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__")
}


class Watch:
    """The profile hook of one trace: `traced(t)` says which Tensors are the program's."""

    def __init__(self, traced: Callable[[Tensor], bool], names: dict[int, str]) -> None:
        self.traced = traced
        self.names = names
        self.derived: dict[int, Tensor] = {}  # comparisons of traced Tensors, kept alive
        self.read: str | None = None  # the first read of a traced value into Python

    def run(self, f: Callable, args: list) -> object:
        """f(*args) with the hook installed; the first read it saw is refused after."""
        previous = sys.getprofile()
        sys.setprofile(self.hook)
        try:
            result = f(*args)
        except Exception:
            if self.read is not None:
                raise ValueError(self.read) from None
            raise
        finally:
            sys.setprofile(previous)
        if self.read is not None:
            raise ValueError(self.read)
        return result

    def hook(self, frame: FrameType, event: str, arg: object) -> None:
        """sys.setprofile's hook: names at returns, reads at calls."""
        code = frame.f_code
        if event == "call" and code in READS and self.read is None:
            t = frame.f_locals.get("self")
            if isinstance(t, Tensor) and (self.traced(t) or id(t) in self.derived):
                self.read = _message(READS[code], frame.f_back)
        elif event == "return" and code in COMPARISONS and isinstance(arg, Tensor):
            operands = (frame.f_locals.get("self"), frame.f_locals.get("other"))
            if any(isinstance(a, Tensor) and self.traced(a) for a in operands):
                self.derived[id(arg)] = arg
        elif event == "return" and not code.co_filename.startswith(LIBRARIES):
            for name, value in frame.f_locals.items():
                if isinstance(value, Tensor) and self.traced(value):
                    self.names.setdefault(id(value), name)


def _message(how: str, caller) -> str:
    where = f"{caller.f_code.co_filename}:{caller.f_lineno}" if caller is not None else "f"
    return (
        f"compile: f reads a Tensor computed from its arguments into Python with {how} (at "
        f"{where}); the compiled program would keep the branch or the number it gave at the "
        f"first call, for every value. Write a choice with wg.maximum, wg.minimum, wg.relu or "
        f"wg.clip, return the Tensor instead of the number, or call f without compile."
    )
