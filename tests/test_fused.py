"""Fused primitives equal the compositions they replace, in value and in gradient."""

import numpy as np
import pytest

import wengert as wg
from wengert.autodiff.ops import cross_entropy, linear


def test_linear_equals_matmul_plus_bias():
    rng = np.random.default_rng(1)
    x, w, b = rng.normal(size=(6, 4)), rng.normal(size=(4, 3)), rng.normal(size=3)
    fused = wg.value_and_grad(lambda x, w, b: wg.sum(wg.tanh(linear(x, w, b))), (0, 1, 2))
    plain = wg.value_and_grad(lambda x, w, b: wg.sum(wg.tanh(x @ w + b)), (0, 1, 2))
    (v1, g1), (v2, g2) = fused(x, w, b), plain(x, w, b)
    assert v1 == pytest.approx(v2, rel=1e-15)
    for a, c in zip(g1, g2, strict=True):
        np.testing.assert_allclose(a, c, rtol=1e-14, atol=1e-15)


def test_cross_entropy_equals_minus_log_softmax_picked():
    rng = np.random.default_rng(2)
    z, y = rng.normal(size=(5, 4)) * 3, np.array([0, 3, 1, 1, 2])
    rows = np.arange(5)
    fused = wg.value_and_grad(lambda z: wg.sum(cross_entropy(z, y) * np.arange(1.0, 6.0)))
    plain = wg.value_and_grad(lambda z: wg.sum(-wg.log_softmax(z)[rows, y] * np.arange(1.0, 6.0)))
    (v1, g1), (v2, g2) = fused(z), plain(z)
    assert v1 == pytest.approx(v2, rel=1e-14)
    np.testing.assert_allclose(g1, g2, rtol=1e-13, atol=1e-15)


def test_cross_entropy_is_finite_for_huge_logits():
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0]])
    value, grad = wg.value_and_grad(lambda z: wg.sum(cross_entropy(z, np.array([1, 2]))))(z)
    assert value == pytest.approx(2000.0, rel=1e-15)  # 1000 - (-1000), then 0
    np.testing.assert_allclose(grad, [[1.0, -1.0, 0.0], [0.0, 0.0, 0.0]], atol=1e-300)


@pytest.mark.parametrize(
    ("labels", "error", "match"),
    [
        (np.array([0.0, 1.0]), TypeError, "be integers (class indices); got dtype float64."),
        (np.array([0, 3]), ValueError, "be in [0, 3) for 3 classes; got 3."),
        (np.array([0, -1]), ValueError, "be in [0, 3) for 3 classes; got -1."),
        (np.array([0, 1, 2]), ValueError, "be of shape (2,), to fit logits of shape (2, 3); got "
         "shape (3,)."),
    ],
)  # fmt: skip
def test_cross_entropy_refuses_bad_labels(labels, error, match):
    with pytest.raises(error) as caught:
        cross_entropy(wg.tensor(np.zeros((2, 3)), requires_grad=True), labels)
    assert str(caught.value) == "cross_entropy: labels must " + match


def test_linear_refuses_a_bias_of_the_wrong_shape():
    with pytest.raises(ValueError) as caught:
        linear(np.ones((2, 4)), np.ones((4, 3)), np.ones(4))
    expected = "linear: b must be of shape (3,) (one bias per output); got shape (4,)."
    assert str(caught.value) == expected
    with pytest.raises(ValueError) as caught:
        linear(np.ones((2, 5)), np.ones((4, 3)))
    assert str(caught.value) == (
        "linear: the second-last axis of w must be 5, the length of the last axis of x "
        "(shape (2, 5)); got 4 (shape (4, 3))."
    )


def test_cross_entropy_gradient_for_batched_and_single_logits():
    # The label's logit is picked by fancy indexing for (N, C), and by np.ix_ otherwise.
    rng = np.random.default_rng(5)
    for shape, labels in (((2, 3, 4), np.array([[0, 3, 1], [2, 2, 0]])), ((4,), np.array(1))):
        z = rng.normal(size=shape)

        def softmax_minus_onehot(z, labels=labels):
            e = np.exp(z - z.max(axis=-1, keepdims=True))
            return e / e.sum(axis=-1, keepdims=True) - np.eye(z.shape[-1])[labels]

        grad = wg.grad(lambda z, labels=labels: wg.sum(cross_entropy(z, labels)))(z)
        np.testing.assert_allclose(grad, softmax_minus_onehot(z), rtol=1e-13, atol=1e-15)


def test_cross_entropy_with_a_minus_infinite_label_logit_keeps_a_finite_gradient():
    z = np.array([[0.0, -np.inf, 1.0], [2.0, 0.5, -1.0]])
    labels = np.array([1, 0])
    value, grad = wg.value_and_grad(lambda z: wg.sum(cross_entropy(z, labels)))(z)
    assert value == np.inf
    e0 = np.exp([0.0, 1.0]) / np.exp([0.0, 1.0]).sum()
    e1 = np.exp(z[1] - z[1].max()) / np.exp(z[1] - z[1].max()).sum()
    np.testing.assert_allclose(grad[0], [e0[0], -1.0, e0[1]], rtol=1e-14)
    np.testing.assert_allclose(grad[1], e1 - [1.0, 0.0, 0.0], rtol=1e-14)
