"""`wengert train` and `wengert resume`: runs written to a directory.

A run directory holds config.json (the arguments, so that `resume` can rebuild everything, and
the marker `"wengert_run": 1`), history.csv, metrics.json, loss.png (with matplotlib), the
model file model.safetensors (wengert.io.save; its metadata holds the standardization and the
labels, for `predict`) and fit's checkpoint.safetensors (for `resume`), written after each epoch.

config.json is written first, once fit has accepted the data and before the first step, so a
run killed at any moment can be resumed; every file is written atomically (wengert.io's
atomic_write), so a kill leaves each one whole, old or new. A refused run leaves nothing behind:
every refusal comes before the first write. A run whose loss, a gradient or a weight turns NaN
or infinite stops, writes its history and metrics (no model file), keeps the checkpoint of its
last good epoch and exits with status 3 and one line saying where and what.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import warnings

import click

from wengert.classic import NoMistakes
from wengert.cli.boundary import UserError, boundary
from wengert.cli.models import (
    CHOICES,
    EXAMPLES,
    MODEL_HELP,
    check_distributed,
    check_moved,
    diverged,
    rule_defaults,
    summary,
    weights,
)
from wengert.cli.ranks import join_ranks, others_stop_with_this
from wengert.cli.run_files import plot_loss, remove, write_history, write_json
from wengert.cli.runs import (
    DATA_HELP,
    DATASETS,
    LOSSES,
    MODEL_FILE,
    OPTIMIZERS,
    SCHEDULES,
    accuracy_metric,
    prepare,
    read_json,
    run_info,
)
from wengert.io import atomic_write
from wengert.train import NonFiniteLossWarning, fit

__all__ = ["resume", "train"]

CHECKPOINT_FILE = "checkpoint.safetensors"
CONFIG_FILE = "config.json"
# An option given no default: None before click 8.3, its UNSET marker since.
_NO_DEFAULT = (None, getattr(click.core, "UNSET", None))
# Options of `wengert train` that are not the run's settings (config.json leaves them out).
NOT_SETTINGS = ("out", "force", "distributed")
DISTRIBUTED_HELP = (
    "Train data-parallel over MPI: run under mpiexec -n K (needs wengert[mpi]); each batch is "
    "split over the K processes, rank 0 alone writes and prints."
)
# What a run writes besides its config: removed when `train` starts a run afresh in DIR.
OUTPUTS = (CHECKPOINT_FILE, MODEL_FILE, "metrics.json", "history.csv", "loss.png")


class Diverged(UserError):
    """Training reached a non-finite loss, gradient or weight: one line as for bad input
    (`wengert <command>: error: ...`), but exit status 3."""

    exit_code = 3


@click.command(
    epilog=EXAMPLES,
    help="Train a model and write the run to --out: the model, history.csv, metrics.json, "
    "config.json and a plot of the loss. Bundled datasets: " + ", ".join(DATASETS) + ". "
    "Exit status 2: bad input (nothing written); 3: training diverged.",
)
@click.option("--data", required=True, help=DATA_HELP)
@click.option("--target", help="The CSV column to predict (name or index; default: the last).")
@click.option(
    "--model", default="mlp", show_default=True, help=", ".join(CHOICES) + ". " + MODEL_HELP
)
@click.option("--hidden", default="64", show_default=True, help="MLP hidden sizes: 64,64.")
@click.option("--activation", default="relu", show_default=True)
@click.option("--bias/--no-bias", default=True, help="--no-bias: no b, y = w·x (every layer).")
@click.option(
    "--standardize/--no-standardize",
    default=True,
    help="--no-standardize: the inputs as given, not scaled to mean 0 and sd 1.",
)
@click.option("--loss", help="One of " + ", ".join(LOSSES) + " (default: per model and task).")
@click.option("--optimizer", default="adam", show_default=True, help=", ".join(OPTIMIZERS))
@click.option("--lr", type=float, default=0.01, show_default=True)
@click.option("--schedule", default="constant", show_default=True, help=", ".join(SCHEDULES))
@click.option("--momentum", type=float, default=0.0, show_default=True, help="For sgd.")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option(
    "--shuffle/--no-shuffle", default=True, help="--no-shuffle: each epoch in the data's order."
)
@click.option("--epochs", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--val-split", type=float, default=0.2, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--out", required=True, type=click.Path(), help="Run directory.")
@click.option("--force", is_flag=True, help="Write into --out even if it is not a wengert run.")
@click.option("--distributed", is_flag=True, help=DISTRIBUTED_HELP)
@boundary("train")
def train(out: str, force: bool, distributed: bool, **config: object) -> None:
    """`wengert train`: train the configured model and write the run directory `out`."""
    check_distributed(distributed, config)  # the same on every rank: refused before MPI
    writer = join_ranks(distributed) == 0
    with others_stop_with_this(distributed):
        _check_out(out, force)
        config = rule_defaults(config, click.get_current_context())
        run = _prepare(config)
    initial = run.model.state_dict()
    created = not os.path.exists(out)
    try:
        start = _Start(out, config, fresh=True, writer=writer)
        history = _train(run, config, out, start, distributed=distributed)
    except (ValueError, TypeError, KeyError, MemoryError):
        if writer and created and os.path.isdir(out):  # fit refused the data: leave nothing
            shutil.rmtree(out)
        raise
    _finish("train", out, config, run, history, initial, writer)


@click.command(
    epilog="\b\nExamples:\n  wengert resume runs/xor            (finish a run that was "
    "killed)\n  wengert resume runs/xor --epochs 20 (train 20 epochs more)",
    help="Continue the run in DIR from its last checkpoint: to the epochs it was asked for "
    "(a run that was killed), or --epochs more than that.",
)
@click.argument("directory", type=click.Path())
@click.option("--epochs", type=click.IntRange(min=1), help="Epochs to add to the run's own.")
@click.option(
    "--other-data",
    is_flag=True,
    help="Continue although the training data differs from the data the run was trained on "
    "(the CSV file changed).",
)
@click.option("--distributed", is_flag=True, help=DISTRIBUTED_HELP)
@boundary("resume")
def resume(directory: str, epochs: int | None, other_data: bool, distributed: bool) -> None:
    """`wengert resume`: continue the run in `directory` from its last checkpoint."""
    writer = join_ranks(distributed) == 0
    with others_stop_with_this(distributed):
        config = _resumed_config(directory, epochs)
        check_distributed(distributed, config)
        run = _prepare(config)
    initial = run.model.state_dict()  # the run's first weights: its config rebuilds them
    config_path = os.path.join(directory, CONFIG_FILE)
    with open(config_path, "rb") as file:
        original = file.read()
    try:
        start = _Start(directory, config, fresh=False, writer=writer)
        history = _train(run, config, directory, start, other_data, distributed)
    except (ValueError, TypeError, KeyError) as exc:  # refused: the checkpoint does not fit
        with open(config_path, "rb") as file:
            if writer and file.read() != original:  # the new --epochs was written: undo it
                atomic_write(config_path, original)
        if "resume_other_data" in str(exc):
            raise ValueError(_other_data_hint(str(exc))) from exc
        raise
    _finish("resume", directory, config, run, history, initial, writer)


def _resumed_config(directory: str, epochs: int | None) -> dict:
    """The config of the run in `directory`, with `epochs` more (refused for a cosine
    schedule, which ends at the run's own last epoch)."""
    saved = _run_config(directory)
    config = dict(saved)
    if epochs is not None:
        if saved["schedule"] == "cosine":
            raise ValueError(
                f"--epochs: this run's cosine schedule ends at epoch {saved['epochs']}, where "
                f"its learning rate reaches 0; resume it without --epochs, or train anew"
            )
        config["epochs"] = saved["epochs"] + epochs
    return config


def _other_data_hint(message: str) -> str:
    """fit's refusal to resume on other data, its closing hint (the argument of fit) replaced
    by the command line's own (--other-data)."""
    closing = re.compile(r"[^.]*\bresume_other_data\b[^.]*\.?\s*$")
    return (
        closing.sub("", message).rstrip()
        + " Resume with the data the run was trained on, or pass --other-data to continue on "
        "this data anyway"
    )


def _prepare(config: dict):
    """The Run of `config`, with every check that could refuse it made now, before any write."""
    run = prepare(config)
    try:  # the model file's metadata must be JSON: refuse now, not after training
        json.dumps(run_info(run) | {"target": config["target"]}, allow_nan=False)
    except ValueError:
        raise ValueError(
            "--data: the columns' mean or standard deviation is not a finite number (values "
            "too large to standardise); rescale the data"
        ) from None
    return run


class _Start:
    """fit's first callback: once fit has accepted the data, and before the first step, make
    DIR a run (its config written first), removing what an earlier run there had written."""

    def __init__(self, directory: str, config: dict, fresh: bool, writer: bool = True) -> None:
        self.directory, self.config, self.fresh = directory, config, fresh
        self.writer = writer  # with --distributed, rank 0 alone writes

    def on_train_begin(self, run) -> None:
        if not self.writer:
            return
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, CONFIG_FILE)
        if self.fresh:
            for name in OUTPUTS:
                remove(os.path.join(self.directory, name))
        elif _is_run(self.directory) and _run_config(self.directory) == self.config:
            return
        write_json(path, {"wengert_run": 1, **self.config})


def _train(run, config: dict, out: str, start: _Start, other_data: bool = False, distributed=False):
    metrics = [accuracy_metric(run.label_map)] if run.classes is not None else []
    rule = [NoMistakes()] if config["model"] == "rosenblatt" else []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonFiniteLossWarning)  # reported as one line instead
        return fit(
            run.model,
            run.loss,
            run.optimizer,
            run.train,
            epochs=config["epochs"],
            val_data=run.val,
            batch_size=config["batch_size"],
            shuffle=config["shuffle"],
            seed=config["seed"],
            metrics=metrics,
            callbacks=[start, *rule],
            checkpoint_dir=out,
            resume=not start.fresh,
            resume_other_data=other_data,
            distributed=distributed,
        )


def _is_run(directory: str) -> bool:
    return _config_problem(directory) is None


def _config_problem(directory: str) -> tuple[str, str] | None:
    """What keeps DIR/config.json from being a run's config, as (kind, what): kind "missing",
    "damaged" (what: how) or "foreign" (a JSON file of something else); None for a run's."""
    path = os.path.join(directory, CONFIG_FILE)
    if not os.path.isfile(path):
        return "missing", "no config.json"
    try:
        config = read_json(path)
    except json.JSONDecodeError as exc:
        return "damaged", f"is not valid JSON (line {exc.lineno}, column {exc.colno})"
    except UnicodeDecodeError:
        return "damaged", "is not UTF-8 text"
    except OSError as exc:
        return "damaged", f"cannot be read ({exc.strerror})"
    if not isinstance(config, dict) or config.get("wengert_run") != 1:
        return "foreign", 'has no "wengert_run" marker'
    config = _with_flags(config)
    # What rebuilds the run: every option of `wengert train` but where it writes.
    settings = [p for p in train.params if p.name not in NOT_SETTINGS]
    missing = [p.name for p in settings if p.name not in config]
    if missing:
        return "damaged", f"lacks the setting{'s' * (len(missing) > 1)} {', '.join(missing)}"
    return next(filter(None, (_setting_problem(p, config[p.name]) for p in settings)), None)


def _setting_problem(param: click.Option, value: object) -> tuple[str, str] | None:
    """Why config.json's `value` is not what `wengert train` stores for the option `param`:
    a string, a number, an int in the option's range, or null for an optional option."""
    if value is None:
        ok = not param.required and param.default in _NO_DEFAULT
        expected = "a string"
    elif isinstance(param.type, click.IntRange):
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= param.type.min
        expected = f"an int >= {param.type.min}"
    elif isinstance(param.type, click.types.BoolParamType):
        ok, expected = isinstance(value, bool), "true or false"
    elif param.type is click.FLOAT:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        expected = "a number"
    else:
        ok, expected = isinstance(value, str), "a string"
    return None if ok else ("damaged", f"has {param.name}={json.dumps(value)}, not {expected}")


def _check_out(out: str, force: bool) -> None:
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"--out: {out} exists and is not a directory")
    if not os.path.isdir(out) or not os.listdir(out) or force:
        return
    problem = _config_problem(out)
    if problem is not None:
        kind, what = problem
        why = what if kind == "missing" else f"its config.json {what}"
        raise ValueError(
            f"--out: {out} exists and is not a wengert run ({why}); pass --force to write into "
            "it anyway"
        )


def _run_config(directory: str) -> dict:
    if not os.path.exists(directory):
        raise ValueError(f"DIRECTORY: no such directory: {directory}")
    if not os.path.isdir(directory):
        raise ValueError(f"DIRECTORY: {directory} is a file, not a run directory")
    problem = _config_problem(directory)
    if problem is not None:
        raise ValueError(_not_a_run(directory, *problem))
    config = _with_flags(read_json(os.path.join(directory, CONFIG_FILE)))
    return {k: v for k, v in config.items() if k != "wengert_run"}


def _with_flags(config: dict) -> dict:
    """A run's config with the flags added after it was written (--no-bias, --no-standardize,
    --no-shuffle) at their defaults, as it was trained."""
    flags = (p for p in train.params if p.is_flag and p.name not in NOT_SETTINGS)
    return {p.name: p.default for p in flags} | config


def _not_a_run(directory: str, kind: str, what: str) -> str:
    if kind == "missing":
        return f"{directory} is not a wengert run (no config.json from wengert train)"
    if kind == "foreign":
        return f"{directory} is not a wengert run: config.json {what}"
    return (
        f"{os.path.join(directory, CONFIG_FILE)} {what}: the file is damaged; restore it, or "
        f"start the run anew with wengert train ... --out {directory} --force"
    )


def _final_metrics(history) -> dict:
    final = {"epochs": history.epochs}
    final |= {k: v[-1] for k, v in history.history.items() if v}
    if history.stop_reason:
        final["stop_reason"] = history.stop_reason
    return final


def _finish(
    command: str, out: str, config: dict, run, history, initial: dict, writer: bool = True
) -> None:
    """Write the run's files; a diverged run then exits with status 3 and one line, and a run
    whose weights never moved from `initial` warns. Ranks other than 0 (`writer` false) write
    and print nothing; a diverged run exits with status 3 there too."""
    if not writer:
        if history.nonfinite is not None:
            raise SystemExit(Diverged.exit_code)
        return
    final = _final_metrics(history)
    write_json(os.path.join(out, "metrics.json"), final)
    write_history(os.path.join(out, "history.csv"), history)
    if history.nonfinite is None:
        _save_model(out, run, config, history)
    else:  # no trained model to predict with; an earlier run's would mislead
        remove(os.path.join(out, MODEL_FILE))
    plot_loss(os.path.join(out, "loss.png"), history)
    if history.nonfinite is not None:
        raise Diverged(
            command, diverged(history.nonfinite, os.path.join(out, CHECKPOINT_FILE), config["lr"])
        )
    check_moved(initial, run.model, history.epochs, config)
    for line in summary(config, run):
        click.echo(line)
    for key, value in final.items():
        click.echo(f"{key}: {value:.6g}" if isinstance(value, float) else f"{key}: {value}")
    for line in weights(run.model):
        click.echo(line)


def _save_model(out: str, run, config: dict, history) -> None:
    from wengert import io as wio

    info = run_info(run) | {"target": config["target"]}
    path = os.path.join(out, MODEL_FILE)
    wio.save(run.model, path, optimizer=run.optimizer, history=history, **info)
