"""The compiler: a function's Wengert list, forward and backward, as generated Python source.

`compile(f)` traces f on its first call and writes the primitives it ran, and the reverse sweep
of every gradient it took, as one straight-line function on ndarrays (see compiled.py).
"""

from wengert.compile.compiled import Compiled, compile
from wengert.compile.step import CompiledStep, compile_step

__all__ = ["Compiled", "CompiledStep", "compile", "compile_step"]
