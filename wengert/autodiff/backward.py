"""The reverse sweep: walk the Wengert list backwards, applying each primitive's rule.

The walk is iterative (a graph of a million operations needs no deep recursion) and
deterministic: newest node first, in the order the forward pass recorded them. The sweep never
looks at which primitive it runs: everything it needs is in the primitive's record and on the
node (the arrays its rules read, the inputs that require grad). A cotangent waits in the slot
`_g` of the Tensor it belongs to, not in a dictionary: the sweep empties every slot it filled.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import attrgetter
from typing import TypeVar

import numpy as np
from numpy.typing import ArrayLike

from wengert._checks import Boolean, check, refusal
from wengert.autodiff.mode import MODE, enable_grad
from wengert.autodiff.ops import astype_p, reshape_p, sum_p
from wengert.autodiff.saved import EXPOSED, changed, memory
from wengert.autodiff.tensor import Tensor

# A cotangent: an ndarray in the plain first-order sweep, a Tensor under create_graph=True.
Cotangent = TypeVar("Cotangent", np.ndarray, Tensor)


def unbroadcast(g: Cotangent, x: np.ndarray | Tensor) -> Cotangent:
    """The cotangent g, summed back to the shape of x and cast to its dtype.

    NumPy broadcasting repeats x along leading axes and along axes of size 1; the adjoint of a
    repetition is a sum. This is the one place where that happens.
    """
    shape = x.shape
    if g.shape != shape:
        lead = g.ndim - len(shape)
        if lead > 0 and g.shape[lead:] == shape:  # repeated along leading axes alone (a bias)
            g = sum_p(g, axis=tuple(range(lead)))
        else:
            axes = repeated_axes(g.shape, shape)
            if axes:
                g = sum_p(g, axis=axes)
            if g.shape != shape:
                g = reshape_p(g, shape=shape)
    if g.dtype != x.dtype:
        g = astype_p(g, dtype=x.dtype)
    return g


def repeated_axes(big: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    """The axes of `big` along which broadcasting repeated an array of `shape`: the leading
    axes it added, and those where `shape` has 1 and `big` has more."""
    lead = len(big) - len(shape)
    return tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and big[lead + i] != 1
    )


class GraphFreedError(RuntimeError):
    """backward() reached a node whose graph an earlier backward() already freed."""


def toposort(root: Tensor, stop: frozenset[int] = frozenset()) -> tuple[list[Tensor], list[Tensor]]:
    """The interior nodes above root, root first, each before its inputs; and the leaves.

    A leaf is a Tensor that requires grad and has no recorded inputs, or one whose id is in
    `stop` (the functional API stops there and reads the cotangent).
    """
    order, leaves = _toposort(root, stop, object())
    _clear(order, leaves)
    return order, leaves


def _toposort(root: Tensor, stop: frozenset[int], mark: object) -> tuple[list, list]:
    """toposort, leaving every Tensor it returns with `_g` set to `mark`.

    The nodes are found by a walk over the inputs that require grad (`_wanted`), marking each
    as seen, and run newest first (`_seq`): an input is always older than the nodes that read
    it, so every consumer of a node comes before it.
    """
    root._g = mark
    if root._prim is None or id(root) in stop:
        return [], [root]
    order = [root]
    leaves: list[Tensor] = []
    k = 0
    while k < len(order):
        t = order[k]
        k += 1
        inputs = t._inputs
        if inputs is None:
            _clear(order, leaves)
            raise GraphFreedError(
                "backward() went through this graph a second time, but the first backward() "
                "freed it; pass retain_graph=True to the first backward() (or recompute the "
                "forward pass)"
            )
        for i in t._wanted:
            a = inputs[i]
            if a._g is mark:  # seen already
                continue
            a._g = mark
            if a._prim is None or (stop and id(a) in stop):
                leaves.append(a)
            else:
                order.append(a)
    order.sort(key=_SEQ, reverse=True)
    return order, leaves


def _clear(order: list[Tensor], leaves: list[Tensor]) -> None:
    """Leave no cotangent (or mark) behind in the slots of a walk's Tensors."""
    for t in order:
        t._g = None
    for t in leaves:
        t._g = None


_SEQ = attrgetter("_seq")


def sweep(
    root: Tensor,
    seed: np.ndarray | Tensor,
    *,
    create_graph: bool,
    retain_graph: bool,
    stop: frozenset[int] = frozenset(),
) -> tuple[list[Tensor], dict[int, np.ndarray | Tensor]]:
    """Propagate the cotangent `seed` of root to every leaf; return (leaves, {id: cotangent})."""
    leaves, mark = _sweep(root, seed, create_graph, retain_graph, stop)
    grads = {}
    for leaf in leaves:
        g = leaf._g
        leaf._g = None
        if g is not mark:
            grads[id(leaf)] = g
    return leaves, grads


def _sweep(root: Tensor, seed, create_graph: bool, retain_graph: bool, stop: frozenset[int]):
    """sweep, leaving each leaf's cotangent in its slot `_g` (which the caller must empty), or
    the mark returned where none arrived; (leaves, mark)."""
    # A fresh mark, which means "no cotangent yet": no slot holds it but this walk's.
    mark = object()
    order, leaves = _toposort(root, stop, mark)
    root._g = seed
    watch = MODE.anomaly  # detect_anomaly() checks every rule's result (anomaly.py)
    try:
        if watch is None:
            _walk(order, mark, None, create_graph, retain_graph)
        else:
            in_backward, watch.in_backward = watch.in_backward, True
            try:
                _walk(order, mark, watch, create_graph, retain_graph)
            finally:
                watch.in_backward = in_backward
    except BaseException:  # a rule that raised leaves no cotangent behind
        _clear(order, leaves)
        raise
    return leaves, mark


def _walk(order: list[Tensor], mark, watch, create_graph: bool, retain_graph: bool) -> None:
    """Run every node's rules, root first, adding each cotangent into its input's `_g`."""
    for t in order:
        g = t._g
        t._g = None
        held = t._hold
        # Only a node that locked memory, or saved fresh memory while some was handed out, has
        # anything to check; `order` reversed is the forward order, which numbers the node.
        if held is not None and (held[2] or (EXPOSED and held[4])):
            check_locked(t, reversed(order))
        inputs = t._inputs
        if create_graph:
            ans, args = t, inputs
            if held is not None:
                _check_unchanged(t, held)
        else:  # the arrays the forward used, as it used them (saved.py)
            ans = t._data if held is None else held[1]
            args = t._raw
            if args is None:  # rules that read shapes alone (apply keeps no arrays for them)
                args = [a._data if isinstance(a, Tensor) else a for a in inputs]
        rules = t._prim.vjps
        params = t._params
        for i in t._wanted:
            a = inputs[i]
            ga = rules[i](g, ans, *args, **params) if params else rules[i](g, ans, *args)
            data = a._data
            if ga.shape != data.shape or (ga.dtype is not data.dtype and ga.dtype != data.dtype):
                ga = unbroadcast(ga, data)
            if watch is not None:
                watch.check_rule(t, i, g, ga)
            have = a._g
            a._g = ga if have is mark else have + ga
        if not retain_graph:
            t._inputs = t._raw = t._hold = None  # its saved arrays are writeable again (saved.py)


def check_locked(t: Tensor, nodes: Iterable[Tensor]) -> None:
    """Refuse node t (one of `nodes`, in the order the forward pass ran them) when memory it
    locked was made writeable again, or memory it saved fresh was changed since (saved.py).

    One flag read per array the node locked, none for a node that saved nothing; a comparison
    of bytes only for fresh memory that was handed out.
    """
    held = t._hold
    if held is not None:
        for owner in held[2]:
            if owner.flags["W"]:
                raise unlocked_error(t, owner, nodes)
        if EXPOSED and held[4]:
            a = changed(held[4])
            if a is not None:
                raise unlocked_error(t, a, nodes, "was changed in place")


def unlocked_error(
    t: Tensor, owner: np.ndarray, nodes: Iterable[Tensor], how: str = ""
) -> RuntimeError:
    """The error for a node whose saved memory `owner` was made writeable again (or, with
    `how`, was changed: a result's memory, which code outside the engine got and wrote).

    `apply` makes what a node saved read-only (saved.py); a write then fails at once. Only
    `a.flags.writeable = True` (or setflags) undoes that, and after it nothing says whether the
    values changed, so the gradient the rule would compute may be silently wrong: backward()
    refuses. A RuntimeError, not a ValueError: no argument of backward() is at fault, but the
    state of the graph, as when a graph was freed (GraphFreedError) or a parameter under a
    create_graph sweep was changed. The node is numbered by its place in `nodes`, the forward
    order: trace's t1, t2, ..., and for backward() the Wengert list it walks, which is the
    order of recording when the program is a chain.
    """
    position = 1 + next(k for k, u in enumerate(nodes) if u is t)
    what = _saved_name(t, owner)
    how = how or "was made writeable and may have been changed"
    return RuntimeError(
        f"backward: {what} of {t._prim.name} (node {position} of the Wengert list) {how} "
        f"after the forward pass; its gradient would be wrong. Recompute the forward pass."
    )


def _saved_name(t: Tensor, owner: np.ndarray) -> str:
    """Which value of node t holds the memory `owner`: the result, an argument or a parameter."""
    held = t._hold
    named = [("the result", held[1])]
    named += [(f"argument {i}", a) for i, a in enumerate(held[0])]
    named += [(f"the parameter {k!r}", v) for k, v in (t._params or {}).items()]
    for name, value in named:
        for a in value if type(value) is tuple else (value,):
            if isinstance(a, np.ndarray) and memory(a) is owner:
                return name
    return "a saved value"


def _check_unchanged(t: Tensor, held) -> None:
    """Refuse a second-order sweep through a node whose argument was changed since its forward.

    The rules then run on the Tensors themselves (they must, to record the graph), so they
    would read the new values; the first-order sweep reads the saved arrays and needs no check.
    """
    for i, a in enumerate(t._inputs):
        data = a._data if isinstance(a, Tensor) else a
        saved = held[0][i]  # a small array the caller may hold is saved as a copy (saved.py)
        if data is not saved and isinstance(data, np.ndarray) and not np.array_equal(data, saved):
            raise RuntimeError(
                f"backward(create_graph=True): argument {i} of the primitive {t._prim.name!r} "
                f"was changed in place after the forward pass (an optimizer step?), so its "
                f"graph no longer matches its values; compute the forward pass again"
            )


def backward(
    root: Tensor,
    gradient: Tensor | ArrayLike | None = None,
    *,
    retain_graph: bool | None = None,
    create_graph: bool = False,
) -> None:
    """Tensor.backward: accumulate the gradient of root into .grad of every leaf below it.

    retain_graph is None or a bool, create_graph a bool: checked here, once per call, never
    per node.
    """
    if not (retain_graph is None or retain_graph is True or retain_graph is False):
        check("backward", "retain_graph", retain_graph, Boolean(), None)
    if create_graph is not True and create_graph is not False:
        check("backward", "create_graph", create_graph, Boolean())
    if not root.requires_grad:
        raise RuntimeError(
            "backward() needs a Tensor that requires grad; this one was made "
            "from Tensors without requires_grad=True (or under no_grad())"
        )
    seed = make_seed(root, gradient)
    if retain_graph is None:
        retain_graph = create_graph
    if create_graph:
        with enable_grad():
            seed = Tensor._make(seed, False, None, None, None)
            leaves, mark = _sweep(root, seed, True, retain_graph, frozenset())
    else:
        leaves, mark = _sweep(root, seed, False, retain_graph, frozenset())
    given: set[int] = set()  # the arrays handed to a leaf by this call
    try:
        for leaf in leaves:
            g = leaf._g
            leaf._g = None
            if g is mark:
                continue
            if leaf.grad is None:
                leaf.grad = g if create_graph else _owned(g, given)
            else:
                leaf.grad = leaf.grad + g
    finally:
        _clear((), leaves)


def _owned(g: np.ndarray, given: set[int]) -> np.ndarray:
    """g as an array that only its leaf holds: g itself when it is, else a copy.

    A rule may hand the same array to several arguments (add does), pass on the cotangent it got
    (which may be the seed), or return a view (reshape, transpose); every other cotangent is a
    fresh array that nothing else holds, and copying it would cost a pass over every parameter
    on every step. The seed is the engine's own: shared and read-only (so copied here) when it
    is the 1 of a one-element root, a copy of the gradient passed in otherwise.
    """
    if g.base is not None or id(g) in given or not g.flags.writeable:
        g = np.array(g, copy=True)
    given.add(id(g))
    return g


_SEEDS: dict[tuple, np.ndarray] = {}  # (shape, dtype) -> the seed 1 of a one-element root


def make_seed(root: Tensor, gradient: Tensor | ArrayLike | None) -> np.ndarray:
    """The starting cotangent: 1 for a one-element root, else `gradient` of root's shape."""
    if gradient is None:
        if root._data.size != 1:
            raise RuntimeError(
                f"backward() without a gradient needs a one-element Tensor; this one has shape "
                f"{root.shape}. Pass t.backward(g) with g of that shape, or reduce first: "
                f"t.sum().backward()"
            )
        data = root._data
        seed = _SEEDS.get((data.shape, data.dtype))
        if seed is None:  # one per shape and dtype, read-only: no rule writes into a cotangent
            seed = np.ones(data.shape, data.dtype)
            seed.flags.writeable = False
            _SEEDS[data.shape, data.dtype] = seed
        return seed
    g = gradient._data if isinstance(gradient, Tensor) else np.asarray(gradient)
    if g.shape != root.shape:
        expected = f"of the Tensor's shape {root.shape}"
        raise refusal("backward", "gradient", expected, f"shape {g.shape}")
    # A copy: the seed may reach a leaf's .grad unchanged (backward._owned), and the caller's
    # array must not become it.
    return np.array(g, dtype=root.dtype, copy=True)
