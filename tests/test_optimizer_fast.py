"""The fast Adam paths (in place and numexpr) against the plain rule, and the path chosen for
each array.
"""

import numpy as np
import pytest
from optimizer_helpers import leaf, one_param

from wengert.optim import Adam, AdamW, fused

# --------------------------------------------------------------------- the fast Adam paths
FAST_CASES = {
    "adam": (Adam, {}),
    "adam_l2_amsgrad": (Adam, {"weight_decay": 0.1, "amsgrad": True}),
    "adamw": (AdamW, {"weight_decay": 0.1}),
    "adamw_amsgrad": (AdamW, {"amsgrad": True, "betas": (0.5, 0.9)}),
}


def fast_vs_plain(cls, kwargs, dtype, fused_flag, steps=6, size=5000):
    rng = np.random.default_rng(7)
    start = rng.normal(size=(size // 50, 50)).astype(dtype)
    grads = [rng.normal(size=start.shape).astype(dtype) for _ in range(steps)]
    # the second half of the steps has tiny gradients, so that AMSGrad's max is exercised
    grads[steps // 2 :] = [g * 1e-3 for g in grads[steps // 2 :]]
    results = []
    for flag in (False, fused_flag):
        w = leaf(start, dtype=dtype)
        opt = cls([w], lr=0.01, fused=flag, **kwargs)
        for g in grads:
            w.grad = g
            opt.step()
        results.append((w.data, opt.state[w]))
    return results


@pytest.mark.parametrize("case", FAST_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_in_place_path_equals_the_plain_rule_bit_for_bit(case, dtype):
    cls, kwargs = FAST_CASES[case]
    assert fused.INPLACE_MIN_SIZE <= 5000  # fused=None takes the in-place path here
    (plain, plain_state), (fast, fast_state) = fast_vs_plain(cls, kwargs, dtype, None)
    np.testing.assert_array_equal(fast, plain)
    for name, value in plain_state.items():
        np.testing.assert_array_equal(fast_state[name], value, err_msg=name)


@pytest.mark.parametrize("case", FAST_CASES)
@pytest.mark.parametrize(("dtype", "rtol"), [(np.float32, 1e-6), (np.float64, 1e-12)])
def test_numexpr_path_equals_the_plain_rule(case, dtype, rtol):
    pytest.importorskip("numexpr")
    cls, kwargs = FAST_CASES[case]
    (plain, plain_state), (fast, fast_state) = fast_vs_plain(cls, kwargs, dtype, True)
    assert fast.dtype == dtype
    np.testing.assert_allclose(fast, plain, rtol=rtol)
    for name in ("exp_avg", "exp_avg_sq"):
        np.testing.assert_allclose(fast_state[name], plain_state[name], rtol=rtol, err_msg=name)
    assert fast_state["step"] == plain_state["step"] == 6


def test_the_path_chosen_for_each_array():
    big, small = np.zeros(fused.INPLACE_MIN_SIZE), np.zeros(fused.INPLACE_MIN_SIZE - 1)
    assert fused.choose(big, big, None) is fused.adam_inplace
    assert fused.choose(small, small, None) is None
    assert fused.choose(big, big, False) is None
    assert fused.choose(small, small, True) is fused.adam_numexpr
    assert fused.choose(big, big.astype(np.float32), None) is None  # mixed dtypes: plain rule
    square = np.zeros((64, 64))
    assert fused.choose(square, square.T, True) is None  # a transposed gradient: plain rule


def test_fused_true_without_numexpr_says_what_to_install(monkeypatch):
    monkeypatch.setattr(fused, "_NUMEXPR", [None])
    with pytest.raises(ImportError, match=r"Adam\(fused=True\) needs numexpr: pip install"):
        Adam(one_param(), fused=True)
    w = leaf(np.ones(fused.INPLACE_MIN_SIZE))
    opt = Adam([w], lr=0.1)  # auto still runs, in place
    w.grad = np.ones(w.data.shape)
    opt.step()
    np.testing.assert_allclose(w.data, 0.9)
