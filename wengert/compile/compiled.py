"""`compile(f)`: f's Wengert list, forward and backward, as a straight-line Python program.

Design, in the order of what matters:

1. Correct for every value. f is traced once per signature (the arguments' shapes and dtypes,
   and the values of its static arguments), and the program that trace recorded must be f at
   every other value too. Two things could break that, and both are handled:
   - Python control flow on traced values (`if x > 0:`, `float(x)`, `.item()`, `.data` or
     `.numpy()` read into NumPy). bool(), float(), int(), .item() and .tolist() of a traced
     Tensor, or of a comparison of one, are refused where f calls them (watch.py), whichever
     branch they choose. What escapes that (`.data` read into NumPy) shows at other values:
     f is traced again at two other points (probe.py) and the records compared, and any
     difference is refused with a message that names the step and both points. A probe at
     which f raises is skipped (f need not be defined everywhere).
   - Derivative rules that read the data (relu's mask, maximum's tie shares, clip's inside
     mask, abs's signs): a rule is called as it is, on the arrays, which is the very code of
     the eager first-order sweep, unless it is an expression that is the same for every value
     (rules.py), which is then written inline.
   A program that raises FloatingPointError (np.errstate(under="raise") meeting an inline
   rule whose eager form retries with underflow ignored) is answered by running f eagerly.
2. Readable: the lines are the slide's (`t1 = w * x`, `z = t1 + b`), named after f's local
   variables, its parameters and `w_bar` for their adjoints; `compiled.show()` prints them.
3. Fast: no Tensor, no graph, no registry lookup at run time (emit.py); simplifications that
   keep every bit (peephole.py); a program whose values all have one element runs on NumPy
   scalars (scalar.py; `source` keeps its lines on arrays).

Arguments: a floating-point array (or NumPy scalar) is a differentiable input; an integer or
bool array, or one named in `data_argnums`, is data (targets, labels: what a loss refuses to
differentiate); anything else (Python numbers, strings, None, objects) is static: part of the
cache key, seen by f as it is and written into the program as a constant. A Tensor that f reads
from outside and that requires grad (a model's parameter) is read at each call, as torch.compile
reads parameters: the program takes its array as an argument, so an optimizer's step, or a new
array put in its `.data`, shows in the next call, and a new shape or dtype traces again. One
that does not require grad is a constant, with the value it had when traced.
"""

from __future__ import annotations

import builtins
import contextlib
import operator
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from wengert._checks import refusal, what_came
from wengert.autodiff.mode import MODE
from wengert.autodiff.tensor import Tensor
from wengert.autodiff.trace import _parameter_names
from wengert.compile import guard, numba_backend, probe, scalar
from wengert.compile.emit import Emitter, out
from wengert.compile.tracer import Tracer


@dataclass
class Program:
    """One traced signature: the generated function, its source, and which arguments it takes."""

    function: Callable
    source: str
    traced: tuple[int, ...]  # positions of the arguments the function takes (not the static)
    externals: tuple[Tensor, ...] = ()  # Tensors read from outside f, passed after the arguments
    external_types: tuple = ()  # their shapes and dtypes when traced
    backend: str = "numpy"  # what runs it: "numpy" or "numba"
    note: str = ""  # why it runs on NumPy under backend="auto", or numba's compile time
    compile_seconds: float = 0.0  # numba's compile (0 where numba loaded it from its cache)
    scalar_source: str = ""  # what runs, where every value has one element (scalar.py)
    guard: Callable | None = None  # its usual call on ndarrays alone (guard.py)
    text: str = ""  # the function's own text (what runs: the wrapper of a numba program)
    namespace: dict = field(default_factory=dict)  # the globals it runs in

    def arrays(self) -> list | None:
        """The externals' arrays now, or None when a shape or dtype is not the traced one."""
        arrays = [t._data for t in self.externals]
        if [(a.shape, a.dtype) for a in arrays] != list(self.external_types):
            return None
        return arrays


class Compiled:
    """f compiled: call it as f; `source` and `show()` give the program of the last call."""

    def __init__(
        self,
        f: Callable,
        data_argnums: tuple[int, ...],
        finish=None,
        backend: str = "numpy",
        numba_finish: Callable | str | None = None,
    ) -> None:
        self.function = f
        self.requested_backend = backend  # "auto", "numpy" or "numba" (numba_backend.py)
        self.data_argnums = data_argnums
        self.finish = finish  # (emitter, result) -> result: lines written before the return
        # The same lines for the numba program (numba_update.writer), or why it has none.
        self.numba_finish = numba_finish
        self._cache: dict[tuple, Program] = {}
        self._arrays: dict[tuple, Program] = {}  # the same programs, by shapes and dtypes alone
        self._last: Program | None = None
        self._run: Callable = self._general  # the last program's guard (guard.py)
        self.external_names: dict[int, str] = {}  # id -> the name of a Tensor read from outside
        self.__name__ = getattr(f, "__name__", "f")
        self.__doc__ = getattr(f, "__doc__", None)

    # A call is the guard of the last program (guard.py): its usual call runs the program
    # after a few checks, any other goes to `_general`. No Python call comes before it.
    __call__ = property(operator.attrgetter("_run"), doc="f compiled, called as f.")

    def _general(self, *args: object) -> object:
        if MODE.compiler is not None:  # called while another f is traced: trace through it
            return self.function(*args)
        return self._call(args)

    def _call(self, args: tuple) -> object:
        """Any call: its signature, the program (traced now if it is new), and the run."""
        try:  # ndarrays alone, of a signature traced before: its key is types, shapes, dtypes
            program = self._arrays.get(tuple([(type(a), a.shape, a.dtype) for a in args]))
        except AttributeError:
            program = None
        extra, given = (None if program is None else program.arrays()), args
        if extra is None:
            key, values, kinds = self._signature(args)
            program = self._cache.get(key)
            extra = None if program is None else program.arrays()
            if extra is None:  # new, or an external's shape or dtype changed: trace (again)
                program = self._cache[key] = self._compile(values, kinds)
                if "static" not in kinds:
                    self._arrays[tuple((np.ndarray, v.shape, v.dtype) for v in values)] = program
                    program.guard = guard.write(
                        program.text,
                        program.namespace,
                        values,
                        program.externals,
                        self._eager,
                        self._general,
                    )
                extra = program.arrays()
            given = [values[k] for k in program.traced]
        self._last, self._run = program, program.guard or self._general
        try:
            return program.function(*given, *extra)
        except FloatingPointError:
            return self._eager(*args)

    def _eager(self, *args: object) -> object:
        """f run eagerly, its result as the program returns it (the answer to underflow)."""
        return _converted(self.function(*args))

    @property
    def backend(self) -> str:
        """The backend of the last call's program ("numpy" or "numba"); before the first call,
        the one asked for."""
        return self.requested_backend if self._last is None else self._last.backend

    @property
    def note(self) -> str:
        """Why the last call's program runs on NumPy under backend="auto", or numba's time."""
        return "" if self._last is None else self._last.note

    @property
    def compile_seconds(self) -> float:
        """numba's compile time of the last call's program (0.0 on NumPy)."""
        return 0.0 if self._last is None else self._last.compile_seconds

    def cache_size(self) -> int:
        """How many signatures have been traced (one program each)."""
        return len(self._cache)

    @property
    def source(self) -> str:
        """The source of the program of the last call."""
        if self._last is None:
            raise RuntimeError(
                "compile: source exists once the compiled function has been called; call it "
                "on arguments first (it is traced on its first call)"
            )
        return self._last.source

    def show(self) -> None:
        """Print the program of the last call: the forward pass, then each backward sweep."""
        print(self.source)

    def _signature(self, args) -> tuple[tuple, list, list[str]]:
        key, values, kinds = [], [], []
        for n, a in enumerate(args):
            if isinstance(a, Tensor):
                a = a._data
            if isinstance(a, np.generic):
                a = np.asarray(a)
            if isinstance(a, np.ndarray):
                diff = a.dtype.kind == "f" and n not in self.data_argnums
                kinds.append("diff" if diff else "data")
                key.append((a.shape, a.dtype.str, kinds[-1]))
            else:
                try:
                    hash(a)
                except TypeError:
                    raise refusal(
                        "compile",
                        f"argument {n}",
                        "an array, a number or a hashable value (a string, None)",
                        f"a {type(a).__name__}, which is not hashable",
                        TypeError,
                        fix="Pass an array as np.asarray(...), or each array as an argument.",
                    ) from None
                kinds.append("static")
                key.append(("static", type(a), a))
            values.append(a)
        return tuple(key), values, kinds

    def _compile(self, values: list, kinds: list[str]) -> Program:
        names = _parameter_names(self.function, len(values))
        reference = Tracer(values, kinds)
        reference.names.update(self.external_names)
        result = reference.run(self.function)
        _check_no_backward(reference)
        inline = self._probe(reference, probe.Record(reference, result, names), values, kinds)
        emitter = Emitter(reference, names, inline)
        fname = self.__name__ if self.__name__.isidentifier() else "f"
        source = emitter.source(fname, result, self.finish)
        fast = scalar.written(reference, names, inline, fname, result, self.finish)
        runs, namespace = (source, emitter.namespace) if fast is None else fast
        code = builtins.compile(runs, f"<wengert.compile {fname}>", "exec")
        exec(code, namespace)
        traced = tuple(n for n, kind in enumerate(kinds) if kind != "static")
        externals = tuple(reference.externals)
        types = tuple((t._data.shape, t._data.dtype) for t in externals)
        program = Program(namespace[fname], emitter.shown(source), traced, externals, types)
        program.scalar_source = "" if fast is None else runs
        program.text, program.namespace = runs, namespace
        numba_finish = self.numba_finish
        if self.finish is not None and not callable(numba_finish):  # lines of Python objects
            return numba_backend.python_only(program, self.requested_backend, numba_finish or "")
        arrays = [values[k] for k in traced] + [t._data for t in externals]
        parts = (reference, names, inline, fname, result, arrays, numba_finish)
        return numba_backend.choose(program, self.requested_backend, *parts)

    def _probe(self, reference: Tracer, record: probe.Record, values: list, kinds: list) -> set:
        """Trace f again at two other points (its arguments and the externals it reads moved)
        and refuse any difference; the numbers of the rules that may be written inline."""
        names = record.names
        trees = [c.tree for kind, b in reference.steps if kind == "block" for c in b.steps]
        rng = np.random.default_rng(0)
        externals = reference.externals
        moved = probe.probe_values([t._data for t in externals], ["diff"] * len(externals), rng)
        points = probe.probe_values(values, kinds, rng)
        for point, external_point in zip(points, moved, strict=True):
            other = Tracer(point, kinds)
            try:
                with np.errstate(all="ignore"), _moved(externals, external_point):
                    other_result = other.run(self.function)
            except Exception:  # f need not be defined at a probe point; that proves nothing
                continue
            other_record = probe.Record(other, other_result, names)
            where = probe.difference(record, other_record)
            if where is not None:
                text = probe.message(record, other_record, where, names, values, point)
                raise ValueError(text)
            others = [c.tree for kind, b in other.steps if kind == "block" for c in b.steps]
            trees = [a if a == b else None for a, b in zip(trees, others, strict=True)]
        return {k for k, tree in enumerate(trees) if tree is not None}


@contextlib.contextmanager
def _moved(externals: list[Tensor], arrays: list[np.ndarray]):
    """The externals (a model's parameters) at other values while f is probed, then back: a
    constant computed from their values (`.data` read into NumPy) shows as a difference."""
    saved = [t._data for t in externals]
    try:
        for t, a in zip(externals, arrays, strict=True):
            t._data = a
        yield
    finally:
        for t, a in zip(externals, saved, strict=True):
            t._data = a


def _check_no_backward(tracer: Tracer) -> None:
    """Refuse an f that called Tensor.backward(): its gradients are arrays, not traced."""
    if any(t is not None and t.grad is not None for t in tracer.inputs):
        raise RuntimeError(
            "compile: f calls backward() on a Tensor computed from its arguments; a compiled "
            "program writes out the sweeps of wg.grad, wg.value_and_grad and wg.jacobian. "
            "Return wg.value_and_grad(loss)(w, ...) from f instead."
        )


def _converted(value):
    """f's eager result with every Tensor (or array) as the program would return it."""
    if isinstance(value, tuple):
        return tuple(_converted(v) for v in value)
    if isinstance(value, list):
        return [_converted(v) for v in value]
    if isinstance(value, dict):
        return {k: _converted(v) for k, v in value.items()}
    if isinstance(value, Tensor):
        return out(value._data)
    return out(value) if isinstance(value, (np.ndarray, np.generic)) else value


def compile(
    f: Callable, *, data_argnums: int | tuple[int, ...] = (), backend: str = "auto"
) -> Compiled:
    """f as a straight-line Python program on ndarrays, traced on its first call per signature.

    >>> def step(w, x, y):
    ...     def loss(w):
    ...         return ((w * x - y) ** 2).sum()
    ...     L, w_bar = wg.value_and_grad(loss)(w)
    ...     return L, w - 0.1 * w_bar
    >>> fast = wg.compile(step)
    >>> L, w = fast(w, x, y)        # traced now, then runs the program
    >>> fast.show()                 # the forward lines, the backward sweep, the update

    f is a function of arrays written with wengert's operations; it may call wg.grad,
    wg.value_and_grad or wg.jacobian of a function inside (not a derivative of a derivative,
    and not Tensor.backward()). It returns Tensors, numbers, or tuples, lists and dicts of
    them; the compiled function returns the same structure with ndarrays (Python floats for
    one value). `data_argnums` names floating-point arguments that are data, not variables
    (targets y, which a loss refuses to differentiate). A new shape, dtype or static value
    traces again (`cache_size()`). Refused: reading a traced value into Python (bool(),
    float(), int(), .item(), .tolist(), as `if x > 0:` does), and any branch or constant that
    changes with the arguments' values (.data or .numpy() read into NumPy), seen by tracing
    again at two other points; see the module docstring for the design.

    `backend`: "numpy" runs the program as NumPy calls; "numba" compiles it with numba
    (`pip install 'wengert[numba]'`) and refuses a program with an operation numba lacks;
    "auto" (the default) is numba where it is installed and compiles the program, else NumPy.
    `compiled.backend` says which ran the last call, `compiled.note` why NumPy where numba was
    asked for, `compiled.compile_seconds` numba's compile time (see numba_backend.py).
    """
    if not callable(f):
        raise refusal("compile", "f", "a function", what_came(f), TypeError)
    nums = (data_argnums,) if isinstance(data_argnums, int) else data_argnums
    if not isinstance(nums, tuple) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in nums
    ):
        expected = "an int >= 0 or a tuple of them"
        raise refusal("compile", "data_argnums", expected, what_came(data_argnums), TypeError)
    return Compiled(f, tuple(nums), backend=numba_backend.check("compile", backend))
