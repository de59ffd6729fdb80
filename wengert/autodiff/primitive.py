"""Primitives: the record of one operation (NumPy forward, derivative rules, how it prints), the
registry of them all, and `apply`, which runs a primitive and records the node.

When an operation reads a Tensor that requires grad, its result remembers the primitive, the
inputs and the keyword parameters: that triple is one line of the Wengert list, and the reverse
sweep (`backward.py`) reads nothing else.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import InitVar, dataclass
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from wengert.autodiff.mode import MODE
from wengert.autodiff.saved import EXPOSED, hold

ndarray = np.ndarray
# Numbers recorded nodes in the order they are made: the reverse sweep runs them newest first.
SEQUENCE = itertools.count(1)
new_tensor = object.__new__

# A rule is rule(g, ans, *args, **params) -> the cotangent of one argument. In the plain first-order
# sweep g, ans and args are ndarrays, so a rule runs on NumPy alone; with create_graph=True they are
# Tensors and the same rule records a graph of its own, which is what makes Hessians work.
Rule = Callable[..., Any]

REGISTRY: dict[str, Primitive] = {}
# Primitive.guard: what apply does with the values a node saves (see Primitive.saves).
_NOTHING, _RESULT, _FIRST, _HOLD = 0, 1, 2, 3


@dataclass(frozen=True)
class Without:
    """An explicit absence, with its reason: `jvps=Without(...)` for a primitive that has no
    forward mode, `sympy=Without(...)` for one that has no SymPy form. The registry's
    completeness test (tests/test_primitive_registry.py) accepts this, and refuses a bare None.
    """

    reason: str


class Variadic:
    """The per-argument rules of a primitive that takes any number of arrays (concatenate, stack).

    `rule(i, g, ans, *args, **params)` gives the cotangent of argument i (or, among `jvps`, the
    tangent contributed by argument i); indexing this object gives the rule of one argument, so
    the sweep and forward mode treat every primitive alike.
    """

    __slots__ = ("rule",)

    def __init__(self, rule: Rule) -> None:
        self.rule = rule

    def __getitem__(self, i: int) -> Rule:
        return partial(self.rule, i)


@dataclass(frozen=True, eq=False)
class Primitive:
    """One primitive operation: its NumPy forward and its derivative rules, one per argument.

    This record is the only place that knows an operation's derivative: `vjps` holds the reverse
    rules, `jvps` the forward-mode (tangent) rules, one per argument, `None` for an argument that
    is not differentiable (integer labels, a mask). A tangent rule is
    `rule(t, ans, *args, **params)`: the tangent of the result contributed by argument i, whose
    tangent is t; forward mode sums the contributions (`forward.py`). For an elementwise
    primitive the Jacobian is diagonal, so one rule, g * f'(x), serves both directions:
    `elementwise()` (elementwise.py) builds such a record from f' alone. `Without(reason)` in
    place of `jvps` says, on purpose, that a primitive has no forward mode.

    `saves` says which values the rules read when backward() runs: argument positions, "ans"
    for the result, and names of array parameters (an index). `apply` guards those arrays while
    the node lives (`saved.py`: checked, copied or held read-only), so that an in-place change
    cannot make the gradient silently wrong. None (the default) guards every argument and the
    result; `()` says the rules read shapes only (add, sum, reshape), and then nothing is held.
    `reads` (optional) says it per argument: what the rule of argument i reads, within `saves`.
    A node then saves only what the rules of its arguments that require grad read: `w * x`
    with x a constant saves x alone, not w, which its rule for x would read.

    `template` and `precedence` say how a Wengert list prints the operation: "{0} * {1}" gives
    `t1 = w * x`, "-{0}" gives `t3 = -z`, "{0}[{index}]" gives `t2 = x[0]` (keys are the
    keyword parameters); without a template it prints as a call, `t4 = exp(t3)`.

    `sympy(sp, *args, **params)` is the forward written in SymPy (`sp` is the sympy module,
    handed in only when symbolic work runs: `import wengert` never imports SymPy), on object
    arrays of SymPy expressions with NumPy's broadcasting; `symbolic_grad` replays a Wengert list
    with it. `expression=True` offers the primitive in the command line's expression language,
    under its name, with one argument per rule (the public function of `wengert.autodiff.ops`
    of that name is what the expression calls).

    Calling a primitive directly runs NumPy alone when no argument is a Tensor: rules are written
    with such calls, so the first-order sweep never builds a graph, and a sweep with
    create_graph=True, which hands the rules Tensors, records one.

    A new primitive enters REGISTRY under its name, which must be new; `register=False` keeps a
    primitive that is not part of the library (a test's) out of it.
    """

    name: str
    forward: Callable[..., np.ndarray]
    vjps: Sequence[Rule | None] | Variadic
    jvps: Sequence[Rule | None] | Variadic | Without | None = None
    template: str | None = None
    precedence: int = 100
    saves: tuple[int | str, ...] | None = None
    reads: tuple[tuple[int | str, ...], ...] | None = None
    sympy: Callable[..., Any] | Without | None = None
    expression: bool = False
    register: InitVar[bool] = True

    def __post_init__(self, register: bool) -> None:
        object.__setattr__(self, "guard", _guard(self.saves))
        object.__setattr__(self, "plans", None if self.reads is None else self._plans())
        if register:
            if self.name in REGISTRY:
                raise ValueError(
                    f"Primitive: name must be a name no other primitive has; got {self.name!r}, "
                    f"which names {REGISTRY[self.name]!r} already. Pass register=False for a "
                    f"primitive outside the library (a test's), or choose another name."
                )
            REGISTRY[self.name] = self

    def _plans(self) -> tuple[tuple[tuple | None, int], ...]:
        """(saves, guard) for each set of arguments that require grad, by its bits (_arrays)."""
        if self.saves is None or not set().union(*self.reads) <= set(self.saves):
            raise ValueError(
                f"Primitive {self.name!r}: reads must name values within saves; got reads="
                f"{self.reads!r} and saves={self.saves!r}."
            )
        plans = []
        for bits in range(2 ** len(self.reads)):
            wanted = {key for i in positions(bits) for key in self.reads[i]}
            saves = tuple(key for key in self.saves if key in wanted)
            plans.append((saves, _guard(saves)))
        return tuple(plans)

    def __call__(self, *args: Tensor | ArrayLike, **params: Any) -> Tensor | np.ndarray:
        for a in args:
            if isinstance(a, Tensor):
                return apply(self, *args, **params)
        return self.forward(*args, **params)

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


@contextlib.contextmanager
def registry_restored() -> Iterator[dict[str, Primitive]]:
    """REGISTRY as it was on entry, restored on exit: primitives registered inside are dropped,
    and any that were removed are put back (for tests that define primitives by name)."""
    saved = dict(REGISTRY)
    try:
        yield REGISTRY
    finally:
        REGISTRY.clear()
        REGISTRY.update(saved)


def apply(prim: Primitive, *args: Tensor | ArrayLike, **params: Any) -> Tensor:
    """Run `prim` on the data of `args`; record a node when an argument requires grad.

    A recorded node keeps, besides `_prim`, `_inputs` and `_params`, what the sweep reads and
    would otherwise rebuild: the arrays the forward got, where its rules read values (`_raw`),
    the positions of the arguments that require grad (`_wanted`) and its place in the order of
    recording (`_seq`).
    While a `jvp` is in flight the result also gets its tangent, from the primitive's `jvps`.
    """
    if len(args) == 2:  # most operations: written out, as the loop of _arrays costs more
        a, b = args
        wanted = 0  # bit i set: argument i requires grad
        if isinstance(a, Tensor):
            x = a._data
            if a.requires_grad:
                wanted = 1
        else:
            x = a
        if isinstance(b, Tensor):
            y = b._data
            if b.requires_grad:
                wanted += 2
        else:
            y = b
        raw = (x, y)
    else:
        raw, wanted = _arrays(args)
    out = prim.forward(*raw, **params)
    if out.__class__ is not ndarray:
        out = np.asarray(out)
    mode = MODE
    if wanted and mode.enabled:
        node = _record(prim, out, args, params, raw, wanted)
        if mode.recorder is not None:
            mode.recorder.append(node)
    else:
        node = new_tensor(Tensor)
        node._data = out
        node.requires_grad = False
        node._g = node._hold = node.grad = node._prim = node._inputs = node._params = None
    if mode.forward is not None:  # the one check that forward mode adds to every operation
        mode.forward.push(node, prim, args, params)
    return node


def _arrays(args: tuple) -> tuple[tuple, int]:
    """The arrays of `args` (a Tensor's data, anything else as it is), and an int whose bit i
    is set when argument i requires grad."""
    if len(args) == 1:
        a = args[0]
        if isinstance(a, Tensor):
            return (a._data,), a.requires_grad  # True is bit 0
        return args, 0
    raw = []
    wanted = 0
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            raw.append(a._data)
            if a.requires_grad:
                wanted |= 1 << i
        else:
            raw.append(a)
    return tuple(raw), wanted  # of arrays alone, which the cyclic collector soon stops following


def _record(prim: Primitive, out: np.ndarray, args: tuple, params: dict, raw: tuple, wanted: int):
    """The node of an operation that reads a Tensor that requires grad (`wanted`: see _arrays)."""
    if out is raw[0]:  # astype to its own dtype hands back its argument: the caller's array
        out = out.view()
    node = new_tensor(Tensor)
    node._data = out
    node._g = node.grad = None
    node.requires_grad = True
    node._prim = prim
    node._inputs = args
    node._params = params
    node._wanted = _POSITIONS[wanted] if wanted < 8 else positions(wanted)
    node._seq = next(SEQUENCE)
    plans = prim.plans  # what the rules read, and how it is guarded (saved.py)
    if plans is None:
        saves, guard = prim.saves, prim.guard
    else:
        saves, guard = plans[wanted]
    if guard == _NOTHING:  # add, sum, reshape: the rules read shapes alone, from the inputs
        node._hold = node._raw = None  # (one object less per node: it costs the collector more)
        return node
    elif guard == _RESULT and out.base is None:  # a new array, which only this node can reach
        node._hold = (raw, out, (), (), (out,))
    elif (  # the first argument alone: free when it is a non-leaf's data, never handed out
        guard == _FIRST
        and (a := raw[0]) is not args[0]
        and args[0]._prim is not None
        and a.base is None
        and (not EXPOSED or id(a) not in EXPOSED)
    ):
        node._hold = (raw, out, (), (), (a,))
    else:
        node._hold = held = hold(saves, raw, out, args, params)
        raw = held[0]  # small arrays the caller may hold are saved as copies
    node._raw = raw
    return node


def record_fields(node: Tensor) -> None:
    """Give a node made outside `apply` (from _prim, _inputs and _params) what apply keeps."""
    inputs = node._inputs
    node._raw = tuple(a._data if isinstance(a, Tensor) else a for a in inputs)
    node._wanted = tuple(
        i for i, a in enumerate(inputs) if isinstance(a, Tensor) and a.requires_grad
    )
    node._seq = next(SEQUENCE)


def _guard(saves: tuple | None) -> int:
    """What apply does after the forward, read as one attribute: nothing to guard (add, sum),
    the result alone (exp, tanh, sigmoid: a new array needs no work), the first argument alone
    (relu, softplus: no work when it is an intermediate result), or saved.hold."""
    return {(): _NOTHING, ("ans",): _RESULT, (0,): _FIRST}.get(saves, _HOLD)


def positions(bits: int) -> tuple[int, ...]:
    """The positions of the bits set in `bits`, lowest first: (0, 2) for 0b101."""
    return tuple(i for i in range(bits.bit_length()) if bits >> i & 1)


_POSITIONS = [positions(bits) for bits in range(8)]  # shared, so a node allocates none


# Tensor imports this module; it is bound here, once all of this module exists.
from wengert.autodiff.tensor import Tensor  # noqa: E402
