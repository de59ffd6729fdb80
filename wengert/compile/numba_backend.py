"""The numba backend: the same traced program, compiled by numba in nopython mode.

The program is the one the NumPy backend writes (emit.py), with each operation in a form numba
compiles: elementwise operations as array expressions, and an elementwise value that one later
elementwise line alone reads written into that line (`fused`), so that numba makes one loop of
the chain and no array for its intermediate values; matrix products as loops where they are
small and BLAS (`@`) where they are not; reductions as np.sum; and the few operations with no
one-line form (sigmoid, softplus, relu's rule, softmax and cross-entropy over rows) as the
numba functions of numba_kernels.py. Results agree with the NumPy backend to rounding, not bit
for bit (numba's sums, loops and libm round differently). A 0-d value is a
scalar inside numba, and a Python number is written in the dtype of the line it is in (numba
would widen float32 by a float64 literal, where NumPy keeps float32).

`SUPPORTED` (numba_emit.py) lists the primitives whose forward and every rule have a numba form;
`UNSUPPORTED` the others, each with its reason (tests check that the two cover the registry). A
program with an unsupported primitive, or one numba fails to compile, runs on NumPy under "auto"
(`compiled.backend` says "numpy" and `compiled.note` why) and is refused under "numba".

The numba function is the program's arithmetic alone and returns a flat tuple; a Python
wrapper builds f's result (numbers, tuples, dicts) from it. numba caches the machine code of a
function that lives in a file: the source is written to a module named after a hash of itself
and its constants, under $WENGERT_CACHE or ~/.cache/wengert/numba, so a later process loads it
instead of compiling again; where that folder cannot be written, nothing is cached.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from wengert._checks import refusal, what_came
from wengert.compile.numba_emit import (  # noqa: F401 (the table, named here too)
    FORMS,
    KERNELS,
    OPERATORS,
    RULES,
    SUPPORTED,
    UNSUPPORTED,
    NumbaEmitter,
    Unsupported,
    fused,
)
from wengert.compile.tracer import Tracer

if TYPE_CHECKING:  # compiled.py imports this module
    from wengert.compile.compiled import Program


def available() -> bool:
    """True when numba can be imported."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class Built:
    """A program compiled by numba: the wrapper to call, its source, and the compile time."""

    function: object
    source: str
    seconds: float
    cached: str  # where the module lies, or why it is not cached
    wrapper: str = ""  # the wrapper's text
    namespace: dict | None = None  # the globals it runs in


def build(
    tracer: Tracer,
    names: list[str],
    inline: set[int],
    fname: str,
    result: object,
    arrays: list,
    finish: Callable | None = None,
) -> Built:
    """The traced program compiled by numba and run once on `arrays` (the traced arguments):
    Unsupported for an operation without a numba form, or where numba fails to compile it.
    `finish` (numba_update.writer) writes lines before the return; such a program writes into
    its arguments, so that first run is on copies."""
    emitter = NumbaEmitter(tracer, names, inline)
    kernel, wrapper = emitter.sources(fname, result, finish)
    if finish is not None:
        arrays = [np.array(a, copy=True) for a in arrays] + emitter.trial
    kernels = "from wengert.compile.numba_kernels import " + ", ".join(KERNELS)
    head = f"import numpy as np\nfrom numba import njit\n\n{kernels}\n\n\n"
    # error_model="numpy": a float divided by zero is inf or nan, as in NumPy, and loops vectorize
    text = f'{head}@njit(cache=True, error_model="numpy")\n{kernel}'
    namespace = {k: v for k, v in emitter.namespace.items() if k not in ("np", "__builtins__")}
    module, cached = _module(text, namespace)
    module.__dict__.update(namespace)
    wrap_space = {"_kernel": module._kernel, "_out": namespace["_out"], **emitter.wrapper_space}
    exec(compile(wrapper, f"<wengert.compile numba {fname}>", "exec"), wrap_space)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():  # '@' on a view: numba's hint, not the user's concern
            warnings.filterwarnings("ignore", message=".*faster on contiguous arrays")
            module._kernel(*arrays)
    except Exception as error:  # numba's typing and lowering errors: the program stays NumPy
        lines = [line.strip() for line in str(error).strip().split("\n") if line.strip()]
        first = next((line for line in lines if not line.startswith("Failed in")), lines[0])
        raise Unsupported(f"numba could not compile the program: {first}") from None
    seconds = time.perf_counter() - start
    return Built(wrap_space[fname], kernel + "\n" + wrapper, seconds, cached, wrapper, wrap_space)


def cache_dir() -> Path:
    """Where generated modules (and numba's cache of them) are written: $WENGERT_CACHE, or
    ~/.cache/wengert, each with a folder numba."""
    root = os.environ.get("WENGERT_CACHE") or Path.home() / ".cache" / "wengert"
    return Path(root) / "numba"


def _module(text: str, namespace: dict):
    """The source as a module: from a file named after its hash (numba caches its machine
    code beside it), or, where that folder cannot be written, from a temporary one uncached."""
    digest = hashlib.sha256(text.encode())
    for kernels in (Path(__file__).with_name("numba_kernels.py"),):
        digest.update(kernels.read_bytes())
    for key in sorted(namespace):  # the constants (the functions are wengert's own code)
        value = namespace[key]
        if callable(value):
            continue
        data = value.tobytes() if isinstance(value, np.ndarray) else repr(value).encode()
        digest.update(key.encode() + data + repr(getattr(value, "dtype", "")).encode())
    name = f"wengert_numba_{digest.hexdigest()[:24]}"
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.py"
        if not path.exists():
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(text)
            partial.replace(path)
        cached = str(path)
    except OSError as error:
        return _uncached(name, text), f"not cached: {folder} cannot be written ({error})"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # numba's cache finds the module of a function by its name
    spec.loader.exec_module(module)
    return module, cached


def _uncached(name: str, text: str):
    import types

    module = types.ModuleType(name)
    text = text.replace("@njit(cache=True, ", "@njit(")
    exec(compile(text, f"<{name}>", "exec"), module.__dict__)
    return module


BACKENDS = ("auto", "numpy", "numba")


def check(owner: str, backend: object) -> str:
    """The backend argument, checked: "auto", "numpy" or "numba" (this one only with numba)."""
    if not isinstance(backend, str) or backend not in BACKENDS:
        got = f"{backend!r}" if isinstance(backend, str) else what_came(backend)
        kind = ValueError if isinstance(backend, str) else TypeError
        raise refusal(owner, "backend", 'one of "auto", "numpy", "numba"', got, kind)
    if backend == "numba" and not available():
        raise ModuleNotFoundError(
            f'{owner}: backend="numba" needs numba, which is not installed. Install it with '
            "pip install 'wengert[numba]', or pass backend=\"auto\" (NumPy without numba)."
        )
    return backend


def choose(program: Program, backend: str, *parts: object) -> Program:
    """The program on the backend asked for: under "auto" numba where it is installed and can
    compile the program, else NumPy with `program.note` saying why; under "numba" numba, or
    NotImplementedError naming what it cannot compile. `parts` are build's arguments."""
    if backend == "numpy":
        return program
    if not available():
        program.note = "numba is not installed: NumPy backend"
        return program
    try:
        built = build(*parts)
    except Unsupported as error:
        if backend == "numba":
            raise NotImplementedError(
                f'compile: backend="numba" cannot compile this program: {error}. Pass '
                'backend="auto" to run it on NumPy.'
            ) from None
        program.note = f"NumPy backend: {error}"
        return program
    program.function, program.source = built.function, built.source
    program.text, program.namespace = built.wrapper, built.namespace
    program.backend, program.compile_seconds = "numba", built.seconds
    program.note = f"numba, compiled in {built.seconds:.2f} s; {built.cached}"
    return program


def python_only(program: Program, backend: str, why: str = "") -> Program:
    """A program whose last lines call Python objects (a compiled step's optimizer update):
    NumPy under "auto" (with the note), refused under "numba"."""
    why = why or "the optimizer's update lines call Python objects, which numba cannot compile"
    if backend == "numba":
        raise NotImplementedError(f'compile: backend="numba" cannot compile this program: {why}.')
    if backend == "auto":
        program.note = f"NumPy backend: {why}"
    return program
