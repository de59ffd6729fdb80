"""wengert.plot: every picture renders and writes PNG/SVG, and the numbers it drew are right."""

import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import wengert as wg  # noqa: E402
from wengert import classic, data, optim, plot  # noqa: E402
from wengert.plot.paths import saddle, valley  # noqa: E402


def _written(path) -> None:
    assert path.exists() and path.stat().st_size > 0
    head = path.read_bytes()[:200]
    assert head.startswith(b"\x89PNG") if path.suffix == ".png" else b"<svg" in path.read_bytes()


def test_losses_equal_the_formulas_at_the_plotted_points(tmp_path):
    fig = plot.plot_losses(save=tmp_path / "losses.svg")
    _written(tmp_path / "losses.svg")
    d = fig.wengert_data
    t = d["y_hat"]
    assert d["y"] == 1.0 and t.min() < 0 < 1 < t.max()
    np.testing.assert_allclose(d["l1"], np.abs(t - 1))
    np.testing.assert_allclose(d["l2"], 0.5 * (t - 1) ** 2)
    np.testing.assert_array_equal(d["zero_one"], (t <= 0).astype(float))
    np.testing.assert_allclose(d["hinge"], np.maximum(0.0, 1 - t))


def test_loss_curve_draws_the_history_and_its_learning_rates(tmp_path):
    history = wg.History(
        step_loss=[4.0, 3.0, 2.0, 1.5, 1.0, 0.8],
        lr=[0.1, 0.1, 0.1, 0.05, 0.05, 0.05],
        epoch_loss=[3.0, 1.1],
        val_loss=[3.2, 1.3],
    )
    fig = plot.plot_loss_curve(history, title="toy", save=tmp_path / "curve.png")
    _written(tmp_path / "curve.png")
    d = fig.wengert_data
    np.testing.assert_array_equal(d["steps"], np.arange(1, 7))
    np.testing.assert_array_equal(d["lr"], history.lr)
    np.testing.assert_array_equal(d["epoch_end"], [3, 6])
    assert len(fig.axes) == 2 and fig.axes[0].get_title() == "toy"
    assert fig.axes[1].get_ylabel() == "learning rate η"


def test_descent_steps_follow_the_rule_on_the_parabola(tmp_path):
    # f = w², f' = 2w: each step multiplies w by (1 - 2η), by hand
    fig = plot.plot_descent(w0=-4.0, lr=0.1, steps=5, save=tmp_path / "descent.png")
    _written(tmp_path / "descent.png")
    d = fig.wengert_data
    np.testing.assert_allclose(d["w"], -4.0 * 0.8 ** np.arange(6))
    np.testing.assert_allclose(d["loss"], d["w"] ** 2)


def test_learning_rates_small_right_big(tmp_path):
    fig = plot.plot_learning_rates(steps=6, save=tmp_path / "lr.png")
    _written(tmp_path / "lr.png")
    small, right, big = (abs(w[-1]) for w in fig.wengert_data["w"])
    assert right < small < 4.0 < big  # too big overshoots further every step
    assert len(fig.axes) == 3


@pytest.mark.parametrize("surface", ["valley", "saddle"])
def test_optimizer_paths_end_at_the_optimizers_final_parameters(tmp_path, surface):
    fig = plot.plot_optimizer_paths(surface, steps=15, save=tmp_path / f"{surface}.png")
    _written(tmp_path / f"{surface}.png")
    d = fig.wengert_data
    assert list(d["paths"]) == list(plot.OPTIMIZERS)  # all eight
    f, start = plot.SURFACES[surface][:2]
    for name, path in d["paths"].items():
        np.testing.assert_array_equal(path[0], start)
        assert path.shape == (16, 2), name
        np.testing.assert_allclose(d["losses"][name], f(path[:, 0], path[:, 1]))
    # the last point is the optimizer's own final θ, run here without the plot module
    theta = wg.tensor(np.array(start), requires_grad=True)
    opt = optim.Adam([theta], **plot.OPTIMIZERS["Adam"][1])
    for _ in range(15):
        opt.zero_grad()
        (valley if surface == "valley" else saddle)(theta[0], theta[1]).backward()
        opt.step()
    np.testing.assert_array_equal(d["paths"]["Adam"][-1], theta.data)


def test_sgd_path_on_the_valley_is_the_closed_form():
    # f = 0.05 x² + 2 y²: SGD multiplies x by (1 - 0.1 η) and y by (1 - 4 η) each step
    fig = plot.plot_optimizer_paths("valley", optimizers=["SGD"], steps=10)
    lr = plot.OPTIMIZERS["SGD"][1]["lr"]
    x0, y0 = plot.SURFACES["valley"][1]
    t = np.arange(11)
    expected = np.column_stack([x0 * (1 - 0.1 * lr) ** t, y0 * (1 - 4 * lr) ** t])
    np.testing.assert_allclose(fig.wengert_data["paths"]["SGD"], expected, rtol=1e-12)


def test_margins_of_the_perceptron_and_the_svm(tmp_path):
    fig = plot.plot_margins(save=tmp_path / "margins.png")
    _written(tmp_path / "margins.png")
    d = fig.wengert_data
    X, y = data.blobs(n=60, spread=0.7, seed=0)
    perceptron = classic.Perceptron(seed=0).fit(X, y)
    svm = classic.LinearSVM(C=10.0, epochs=200, seed=0).fit(X, y)
    assert d["perceptron"]["margin"] == pytest.approx(perceptron.geometric_margin(X, y))
    assert d["svm"]["margin"] == pytest.approx(svm.geometric_margin(X, y))
    assert d["svm"]["margin_"] == pytest.approx(svm.margin_)
    assert 0 < d["perceptron"]["margin"] < d["svm"]["margin"]  # the SVM's band is wider
    title = fig.axes[0].get_title()
    assert f"{d['perceptron']['margin']:.2f}" in title and f"{d['svm']['margin']:.2f}" in title


def test_boundary_frames_get_more_accurate(tmp_path):
    fig = plot.plot_boundary_evolution(
        "xor", epochs=60, frames=3, grid=20, save=tmp_path / "xor.png"
    )
    _written(tmp_path / "xor.png")
    d = fig.wengert_data
    np.testing.assert_array_equal(d["epochs"], [0, 30, 60])
    assert d["accuracy"][0] < d["accuracy"][-1] and d["accuracy"][-1] >= 0.9
    assert d["probability"][0].shape == (20, 20)
    assert np.all((d["probability"][-1] >= 0) & (d["probability"][-1] <= 1))


def test_step_size_error_marks_the_best_steps(tmp_path):
    steps = np.logspace(-12, 0, 13)
    fig = plot.plot_step_size_error(x=1.0, steps=steps, save=tmp_path / "v.png")
    _written(tmp_path / "v.png")
    sweep = fig.wengert_data["sweep"]
    np.testing.assert_array_equal(sweep.steps, steps)
    assert sweep.best_forward == steps[np.nanargmin(sweep.forward_errors)]
    assert 1e-10 <= sweep.best_forward <= 1e-6 and 1e-7 <= sweep.best_central <= 1e-3
    assert fig.axes[0].get_xscale() == "log" and fig.axes[0].get_yscale() == "log"


def test_pictures_all_draw_with_no_arguments():
    assert set(plot.PICTURES) == {
        "losses",
        "loss-curve",
        "descent",
        "learning-rates",
        "optimizer-paths",
        "margins",
        "boundary-evolution",
        "step-size-error",
    }
    for name in ("losses", "descent", "learning-rates", "optimizer-paths", "margins"):
        assert plot.PICTURES[name]().wengert_data, name


def test_missing_matplotlib_names_the_extra(monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r"pip install 'wengert\[plot\]'"):
        plot.plot_losses()


BAD = [
    (
        plot.plot_losses,
        {"save": "x.jpg"},
        ValueError,
        r"^plot_losses: save must be a path ending in \.png or \.svg \(the format follows the "
        r"extension\); got '.*x\.jpg'\.$",
    ),
    (
        plot.plot_losses,
        {"save": 3},
        TypeError,
        r"^plot_losses: save must be a path \(str or os\.PathLike\) or None; got 3\.$",
    ),
    (
        plot.plot_losses,
        {"y_hat": [1.0, np.nan]},
        ValueError,
        r"^plot_losses: y_hat must be a 1-D array of at least 2 finite values; "
        r"got \[1\.0, nan\]\.$",
    ),
    (
        plot.plot_loss_curve,
        {"history": 5},
        TypeError,
        r"^plot_loss_curve: history must be a wengert History \(or its as_dict\(\)\); "
        r"got 5, without 'step_loss'\.$",
    ),
    (
        plot.plot_loss_curve,
        {"history": wg.History(step_loss=[1.0], lr=[])},
        ValueError,
        r"^plot_loss_curve: history must be a record of one loss and one lr per step; got 1 "
        r"losses and 0 learning rates\.$",
    ),
    (
        plot.plot_descent,
        {"lr": "big"},
        TypeError,
        r"^plot_descent: lr must be a float; got 'big'\.$",
    ),
    (
        plot.plot_descent,
        {"steps": 0},
        ValueError,
        r"^plot_descent: steps must be an int >= 1; got 0\.$",
    ),
    (
        plot.plot_learning_rates,
        {"lrs": (0.1, 0.2)},
        TypeError,
        r"^plot_learning_rates: lrs must be a tuple of 3 values, each a float; "
        r"got \(0\.1, 0\.2\)\. Pass three",
    ),
    (
        plot.plot_optimizer_paths,
        {"surface": "bowl"},
        ValueError,
        r"^plot_optimizer_paths: surface must be one of 'saddle', 'valley'; got 'bowl'\.$",
    ),
    (
        plot.plot_optimizer_paths,
        {"optimizers": ["Adam", "Lion"]},
        ValueError,
        r"^plot_optimizer_paths: optimizers\[1\] must be one of .*; got 'Lion'\.$",
    ),
    (
        plot.plot_margins,
        {"X": np.zeros((4, 2))},
        ValueError,
        r"^plot_margins: y must be given with X \(both, or neither for the default blobs\); "
        r"got None\.$",
    ),
    (
        plot.plot_margins,
        {"X": np.zeros((4, 3)), "y": [0, 1, 0, 1]},
        ValueError,
        r"^plot_margins: X must be of 2 features, to be drawn; got shape \(4, 3\)\.$",
    ),
    (
        plot.plot_boundary_evolution,
        {"dataset": "moons"},
        ValueError,
        r"^plot_boundary_evolution: dataset must be one of 'circles', 'spirals', 'xor'; "
        r"got 'moons'\.$",
    ),
    (
        plot.plot_boundary_evolution,
        {"frames": 1},
        ValueError,
        r"^plot_boundary_evolution: frames must be an int >= 2; got 1\.$",
    ),
]


@pytest.mark.parametrize(("function", "kwargs", "error", "message"), BAD)
def test_bad_arguments_are_refused(tmp_path, function, kwargs, error, message):
    if isinstance(kwargs.get("save"), str):
        kwargs = kwargs | {"save": tmp_path / kwargs["save"]}
    with pytest.raises(error, match=message):
        function(**kwargs)
    assert not list(tmp_path.iterdir())
