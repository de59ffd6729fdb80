"""wg.compile's numba backend: its table of primitives, the backend argument, NumPy without
numba, and (where numba is installed) the numba program equal to the NumPy one to 1e-12 in
float64: the lecture's perceptron step, a small MLP, and every primitive row numba supports."""

import sys

import numpy as np
import pytest
from test_compile import _program
from test_primitives import CASES

import wengert as wg
import wengert.losses
import wengert.nn
from wengert.autodiff.ops import linear
from wengert.autodiff.primitive import REGISTRY
from wengert.compile import numba_backend


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    """The generated modules and numba's cache in a folder of this test session."""
    monkeypatch.setenv("WENGERT_CACHE", str(tmp_path_factory.getbasetemp() / "wengert-cache"))


def _numba():
    pytest.importorskip("numba")


def _assert_close(got, want):
    assert type(got) is type(want)
    if isinstance(got, tuple):
        for g, w in zip(got, want, strict=True):
            _assert_close(g, w)
        return
    assert np.shape(got) == np.shape(want)
    assert np.asarray(got).dtype == np.asarray(want).dtype
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def perceptron_step(w, x, y):
    """The lecture's perceptron y = w x, one SGD step on l2 (bench/compile_step.py)."""

    def loss(w):
        return wengert.losses.l2(linear(x, w), y)

    value, w_bar = wg.value_and_grad(loss)(w)
    return value, w - 0.01 * w_bar


def _perceptron_args(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(1,)), rng.normal(size=(1, 1)), rng.normal(size=(1,))


def test_the_table_covers_the_registry_once():
    supported, unsupported = numba_backend.SUPPORTED, set(numba_backend.UNSUPPORTED)
    assert supported | unsupported == set(REGISTRY)
    assert not supported & unsupported
    forms = set(numba_backend.FORMS) | numba_backend.OPERATORS
    assert supported <= forms
    for name, i in numba_backend.RULES:  # a rule form only for a supported primitive
        assert name in supported and REGISTRY[name].vjps[i] is not None


def test_the_backend_argument_is_checked():
    with pytest.raises(ValueError, match=r'compile: backend must be one of "auto", "numpy", "nu'):
        wg.compile(perceptron_step, backend="jax")
    with pytest.raises(TypeError, match=r"compile: backend must be one of .*; got 3\."):
        wg.compile(perceptron_step, backend=3)
    model = wg.nn.Perceptron(1, bias=False)
    optimizer = wg.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="compile_step: backend must be one of"):
        wg.compile_step(model, wengert.losses.l2, optimizer, backend="torch")


def test_without_numba_auto_runs_numpy_and_numba_is_refused(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba raises ImportError
    compiled = wg.compile(perceptron_step, data_argnums=2)
    args = _perceptron_args()
    _assert_close(
        compiled(*args), wg.compile(perceptron_step, data_argnums=2, backend="numpy")(*args)
    )
    assert compiled.backend == "numpy"
    assert compiled.note == "numba is not installed: NumPy backend"
    assert compiled.compile_seconds == 0.0
    with pytest.raises(ModuleNotFoundError, match=r"backend=\"numba\" needs numba, which is not"):
        wg.compile(perceptron_step, data_argnums=2, backend="numba")


def test_the_perceptron_step_on_numba_equals_numpy_and_is_cached():
    _numba()
    compiled = wg.compile(perceptron_step, data_argnums=2, backend="numba")
    numpy = wg.compile(perceptron_step, data_argnums=2, backend="numpy")
    for seed in (0, 1, 2):
        args = _perceptron_args(seed)
        _assert_close(compiled(*args), numpy(*args))
    assert compiled.backend == "numba" and numpy.backend == "numpy"
    assert compiled.cache_size() == 1
    assert compiled.compile_seconds > 0
    assert "def _kernel(w, x, y):" in compiled.source
    folder = numba_backend.cache_dir()
    modules = {p.stem for p in folder.glob("wengert_numba_*.py")}
    assert any(name in compiled.note for name in modules)
    index = [p.name for p in (folder / "__pycache__").glob("wengert_numba_*._kernel-*.nbi")]
    assert any(name.split(".")[0] in modules for name in index)


def test_an_operation_without_a_numba_form_falls_back_under_auto_and_is_refused_under_numba():
    _numba()

    def f(x):
        return wg.value_and_grad(lambda x: wg.maximum(x, 0.5).sum())(x)

    x = np.array([0.1, 0.9, 2.0])
    auto = wg.compile(f)
    _assert_close(auto(x), wg.compile(f, backend="numpy")(x))
    assert auto.backend == "numpy"
    assert auto.note.startswith("NumPy backend: maximum: its rule shares ties")
    with pytest.raises(NotImplementedError, match=r'backend="numba" cannot compile .*: maximum'):
        wg.compile(f, backend="numba")(x)


def test_the_fusion_writes_a_single_use_elementwise_value_into_its_reader():
    statements = [
        ("t3", "t3 = t2 ** 2", {"t2"}),
        ("t4", "t4 = 0.5 * t3", {"t3"}),
        ("v", "v = np.sum(t4)", {"t4"}),
    ]
    got = numba_backend.fused(statements, {"v"})
    assert got == [("t4", "t4 = 0.5 * (t2 ** 2)", {"t2"}), ("v", "v = np.sum(t4)", {"t4"})]
    # a value read twice, or returned, stays
    twice = [("a", "a = x + 1", {"x"}), ("b", "b = a * a", {"a"})]
    assert numba_backend.fused(twice, set()) == twice
    assert numba_backend.fused(statements[:2], {"t3"}) == statements[:2]


def mlp_step(W1, b1, W2, b2, X, y):
    def loss(W1, b1, W2, b2):
        h = wg.relu(X @ W1 + b1)
        return wengert.losses.cross_entropy(h @ W2 + b2, y)

    value, grads = wg.value_and_grad(loss, argnums=(0, 1, 2, 3))(W1, b1, W2, b2)
    return value, *(p - 0.01 * g for p, g in zip((W1, b1, W2, b2), grads, strict=True))


@pytest.mark.slow
def test_a_small_mlp_step_on_numba_equals_numpy():
    _numba()
    rng = np.random.default_rng(0)
    shapes = [(4, 16), (16,), (16, 3), (3,), (32, 4)]
    args = [rng.normal(size=s) for s in shapes] + [rng.integers(0, 3, 32)]
    compiled = wg.compile(mlp_step, backend="numba")
    _assert_close(compiled(*args), wg.compile(mlp_step, backend="numpy")(*args))
    assert compiled.backend == "numba"


@pytest.mark.slow
def test_compile_step_on_numba_trains_as_on_numpy():
    _numba()
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(8, 4)), rng.integers(0, 3, 8)
    models = []
    for backend in ("numba", "numpy"):
        model = wg.nn.MLP([4, 5, 3], seed=0, dtype=np.float64)
        step = wg.compile_step(
            model, wengert.losses.cross_entropy, wg.optim.Adam(model.parameters()), backend=backend
        )
        losses = [step(X, y) for _ in range(3)]
        models.append((losses, [p.data for p in model.parameters()], step.program.backend))
    (l1, p1, b1), (l2, p2, b2) = models
    assert (b1, b2) == ("numba", "numpy")
    np.testing.assert_allclose(l1, l2, rtol=1e-12)
    for a, b in zip(p1, p2, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


ROWS = [c for c in CASES if c.primitive in numba_backend.SUPPORTED and not c.refuses]
# Rows of supported primitives in a shape the numba forms do not take: NumPy, and the note says why.
BATCHED = "a product of arrays of more than 2 axes"
LIMITS = {
    "matmul-batched-broadcast": BATCHED,
    "matmul-batched": BATCHED,
    "matmul-batch-of-one": BATCHED,
    "matmul-vector-batched": BATCHED,
    "matmul-batched-vector": BATCHED,
    "linear-batched": BATCHED,
    "mean-keepdims": "sum: over every axis with keepdims=True",
    "softmax-axis0": "softmax_rows: the numba form takes the last axis of a 2-D array",
    "log_softmax-vector": "log_softmax_rows: the numba form takes the last axis",
    "logsumexp-all": "logsumexp_rows: the numba form takes the last axis",
    "logsumexp-keepdims": "logsumexp_rows: the numba form takes the last axis",
    "cross_entropy-one-sample": "cross_entropy: the numba form takes logits of 2 axes",
}


@pytest.mark.slow
@pytest.mark.parametrize("case", ROWS, ids=str)
def test_every_supported_primitive_row_on_numba_equals_numpy(case):
    _numba()
    f = _program(case)
    compiled, numpy = wg.compile(f), wg.compile(f, backend="numpy")
    for seed in (1, 2):
        args = case.inputs(seed=seed)
        _assert_close(compiled(*args), numpy(*args))
    if str(case) in LIMITS:
        assert compiled.backend == "numpy"
        assert compiled.note.startswith("NumPy backend: ")
        assert LIMITS[str(case)] in compiled.note
    else:
        assert compiled.backend == "numba", compiled.note


def test_the_limits_name_rows_of_the_table():
    assert set(LIMITS) <= {str(c) for c in ROWS}


def test_a_cache_folder_that_cannot_be_written_compiles_uncached(tmp_path, monkeypatch):
    _numba()
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("WENGERT_CACHE", str(blocked))
    compiled = wg.compile(perceptron_step, data_argnums=2, backend="numba")
    args = _perceptron_args(3)
    _assert_close(
        compiled(*args), wg.compile(perceptron_step, data_argnums=2, backend="numpy")(*args)
    )
    assert compiled.backend == "numba"
    assert f"not cached: {blocked / 'numba'} cannot be written" in compiled.note
    assert blocked.read_text() == "not a folder"
