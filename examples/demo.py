"""The lecture, run: from the world's smallest perceptron to an MLP on handwritten digits.

1. The lecture's table fitted by its one-line rule (LMS): w per epoch, towards 1.0047.
2. XOR: a single perceptron cannot fit it; a 2-4-1 sigmoid MLP fits it to 100%.
3. An MLP on scikit-learn's digits, trained with Adam, on a held-out quarter.
4. Pictures written as PNG files under out/: the loss curves of parts 2 and 3, the four
   losses, optimizer paths on a narrow valley, perceptron against SVM, an MLP learning XOR.

Run it with `make demo`. On a terminal, training shows a live bar and a line per epoch on
stderr.
"""

from __future__ import annotations

import pathlib
import sys
import warnings

import numpy as np

import wengert as wg
from wengert import classic, data, losses, nn, optim

OUT = pathlib.Path("out")


def part1_lms() -> None:
    print("1. The smallest perceptron, y = w x, by the lecture's rule w <- w + eta (y - w x) x")
    X, y = data.seed_table()
    lms = classic.LMS(lr=0.01, schedule="inverse_sqrt", epochs=20).fit(X, y)
    w_star = float(np.sum(X[:, 0] * y) / np.sum(X[:, 0] ** 2))
    for epoch in (1, 2, 5, 10, 15, 20):
        print(f"   epoch {epoch:>2}: w = {lms.w_history_[epoch][0]:.5f}")
    print(f"   w = {lms.w_[0]:.4f}; least squares sum(xy)/sum(x^2) = {w_star:.4f}\n")


def part2_xor() -> dict:
    print("2. XOR: one perceptron draws one line, which cannot separate it")
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", classic.ConvergenceWarning)
        rosenblatt = classic.Perceptron(max_epochs=100).fit(X, y)
    print(
        f"   Rosenblatt's perceptron: {rosenblatt.mistakes_[-1]} mistakes in its last epoch "
        f"of {rosenblatt.n_epochs_}, accuracy {rosenblatt.score(X, y):.0%} (at most 75%)"
    )
    mlp = nn.MLP([2, 4, 1], activation="sigmoid", output_activation="sigmoid", seed=1)
    opt = optim.SGD(mlp.parameters(), lr=2.0, momentum=0.9)
    history = wg.fit(
        mlp,
        losses.l2,
        opt,
        (X, y[:, None].astype(float)),
        epochs=500,
        batch_size=None,
        metrics=["accuracy"],
        progress=False,  # 500 full-batch epochs in a blink: 500 lines would only scroll by
    )
    with wg.no_grad():
        out = mlp(X).data[:, 0]
    print(
        f"   2-4-1 sigmoid MLP, full-batch descent with momentum: outputs "
        f"{np.round(out, 2).tolist()} for y = {y.tolist()}, accuracy "
        f"{history.history['accuracy'][-1]:.0%}\n"
    )
    return {"XOR, 2-4-1 sigmoid MLP (l2 loss)": history}


def part3_digits() -> dict:
    print("3. An MLP on handwritten digits (8x8 pixels, 10 classes), Adam, 75/25 split")
    X, y = data.digits()
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.25, seed=0)
    X_train, X_test = data.standardize(X_train, X_test)
    model = nn.MLP([64, 128, 10], activation="relu", seed=0)
    opt = optim.Adam(model.parameters(), lr=3e-3)
    history = wg.fit(
        model,
        losses.cross_entropy,
        opt,
        (X_train, y_train),
        epochs=30,
        batch_size=64,
        seed=0,
        val_data=(X_test, y_test),
        metrics=["accuracy"],
    )
    print("   " + repr(model).replace("\n", "\n   "))
    print(
        f"   train loss {history.history['loss'][-1]:.4f}; test accuracy "
        f"{history.history['val_accuracy'][-1]:.2%} on {len(y_test)} held-out digits\n"
    )
    return {"digits, 64-128-10 ReLU MLP (cross-entropy, Adam)": history}


def part4_plots(histories: dict) -> None:
    print("4. Pictures (wengert.plot): loss curves, the four losses, optimizer paths, margins")
    try:
        from wengert import plot

        pictures = {
            "losses.png": plot.plot_losses,
            "optimizer_paths_valley.png": lambda save: plot.plot_optimizer_paths(
                "valley", save=save
            ),
            "perceptron_vs_svm.png": plot.plot_margins,
            "xor_boundary.png": lambda save: plot.plot_boundary_evolution("xor", save=save),
        }
        for i, (title, history) in enumerate(histories.items(), start=1):
            pictures[f"loss_curve_{i}.png"] = lambda save, h=history, t=title: plot.plot_loss_curve(
                h, title=t, save=save
            )
        for name, draw in pictures.items():
            draw(save=OUT / name)
            print(f"   wrote {OUT / name}")
    except ImportError as err:
        print(f"   ({err})")


def main() -> None:
    part1_lms()
    histories = part2_xor()
    histories |= part3_digits()
    part4_plots(histories)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
