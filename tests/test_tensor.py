"""The Tensor itself: construction, what it reports, refused input, indexing, comparisons, and the
numerical stability of the softmax family at inputs of +-1000.
"""

import math
import re
import warnings

import numpy as np
import pytest

import wengert as wg


def leaf(data, dtype=np.float64):
    return wg.tensor(np.asarray(data, dtype=dtype), requires_grad=True)


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


# ----------------------------------------------------------------------------- stability
BIG = np.array([1000.0, -1000.0, 0.0])


def _strictly(fn):
    """Run fn with every warning an error and every floating-point fault but underflow raising."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            return fn()


def _value_and_grad(f, x0, weights):
    x = leaf(x0)
    out = f(x)
    (out * weights).sum().backward()
    return out.numpy(), x.grad


def test_sigmoid_at_plus_minus_1000():
    value, grad = _strictly(lambda: _value_and_grad(wg.sigmoid, BIG, 1.0))
    np.testing.assert_array_equal(value, [1.0, 0.0, 0.5])
    np.testing.assert_array_equal(grad, [0.0, 0.0, 0.25])  # s (1 - s)


def test_tanh_at_plus_minus_1000():
    value, grad = _strictly(lambda: _value_and_grad(wg.tanh, BIG, 1.0))
    np.testing.assert_array_equal(value, [1.0, -1.0, 0.0])
    np.testing.assert_array_equal(grad, [0.0, 0.0, 1.0])


def test_softplus_at_plus_minus_1000():
    value, grad = _strictly(lambda: _value_and_grad(wg.softplus, BIG, 1.0))
    # log(1 + e^x) -> x for large x, -> 0 for very negative x; log 2 at 0
    np.testing.assert_allclose(value, [1000.0, 0.0, math.log(2)], rtol=1e-15, atol=0)
    np.testing.assert_array_equal(grad, [1.0, 0.0, 0.5])  # sigmoid


def test_softmax_at_plus_minus_1000():
    weights = np.array([1.0, 2.0, 3.0])
    value, grad = _strictly(lambda: _value_and_grad(wg.softmax, BIG, weights))
    np.testing.assert_array_equal(value, [1.0, 0.0, 0.0])
    # grad of w . softmax(x) = s * (w - s . w); with s = e_0 that is 0
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, [0.0, 0.0, 0.0], atol=1e-300)
    tied, _ = _strictly(lambda: _value_and_grad(wg.softmax, np.array([1000.0, 1000.0]), 1.0))
    np.testing.assert_array_equal(tied, [0.5, 0.5])


def test_log_softmax_at_plus_minus_1000():
    weights = np.array([1.0, 2.0, 3.0])
    value, grad = _strictly(lambda: _value_and_grad(wg.log_softmax, BIG, weights))
    # x - logsumexp(x), and logsumexp(x) = 1000 up to e^-1000
    np.testing.assert_array_equal(value, [0.0, -2000.0, -1000.0])
    # grad of w . log_softmax(x) = w - softmax(x) sum(w) = w - e_0 * 6
    np.testing.assert_array_equal(grad, [1.0 - 6.0, 2.0, 3.0])


@pytest.mark.parametrize(
    ("x0", "expected", "softmax"),
    [
        (BIG, 1000.0, [1.0, 0.0, 0.0]),
        (np.array([1000.0, 1000.0]), 1000.0 + math.log(2), [0.5, 0.5]),
        (np.array([-1000.0, -1000.0]), -1000.0 + math.log(2), [0.5, 0.5]),
        (np.array([-1000.0]), -1000.0, [1.0]),
    ],
    ids=["mixed", "both-large", "both-small", "single"],
)
def test_logsumexp_at_plus_minus_1000(x0, expected, softmax):
    value, grad = _strictly(lambda: _value_and_grad(wg.logsumexp, x0, 1.0))
    assert value.shape == ()
    assert float(value) == pytest.approx(expected, rel=1e-15)
    # the rule is exp(x - logsumexp(x)) (as PyTorch's): x - 1000.69... keeps the rounding of
    # the answer, an ulp of 1000 (1e-13), so the gradient is exact only to about that
    np.testing.assert_allclose(grad, softmax, rtol=1e-12, atol=0)


def test_logsumexp_along_an_axis_at_plus_minus_1000():
    x0 = np.array([[1000.0, -1000.0], [-1000.0, -1000.0]])
    value, grad = _strictly(lambda: _value_and_grad(lambda x: wg.logsumexp(x, axis=1), x0, 1.0))
    np.testing.assert_allclose(value, [1000.0, -1000.0 + math.log(2)], rtol=1e-15)
    np.testing.assert_allclose(grad, [[1.0, 0.0], [0.5, 0.5]], rtol=1e-12, atol=0)


def test_the_naive_formulas_would_have_warned():
    # The check above is meaningful: the textbook forms overflow at these inputs.
    with pytest.raises(FloatingPointError):
        _strictly(lambda: np.log(np.sum(np.exp(BIG))))
    with pytest.warns(RuntimeWarning):
        np.exp(BIG)


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


# ------------------------------------------------------------------------ errstate(all="raise")
# Users turn every floating-point fault into an error to hunt NaNs; exp(-1000) underflowing to 0
# is the right answer, not a fault, so none of these may raise. References: mpmath at 50 digits,
# rounded to float64.
mpmath = pytest.importorskip("mpmath")
mpmath.mp.dps = 50
ROW = np.array([-1000.0, -720.0, -30.0, -1.0, 0.0, 2.0, 745.0, 1000.0])
WEIGHTS = np.array([0.5, -1.5, 2.0, 0.25, 1.0, -0.75, 3.0, 1.25])
ROWS = np.array([[0.0, -1000.0, -720.0, -1.0], [1000.0, 0.0, -5.0, 3.0]])


def _mp_sigmoid(v):
    return 1 / (1 + mpmath.exp(-mpmath.mpf(v)))


def _mp_softmax_row(row):
    e = [mpmath.exp(mpmath.mpf(v)) for v in row]
    return [v / mpmath.fsum(e) for v in e]


def _floats(values) -> np.ndarray:
    return np.array([float(v) for v in values])


def _reference(name, x, w):
    """(value, gradient of sum(w * value)) of each function, computed in mpmath."""
    if name in ("sigmoid", "softplus"):
        s = [_mp_sigmoid(v) for v in x]
        if name == "sigmoid":
            return _floats(s), _floats(si * (1 - si) * wi for si, wi in zip(s, w, strict=True))
        value = [mpmath.log1p(mpmath.exp(mpmath.mpf(v))) for v in x]
        return _floats(value), _floats(si * wi for si, wi in zip(s, w, strict=True))
    values, grads = [], []
    for row, wrow in zip(x, w, strict=True):
        s = _mp_softmax_row(row)
        lse = mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(v)) for v in row))
        if name == "softmax":
            dot = mpmath.fsum(si * wi for si, wi in zip(s, wrow, strict=True))
            values.append(_floats(s))
            grads.append(_floats(si * (wi - dot) for si, wi in zip(s, wrow, strict=True)))
        elif name == "log_softmax":
            total = mpmath.fsum(wrow)
            values.append(_floats(mpmath.mpf(v) - lse for v in row))
            grads.append(_floats(wi - si * total for si, wi in zip(s, wrow, strict=True)))
        else:  # logsumexp, one weight per row
            values.append(float(lse))
            grads.append(_floats(si * wrow for si in s))
    return np.array(values), np.array(grads)


ERRSTATE_CASES = {
    "sigmoid": (wg.sigmoid, ROW, WEIGHTS),
    "softplus": (wg.softplus, ROW, WEIGHTS),
    "softmax": (wg.softmax, ROWS, np.array([[1.0, -2.0, 0.5, 3.0], [0.25, 1.0, -1.0, 2.0]])),
    "log_softmax": (
        wg.log_softmax,
        ROWS,
        np.array([[1.0, -2.0, 0.5, 3.0], [0.25, 1.0, -1.0, 2.0]]),
    ),
    "logsumexp": (lambda x: wg.logsumexp(x, axis=1), ROWS, np.array([1.5, -0.5])),
}


@pytest.mark.parametrize("name", list(ERRSTATE_CASES))
def test_harmless_underflow_does_not_raise_under_errstate_all_raise(name):
    f, x0, w = ERRSTATE_CASES[name]
    x = leaf(x0)
    with np.errstate(all="raise"):
        value = f(x)
        value.backward(w)  # the seed w itself: the test adds no multiply that could underflow
        # forward mode: J w, which is J^T w where the Jacobian is symmetric
        _, tangent = wg.jvp(f, (x0,), (w,)) if name != "logsumexp" else (None, None)
    expected_value, expected_grad = _reference(name, x0.tolist(), w.tolist())
    np.testing.assert_allclose(value.numpy(), expected_value, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(x.grad, expected_grad, rtol=1e-12, atol=1e-300)
    if name in ("sigmoid", "softplus", "softmax"):
        np.testing.assert_allclose(tangent, expected_grad, rtol=1e-12, atol=1e-300)
    if name != "logsumexp":  # sigmoid(-1000), softmax([0, -1000, ...])[1]: exactly 0 or -1000
        at = x0 == -1000.0
        np.testing.assert_array_equal(value.numpy()[at], expected_value[at])


def test_cross_entropy_does_not_raise_on_underflow_under_errstate_all_raise():
    labels = np.array([0, 3])
    w = np.array([2.0, -0.5])
    x = leaf(ROWS)
    with np.errstate(all="raise"):
        loss = wg.autodiff.ops.cross_entropy(x, labels)
        loss.backward(w)
    loss, grad = loss.numpy(), x.grad
    s = [_mp_softmax_row(row) for row in ROWS.tolist()]
    expected_loss = [float(-mpmath.log(s[i][k])) for i, k in enumerate(labels)]
    expected_grad = [
        [float((s[i][j] - (j == k)) * w[i]) for j in range(4)] for i, k in enumerate(labels)
    ]
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-13)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-300)


def test_second_order_rules_do_not_raise_on_underflow_either():
    with np.errstate(all="raise"):
        h = wg.hessian(lambda x: wg.sigmoid(x).sum())(np.array([-1000.0, 0.0]))
    # sigmoid'' = s (1 - s) (1 - 2 s): 0 at -1000 (it underflows), 0 at 0
    np.testing.assert_array_equal(h, np.zeros((2, 2)))


def test_errstate_still_raises_the_faults_that_are_real():
    # Underflow alone is ignored: an invalid operation (inf / inf in softmax) still raises.
    with np.errstate(all="raise"), pytest.raises(FloatingPointError, match="invalid"):
        wg.softmax(leaf([np.inf, np.inf]))
