"""wg.compile: the generated program equals the eager engine, for every primitive of the
primitive table, at the traced point and at new values."""

import numpy as np
import pytest
from test_primitives import CASES

import wengert as wg


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
