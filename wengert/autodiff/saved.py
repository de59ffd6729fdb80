"""The arrays a graph saved for backward stay read-only while it can still read them.

A rule reads the arrays of its node when backward() runs, not when the forward ran: the result
(`ans`, for exp, sigmoid, tanh), the arguments (mul, matmul), an index (getitem). An array
changed in place between the two (`y.numpy()[0] = 0`, a NumPy array the caller passed in and
reuses as a buffer) would give a gradient that is silently wrong. So, as MyGrad does, `apply`
makes the arrays that a primitive declares in `Primitive.saves` read-only while the node that
saved them lives, and gives them back writeable when backward() frees the graph or when the node
is collected. A write in between fails at once with NumPy's "assignment destination is
read-only", at the line that would have done the harm. Only making an array writeable again
(`a.flags.writeable = True`) gets past the lock; backward() reads the flag of each array a node
locked before the node's rule runs, and refuses the node, by name, if it finds one writeable.

Parameters are the exception, since optimizers update them in place, also while a graph that
read them is alive (retain_graph=True, create_graph=True, a closure's loss): reading
`Tensor.data` of a leaf that requires grad and is held moves the Tensor to a writeable copy,
and the node keeps the array its forward pass used (`Hold.raw`), so a later first-order
backward() still gives the gradient of the loss that was computed. A create_graph sweep, whose
rules must read the Tensors themselves, refuses such a node with an error naming the primitive.

What is locked is the memory: the array that owns it (the end of `.base`) and the saved view
itself. Several nodes may save the same memory; a count per owner gives it back when the last
of them goes. Arrays that were read-only already (by their owner's choice) are left alone.
NumPy cannot find the other views of an owner, so a view made before the forward pass (say
`X` when `X[:32]` was saved, both views of one buffer) stays writeable: write through it only
after backward().

The cost is paid per recorded node that saves something (a Hold, and a flag set and cleared per
array); add, sum, reshape and the other primitives whose rules read no values save nothing and
pay nothing.
"""

from __future__ import annotations

import numpy as np

# id(owner) -> how many live nodes hold that memory; a node keeps its arrays (so their owners)
# alive, so an id here cannot be reused while its count is above 0.
_COUNT: dict[int, int] = {}
# id(owner) -> views locked with it whose node went first; unlocked with the owner.
_PENDING: dict[int, list] = {}


class Hold(tuple):
    """(raw, out, owners, views): what one node saved, and the memory it holds read-only.

    `raw` (the arguments, as the forward got them) and `out` (the result) are what the
    first-order sweep hands to the rules: a parameter's Tensor may have moved to a copy since
    (`Tensor.data`), the graph's values have not. The memory is given back when this object
    goes: when backward() frees the node, or when the node is collected.
    """

    __slots__ = ()

    @property
    def raw(self) -> list:
        return self[0]

    @property
    def out(self) -> np.ndarray:
        return self[1]

    def __deepcopy__(self, memo) -> None:
        # A copied node holds nothing: its copied arrays are its own, and no count knows them.
        return None

    def __del__(self) -> None:
        try:  # noqa: SIM105 - contextlib may be gone as well at interpreter exit
            _release(self[2], self[3])
        except (AttributeError, TypeError):  # at interpreter exit the module may be gone
            pass


def hold(saves, raw, out, params) -> Hold | None:
    """Make the arrays a node saved read-only; the Hold to keep on the node, or None."""
    owners: list = []
    views: list = []
    keys = range(len(raw) + 1) if saves is None else saves  # None: every argument and the result
    for key in keys:
        if key.__class__ is int:
            a = raw[key] if key < len(raw) else (out if saves is None else None)
        else:
            a = out if key == "ans" else params.get(key)
        if a.__class__ is np.ndarray and a.base is None:
            # The usual case, an array that owns its memory, written out: this runs per node.
            count = _COUNT.get(id(a))
            if count is None:
                if not a.flags.writeable:
                    continue  # read-only by its owner's choice: nothing writes it
                a.setflags(False)
                _COUNT[id(a)] = 1
            else:
                _COUNT[id(a)] = count + 1
            owners.append(a)
        elif isinstance(a, (np.ndarray, tuple)):  # a view, a subclass; an index's arrays
            for item in a if type(a) is tuple else (a,):
                if isinstance(item, np.ndarray):
                    _lock(item, owners, views)
    if owners:
        # Tuples of arrays, which the cyclic collector need not follow: a deep graph makes many.
        return Hold((raw, out, tuple(owners), tuple(views)))
    return None


def _lock(a: np.ndarray, owners: list, views: list) -> None:
    owner = a
    while owner.base is not None and isinstance(owner.base, np.ndarray):
        owner = owner.base
    key = id(owner)
    count = _COUNT.get(key)
    if count is None:
        if not owner.flags.writeable:
            return  # read-only by its owner's choice: nothing writes it
        owner.setflags(False)
        _COUNT[key] = 1
    else:
        _COUNT[key] = count + 1
    owners.append(owner)
    if owner is not a and a.flags.writeable:
        a.setflags(False)
        views.append(a)


def _release(owners: tuple, views: tuple) -> None:
    for owner in owners:
        key = id(owner)
        count = _COUNT[key] - 1
        if count:
            _COUNT[key] = count
            continue
        del _COUNT[key]
        owner.setflags(True)
        for view in _PENDING.pop(key, ()):
            view.setflags(True)
    for view in views:  # usually none
        owner = view.base
        while owner.base is not None and isinstance(owner.base, np.ndarray):
            owner = owner.base
        if id(owner) in _COUNT:  # another node still holds the memory: the view waits for it
            _PENDING.setdefault(id(owner), []).append(view)
        else:
            view.setflags(True)


def is_held(a: np.ndarray) -> bool:
    """True while a recorded node holds the memory of `a` read-only for its backward rule."""
    owner = a
    while owner.base is not None and isinstance(owner.base, np.ndarray):
        owner = owner.base
    return id(owner) in _COUNT


__all__ = ["Hold", "hold", "is_held"]
