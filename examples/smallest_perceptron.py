"""The lecture's smallest perceptron, y = w * x, trained one sample at a time.

Each step computes the loss L = 1/2 (y - w x)^2 on one sample, asks the engine for dL/dw by
backpropagation, and moves w against it: w <- w - eta dL/dw, which is the lecture's
w <- w + eta (y - y_hat) x. The learning rate follows the lecture's schedule
eta_t = eta_0 / sqrt(t).
"""

from __future__ import annotations

import math

import numpy as np

import wengert as wg

X = np.array([10.0, 2.0, 3.5, 1.0])
Y = np.array([10.1, 1.9, 3.4, 1.1])
ETA_0 = 0.01
EPOCHS = 20


def loss(w, x, y):
    y_hat = w * x
    L = (y - y_hat) ** 2 / 2
    return L


def main() -> None:
    w_star = float(np.sum(X * Y) / np.sum(X * X))
    print("The smallest perceptron, y = w * x, on the lecture's table")
    print(f"  x = {X.tolist()}\n  y = {Y.tolist()}\n")
    print("One sample's loss as the engine sees it (its Wengert list), and its backward sweep:")
    trace = wg.trace(loss, 0.0, X[0], Y[0])
    print(trace)
    print(trace.backward())
    print()

    w = wg.tensor(0.0, requires_grad=True)
    t = 0
    print(f"Per-sample gradient descent, eta_t = {ETA_0} / sqrt(t), starting from w = 0:")
    print(f"  {'epoch':>5}  {'eta':>9}  {'w':>9}  {'mean loss':>10}  {'least squares':>13}")
    for epoch in range(1, EPOCHS + 1):
        total = 0.0
        for x, y in zip(X, Y, strict=True):
            t += 1
            eta = ETA_0 / math.sqrt(t)
            L = loss(w, x, y)
            w.grad = None
            L.backward()  # w.grad = dL/dw = -(y - w x) x
            with wg.no_grad():
                w -= eta * w.grad
            total += L.item()
        print(
            f"  {epoch:>5}  {eta:>9.6f}  {w.item():>9.5f}  {total / len(X):>10.6f}  {w_star:>13.5f}"
        )
    print(f"\nw = {w.item():.4f}; least squares sum(xy)/sum(x^2) = {w_star:.4f}")
    print(
        "The slide's update has eta = 1, which diverges on this table: the sample x = 10 "
        "multiplies w's error by 1 - x^2 = -99 at every visit."
    )


if __name__ == "__main__":
    main()
