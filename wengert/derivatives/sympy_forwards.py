"""Each primitive's forward in SymPy, read from its record (`Primitive.sympy`).

The forms live beside the primitives (wengert/autodiff/ops/); this module imports SymPy when
symbolic work runs, never before, and hands it to them. A primitive whose record says
`Without(reason)` has no SymPy form, and `symbolic_grad` refuses a function that uses it.
"""

from __future__ import annotations

import numpy as np

from wengert.autodiff.primitive import REGISTRY, Primitive
from wengert.autodiff.sympy_forms import objects


def _sympy():
    try:
        import sympy
    except ImportError:
        raise ImportError(
            "symbolic differentiation needs SymPy, which is not installed; "
            "install it with: pip install 'wengert[symbolic]'"
        ) from None
    return sympy


def has_form(prim: Primitive) -> bool:
    """Whether `prim` can be replayed in SymPy: its record holds a form."""
    return callable(prim.sympy)


def supported() -> list[str]:
    """The names of the registered primitives that have a SymPy form, sorted."""
    return sorted(name for name, prim in REGISTRY.items() if has_form(prim))


def _objects(value) -> np.ndarray:
    """value (an expression, a number, an array) as an object array of SymPy expressions."""
    return objects(_sympy(), value)
