"""The Tensor itself: construction, what it reports, refused input, comparisons, indexing, and
in-place updates. The numerical stability of its functions is in test_tensor_stability.py.
"""

import re

import numpy as np
import pytest
from tensor_helpers import leaf

import wengert as wg


# ----------------------------------------------------------------------------- construction
def test_tensor_from_a_python_float_and_int():
    t = wg.tensor(2.5)
    assert t.shape == () and t.ndim == 0 and t.size == 1
    assert t.dtype == np.float64
    assert t.item() == 2.5 and type(t.item()) is float
    i = wg.tensor(3)
    assert i.dtype.kind == "i"
    assert i.item() == 3 and type(i.item()) is int


def test_tensor_from_nested_lists():
    t = wg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6
    assert t.dtype == np.float64
    np.testing.assert_array_equal(t.numpy(), [[1, 2, 3], [4, 5, 6]])
    assert t.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert len(t) == 2


def test_tensor_copies_an_ndarray():
    a = np.array([1.0, 2.0, 3.0])
    t = wg.tensor(a)
    a[0] = 100.0
    assert t.numpy()[0] == 1.0
    t2 = wg.tensor(t)
    t.numpy()[1] = -1.0
    assert t2.numpy()[1] == 2.0


def test_tensor_with_a_dtype():
    t = wg.tensor([1, 2, 3], dtype=np.float32)
    assert t.dtype == np.float32
    a = np.arange(3.0)
    t = wg.tensor(a, dtype="float32")
    assert t.dtype == np.float32
    t64 = wg.tensor(a, dtype=np.float64)  # the same dtype still copies
    a[0] = 9.0
    assert t64.numpy()[0] == 0.0


def test_tensor_keeps_requires_grad_and_is_a_leaf():
    t = wg.tensor([1.0, 2.0], requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.grad is None
    assert not wg.tensor([1.0]).requires_grad


@pytest.mark.parametrize("make", [wg.tensor, wg.Tensor])
def test_requires_grad_takes_a_numpy_bool_and_keeps_a_python_bool(make):
    t = make([1.0, 2.0], requires_grad=np.bool_(True))
    assert t.requires_grad is True
    assert make([1.0], requires_grad=np.bool_(False)).requires_grad is False


@pytest.mark.parametrize("make", [wg.tensor, wg.Tensor])
@pytest.mark.parametrize("flag", ["yes", 1, 0, None, 1.0])
def test_requires_grad_that_merely_converts_to_a_bool_is_refused(make, flag):
    with pytest.raises(TypeError, match=r"requires_grad must be a bool \(True or False\)"):
        make([1.0], requires_grad=flag)


@pytest.mark.parametrize(("dtype", "word"), [("foo", "a NumPy dtype"), (str, "a dtype of numbers")])
def test_a_bad_dtype_is_blamed_not_the_data(dtype, word):
    with pytest.raises(TypeError, match=f"^tensor: dtype must be {word}"):
        wg.tensor([1.0], dtype=dtype)


def test_numpy_shares_and_item_needs_one_element():
    t = wg.tensor([[1.5]])
    assert isinstance(t.numpy(), np.ndarray)
    assert t.item() == 1.5
    assert float(t) == 1.5
    with pytest.raises(ValueError, match=r"\(2,\)"):
        wg.tensor([1.0, 2.0]).item()


def test_repr_shows_the_value_and_the_grad():
    x = wg.tensor(2.0, requires_grad=True)
    assert repr(x) == "Tensor(2., requires_grad=True)"
    (x * 3.0).backward()
    text = repr(x)
    assert text.startswith("Tensor(2.")
    assert "grad=3." in text
    assert repr(wg.tensor([1.0, 2.5])) == "Tensor([1. , 2.5])"
    assert "float32" in repr(wg.tensor([1.0], dtype=np.float32))


# ----------------------------------------------------------------------------- refused input
@pytest.mark.parametrize(
    ("data", "dtype_word"),
    [
        (np.array(["a", "b"]), "<U1"),
        (["x", "y"], "<U1"),
        (np.array([1.0, None], dtype=object), "object"),
        (np.array([b"ab"]), "bytes"),
        (np.array(["2020-01-01"], dtype="datetime64[D]"), "datetime"),
    ],
    ids=["str-array", "str-list", "object", "bytes", "datetime"],
)
def test_non_numeric_data_raises_a_type_error_naming_the_dtype(data, dtype_word):
    with pytest.raises(TypeError, match=re.escape(dtype_word)):
        wg.tensor(data)


def test_ragged_lists_raise_a_type_error():
    with pytest.raises(TypeError, match="numbers"):
        wg.tensor([[1.0, 2.0], [3.0]])


@pytest.mark.parametrize(
    "data",
    [[1, 2, 3], np.arange(3), [True, False], np.array([1 + 2j])],
    ids=["int-list", "int-array", "bool", "complex"],
)
def test_requires_grad_on_non_float_data_raises(data):
    dtype = np.asarray(data).dtype
    with pytest.raises(TypeError, match=re.escape(str(dtype))):
        wg.tensor(data, requires_grad=True)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ((3,), (4,)),
        ((2, 3), (4, 5)),
        ((2, 3), (4,)),
        ((3,), (4, 2)),
        ((2, 3, 4), (5, 4, 2)),
        ((2, 3, 4), (2, 5, 2)),
    ],
    ids=["1d", "2d", "2d-1d", "1d-2d", "batch", "batched-inner"],
)
def test_matmul_of_incompatible_shapes_names_both(a, b):
    x, y = leaf(np.ones(a)), wg.tensor(np.ones(b))
    for call in (lambda: x @ y, lambda: wg.matmul(x, y), lambda: x @ np.ones(b)):
        with pytest.raises(ValueError) as info:
            call()
        message = str(info.value)
        assert str(a) in message and str(b) in message


def test_matmul_of_a_0d_tensor_raises():
    with pytest.raises(ValueError, match="at least 1"):
        wg.tensor(2.0) @ wg.tensor([1.0])


@pytest.mark.parametrize(("shape", "target"), [((2, 3), (4,)), ((2, 3), (4, -1)), ((6,), (-1, -1))])
def test_reshape_to_an_incompatible_shape_names_both(shape, target):
    t = wg.tensor(np.ones(shape))
    for call in (lambda: t.reshape(target), lambda: wg.reshape(t, target)):
        with pytest.raises(ValueError) as info:
            call()
        assert str(shape) in str(info.value) and str(target) in str(info.value)


def test_bool_of_a_multi_element_tensor_raises():
    with pytest.raises(ValueError, match="ambiguous"):
        bool(wg.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="ambiguous"):
        if wg.tensor([1.0, 2.0]) > 0:
            pass
    assert bool(wg.tensor([0.5]))
    assert not bool(wg.tensor(0.0))


# ----------------------------------------------------------------------------- comparisons
COMPARISONS = [
    ("<", lambda a, b: a < b, np.less),
    ("<=", lambda a, b: a <= b, np.less_equal),
    (">", lambda a, b: a > b, np.greater),
    (">=", lambda a, b: a >= b, np.greater_equal),
    ("==", lambda a, b: a == b, np.equal),
    ("!=", lambda a, b: a != b, np.not_equal),
]


@pytest.mark.parametrize(
    ("compare", "reference"), [(c[1], c[2]) for c in COMPARISONS], ids=[c[0] for c in COMPARISONS]
)
def test_comparisons_give_boolean_tensors_without_grad(compare, reference):
    a0, b0 = np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 2.0])
    a = leaf(a0)
    for other, other_raw in ((leaf(b0), b0), (b0, b0), (2.0, 2.0)):
        result = compare(a, other)
        assert isinstance(result, wg.Tensor)
        assert result.dtype == np.bool_
        assert not result.requires_grad and result.is_leaf
        np.testing.assert_array_equal(result.numpy(), reference(a0, other_raw))
    reflected = compare(2.0, a)  # Python flips the comparison onto the Tensor
    np.testing.assert_array_equal(reflected.numpy(), reference(2.0, a0))


def test_tensors_stay_hashable():
    t = wg.tensor(1.0)
    assert {t: 1}[t] == 1


# ----------------------------------------------------------------------------- indexing
X = np.arange(12.0).reshape(3, 4)

# (index, the gradient of x[index].sum(): how often each element of x is picked)
INDEXES = [
    ("int", 1, np.array([[0, 0, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]])),
    ("int-int", (2, 3), np.array([[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]])),
    ("negative", (-1, -4), np.array([[0, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0]])),
    (
        "slice",
        (slice(0, 2), slice(1, None, 2)),
        np.array([[0, 1, 0, 1], [0, 1, 0, 1], [0, 0, 0, 0]]),
    ),
    ("none", (None, 0), np.array([[1, 1, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0]])),
    ("ellipsis", (Ellipsis, 0), np.array([[1, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]])),
    ("int-array-repeats", [0, 0, 2], np.array([[2, 2, 2, 2], [0, 0, 0, 0], [1, 1, 1, 1]])),
    (
        "two-int-arrays",
        (np.array([0, 0, 1]), np.array([3, 3, 0])),
        np.array([[0, 0, 0, 2], [1, 0, 0, 0], [0, 0, 0, 0]]),
    ),
    (
        "slice-and-array",
        (slice(None), [1, 1]),
        np.array([[0, 2, 0, 0], [0, 2, 0, 0], [0, 2, 0, 0]]),
    ),
    ("bool-mask", X > 6.5, (X > 6.5).astype(float)),
    ("bool-rows", np.array([True, False, True]), np.array([[1] * 4, [0] * 4, [1] * 4])),
]


@pytest.mark.parametrize(
    ("index", "counts"), [(c[1], c[2]) for c in INDEXES], ids=[c[0] for c in INDEXES]
)
def test_indexing_values_and_gradients(index, counts):
    x = leaf(X)
    picked = x[index]
    np.testing.assert_array_equal(picked.numpy(), X[index])
    weights = np.arange(1.0, 1.0 + np.size(X[index])).reshape(np.shape(X[index]))
    (picked * weights).sum().backward()
    # the gradient of element e is the sum of the weights of every place it was copied to
    expected = np.zeros_like(X)
    np.add.at(expected, index if not isinstance(index, list) else np.array(index), weights)
    np.testing.assert_array_equal(x.grad, expected)
    x.grad = None
    x[index].sum().backward()
    np.testing.assert_array_equal(x.grad, counts)


def test_indexing_with_repeats_adds_gradients():
    x = leaf([1.0, 2.0, 3.0])
    x[[0, 0, 2]].sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, 1.0])


def test_indexing_with_a_boolean_tensor_mask():
    x = leaf([-1.0, 2.0, -3.0, 4.0])
    positive = x[x > 0]
    np.testing.assert_array_equal(positive.numpy(), [2.0, 4.0])
    (positive * positive).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 4.0, 0.0, 8.0])


def test_bad_indexes_raise_index_error():
    x = leaf([1.0, 2.0])
    with pytest.raises(IndexError):
        x[5]
    with pytest.raises(IndexError):
        x[np.array([0.5])]


# ----------------------------------------------------------------------------- in-place updates
def test_in_place_update_under_no_grad_changes_the_data_and_keeps_the_leaf():
    w = wg.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    data = w.data
    with wg.no_grad():
        w -= 0.25 * w.grad  # w - 0.25 * 2w
    assert w.is_leaf and w.requires_grad
    assert w.data is data
    np.testing.assert_array_equal(w.data, [0.5, 1.0])
    with wg.no_grad():
        w *= 2.0
        w += np.array([1.0, 1.0])
        w /= wg.tensor(2.0)
    np.testing.assert_array_equal(w.data, [1.0, 1.5])


def test_in_place_update_of_a_grad_tensor_with_recording_on_is_refused():
    w = wg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w -= 1.0
    np.testing.assert_array_equal(w.data, [1.0, 2.0])
    plain = wg.tensor([1.0, 2.0])
    plain += 1.0
    np.testing.assert_array_equal(plain.data, [2.0, 3.0])
