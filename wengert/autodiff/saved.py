"""No in-place change can make a gradient silently wrong: what a node saved for backward is guarded.

A rule reads the arrays of its node when backward() runs, not when the forward ran: the result
(`ans`, for exp, sigmoid, tanh), the arguments (mul, matmul), an index (getitem). An array
changed in place between the two (`y.numpy()[0] = 0`, a NumPy array the caller passed in and
reuses as a buffer) would give a gradient that is silently wrong. `apply` guards the arrays that
a primitive declares in `Primitive.saves` in one of two ways, by who can reach them.

Arrays the caller may hold already, a NumPy argument or the data of a leaf Tensor (and views of
anything), are locked: made read-only while the node that saved them lives, as MyGrad does, and
given back writeable when backward() frees the graph or the node is collected. A write in between
fails at once with NumPy's "assignment destination is read-only", at the line that would have
done the harm. Only making an array writeable again (`a.flags.writeable = True`) gets past the
lock; backward() reads the flag of each array a node locked before the node's rule runs, and
refuses the node, by name, if it finds one writeable.

Arrays that an operation made, its result and the data of non-leaf Tensors, are fresh: no code
outside the engine can reach them until it reads `Tensor.data` or `numpy()` (or `detach()`s the
Tensor). They cost nothing when saved. The first read hands the memory out and records a copy of
its bytes (`expose`); backward() compares the arrays a node saved fresh with that copy before the
node's rule runs, and refuses the node, by name, if they differ. Once handed out, an array is
saved by locking, like any other the caller holds.

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

A node that locks something pays a Hold, and a flag set and cleared per array; a node that saves
only fresh arrays pays a tuple. Add, sum, reshape and the other primitives whose rules read no
values save nothing and pay nothing.
"""

from __future__ import annotations

import weakref
from functools import partial

import numpy as np

# id(owner) -> how many live nodes hold that memory; a node keeps its arrays (so their owners)
# alive, so an id here cannot be reused while its count is above 0.
_COUNT: dict[int, int] = {}
# id(owner) -> views locked with it whose node went first; unlocked with the owner.
_PENDING: dict[int, list] = {}
# id(owner) -> (a weak reference to it, its bytes when first handed out): fresh memory that code
# outside the engine can reach. The entry goes with the owner (the weak reference's callback).
EXPOSED: dict[int, tuple[weakref.ref, bytes]] = {}


class Hold(tuple):
    """(raw, out, owners, views, fresh): what one node saved, and the memory it holds read-only.

    `raw` (the arguments, as the forward got them) and `out` (the result) are what the
    first-order sweep hands to the rules: a parameter's Tensor may have moved to a copy since
    (`Tensor.data`), the graph's values have not. `fresh` are the saved arrays that only the
    engine could reach when they were saved. The memory is given back when this object goes:
    when backward() frees the node, or when the node is collected. A node that saved only fresh
    arrays keeps a plain tuple of the same shape instead, which gives nothing back.
    """

    __slots__ = ()

    @property
    def raw(self) -> tuple:
        """The arguments' arrays as the forward pass got them."""
        return self[0]

    @property
    def out(self) -> np.ndarray:
        """The result of the forward pass."""
        return self[1]

    def __deepcopy__(self, memo: dict) -> None:
        # A copied node holds nothing: its copied arrays are its own, and no count knows them.
        return None

    def __del__(self) -> None:
        try:  # noqa: SIM105 - contextlib may be gone as well at interpreter exit
            _release(self[2], self[3])
        except (AttributeError, TypeError):  # at interpreter exit the module may be gone
            pass


# A saved array of at most this many elements that the caller may hold is copied, not locked: a
# copy of a few hundred numbers costs less than a lock and its release, and needs no Hold.
COPY_LIMIT = 512
ndarray = np.ndarray  # one name to look up, not two, in the loop that runs per node


def hold(saves: tuple | None, raw: tuple, out: np.ndarray, args: tuple, params: dict) -> tuple:
    """Guard the arrays a node saved; the Hold (or tuple) to keep on the node.

    `args` are the arguments as `apply` got them (Tensors or not), `raw` their arrays, `out`
    the result (not an argument: apply makes sure). A small array the caller may hold is
    replaced, in `raw` (the tuple kept is a new one), `out` or `params`, by a copy.
    """
    copies = None  # raw as a list, once an argument is copied
    fresh = ()
    owners = None
    for key in (*range(len(raw)), "ans") if saves is None else saves:
        if key.__class__ is int:
            a = raw[key]
            t = args[key]
            if t is not a:  # the data of a Tensor
                if t._prim is not None and a.base is None and (not EXPOSED or id(a) not in EXPOSED):
                    fresh += (a,)  # a non-leaf's data that was never handed out
                    continue
            elif a.__class__ is not ndarray and not isinstance(a, ndarray):
                continue  # a number: nothing can change it
            if a.size <= COPY_LIMIT:
                if copies is None:
                    copies = list(raw)
                copies[key] = a.copy()
            else:
                owners = _lock(a, owners)
        elif key == "ans":
            if out.base is None and (not EXPOSED or id(out) not in EXPOSED):
                fresh += (out,)
            elif out.size <= COPY_LIMIT:
                out = out.copy()
            else:
                owners = _lock(out, owners)
        else:
            value = params.get(key)
            if _has_array(value):
                params[key], owners = _guard_param(value, owners)
    # Tuples of arrays, which the cyclic collector need not follow: a deep graph makes many.
    if copies is not None:
        raw = tuple(copies)
    if owners is None:
        return (raw, out, (), (), fresh)
    return Hold((raw, out, tuple(owners[0]), tuple(owners[1]), fresh))


def _has_array(value: object) -> bool:
    """Whether a keyword parameter is an array, or an index (a tuple, usually of ints and
    slices alone) that holds one."""
    if value.__class__ is tuple:
        return any(isinstance(item, np.ndarray) for item in value)
    return isinstance(value, np.ndarray)


def _guard_param(value: object, owners: tuple[list, list] | None) -> tuple[object, tuple | None]:
    """A keyword parameter (an index, a bound), its arrays copied when small, else locked;
    and the locks so far (see `_lock`)."""
    if isinstance(value, tuple):
        items = []
        for item in value:
            item, owners = _guard_param(item, owners)
            items.append(item)
        return tuple(items), owners
    if not isinstance(value, np.ndarray):
        return value, owners
    if value.size <= COPY_LIMIT:
        return value.copy(), owners
    return value, _lock(value, owners)


def expose(a: np.ndarray) -> None:
    """Record the bytes of the memory of `a` as code outside the engine first gets it.

    A node that saved that memory fresh (before this) compares it with these bytes in
    backward(); a node that saves it from now on locks it.
    """
    owner = memory(a)
    key = id(owner)
    if key not in EXPOSED:
        EXPOSED[key] = (weakref.ref(owner, partial(_forget, key)), owner.tobytes())


def _forget(key: int, ref: weakref.ref) -> None:
    entry = EXPOSED.get(key)
    if entry is not None and entry[0] is ref:
        del EXPOSED[key]


def changed(fresh: tuple[np.ndarray, ...]) -> np.ndarray | None:
    """The first of the arrays a node saved fresh that was handed out and changed since, or None."""
    for a in fresh:
        entry = EXPOSED.get(id(a))
        if entry is not None and entry[1] != a.tobytes():
            return a
    return None


def _lock(a: np.ndarray, owners: tuple[list, list] | None) -> tuple[list, list] | None:
    """Make the memory of `a` read-only for one more node, unless it was read-only already.

    `owners` is None or (the owners locked so far, the views locked with them); the same,
    with what this locked added, is returned.
    """
    owner = memory(a)
    key = id(owner)
    count = _COUNT.get(key)
    if count is None:
        if not owner.flags.writeable:
            return owners  # read-only by its owner's choice: nothing writes it
        owner.setflags(False)
        _COUNT[key] = 1
    else:
        _COUNT[key] = count + 1
    if owners is None:
        owners = ([], [])
    owners[0].append(owner)
    if owner is not a and a.flags.writeable:
        a.setflags(False)
        owners[1].append(a)
    return owners


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
        owner = memory(view)
        if id(owner) in _COUNT:  # another node still holds the memory: the view waits for it
            _PENDING.setdefault(id(owner), []).append(view)
        else:
            view.setflags(True)


def is_held(a: np.ndarray) -> bool:
    """True while a recorded node holds the memory of `a` read-only for its backward rule."""
    return id(memory(a)) in _COUNT


def memory(a: np.ndarray) -> np.ndarray:
    """The array that owns the memory of `a`: the end of its chain of `.base`."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


__all__ = ["EXPOSED", "Hold", "changed", "expose", "hold", "is_held", "memory"]
