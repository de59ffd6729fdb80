"""wg.compile: the generated program equals the eager engine, for every primitive of the
primitive table, at the traced point and at new values."""

import pickle

import numpy as np
import pytest
from test_primitives import CASES

import wengert as wg
from wengert.compile import peephole, scalar


def _program(case):
    """value_and_grad of sum(case.fn(*args) * weights) in every argument, as a function f."""
    args = case.inputs(seed=1)
    out = case.fn(*[wg.tensor(a) for a in args])
    weights = np.random.default_rng(5).normal(size=np.shape(out.data))
    argnums = tuple(range(len(args)))

    def loss(*a):
        return (case.fn(*a) * weights).sum()

    def f(*a):
        return wg.value_and_grad(loss, argnums=argnums)(*a)

    return f


def _assert_same(got, want):
    assert type(got) is type(want)
    if isinstance(got, tuple):
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            _assert_same(g, w)
        return
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_every_primitive_compiles_to_the_eager_value_and_gradient(case):
    f = _program(case)
    compiled = wg.compile(f)
    if case.refuses:
        with pytest.raises(RuntimeError, match=case.refuses):
            compiled(*case.inputs(seed=1))
        return
    for seed in (1, 2, 3):  # the traced point, then two new points of the case's domain
        args = case.inputs(seed=seed)
        _assert_same(compiled(*args), f(*args))
    assert compiled.cache_size() == 1


def _bits(got, want):
    """Equal bit for bit: the same types, dtypes and shapes, and the same bytes (-0.0 and NaN
    payloads included)."""
    assert type(got) is type(want)
    if isinstance(got, tuple):
        for g, w in zip(got, want, strict=True):
            _bits(g, w)
        return
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.tobytes() == want.tobytes()


@pytest.mark.parametrize("case", [c for c in CASES if not c.refuses], ids=str)
def test_the_peephole_simplifications_give_every_primitive_the_same_bits(case, monkeypatch):
    f = _program(case)
    simplified = wg.compile(f, backend="numpy")
    simplified(*case.inputs(seed=1))
    monkeypatch.setattr(peephole, "fold", lambda statements, namespace: statements)
    monkeypatch.setattr(peephole, "forward", lambda emitter, t, parts: None)
    monkeypatch.setattr(peephole, "method", lambda name, parts, params: None)
    monkeypatch.setattr(peephole, "typed", lambda a, other: a)
    monkeypatch.setattr(peephole, "typed_tree", lambda tree, dtypes: tree)
    plain = wg.compile(f, backend="numpy")
    plain(*case.inputs(seed=1))

    def lines(source):
        return [line for line in source.splitlines() if not line.lstrip().startswith("#")]

    assert len(lines(plain.source)) >= len(lines(simplified.source))
    for seed in (1, 2, 3):
        args = case.inputs(seed=seed)
        _bits(simplified(*args), plain(*args))


def test_a_mean_of_one_element_is_that_element_and_the_seed_chain_is_computed_once(monkeypatch):
    def f(w, x):
        return wg.value_and_grad(lambda w: (w * x).mean())(w)

    compiled = wg.compile(f, backend="numpy")
    for w, x in [(np.array([-0.0]), np.array([2.0])), (np.array([3.0]), np.array([-0.5]))]:
        _bits(compiled(w, x), f(w, x))
    assert compiled.source == (
        "def f(w, x):\n"
        "    # made once, when the program was made:\n"
        "    #   t2_bar = one\n"
        "    #   t1_bar = broadcast_to(t2_bar / 1, shape=(1,))\n"
        "    t1 = w * x\n"
        "    t2 = t1[0] + 0.0\n"
        "    w_bar = t1_bar * x\n"
        "    return (float(t2), w_bar)\n"
    )
    monkeypatch.setattr(scalar, "written", lambda *args: None)  # the program on arrays
    arrays = wg.compile(f, backend="numpy")
    arrays(np.array([3.0]), np.array([-0.5]))
    t1_bar = arrays._last.function.__globals__["t1_bar"]  # broadcast_to(one / 1, (1,))
    assert t1_bar.tolist() == [1.0] and not t1_bar.flags.writeable
    mean = wg.compile(lambda x: x.mean(), backend="numpy")
    x = np.random.default_rng(0).normal(size=(3, 7))
    assert mean(x) == float(np.add.reduce(x, axis=None) / 21)
    assert "sum(x, axis=None, keepdims=False) / 21" in mean.source


def test_an_adjoint_that_starts_from_a_folded_constant_never_writes_into_it():
    f = wg.compile(lambda x: wg.grad(lambda x: (x + x).sum())(x), backend="numpy")
    for _ in range(3):
        np.testing.assert_array_equal(f(np.ones(3)), [2.0, 2.0, 2.0])
    assert "    x_bar = t1_bar\n    x_bar = x_bar + t1_bar\n" in f.source
    # Where a first contribution hands a folded constant over as it is, growing it in place
    # would write into the constant: that line adds into a new array instead.
    namespace = {"one": np.ones(2)}
    statements = [("a", "a = one * 2.0", set()), ("b", "b = a", {"a"}), ("b", "b += x", {"b"})]
    folded = peephole.fold(statements, namespace)
    assert folded[:2] == [
        ("", "# made once, when the program was made:", set()),
        ("", "#   a = one * 2.0", set()),
    ]
    assert folded[3:] == [("b", "b = b + (x)", {"b"})]
    assert namespace["a"].tolist() == [2.0, 2.0] and not namespace["a"].flags.writeable


def test_a_number_beside_a_float32_array_is_held_in_its_dtype_and_shown_as_the_number():
    def f(w, x):
        return wg.value_and_grad(lambda w: (0.1 * (w * x) - 3).sum())(w)

    compiled = wg.compile(f, backend="numpy")
    w, x = np.array([1.5, -2.0], np.float32), np.array([0.3, 7.0], np.float32)
    for scale in (1.0, -3.0, 1e30):
        _bits(compiled(w * scale, x), f(w * scale, x))
    assert "    t2 = 0.1 * t1\n    t3 = t2 - 3\n" in compiled.source  # as f writes them
    held = compiled._last.function.__globals__
    assert held["f32_0_1"].dtype == np.float32 and held["f32_0_1"] == np.float32(0.1)
    assert held["f32_3_0"].dtype == np.float32  # (the int 3, as float32 holds it)


def _one_element_programs():
    """f, its arguments: functions of one-element arrays that run on NumPy scalars."""

    def perceptron(w, x, y):
        def loss(w):
            return wg.losses.l2(wg.autodiff.ops.linear(x, w), y)

        value, w_bar = wg.value_and_grad(loss)(w)
        return value, w - 0.01 * w_bar, w_bar

    def mixed(w, b):
        def loss(w, b):
            z = (w @ b.reshape(1, 1)).reshape(1) * 3 - b / 7 + 1.5
            return (-(z**2) / 2 + z.T).mean() + (z * w.sum()).sum()

        return wg.value_and_grad(loss, argnums=(0, 1))(w, b)

    def product(w, x):  # a product that is -0.0 comes out of matmul as 0.0
        value, w_bar = wg.value_and_grad(lambda w: (x @ w).sum())(w)
        return wg.autodiff.ops.linear(x, w), value, w_bar

    for dtype in (np.float32, np.float64):
        for a, b in [(1.5, -2.0), (-0.0, 0.0), (1e-39, -3e38), (np.inf, 1.0), (np.nan, 2.0)]:
            x, y = np.array([[a]], dtype), np.array([b], dtype)
            yield product, (np.array([-b], dtype), np.array([[-a]], dtype)), 1
            yield perceptron, (np.array([b], dtype), x, y), 2
            yield mixed, (np.array([[a]], dtype), np.array([b], dtype)), ()


def test_a_program_of_one_element_arrays_runs_on_scalars_and_gives_the_same_bits(monkeypatch):
    cases = list(_one_element_programs())
    fast = []
    for f, args, data in cases:
        compiled = wg.compile(f, data_argnums=data, backend="numpy")
        with np.errstate(all="ignore"):
            fast.append(compiled(*args))
        assert compiled._last.scalar_source.count("[0, 0]") >= 1
    monkeypatch.setattr(scalar, "written", lambda *args: None)
    for (f, args, data), got in zip(cases, fast, strict=True):
        compiled = wg.compile(f, data_argnums=data, backend="numpy")
        with np.errstate(all="ignore"):
            _bits(got, compiled(*args))
        assert compiled._last.scalar_source == ""


def _compiled_beside_eager(make, bias: bool):
    """wg.compile_step of nn.Perceptron(1) on l2 and the eager step, over the lecture's table
    three times: each loss, weight and gradient equal bit for bit. The compiled step."""
    models = [wg.nn.Perceptron(1, bias=bias, seed=3) for _ in range(2)]
    optimizers = [make(m.parameters()) for m in models]
    step = wg.compile_step(models[0], wg.losses.l2, optimizers[0])
    for x, y in [(10.0, 10.1), (2.0, 1.9), (3.5, 3.4), (1.0, 1.1)] * 3:
        x, y = np.array([[x]], np.float32), np.array([y], np.float32)
        value = step(x, y)
        optimizers[1].zero_grad()
        loss = wg.losses.l2(models[1](x), y)
        loss.backward()
        optimizers[1].step()
        assert value == float(loss.data)
        for p, q in zip(models[0].parameters(), models[1].parameters(), strict=True):
            _bits(p.data, q.data)
            _bits(p.grad, q.grad)
    assert step.fused._last.scalar_source != ""  # it ran on scalars
    return step


@pytest.mark.parametrize(
    "make",
    [
        lambda p: wg.optim.SGD(p, lr=0.01, momentum=0.9, weight_decay=0.1, maximize=False),
        lambda p: wg.optim.SGD(p, lr=0.01, maximize=True),
        lambda p: wg.optim.Adam(p, lr=0.1, weight_decay=0.01),
    ],
    ids=["momentum and decay", "maximize", "adam"],
)
def test_a_one_element_step_with_any_optimizer_equals_eager_bit_for_bit(make):
    _compiled_beside_eager(make, bias=True)


def test_the_perceptron_step_on_one_sample_runs_on_scalars_and_its_lines_show_arrays():
    step = _compiled_beside_eager(lambda p: wg.optim.SGD(p, lr=0.01), bias=False)
    runs = step.fused._last.scalar_source
    assert "    t1 = (X_ * weight_ + 0.0)\n" in runs
    assert "    weight_bar_array = array([weight_bar])\n" in runs  # .grad, an array
    assert "    weight[0] -= lr0 * weight_bar\n" in runs  # the update on the one element
    assert "    t1 = linear(X, weight)\n" in step.source
    assert "    weight -= lr0 * weight_bar\n" in step.source


class _Marked(np.ndarray):
    """An ndarray subclass: the guard refuses it and the general path answers."""


def test_the_guard_of_the_last_program_answers_only_its_own_signature():
    calls = []

    def f(w, x):
        calls.append(1)  # one per trace (and three probes), none per run of the program
        return (w * x).sum()

    fast = wg.compile(f, backend="numpy")
    w, x = np.array([1.5, 2.0]), np.array([2.0, 4.0])
    assert fast(w, x) == 11.0
    traced = len(calls)
    assert fast(w * 2, x) == 22.0 and len(calls) == traced  # the guard: no trace
    assert fast(w.astype(np.float32), x) == 11.0 and fast.cache_size() == 2  # new dtype
    assert fast(np.ones(3), np.ones(3)) == 3.0 and fast.cache_size() == 3  # new shape
    assert fast(w, x) == 11.0 and fast.cache_size() == 3  # back: the first program, no trace
    assert fast(wg.tensor(w), x) == 11.0 and fast.cache_size() == 3  # a Tensor: general path
    assert fast(w.view(_Marked), x) == 11.0 and fast.cache_size() == 3
    assert fast(w, 2.0) == 7.0 and fast.cache_size() == 4  # a number: static, traced
    assert fast(w, 3.0) == 10.5 and fast.cache_size() == 5
    with pytest.raises(TypeError, match="positional argument"):
        fast(w)


def test_the_guard_reads_an_external_parameter_at_each_call_and_retraces_a_new_shape():
    p = wg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    fast = wg.compile(lambda x: (p * x).sum(), backend="numpy")
    x = np.array([3.0, 4.0])
    assert fast(x) == 11.0
    p.data = np.array([2.0, 2.0])
    assert fast(x) == 14.0 and fast.cache_size() == 1
    p.data = np.array([1.0, 1.0, 1.0])
    assert fast(np.ones(3)) == 3.0 and fast.cache_size() == 2
    p.data = np.array([1.0, 1.0], np.float32)
    assert fast(x) == 7.0 and fast.cache_size() == 2  # same key, new program for its dtype


def test_a_compiled_function_called_while_another_is_traced_is_traced_through():
    inner = wg.compile(lambda w: wg.tanh(w) * 2.0, backend="numpy")
    w = np.array([0.5, -1.0])
    np.testing.assert_allclose(inner(w), np.tanh(w) * 2.0)  # inner has its guard now

    def outer(w):
        return wg.value_and_grad(lambda w: inner(w).sum())(w)

    value, grad = wg.compile(outer, backend="numpy")(w)
    assert value == pytest.approx(2.0 * np.tanh(w).sum(), rel=1e-15)
    np.testing.assert_allclose(grad, 2.0 * (1 - np.tanh(w) ** 2), rtol=1e-15)
    with pytest.raises(TypeError, match="keyword"):
        inner(w=w)


def test_the_guard_answers_an_equal_dtype_that_is_another_object_as_numba_returns():
    fast = wg.compile(lambda w: w * 3.0, backend="numpy")
    w = np.array([1.0, 2.0])
    fast(w)
    general = []
    traced = fast._call
    fast._call = lambda args: general.append(args) or traced(args)
    other = w.view(pickle.loads(pickle.dumps(w.dtype)))  # equal dtype, another object
    assert other.dtype is not w.dtype and other.dtype == w.dtype
    np.testing.assert_array_equal(fast(other), [3.0, 6.0])
    assert general == [] and fast.cache_size() == 1
    np.testing.assert_array_equal(fast(w.astype(np.float32)), [3.0, 6.0])
    assert len(general) == 1 and fast.cache_size() == 2
