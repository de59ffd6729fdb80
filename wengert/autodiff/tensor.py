"""The Tensor: one ndarray that can record how it was computed (see `primitive.py` for the
record of an operation and `apply`, which runs one and makes the node).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from wengert._checks import leaf_array, numeric_array, refusal
from wengert.autodiff.mode import MODE
from wengert.autodiff.saved import expose, is_held


def as_array(
    data: ArrayLike | Tensor, dtype: DTypeLike = None, name: str = "data", *, owner: str
) -> np.ndarray:
    """`data` as an ndarray of numbers, or a TypeError of the one message shape that names
    `owner` (the public function or class that was called), `name` and the dtype that came."""
    if isinstance(data, Tensor):
        if data._prim is not None:
            expose(data._data)  # code outside the engine now holds a result's memory
        data = data._data
    return numeric_array(data, dtype, name, owner=owner)


class Tensor:
    """An ndarray that can record how it was computed, so that gradients can flow back to it.

    `data` is the ndarray; `grad` is filled by `backward()` on leaves that require grad (an
    ndarray, or a Tensor after `backward(create_graph=True)`) and accumulates like PyTorch's.
    An in-place change of an array that a recorded operation saved for its backward rule never
    makes a gradient silently wrong (see `numpy()`).
    """

    # A recorded node (apply) has _prim, _inputs and _params, its line of the Wengert list, and
    # what the sweep reads: _raw, the arrays its forward got (None where the rules read shapes
    # alone); _wanted, the positions of inputs that require grad; _seq, its place in the order
    # of recording (an input is older than its consumer); _hold, what its rules read, guarded
    # until the graph is freed (saved.py), or None.
    # _g is the cotangent that reaches a Tensor while a reverse sweep (backward.py) runs.
    __slots__ = ("__weakref__", "_data", "_g", "grad", "requires_grad")
    __slots__ += ("_hold", "_inputs", "_params", "_prim", "_raw", "_seq", "_wanted")

    # NumPy defers to Tensor's reflected operators: ndarray * Tensor is Tensor.__rmul__.
    __array_ufunc__ = None

    def __init__(
        self, data: ArrayLike | Tensor, requires_grad: bool = False, dtype: DTypeLike = None
    ) -> None:
        # The public constructor, checked; the engine makes its nodes with _make, unchecked.
        self._data = leaf_data(data, requires_grad, dtype, type(self).__name__)
        self.requires_grad = bool(requires_grad)
        self._g = self._hold = self.grad = self._prim = self._inputs = self._params = None

    @classmethod
    def _make(cls, data, requires_grad, prim, inputs, params) -> Tensor:
        t = object.__new__(cls)
        t._data = data
        t._g = t._hold = None
        t.grad = None
        t.requires_grad = requires_grad
        t._prim = prim
        t._inputs = inputs
        t._params = params
        if prim is not None:  # a node made outside apply: what apply would keep
            record_fields(t)
        return t

    # ----------------------------------------------------------------- what it holds
    @property
    def data(self) -> np.ndarray:
        """The ndarray this Tensor holds.

        Arrays that a recorded operation saved for its backward rule are guarded while the
        graph lives (`saved.py`): writing the result of an operation makes backward() refuse
        the node that saved it, by name; a small input the graph keeps as a copy, a large one
        is read-only, so that writing it fails at once. A parameter (a leaf that requires grad)
        that a graph holds read-only moves to a writeable copy when its data is read, since
        optimizers update it in place; either way the graph keeps the values its forward pass
        used, so its gradient is still the one of the loss it computed.
        """
        a = self._data
        if self._prim is not None:
            expose(a)  # a result's memory, which nodes may have saved without locking it
        elif not a.flags.writeable and self.requires_grad and is_held(a):
            a = self._data = a.copy()
        return a

    @data.setter
    def data(self, value: ArrayLike | Tensor) -> None:
        a = as_array(value, name="the new value", owner="Tensor.data")
        if self._prim is not None:
            expose(a)  # the caller holds it: a node that saves it from now on locks it
        self._data = a

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of the data."""
        return self._data.shape

    @property
    def ndim(self) -> int:
        """The number of dimensions of the data."""
        return self._data.ndim

    @property
    def size(self) -> int:
        """The number of elements of the data."""
        return self._data.size

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the data."""
        return self._data.dtype

    @property
    def is_leaf(self) -> bool:
        """True for a Tensor that no recorded operation made (an input or a parameter)."""
        return self._prim is None

    def numpy(self) -> np.ndarray:
        """The data as an ndarray (shared, not copied).

        While a graph that will read this data in backward() is alive, writing it is refused,
        at the write (a large input, held read-only) or by backward() (a result); it is free
        again once backward() has freed the graph, or the graph is gone (see `data`).
        """
        return self.data  # the property: a parameter's array may be unshared first

    def item(self) -> float | int | bool:
        """The value of a one-element Tensor as a Python number."""
        if self._data.size != 1:
            raise refusal("Tensor.item", "the Tensor", "of one element", f"shape {self.shape}")
        return self._data.item()

    def tolist(self) -> object:
        """The data as nested Python lists of numbers (a number for a 0-d Tensor)."""
        return self._data.tolist()

    def detach(self) -> Tensor:
        """The same data as a new leaf that does not require grad (the data is shared)."""
        if self._prim is not None:
            expose(self._data)  # a leaf's data is the caller's: it reaches the result's memory
        return Tensor._make(self._data, False, None, None, None)

    def astype(self, dtype: DTypeLike) -> Tensor:
        """This Tensor cast to `dtype`, recorded: the gradient is cast back."""
        return ops.astype(self, dtype)

    def backward(
        self,
        gradient: ArrayLike | Tensor | None = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
    ) -> None:
        """Accumulate d(self)/d(leaf) into `leaf.grad` for every leaf that requires grad.

        `gradient` is the cotangent to start from: it may be left out for a one-element Tensor
        (it is then 1). The graph is freed afterwards unless `retain_graph=True`;
        `create_graph=True` records the backward pass itself, so that it can be differentiated
        again (it implies `retain_graph=True`, and `grad` then holds Tensors).
        """
        backward_mod.backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph)

    def __repr__(self) -> str:
        body = np.array2string(self._data, precision=6, separator=", ", prefix="Tensor(")
        extra = ""
        if self.grad is not None:
            g = self.grad._data if isinstance(self.grad, Tensor) else self.grad
            extra = ", grad=" + np.array2string(g, precision=6, separator=", ")
        elif self.requires_grad:
            extra = ", requires_grad=True"
        if self._data.dtype != np.float64:
            extra += f", dtype={self._data.dtype}"
        return f"Tensor({body}{extra})"

    def __len__(self) -> int:
        if self._data.ndim == 0:
            expected = "of at least 1 dimension"
            raise refusal("len", "the Tensor", expected, "a 0-d Tensor", TypeError)
        return len(self._data)

    def __bool__(self) -> bool:
        if self._data.size != 1:
            expected = "of one element (the truth value of more is ambiguous)"
            fix = "Use (t > 0).numpy().any() or .all()."
            raise refusal("bool", "the Tensor", expected, f"shape {self.shape}", fix=fix)
        return bool(self._data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    __hash__ = object.__hash__

    # ----------------------------------------------------------------- arithmetic
    def __add__(self, other: ArrayLike | Tensor) -> Tensor:
        return apply(ops.add_p, self, other)

    def __radd__(self, other: ArrayLike | Tensor) -> Tensor:
        return apply(ops.add_p, other, self)

    def __sub__(self, other: ArrayLike | Tensor) -> Tensor:
        return apply(ops.sub_p, self, other)

    def __rsub__(self, other: ArrayLike | Tensor) -> Tensor:
        return apply(ops.sub_p, other, self)

    def __mul__(self, other: ArrayLike | Tensor) -> Tensor:
        return apply(ops.mul_p, self, other)

    def __rmul__(self, other: ArrayLike | Tensor) -> Tensor:
        return apply(ops.mul_p, other, self)

    def __truediv__(self, other: ArrayLike | Tensor) -> Tensor:
        return apply(ops.div_p, self, other)

    def __rtruediv__(self, other: ArrayLike | Tensor) -> Tensor:
        return apply(ops.div_p, other, self)

    def __pow__(self, other: ArrayLike | Tensor) -> Tensor:
        return apply(ops.pow_p, self, other)

    def __rpow__(self, other: ArrayLike | Tensor) -> Tensor:
        return apply(ops.pow_p, other, self)

    def __matmul__(self, other: ArrayLike | Tensor) -> Tensor:
        return ops.matmul(self, other)

    def __rmatmul__(self, other: ArrayLike | Tensor) -> Tensor:
        return ops.matmul(other, self)

    # In-place updates change the data itself and record nothing: the optimizer's step,
    # `w -= eta * w.grad`, under no_grad(). With recording on, a Tensor that requires grad
    # refuses them (its graph would silently stop matching its value), as PyTorch's leaves do.
    def __iadd__(self, other: ArrayLike | Tensor) -> Tensor:
        return self._update(np.add, other)

    def __isub__(self, other: ArrayLike | Tensor) -> Tensor:
        return self._update(np.subtract, other)

    def __imul__(self, other: ArrayLike | Tensor) -> Tensor:
        return self._update(np.multiply, other)

    def __itruediv__(self, other: ArrayLike | Tensor) -> Tensor:
        return self._update(np.divide, other)

    def _update(self, ufunc, other) -> Tensor:
        if self.requires_grad and MODE.enabled:
            raise RuntimeError(
                "an in-place update (+=, -=, *=, /=) of a Tensor that requires grad would "
                "detach its value from its graph; do it under wg.no_grad(), as an optimizer "
                "step does: with wg.no_grad(): w -= eta * w.grad"
            )
        data = self.data  # the property: a parameter held by a graph is unshared first
        if not data.flags.writeable and is_held(data):
            raise RuntimeError(
                "an in-place update (+=, -=, *=, /=) of this Tensor would change a value that a "
                "recorded operation saved for backward(); call backward() first (it frees the "
                "graph), or update a copy: t = t - 1"
            )
        ufunc(data, other._data if isinstance(other, Tensor) else other, out=data)
        return self

    def __neg__(self) -> Tensor:
        return apply(ops.neg_p, self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return apply(ops.abs_p, self)

    def __getitem__(self, index: object) -> Tensor:
        return ops.getitem(self, index)

    # Comparisons give boolean Tensors that carry no gradient (as PyTorch's do).
    def __lt__(self, other: ArrayLike | Tensor) -> Tensor:
        return _compare(np.less, self, other)

    def __le__(self, other: ArrayLike | Tensor) -> Tensor:
        return _compare(np.less_equal, self, other)

    def __gt__(self, other: ArrayLike | Tensor) -> Tensor:
        return _compare(np.greater, self, other)

    def __ge__(self, other: ArrayLike | Tensor) -> Tensor:
        return _compare(np.greater_equal, self, other)

    def __eq__(self, other: object) -> Tensor:  # type: ignore[override]
        return _compare(np.equal, self, other)

    def __ne__(self, other: object) -> Tensor:  # type: ignore[override]
        return _compare(np.not_equal, self, other)

    # ----------------------------------------------------------------- methods
    @property
    def T(self) -> Tensor:
        """The transpose (the axes reversed), recorded."""
        return ops.transpose(self)

    def transpose(self, *axes: int | tuple[int, ...] | list[int]) -> Tensor:
        """The axes permuted as `axes` say (reversed when none are given), recorded."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return ops.transpose(self, axes or None)

    def reshape(self, *shape: int | tuple[int, ...] | list[int]) -> Tensor:
        """The data in a new shape (given as ints or one tuple), recorded."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.reshape(self, shape)

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """The sum over `axis` (all axes when None), recorded; see `wengert.sum`."""
        return ops.sum(self, axis, keepdims)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """The mean over `axis` (all axes when None), recorded; see `wengert.mean`."""
        return ops.mean(self, axis, keepdims)

    def max(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """The largest element over `axis` (all axes when None), recorded; see `wengert.max`."""
        return ops.max(self, axis, keepdims)

    def min(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """The smallest element over `axis` (all axes when None), recorded; see `wengert.min`."""
        return ops.min(self, axis, keepdims)

    def exp(self) -> Tensor:
        """e to the power of each element, recorded."""
        return apply(ops.exp_p, self)

    def log(self) -> Tensor:
        """The natural logarithm of each element, recorded."""
        return apply(ops.log_p, self)

    def sqrt(self) -> Tensor:
        """The square root of each element, recorded."""
        return apply(ops.sqrt_p, self)

    def abs(self) -> Tensor:
        """The absolute value of each element, recorded."""
        return apply(ops.abs_p, self)

    def sigmoid(self) -> Tensor:
        """The logistic sigmoid 1 / (1 + exp(-x)) of each element, recorded."""
        return apply(ops.sigmoid_p, self)

    def tanh(self) -> Tensor:
        """The hyperbolic tangent of each element, recorded."""
        return apply(ops.tanh_p, self)

    def relu(self) -> Tensor:
        """Max(x, 0) of each element, recorded."""
        return apply(ops.relu_p, self)


def _compare(ufunc, a, b) -> Tensor:
    a = a._data if isinstance(a, Tensor) else a
    b = b._data if isinstance(b, Tensor) else b
    return Tensor._make(np.asarray(ufunc(a, b)), False, None, None, None)


def tensor(
    data: ArrayLike | Tensor, requires_grad: bool = False, dtype: DTypeLike = None
) -> Tensor:
    """A new leaf Tensor holding a copy of `data` (a number, nested lists or an ndarray).

    dtype follows the data by NumPy's rules unless given: Python floats give float64.
    `requires_grad` is a bool; True needs floating-point data.
    """
    return Tensor._make(
        leaf_data(data, requires_grad, dtype, "tensor"), bool(requires_grad), None, None, None
    )


def leaf_data(
    data: ArrayLike | Tensor, requires_grad: object, dtype: DTypeLike, owner: str
) -> np.ndarray:
    """The array a new leaf holds: `data` checked by `leaf_array` (refusals name `owner`), and
    copied if it is the caller's ndarray."""
    source = data._data if isinstance(data, Tensor) else data
    arr = leaf_array(source, requires_grad, dtype, owner)
    return arr.copy() if arr is source else arr


# The operations and the sweep import this module; they are bound here, once all of it exists.
from wengert.autodiff import backward as backward_mod  # noqa: E402
from wengert.autodiff import ops  # noqa: E402
from wengert.autodiff.primitive import apply, record_fields  # noqa: E402
