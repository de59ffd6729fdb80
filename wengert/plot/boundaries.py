"""Decision boundaries in the plane: a perceptron's line against an SVM's widest band, and an
MLP's boundary on XOR, circles or spirals as training goes on."""

from __future__ import annotations

import os
from collections.abc import Sequence
from numbers import Integral
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

import wengert as wg
from wengert import classic, data, losses, nn, optim
from wengert._checks import InstanceOf, Interval, Options, TupleOf, check, refusal, what_came
from wengert.plot._figure import check_save, finish, new_figure

if TYPE_CHECKING:  # matplotlib is imported only when a picture is drawn
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["DATASETS", "plot_boundary", "plot_boundary_evolution", "plot_margins"]

# name -> (toy-set function, epochs, hidden sizes, Adam's lr): defaults that fit each set
DATASETS = {
    "xor": (data.xor, 150, (16, 16), 0.05),
    "circles": (data.circles, 150, (16, 16), 0.05),
    "spirals": (data.spirals, 1500, (32, 32), 0.02),
}


def _grid(X: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    pad = 0.15 * (X.max(axis=0) - X.min(axis=0))
    lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
    return np.meshgrid(np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n))


def _scatter(ax: Axes, X: np.ndarray, y: np.ndarray) -> None:
    for label, colour, marker in ((0, "C0", "o"), (1, "C3", "^")):
        rows = y == label
        ax.scatter(
            X[rows, 0],
            X[rows, 1],
            c=colour,
            marker=marker,
            s=22,
            edgecolors="k",
            linewidths=0.4,
            label=f"class {label}",
        )


def _draw_lines(
    ax: Axes,
    grid: tuple[np.ndarray, np.ndarray],
    perceptron: classic.Perceptron,
    svm: classic.LinearSVM,
) -> None:
    """The boundaries a = w·x + b = 0 of both models, and a = ±1 of the SVM, as contours of a."""
    xs, ys = grid
    points = np.column_stack([xs.ravel(), ys.ravel()])
    for name, model, colour in (("perceptron", perceptron, "C2"), ("SVM", svm, "k")):
        a = (points @ model.w_ + model.b_).reshape(xs.shape)
        ax.contour(xs, ys, a, levels=[0.0], colors=colour, linewidths=2)
        ax.plot([], [], color=colour, lw=2, label=f"{name} boundary")
        if model is svm:
            ax.contour(xs, ys, a, levels=[-1.0, 1.0], colors=colour, linestyles="--", linewidths=1)
            ax.plot([], [], "k--", lw=1, label="SVM margin  w·x + b = ±1")


def plot_margins(
    X: ArrayLike | None = None,
    y: ArrayLike | None = None,
    *,
    seed: int | np.random.Generator = 0,
    save: str | os.PathLike | None = None,
) -> Figure:
    """A perceptron's and a linear SVM's decision boundaries on the same data, with the SVM's
    margin lines w·x + b = ±1; the title gives both geometric margins 2 min_i y_i a_i / ‖w‖.

    X, y: 2-D data with labels 0/1 (default data.blobs(n=60, spread=0.7, seed=seed), separable).
    The models are classic.Perceptron(seed=seed) and classic.LinearSVM(C=10, epochs=200,
    seed=seed). fig.wengert_data: {"perceptron": {"w", "b", "margin"}, "svm": {"w", "b",
    "margin", "margin_"}} where "margin" is each one's geometric_margin(X, y).
    """
    path = check_save(save, "plot_margins")
    X, y = _margin_data(X, y, seed)
    perceptron = classic.Perceptron(seed=seed).fit(X, y)
    svm = classic.LinearSVM(C=10.0, epochs=200, seed=seed).fit(X, y)
    result = {
        "perceptron": {
            "w": perceptron.w_,
            "b": perceptron.b_,
            "margin": perceptron.geometric_margin(X, y),
        },
        "svm": {
            "w": svm.w_,
            "b": svm.b_,
            "margin": svm.geometric_margin(X, y),
            "margin_": svm.margin_,
        },
    }
    fig = new_figure((6.4, 5.4))
    ax = fig.add_subplot()
    _scatter(ax, X, y)
    _draw_lines(ax, _grid(X, 300), perceptron, svm)
    margins = f"perceptron {result['perceptron']['margin']:.2f}, SVM {result['svm']['margin']:.2f}"
    ax.set(xlabel="x₁", ylabel="x₂", aspect="equal", title=f"Geometric margin: {margins}")
    ax.legend(fontsize="small", loc="lower right")
    return finish(fig, result, path)


def _margin_data(
    X: ArrayLike | None, y: ArrayLike | None, seed: int | np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """plot_margins' data: X and y checked (both given, X of 2 features), or default blobs."""
    if (X is None) != (y is None):
        missing = "X" if X is None else "y"
        other = "y" if X is None else "X"
        expected = f"given with {other} (both, or neither for the default blobs)"
        raise refusal("plot_margins", missing, expected, "None")
    if X is None:
        X, y = data.blobs(n=60, spread=0.7, seed=seed)
    X, y = data.check_X_y(X, y, owner="plot_margins")
    if X.shape[1] != 2:
        raise refusal("plot_margins", "X", "of 2 features, to be drawn", f"shape {X.shape}")
    return X, y


def _snapshot(model, X, y, points, shape):
    with wg.no_grad():
        accuracy = float(np.mean(np.argmax(model(X).data, axis=1) == y))
        probability = wg.softmax(model(points), axis=1).data[:, 1].reshape(shape)
    return accuracy, probability


def _train_snapshots(X, y, hidden, lr, seed, marks, grid):
    """Train a fresh MLP by full-batch Adam; at each epoch in `marks` keep (accuracy on (X, y),
    P(class 1) on the grid). fit() is called once per stretch between marks: the optimizer and
    its state carry over, so the stretches make one run."""
    model = nn.MLP([2, *hidden, 2], activation="tanh", seed=seed)
    opt = optim.Adam(model.parameters(), lr=lr)
    xs, ys = grid
    points = np.column_stack([xs.ravel(), ys.ravel()]).astype(np.float32)
    done, accuracy, probability = 0, [], []
    for mark in marks:
        if mark > done:
            stretch = int(mark - done)
            wg.fit(
                model,
                losses.cross_entropy,
                opt,
                (X, y),
                epochs=stretch,
                batch_size=None,
                progress=False,
            )
            done = int(mark)
        acc, prob = _snapshot(model, X.astype(np.float32), y, points, xs.shape)
        accuracy.append(acc)
        probability.append(prob)
    return accuracy, probability


def plot_boundary_evolution(
    dataset: str = "xor",
    *,
    epochs: int | None = None,
    frames: int = 5,
    hidden: Sequence[int] | None = None,
    lr: float | None = None,
    seed: int = 0,
    grid: int = 120,
    save: str | os.PathLike | None = None,
) -> Figure:
    """An MLP's decision boundary on a 2-D toy set as it trains: a strip of `frames` snapshots.

    A tanh MLP [2, *hidden, 2] (seed) trained by wengert.fit with full-batch Adam (lr) on
    softmax cross-entropy for `epochs` (epochs, hidden and lr default per set, from DATASETS),
    snapshotted at epochs 0 (untrained) to `epochs`, evenly spaced. Shading: P(class 1) on a
    grid × grid mesh; the line: P = ½.
    fig.wengert_data: {"dataset", "epochs", "accuracy", "probability", "grid"}.
    """
    owner = "plot_boundary_evolution"
    path = check_save(save, owner)
    check(owner, "dataset", dataset, Options(DATASETS))
    make, default_epochs, default_hidden, default_lr = DATASETS[dataset]
    epochs = default_epochs if epochs is None else epochs
    hidden = default_hidden if hidden is None else tuple(hidden)
    lr = default_lr if lr is None else lr
    for name, value, low in (("epochs", epochs, 1), ("frames", frames, 2), ("grid", grid, 2)):
        check(owner, name, value, Interval(Integral, low, None))
    X, y = make(n=200, seed=seed)
    xs, ys = _grid(X, grid)
    marks = np.unique(np.linspace(0, epochs, frames).round().astype(int))
    accuracy, probability = _train_snapshots(X, y, hidden, lr, seed, marks, (xs, ys))
    fig = _draw_snapshots(X, y, (xs, ys), marks, accuracy, probability)
    fig.suptitle(f"MLP {[2, *hidden, 2]} (tanh, Adam η = {lr:g}) learning {dataset}")
    result = {"dataset": dataset, "epochs": marks, "accuracy": accuracy}
    return finish(fig, result | {"probability": probability, "grid": (xs, ys)}, path)


def _draw_snapshots(
    X: np.ndarray,
    y: np.ndarray,
    grid: tuple[np.ndarray, np.ndarray],
    marks: np.ndarray,
    accuracy: list[float],
    probability: list[np.ndarray],
) -> Figure:
    """A strip of one panel per snapshot: P(class 1) shaded, the line P = ½, and the data."""
    xs, ys = grid
    fig = new_figure((3.0 * len(marks), 3.4))
    axes = fig.subplots(1, len(marks), sharex=True, sharey=True, squeeze=False)[0]
    for ax, mark, acc, prob in zip(axes, marks, accuracy, probability, strict=True):
        ax.contourf(xs, ys, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
        ax.contour(xs, ys, prob, levels=[0.5], colors="k", linewidths=1.5)
        _scatter(ax, X, y)
        ax.set(title=f"epoch {mark}: accuracy {acc:.0%}", aspect="equal", xticks=[], yticks=[])
    return fig


def plot_boundary(
    model: object,
    X: ArrayLike,
    y: ArrayLike,
    *,
    resolution: int = 200,
    feature_names: tuple[str, str] = ("x₁", "x₂"),
    title: str | None = None,
    save: str | os.PathLike | None = None,
) -> Figure:
    """A trained classifier's decision regions and boundary in the plane, with the data on top.

    model: anything with `predict(X)` returning a label per row (wengert.classic, wengert.sklearn
    or scikit-learn models), or a wengert Module (or a function) mapping X to outputs: one
    output puts a row in y's second class where it is > 0, several pick the class of the
    largest. X: 2 features; y: one label per row (numbers or names). The regions are the
    predicted class on a resolution × resolution grid over the data; the lines are where it
    changes; feature_names label the axes. fig.wengert_data: {"grid": (xs, ys), "prediction":
    the label at each grid point, "classes", "accuracy"} (the accuracy of the model on X, y).
    """
    owner = "plot_boundary"
    path = check_save(save, owner)
    check(owner, "resolution", resolution, Interval(Integral, 2, 2000))
    check(owner, "feature_names", feature_names, TupleOf(InstanceOf(str, "a str"), 2))
    X, y = _boundary_data(X, y)
    label = _labeller(model, np.unique(y))
    xs, ys = _grid(X, resolution)
    predicted = label(np.column_stack([xs.ravel(), ys.ravel()]))
    classes = np.unique(np.concatenate([np.unique(y), np.unique(predicted)]))
    index = np.searchsorted(classes, predicted).reshape(xs.shape)
    accuracy = float(np.mean(label(X) == y))
    fig = new_figure((6.4, 5.4))
    ax = fig.add_subplot()
    _draw_regions(ax, (xs, ys), index, len(classes))
    _scatter_classes(ax, X, y, classes)
    name = title or f"Decision boundary of {type(model).__name__}"
    xlabel, ylabel = feature_names
    ax.set(xlabel=xlabel, ylabel=ylabel, title=f"{name}: accuracy {accuracy:.0%}")
    ax.legend(fontsize="small", loc="best")
    result = {"grid": (xs, ys), "prediction": predicted.reshape(xs.shape), "classes": classes}
    return finish(fig, result | {"accuracy": accuracy}, path)


def _boundary_data(X: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """plot_boundary's X (finite, 2 features) and y (one label per row), checked."""
    X, _ = data.check_X_y(X, None, owner="plot_boundary")
    if X.shape[1] != 2:
        raise refusal(
            "plot_boundary",
            "X",
            "of 2 features, to be drawn in the plane",
            f"shape {X.shape}",
            fix="Pick two columns, or train a model on two features.",
        )
    y = np.asarray(y)
    if y.shape != (len(X),):
        raise refusal(
            "plot_boundary", "y", f"one label per row of X, shape ({len(X)},)", str(y.shape)
        )
    return X, y


def _labeller(model: object, classes: np.ndarray):
    """A function from rows of X to the labels `model` predicts for them."""
    if callable(getattr(model, "predict", None)):
        return lambda rows: np.asarray(model.predict(rows)).reshape(len(rows))
    if not callable(model):
        raise refusal(
            "plot_boundary",
            "model",
            "a model with predict(X), or a wengert Module or function of X",
            what_came(model),
            TypeError,
        )

    def label(rows: np.ndarray) -> np.ndarray:
        with wg.no_grad():
            outputs = model(wg.tensor(rows))
        outputs = np.asarray(getattr(outputs, "data", outputs), dtype=np.float64)
        outputs = outputs.reshape(len(rows), -1)
        if outputs.shape[1] == 1:
            return classes[np.minimum((outputs[:, 0] > 0).astype(int), len(classes) - 1)]
        return classes[np.minimum(outputs.argmax(axis=1), len(classes) - 1)]

    return label


COLOURS = ("C0", "C3", "C2", "C1", "C4", "C5", "C6", "C7", "C8", "C9")
MARKERS = ("o", "^", "s", "D", "v", "P", "X", "*", "<", ">")


def _draw_regions(ax: Axes, grid: tuple[np.ndarray, np.ndarray], index: np.ndarray, k: int):
    """Each predicted class's region shaded in its colour, and the lines between regions."""
    from matplotlib.colors import ListedColormap

    xs, ys = grid
    colours = ListedColormap([COLOURS[i % len(COLOURS)] for i in range(k)])
    levels = np.arange(k + 1) - 0.5
    ax.contourf(xs, ys, index, levels=levels, cmap=colours, alpha=0.25)
    if k > 1:
        ax.contour(xs, ys, index, levels=levels[1:-1], colors="k", linewidths=1.5)
        ax.plot([], [], color="k", lw=1.5, label="decision boundary")


def _scatter_classes(ax: Axes, X: np.ndarray, y: np.ndarray, classes: np.ndarray) -> None:
    for i, value in enumerate(classes):
        rows = y == value
        if rows.any():
            n = len(COLOURS)
            ax.scatter(
                X[rows, 0],
                X[rows, 1],
                c=COLOURS[i % n],
                marker=MARKERS[i % n],
                s=22,
                edgecolors="k",
                linewidths=0.4,
                label=f"class {value}",
            )
