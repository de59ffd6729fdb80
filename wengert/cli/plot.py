"""`wengert plot NAME --out FILE`: the lecture's pictures, from wengert.plot.PICTURES; and
`wengert plot NAME RUN --out FILE`: pictures of a run directory written by `wengert train`.

A run's pictures read what the run wrote: config.json (its settings), history.csv (the loss of
each epoch), metrics.json (why it stopped), and the History kept in model.safetensors, or in
checkpoint.safetensors for a run that diverged (the loss and learning rate of each step).
Every refusal comes before anything is drawn: a refused command writes nothing.
"""

from __future__ import annotations

import csv
import json
import math
import os
from typing import TYPE_CHECKING

import click
import numpy as np

from wengert.cli.boundary import UserError, boundary, check_file

if TYPE_CHECKING:
    from wengert.train import History

__all__ = ["RUN_PICTURES", "plot", "read_run_config", "read_run_history"]

# The pictures of a run, by NAME: what each draws, for the help.
RUN_PICTURES = {
    "boundary": "the trained model's decision regions on its data (or --data CSV), 2 features",
    "learning-rates": "the run's learning-rate schedule over its steps, beside the rates used",
    "loss-curve": "the training and validation loss of each epoch, and of each step",
}
HISTORY_FILE = "history.csv"
CHECKPOINT_FILE = "checkpoint.safetensors"


def _pictures() -> dict | None:
    try:
        from wengert import plot as plots
    except ImportError:
        return None
    return getattr(plots, "PICTURES", None)


def _help() -> str:
    pictures = _pictures()
    names = ", ".join(sorted(pictures)) if pictures else "(wengert.plot is not available yet)"
    runs = "; ".join(f"{name}: {what}" for name, what in RUN_PICTURES.items())
    return (
        f"Draw one of the lecture's pictures to FILE. NAME is one of: {names}.\n\n"
        f"With RUN, a directory written by wengert train, draw that run instead. NAME is one "
        f"of {runs}."
    )


class _PlotCommand(click.Command):
    # The names come from wengert.plot, which imports matplotlib: only when help is shown.
    def format_help_text(self, ctx, formatter) -> None:
        self.help = _help()
        super().format_help_text(ctx, formatter)


@click.command(
    cls=_PlotCommand,
    short_help="Draw one of the lecture's pictures, or a run's, to a file.",
    epilog="\b\nExamples:\n  wengert plot optimizer-paths --out paths.png\n"
    "  wengert plot loss-curve runs/xor --out loss.png\n"
    "  wengert plot boundary runs/xor --data points.csv --out boundary.svg\n"
    "  wengert plot learning-rates runs/xor --out lr.png",
)
@click.argument("name")
@click.argument("run", required=False)
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help="The image: FILE.png or .svg."
)
@click.option("--data", help="boundary RUN: the data to draw (a CSV file or a bundled set).")
@boundary("plot")
def plot(name: str, run: str | None, out: str, data: str | None) -> None:
    """`wengert plot`: draw the picture NAME of wengert.plot.PICTURES to the file `out`, or
    with `run`, the picture NAME of that run directory (see RUN_PICTURES)."""
    if run is not None or name == "boundary":
        _plot_run(name, run, out, data)
        click.echo(f"wrote {out}", err=True)
        return
    if data is not None:
        raise UserError("plot", f"--data is for `wengert plot boundary RUN`; got it with {name}")
    pictures = _pictures()
    if not pictures:
        raise UserError("plot", "the pictures (wengert.plot.PICTURES) are not available yet")
    if name not in pictures:
        known = ", ".join(sorted(pictures))
        raise UserError("plot", f"unknown picture {name!r}; the pictures are: {known}")
    pictures[name](save=out)
    click.echo(f"wrote {out}", err=True)


def _plot_run(name: str, run: str | None, out: str, data: str | None) -> None:
    """Check the arguments of a run's picture, then draw it to `out`."""
    known = ", ".join(RUN_PICTURES)
    if name not in RUN_PICTURES:
        raise UserError("plot", f"{name!r} does not draw a run; with RUN, NAME is one of: {known}")
    if run is None:
        raise UserError(
            "plot", f"{name} needs RUN, a directory written by wengert train: "
            f"wengert plot {name} RUN --out FILE"
        )  # fmt: skip
    if data is not None and name != "boundary":
        raise UserError("plot", f"--data is for `wengert plot boundary RUN`; got it with {name}")
    if os.path.splitext(out)[1].lower() not in (".png", ".svg"):
        raise UserError("plot", f"--out must be a path ending in .png or .svg; got {out!r}")
    draw = {"boundary": _draw_boundary, "learning-rates": _draw_schedule}
    draw.get(name, _draw_loss_curve)(run, out, data)


def read_run_config(run: str) -> dict:
    """The settings in RUN/config.json (without its marker); ValueError naming RUN when `run`
    is not a directory that wengert train wrote."""
    if not os.path.exists(run):
        raise ValueError(f"RUN: no such directory: {run}")
    if not os.path.isdir(run):
        raise ValueError(f"RUN: {run} is a file, not a run directory")
    path = os.path.join(run, "config.json")
    not_a_run = f"RUN: {run} is not a wengert run (no config.json from wengert train)"
    if not os.path.isfile(path):
        raise ValueError(not_a_run)
    try:
        with open(path, encoding="utf-8") as file:
            config = json.load(file)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"RUN: {path} is damaged ({exc}); train the run again") from None
    if not isinstance(config, dict) or config.get("wengert_run") != 1:
        raise ValueError(
            f'RUN: {run} is not a wengert run (its config.json has no "wengert_run" marker)'
        )
    return {k: v for k, v in config.items() if k != "wengert_run"}


def read_run_history(run: str) -> History:
    """The History of the run in `run`: each epoch's series from history.csv, each step's loss
    and learning rate from the History saved with the model (or the checkpoint) when it covers
    the same epochs, and metrics.json's stop_reason."""
    from wengert.train import History

    path = os.path.join(run, HISTORY_FILE)
    if not os.path.isfile(path):
        raise ValueError(
            f"RUN: {run} has no {HISTORY_FILE}; a run writes it when training ends (finish "
            f"this one with: wengert resume {run})"
        )
    series = _read_series(path)
    saved = _saved_history(run)
    steps = {}
    if saved is not None and saved.epochs == len(series["loss"]) and saved.step_loss:
        steps = {"step_loss": saved.step_loss, "lr": saved.lr}
    return History(series, **steps, stop_reason=_stop_reason(run))


def _read_series(path: str) -> dict[str, list[float]]:
    """history.csv's columns as History.history's series ("epoch_loss" is "loss")."""
    try:
        with open(path, encoding="utf-8", newline="") as file:
            rows = list(csv.reader(file))
        header, body = rows[0], rows[1:]
        columns = {name: [float(row[i]) for row in body] for i, name in enumerate(header)}
    except (IndexError, ValueError, UnicodeDecodeError):
        raise ValueError(
            f"RUN: {path} is damaged (expected a header and one row of numbers per epoch); "
            "train the run again"
        ) from None
    if "epoch_loss" not in columns:
        raise ValueError(f"RUN: {path} has no epoch_loss column; it was not written by train")
    columns.pop("epoch", None)
    return {("loss" if k == "epoch_loss" else k): v for k, v in columns.items()}


def _saved_history(run: str) -> History | None:
    """The History saved in the run's model file, or else its checkpoint; None if neither is
    there or readable."""
    from wengert import io

    for name in ("model.safetensors", CHECKPOINT_FILE):
        path = os.path.join(run, name)
        if os.path.isfile(path):
            try:
                return io.load_checkpoint(path).history
            except (ValueError, TypeError, KeyError, OSError):
                continue
    return None


def _stop_reason(run: str) -> str:
    try:
        with open(os.path.join(run, "metrics.json"), encoding="utf-8") as file:
            reason = json.load(file).get("stop_reason", "")
    except (OSError, ValueError, AttributeError):
        return ""
    return reason if isinstance(reason, str) else ""


def _draw_loss_curve(run: str, out: str, data: str | None) -> None:
    from wengert.plot import plot_loss_curve

    read_run_config(run)
    history = read_run_history(run)
    name = os.path.basename(os.path.normpath(run))
    figure = plot_loss_curve(history, title=f"Loss curve of the run {name}", save=out)
    if figure.wengert_data["diverged"]:
        message = f"the run {figure.wengert_data['diverged']}; the curve shows its finite part"
        click.echo(f"wengert plot: note: {message}", err=True)


def _draw_schedule(run: str, out: str, data: str | None) -> None:
    from wengert.cli.runs import prepare
    from wengert.plot import plot_schedule

    config = read_run_config(run)
    saved = _saved_history(run)
    try:
        prepared = prepare(config)  # the optimizer and its schedule, as training built them
    except KeyError as exc:
        raise ValueError(
            f"RUN: {run}'s config.json lacks the setting {exc.args[0]!r}, which this version of "
            "wengert train writes; train the run again"
        ) from None
    schedule = prepared.optimizer.param_groups[0]["lr"]
    per_epoch = math.ceil(len(prepared.train[1]) / config["batch_size"])
    title = (
        f"Learning rate of the run {os.path.basename(os.path.normpath(run))}: "
        f"{config['optimizer']}, --schedule {config['schedule']}, --lr {config['lr']:g}"
    )
    recorded = saved.lr if saved is not None and saved.lr else None
    plot_schedule(
        schedule,
        per_epoch * config["epochs"],
        recorded=recorded,
        steps_per_epoch=per_epoch,
        title=title,
        save=out,
    )


class _RunModel:
    """A run's model as predict() sees it: standardized inputs, outputs mapped to labels."""

    def __init__(self, model, info: dict) -> None:
        self.model, self.info = model, info

    def predict(self, X: np.ndarray) -> np.ndarray:
        from wengert.autodiff.mode import no_grad
        from wengert.cli.runs import predictions

        mean, std = np.asarray(self.info["mean"]), np.asarray(self.info["std"])
        with no_grad(), np.errstate(over="ignore", invalid="ignore"):
            outputs = self.model((X - mean) / std).numpy()
        return predictions(self.info, outputs)


def _draw_boundary(run: str, out: str, data: str | None) -> None:
    from wengert import io
    from wengert.cli.predict import check_info
    from wengert.cli.runs import MODEL_FILE
    from wengert.plot import plot_boundary

    config = read_run_config(run)
    path = os.path.join(run, MODEL_FILE)
    if not os.path.isfile(path):
        raise ValueError(
            f"RUN: {run} has no trained model ({MODEL_FILE}); a run that diverged keeps none. "
            "Train it again with a smaller --lr"
        )
    info, model = io.load_metadata(path), io.load(path)
    check_info(info, model, path)
    _check_drawable(run, info)
    X, y = _boundary_data(run, config, info, data)
    name = os.path.basename(os.path.normpath(run))
    title = f"Decision boundary of the run {name} on {data or config['data']}"
    names = tuple(info["features"])
    plot_boundary(_RunModel(model, info), X, y, feature_names=names, title=title, save=out)


def _check_drawable(run: str, info: dict) -> None:
    """Refuse a model whose boundary has no picture in the plane: a regression, or a model
    of other than 2 features."""
    instead = f"draw its loss curve instead: wengert plot loss-curve {run} --out FILE"
    if info["label_map"] == "value":
        raise ValueError(
            f"RUN: {run}'s model predicts values (regression), which have no decision "
            f"boundary; {instead}"
        )
    features = info["features"]
    if len(features) != 2:
        raise ValueError(
            f"RUN: boundary draws a model of 2 features in the plane; {run}'s takes "
            f"{len(features)} ({', '.join(features)}). Train on two feature columns to see "
            f"a boundary, or {instead}"
        )


def _boundary_data(run: str, config: dict, info: dict, data: str | None):
    """X (the model's features, in its order) and y of --data, or of the run's own data."""
    from wengert.cli.runs import DATASETS, load_data

    spec = config["data"] if data is None else data
    if data is None and spec not in DATASETS and not os.path.isfile(spec):
        raise ValueError(
            f"RUN: {run} was trained on {spec}, which is not found from here; give the data "
            "with --data CSV"
        )
    if data is not None and spec not in DATASETS:
        check_file("--data", spec)
    target = config["target"] if data is None else info["target_name"]
    X, y, names, _ = load_data(spec, None if spec in DATASETS else target)
    missing = [f for f in info["features"] if f not in names]
    if missing:
        raise ValueError(
            f"--data: {spec} has no column {', '.join(map(repr, missing))}, which the model "
            f"takes; its feature columns are: {', '.join(names)}"
        )
    return X[:, [names.index(f) for f in info["features"]]], y
