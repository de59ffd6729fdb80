"""wengert plot loss-curve / boundary / learning-rates RUN: pictures of a run that wengert train
wrote, checked against the run's own files; plot_boundary and plot_schedule from Python."""

import csv
import io
import math
import shutil

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from click.testing import CliRunner  # noqa: E402

import wengert.plot  # noqa: E402
from wengert import classic, data  # noqa: E402
from wengert import io as wio  # noqa: E402
from wengert.cli import main  # noqa: E402
from wengert.optim import schedules  # noqa: E402

TRAIN = ["--data", "xor", "--hidden", "4", "--epochs", "3", "--optimizer", "sgd"]
TRAIN += ["--schedule", "inverse_sqrt", "--lr", "0.1", "--batch-size", "32"]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A run directory of 3 epochs of xor, trained by `wengert train`."""
    out = tmp_path_factory.mktemp("runs") / "xor"
    result = run("train", *TRAIN, "--out", out)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def drawn(monkeypatch):
    """The Figures the command draws, by function name (the command imports them when run)."""
    figures = {}
    for name in ("plot_loss_curve", "plot_boundary", "plot_schedule"):
        function = getattr(wengert.plot, name)

        def keep(*args, _function=function, _name=name, **kwargs):
            figures[_name] = _function(*args, **kwargs)
            return figures[_name]

        monkeypatch.setattr(wengert.plot, name, keep)
    return figures


def read_history_csv(path):
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    return {key: [float(row[key]) for row in rows] for key in rows[0]}


def lines(ax):
    return {line.get_label(): np.asarray(line.get_ydata(), float) for line in ax.get_lines()}


def png(path):
    assert path.stat().st_size > 0 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def legend(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


def draw(drawn, function, *args):
    """Run `wengert plot *args --out picture.png` (args[1]'s folder holds it); check the PNG
    and return the command's result and the Figure that `function` drew."""
    out = args[1].parent / f"{args[0]}.png"
    result = run("plot", *args, "--out", out)
    assert result.exit_code == 0, result.output
    png(out)
    return result, drawn[function]


# ----------------------------------------------------------------------- loss-curve
def test_loss_curve_of_a_run_draws_its_history(trained, drawn):
    result, figure = draw(drawn, "plot_loss_curve", "loss-curve", trained)
    assert result.stderr == f"wrote {trained.parent / 'loss-curve.png'}\n"
    top, bottom = figure.axes
    csv_history = read_history_csv(trained / "history.csv")
    saved = wio.load_checkpoint(trained / "model.safetensors").history
    drawn_lines = lines(top)
    np.testing.assert_array_equal(
        drawn_lines["training loss (epoch mean)"], csv_history["epoch_loss"]
    )
    np.testing.assert_array_equal(drawn_lines["validation loss"], csv_history["val_loss"])
    np.testing.assert_array_equal(drawn_lines["batch loss (each step)"], saved.step_loss)
    assert len(saved.step_loss) == 15  # 160 training rows in batches of 32, 3 epochs
    np.testing.assert_array_equal(bottom.get_lines()[0].get_ydata(), saved.lr)
    assert top.get_title() == "Loss curve of the run xor"
    assert (top.get_ylabel(), bottom.get_xlabel(), bottom.get_ylabel()) == (
        "loss",
        "step",
        "learning rate η",
    )
    assert legend(top) == [
        "batch loss (each step)",
        "training loss (epoch mean)",
        "validation loss",
    ]


def diverged_copy(trained, tmp_path, losses, val_losses):
    """A copy of the run whose history.csv holds `losses`, and no model or checkpoint (as a
    run that diverged before its first epoch ended keeps)."""
    copy = tmp_path / "diverged"
    shutil.copytree(trained, copy)
    for name in ("model.safetensors", "checkpoint.safetensors"):
        (copy / name).unlink()
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["epoch", "epoch_loss", "val_loss"])
    for i, (loss, val) in enumerate(zip(losses, val_losses, strict=True)):
        writer.writerow([i + 1, repr(loss), repr(val)])
    (copy / "history.csv").write_text(text.getvalue())
    return copy


def test_a_diverged_run_draws_its_finite_part_and_says_where(trained, drawn, tmp_path):
    run_dir = diverged_copy(
        trained, tmp_path, [0.7, 0.5, math.inf, math.nan], [0.8, 0.6, 2.0, math.inf]
    )
    out = tmp_path / "loss.png"
    result = run("plot", "loss-curve", run_dir, "--out", out)
    assert result.exit_code == 0, result.output
    png(out)
    message = "diverged: the loss is not finite from epoch 3 on"
    assert result.stderr == (
        f"wengert plot: note: the run {message}; the curve shows its finite part\nwrote {out}\n"
    )
    figure = drawn["plot_loss_curve"]
    (ax,) = figure.axes  # epochs alone: no step losses, no learning-rate panel
    drawn_lines = lines(ax)
    np.testing.assert_array_equal(
        drawn_lines["training loss (epoch mean)"], [0.7, 0.5, np.nan, np.nan]
    )
    np.testing.assert_array_equal(drawn_lines["validation loss"], [0.8, 0.6, 2.0, np.nan])
    assert figure.wengert_data["diverged"] == message
    assert ax.get_title() == f"Loss curve of the run diverged\n{message}; finite part shown"
    assert ax.get_xlabel() == "epoch"


def test_a_diverged_run_says_where_its_metrics_say_it_stopped(trained, drawn, tmp_path):
    run_dir = diverged_copy(trained, tmp_path, [0.7, 1e200], [0.8, 1e210])
    reason = "non-finite loss (nan) at epoch 3, step 11"
    (run_dir / "metrics.json").write_text(f'{{"epochs": 2, "stop_reason": "{reason}"}}')
    result = run("plot", "loss-curve", run_dir, "--out", tmp_path / "loss.svg")
    assert result.exit_code == 0, result.output
    assert b"<svg" in (tmp_path / "loss.svg").read_bytes()
    assert drawn["plot_loss_curve"].wengert_data["diverged"] == f"diverged: {reason}"
    assert f"the run diverged: {reason}; the curve shows its finite part" in result.stderr


# ----------------------------------------------------------------------- boundary
def predict_cli(run_dir, points, tmp_path):
    """`wengert predict`'s labels for the rows of `points` (columns x1, x2)."""
    table = tmp_path / "points.csv"
    np.savetxt(table, points, delimiter=",", header="x1,x2", comments="")
    result = run("predict", "--model", run_dir, "--data", table)
    assert result.exit_code == 0, result.output
    return np.array([int(line) for line in result.stdout.split()[1:]])


def test_boundary_of_a_run_matches_its_predictions(trained, drawn, tmp_path):
    _, figure = draw(drawn, "plot_boundary", "boundary", trained)
    d = figure.wengert_data
    xs, ys = d["grid"]
    assert xs.shape == (200, 200)
    rows, cols = [0, 57, 100, 143, 199, 120], [0, 199, 100, 31, 199, 77]
    points = np.column_stack([xs[rows, cols], ys[rows, cols]])
    np.testing.assert_array_equal(
        d["prediction"][rows, cols], predict_cli(trained, points, tmp_path)
    )
    assert set(np.unique(d["prediction"])) == {0, 1}  # the boundary crosses the picture
    X, y = data.xor()
    np.testing.assert_allclose(d["accuracy"], np.mean(predict_cli(trained, X, tmp_path) == y))
    (ax,) = figure.axes
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x1", "x2")
    assert (
        ax.get_title() == f"Decision boundary of the run xor on xor: accuracy {d['accuracy']:.0%}"
    )
    assert legend(ax) == ["decision boundary", "class 0", "class 1"]


def test_boundary_on_a_csv_takes_its_columns_by_name(trained, drawn, tmp_path):
    X, y = data.xor(n=40, seed=5)
    table = tmp_path / "other.csv"
    rows = np.column_stack([X[:, 1], y, X[:, 0]])  # the columns in another order
    np.savetxt(table, rows, delimiter=",", header="x2,y,x1", comments="", fmt="%.17g")
    result = run("plot", "boundary", trained, "--data", table, "--out", tmp_path / "b.png")
    assert result.exit_code == 0, result.output
    d = drawn["plot_boundary"].wengert_data
    assert d["accuracy"] == np.mean(predict_cli(trained, X, tmp_path) == y)
    offsets = np.concatenate(
        [c.get_offsets() for c in drawn["plot_boundary"].axes[0].collections[-2:]]
    )
    np.testing.assert_allclose(np.sort(offsets, axis=0), np.sort(X, axis=0))


# ----------------------------------------------------------------------- learning-rates
def test_learning_rates_of_a_run_are_its_schedule_and_what_it_recorded(trained, drawn):
    _, figure = draw(drawn, "plot_schedule", "learning-rates", trained)
    (ax,) = figure.axes
    schedule = schedules.inverse_sqrt(0.1)
    expected = [schedule(t) for t in range(1, 16)]  # 160 training rows: 5 steps an epoch
    drawn_lines = lines(ax)
    recorded = wio.load_checkpoint(trained / "model.safetensors").history.lr
    np.testing.assert_array_equal(drawn_lines["schedule inverse_sqrt(eta0=0.1)"], expected)
    np.testing.assert_array_equal(drawn_lines["recorded by the run (History.lr)"], recorded)
    np.testing.assert_allclose(recorded, expected, rtol=1e-15)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("step t", "learning rate η_t")
    assert ax.get_title() == "Learning rate of the run xor: sgd, --schedule inverse_sqrt, --lr 0.1"


def test_plot_schedule_draws_the_function_at_each_step(tmp_path):
    figure = wengert.plot.plot_schedule(
        schedules.cosine(0.5, total_steps=20), 20, save=tmp_path / "s.png"
    )
    png(tmp_path / "s.png")
    t = np.arange(1, 21)
    expected = 0.25 * (1 + np.cos(np.pi * (t - 1) / 20))
    np.testing.assert_allclose(figure.wengert_data["lr"], expected, rtol=1e-12)
    np.testing.assert_array_equal(
        figure.axes[0].get_lines()[0].get_ydata(), figure.wengert_data["lr"]
    )
    assert figure.wengert_data["recorded"] is None
    assert wengert.plot.plot_schedule(0.3, 4).wengert_data["lr"].tolist() == [0.3] * 4


# ----------------------------------------------------------------------- from Python
def test_plot_boundary_of_a_classic_model_is_its_predict(tmp_path):
    X, y = data.blobs(n=60, spread=0.7, seed=0)
    model = classic.Perceptron(seed=0).fit(X, y)
    figure = wengert.plot.plot_boundary(model, X, y, resolution=30, save=tmp_path / "p.svg")
    d = figure.wengert_data
    xs, ys = d["grid"]
    grid = np.column_stack([xs.ravel(), ys.ravel()])
    np.testing.assert_array_equal(d["prediction"].ravel(), model.predict(grid))
    assert d["accuracy"] == 1.0 and d["classes"].tolist() == [0, 1]
    assert figure.axes[0].get_title() == "Decision boundary of Perceptron: accuracy 100%"


def test_plot_boundary_of_a_module_labels_by_its_outputs():
    X, y = data.blobs(n=30, seed=1)
    labels = np.array(["cat", "dog"])[y]

    def score(rows):  # one output: the second class where it is > 0
        return rows.data[:, 0] - rows.data[:, 1]

    figure = wengert.plot.plot_boundary(score, X, labels, resolution=10)
    d = figure.wengert_data
    xs, ys = d["grid"]
    expected = np.where(xs - ys > 0, "dog", "cat")
    np.testing.assert_array_equal(d["prediction"], expected)
    assert "class cat" in legend(figure.axes[0]) and "class dog" in legend(figure.axes[0])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: wengert.plot.plot_boundary(classic.Perceptron(), np.zeros((4, 3)), np.zeros(4)),
            ValueError,
            "plot_boundary: X must be of 2 features, to be drawn in the plane; got shape (4, 3). "
            "Pick two columns, or train a model on two features.",
        ),
        (
            lambda: wengert.plot.plot_boundary(5, np.zeros((4, 2)), np.zeros(4)),
            TypeError,
            "plot_boundary: model must be a model with predict(X), or a wengert Module or "
            "function of X; got 5.",
        ),
        (
            lambda: wengert.plot.plot_boundary(classic.Perceptron(), np.zeros((4, 2)), [0, 1]),
            ValueError,
            "plot_boundary: y must be one label per row of X, shape (4,); got (2,).",
        ),
        (
            lambda: wengert.plot.plot_schedule("fast", 3),
            TypeError,
            "plot_schedule: schedule must be a schedule (a function of the step t) or a number; "
            "got 'fast'.",
        ),
    ],
)
def test_python_refusals(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert str(info.value) == message


# ----------------------------------------------------------------------- refusals
@pytest.fixture(scope="module")
def refusable(trained, tmp_path_factory):
    """Directories that are not runs, or runs that some picture cannot draw."""
    root = tmp_path_factory.mktemp("refusable")
    (root / "file.txt").write_text("x")
    (root / "empty").mkdir()
    (root / "foreign").mkdir()
    (root / "foreign" / "config.json").write_text('{"epochs": 3}')
    shutil.copytree(trained, root / "unfinished")
    (root / "unfinished" / "history.csv").unlink()
    shutil.copytree(trained, root / "nomodel")
    (root / "nomodel" / "model.safetensors").unlink()
    for name, args in (("iris", ["--data", "iris"]), ("table", ["--data", "seed_table"])):
        result = run("train", *args, "--epochs", 1, "--hidden", 2, "--out", root / name)
        assert result.exit_code == 0, result.output
    return root


REFUSALS = [
    (["loss-curve", "{root}/missing"], "RUN: no such directory: {root}/missing"),
    (["loss-curve", "{root}/file.txt"], "RUN: {root}/file.txt is a file, not a run directory"),
    (
        ["boundary", "{root}/empty"],
        "RUN: {root}/empty is not a wengert run (no config.json from wengert train)",
    ),
    (
        ["learning-rates", "{root}/foreign"],
        'RUN: {root}/foreign is not a wengert run (its config.json has no "wengert_run" marker)',
    ),
    (
        ["loss-curve", "{root}/unfinished"],
        "RUN: {root}/unfinished has no history.csv; a run writes it when training ends (finish "
        "this one with: wengert resume {root}/unfinished)",
    ),
    (
        ["boundary", "{root}/nomodel"],
        "RUN: {root}/nomodel has no trained model (model.safetensors); a run that diverged keeps "
        "none. Train it again with a smaller --lr",
    ),
    (
        ["boundary", "{root}/iris"],
        "RUN: boundary draws a model of 2 features in the plane; {root}/iris's takes 4 (x1, x2, "
        "x3, x4). Train on two feature columns to see a boundary, or draw its loss curve "
        "instead: wengert plot loss-curve {root}/iris --out FILE",
    ),
    (
        ["boundary", "{root}/table"],
        "RUN: {root}/table's model predicts values (regression), which have no decision "
        "boundary; draw its loss curve instead: wengert plot loss-curve {root}/table --out FILE",
    ),
    (
        ["losses", "{root}/empty"],
        "'losses' does not draw a run; with RUN, NAME is one of: boundary, learning-rates, "
        "loss-curve",
    ),
    (
        ["boundary"],
        "boundary needs RUN, a directory written by wengert train: wengert plot boundary RUN "
        "--out FILE",
    ),
    (
        ["losses", "--data", "x.csv"],
        "--data is for `wengert plot boundary RUN`; got it with losses",
    ),
    (
        ["loss-curve", "{trained}", "--data", "xor"],
        "--data is for `wengert plot boundary RUN`; got it with loss-curve",
    ),
]


@pytest.mark.parametrize(("args", "message"), REFUSALS)
def test_refusals_are_one_line_exit_2_and_write_nothing(
    refusable, trained, tmp_path, args, message
):
    out = tmp_path / "picture.png"
    fill = {"root": refusable, "trained": trained}
    result = run("plot", *[a.format(**fill) for a in args], "--out", out)
    assert result.exit_code == 2, result.output
    assert result.stderr == f"wengert plot: error: {message.format(**fill)}\n"
    assert not out.exists()


def test_boundary_refuses_data_without_the_models_columns(trained, tmp_path):
    table = tmp_path / "wrong.csv"
    table.write_text("a,x2,y\n0.1,0.2,0\n0.3,0.4,1\n")
    out = tmp_path / "b.png"
    result = run("plot", "boundary", trained, "--data", table, "--out", out)
    assert result.exit_code == 2
    assert result.stderr == (
        f"wengert plot: error: --data: {table} has no column 'x1', which the model takes; its "
        "feature columns are: a, x2\n"
    )
    assert not out.exists()


def test_out_must_be_png_or_svg(trained, tmp_path):
    result = run("plot", "loss-curve", trained, "--out", tmp_path / "loss.jpg")
    assert result.exit_code == 2
    assert result.stderr == (
        f"wengert plot: error: --out must be a path ending in .png or .svg; got "
        f"'{tmp_path / 'loss.jpg'}'\n"
    )
    assert not (tmp_path / "loss.jpg").exists()


def test_the_canned_pictures_still_draw_without_run(tmp_path):
    result = run("plot", "losses", "--out", tmp_path / "losses.png")
    assert result.exit_code == 0, result.output
    png(tmp_path / "losses.png")
