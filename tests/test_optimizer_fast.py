"""Adam's in-place path against its rule, bit for bit, and the path taken for each array."""

import numpy as np
import pytest
from optimizer_helpers import leaf

from wengert.optim import Adam, AdamW, adam
from wengert.optim.adam import INPLACE_MIN_SIZE

FAST_CASES = {
    "adam": (Adam, {}),
    "adam_l2_amsgrad": (Adam, {"weight_decay": 0.1, "amsgrad": True}),
    "adamw": (AdamW, {"weight_decay": 0.1}),
    "adamw_amsgrad_maximize": (AdamW, {"amsgrad": True, "betas": (0.5, 0.9), "maximize": True}),
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
@pytest.mark.parametrize("fused", [None, True])
def test_in_place_path_equals_the_rule_bit_for_bit(case, dtype, fused):
    cls, kwargs = FAST_CASES[case]
    assert INPLACE_MIN_SIZE <= 5000  # fused=None takes the in-place path here
    (plain, plain_state), (fast, fast_state) = fast_vs_plain(cls, kwargs, dtype, fused)
    assert fast.dtype == dtype
    np.testing.assert_array_equal(fast, plain)
    assert fast_state.keys() == plain_state.keys()
    for name, value in plain_state.items():
        np.testing.assert_array_equal(fast_state[name], value, err_msg=name)
    assert fast_state["step"] == 6


@pytest.mark.parametrize(
    ("size", "fused", "in_place"),
    [(INPLACE_MIN_SIZE, None, True), (INPLACE_MIN_SIZE - 1, None, False),
     (INPLACE_MIN_SIZE - 1, True, True), (INPLACE_MIN_SIZE, False, False)],
)  # fmt: skip
def test_the_path_taken_for_each_array(monkeypatch, size, fused, in_place):
    taken = []
    for name in ("adam_rule", "adam_rule_inplace"):
        original = getattr(adam, name)
        monkeypatch.setattr(
            adam, name, lambda *a, f=original, n=name, **k: (taken.append(n), f(*a, **k))[1]
        )
    w = leaf(np.ones(size))
    opt = Adam([w], lr=0.1, fused=fused)
    w.grad = np.ones(size)
    opt.step()
    assert taken == ["adam_rule_inplace" if in_place else "adam_rule"]
    np.testing.assert_allclose(w.data, 0.9)  # Adam's first step is η·sign(g)
