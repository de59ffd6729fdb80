"""`wengert train` and `wengert resume`: runs written to a directory.

A run directory holds config.json (the arguments, so that `resume` can rebuild everything, and
the marker `"wengert_run": 1`), history.csv, metrics.json, loss.png (with matplotlib), the
model file model.safetensors (wengert.io.save; its metadata holds the standardization and the
labels, for `predict`) and fit's checkpoint.safetensors (for `resume`).
"""

from __future__ import annotations

import csv
import inspect
import json
import os
import shutil

import click

from wengert.cli.boundary import UserError, boundary
from wengert.cli.runs import (
    DATASETS,
    LOSSES,
    MODELS,
    OPTIMIZERS,
    SCHEDULES,
    accuracy_metric,
    prepare,
    read_json,
    run_info,
)

__all__ = ["resume", "train"]

MODEL_FILE = "model.safetensors"


@click.command(
    epilog="\b\nExamples:\n  wengert train --data xor --model mlp --hidden 8 --lr 0.1 "
    "--epochs 50 --out runs/xor\n  wengert train --data table.csv --target price --model lms "
    "--out runs/price",
    help="Train a model and write the run to --out: the model, history.csv, metrics.json, "
    "config.json and a plot of the loss. Bundled datasets: " + ", ".join(DATASETS) + ".",
)
@click.option("--data", required=True, help="A bundled dataset's name or a CSV file.")
@click.option("--target", help="The CSV column to predict (name or index; default: the last).")
@click.option("--model", default="mlp", show_default=True, help="One of " + ", ".join(MODELS))
@click.option("--hidden", default="64", show_default=True, help="MLP hidden sizes: 64,64.")
@click.option("--activation", default="relu", show_default=True)
@click.option("--loss", help="One of " + ", ".join(LOSSES) + " (default: per model and task).")
@click.option("--optimizer", default="adam", show_default=True, help=", ".join(OPTIMIZERS))
@click.option("--lr", type=float, default=0.01, show_default=True)
@click.option("--schedule", default="constant", show_default=True, help=", ".join(SCHEDULES))
@click.option("--momentum", type=float, default=0.0, show_default=True, help="For sgd.")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--epochs", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--val-split", type=float, default=0.2, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Run directory.")
@click.option("--force", is_flag=True, help="Write into --out even if it is not a wengert run.")
@boundary("train")
def train(out: str, force: bool, **config) -> None:
    _check_out(out, force)
    run = prepare(config)
    created = not os.path.exists(out)
    try:
        history = _train(run, config, config["epochs"], out, resume=False)
    except (ValueError, TypeError, KeyError):
        if created and os.path.isdir(out):  # fit refused the data: leave nothing behind
            shutil.rmtree(out)
        raise
    _write_run(out, config, run, history)


@click.command(
    epilog="\b\nExample:\n  wengert resume runs/xor --epochs 20",
    help="Continue the run in DIR for --epochs more epochs, from its last checkpoint.",
)
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--epochs", type=click.IntRange(min=1), required=True)
@boundary("resume")
def resume(directory: str, epochs: int) -> None:
    if "checkpoint_dir" not in inspect.signature(_fit()).parameters:
        raise UserError("resume", "resuming needs wengert.io checkpoints, not available yet")
    config = _run_config(directory)
    run = prepare(config)
    total = config["epochs"] + epochs
    history = _train(run, config, total, directory, resume=True)
    config["epochs"] = total
    _write_run(directory, config, run, history)


def _fit():
    from wengert.train import fit

    return fit


def _train(run, config: dict, epochs: int, out: str, resume: bool):
    fit = _fit()
    extra = {}
    if "checkpoint_dir" in inspect.signature(fit).parameters:
        extra = {"checkpoint_dir": out, "resume": resume}
    metrics = [accuracy_metric(run.label_map)] if run.classes is not None else []
    return fit(
        run.model,
        run.loss,
        run.optimizer,
        run.train,
        epochs=epochs,
        val_data=run.val,
        batch_size=config["batch_size"],
        seed=config["seed"],
        metrics=metrics,
        **extra,
    )


def _is_run(directory: str) -> bool:
    try:
        return read_json(os.path.join(directory, "config.json")).get("wengert_run") == 1
    except (OSError, ValueError, AttributeError):
        return False


def _check_out(out: str, force: bool) -> None:
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"--out: {out} exists and is not a directory")
    if os.path.isdir(out) and os.listdir(out) and not _is_run(out) and not force:
        raise ValueError(
            f"--out: {out} exists and is not a wengert run (no config.json); pass --force to "
            "write into it anyway"
        )


def _run_config(directory: str) -> dict:
    if not _is_run(directory):
        raise ValueError(f"{directory} is not a wengert run (no config.json from wengert train)")
    config = read_json(os.path.join(directory, "config.json"))
    return {k: v for k, v in config.items() if k != "wengert_run"}


def _final_metrics(history) -> dict:
    final = {"epochs": history.epochs, "loss": history.epoch_loss[-1]}
    if history.val_loss:
        final["val_loss"] = history.val_loss[-1]
    final |= {k: v[-1] for k, v in history.metrics.items() if v}
    if history.stop_reason:
        final["stop_reason"] = history.stop_reason
    return final


def _write_run(out: str, config: dict, run, history) -> None:
    os.makedirs(out, exist_ok=True)
    _write_json(os.path.join(out, "config.json"), {"wengert_run": 1, **config})
    final = _final_metrics(history)
    _write_json(os.path.join(out, "metrics.json"), final)
    _write_history(os.path.join(out, "history.csv"), history)
    _save_model(out, run, history, config)
    _plot_loss(os.path.join(out, "loss.png"), history)
    for key, value in final.items():
        click.echo(f"{key}: {value:.6g}" if isinstance(value, float) else f"{key}: {value}")


def _write_json(path: str, value: dict) -> None:
    with open(path, "w", encoding="utf-8") as file:
        json.dump(value, file, indent=2, sort_keys=True, allow_nan=True)
        file.write("\n")


def _write_history(path: str, history) -> None:
    columns = {"epoch_loss": history.epoch_loss, "val_loss": history.val_loss} | history.metrics
    columns = {k: v for k, v in columns.items() if v}
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["epoch", *columns])
        for i in range(history.epochs):
            writer.writerow([i + 1, *(repr(float(v[i])) for v in columns.values())])


def _save_model(out: str, run, history, config: dict) -> None:
    try:
        from wengert import io
    except ImportError:
        click.echo("model file not written: wengert.io is not available yet", err=True)
        return
    info = run_info(run) | {"target": config["target"]}
    path = os.path.join(out, MODEL_FILE)
    io.save(run.model, path, optimizer=run.optimizer, history=history, **info)


def _plot_loss(path: str, history) -> None:
    try:
        from wengert.plot import plot_loss_curve

        plot_loss_curve(history, title="training loss", save=path)
    except ImportError:  # no matplotlib: the numbers are in history.csv
        click.echo("loss.png not drawn: matplotlib is not installed", err=True)
