"""The hand-written NumPy reference for bench/training.py: a ReLU MLP trained with Adam.

The network wengert.nn.MLP builds, written directly in NumPy the way a careful engineer writes it
plainly: matrix products, a ReLU mask, the stable softmax cross-entropy whose gradient with
respect to the logits is (softmax(z) - onehot(y)) / N, and Adam with PyTorch's bias correction,
updating the parameters and moments in place. No autodiff, no graph, no per-operation Python
cost: this is the ceiling for a NumPy-based library.

Shapes follow wengert.nn.Linear: a weight is (inputs, outputs), a bias (outputs,), so that a batch
of rows x (N, inputs) maps to x @ W + b (N, outputs). Everything stays in the parameters' dtype
(float32 by default): Python scalars are weak under NumPy 2, so they never promote an array.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class NumpyMLP:
    """A fully connected ReLU network with softmax cross-entropy, trained by Adam.

    `params` is [W1, b1, W2, b2, ...], e.g. copied from a wengert model (the arrays are copied);
    lr, betas and eps are Adam's, PyTorch's defaults but for lr.
    """

    def __init__(
        self,
        params: Sequence[np.ndarray],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        self.params = [np.array(p) for p in params]  # owned copies, updated in place
        self.lr, self.betas, self.eps = lr, betas, eps
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t = 0

    # ------------------------------------------------------------------ forward and backward
    def forward(self, x: np.ndarray, y: np.ndarray) -> tuple[float, tuple]:
        """The mean cross-entropy of the batch, and what `backward` needs."""
        weights, biases = self.params[0::2], self.params[1::2]
        inputs = [x]
        h = x
        for w, b in zip(weights[:-1], biases[:-1], strict=True):
            z = h @ w
            z += b
            h = np.maximum(z, 0, out=z)  # relu in place: the mask is read back from h > 0
            inputs.append(h)
        logits = h @ weights[-1]
        logits += biases[-1]
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        rows = np.arange(len(y))
        loss = float(np.mean(np.log(total[:, 0]) - shifted[rows, y]))
        return loss, (inputs, exp, total, rows, y)

    def backward(self, cache: tuple) -> list[np.ndarray]:
        """Gradients of the mean cross-entropy with respect to W1, b1, W2, b2, ..."""
        inputs, exp, total, rows, y = cache
        g = exp / total  # softmax
        g[rows, y] -= 1
        g /= len(y)  # (softmax - onehot) / N
        weights = self.params[0::2]
        grads: list[np.ndarray] = []
        for i in range(len(weights) - 1, -1, -1):
            a = inputs[i]
            grads += [g.sum(axis=0), a.T @ g]  # reversed below: W before b
            if i > 0:
                g = g @ weights[i].T
                g *= a > 0  # relu'(z) = 1 where z > 0; h = relu(z) > 0 exactly there
        return grads[::-1]

    def loss_and_grads(self, x: np.ndarray, y: np.ndarray) -> tuple[float, list[np.ndarray]]:
        loss, cache = self.forward(x, y)
        return loss, self.backward(cache)

    # ------------------------------------------------------------------ Adam
    def adam_step(self, grads: Sequence[np.ndarray]) -> None:
        """PyTorch's Adam: m, v moving averages; θ -= lr/(1-β1^t) · m / (√v/√(1-β2^t) + ε)."""
        beta1, beta2 = self.betas
        self.t += 1
        step_size = self.lr / (1 - beta1**self.t)
        root_correction = np.sqrt(1 - beta2**self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * (g * g)
            denom = np.sqrt(v)
            denom /= root_correction
            denom += self.eps
            p -= step_size * (m / denom)

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        """One training step on the batch (x, y); returns the loss before the update."""
        loss, grads = self.loss_and_grads(x, y)
        self.adam_step(grads)
        return loss


__all__ = ["NumpyMLP"]
