"""`wengert sweep GRID --out DIR`: one `wengert train` run per point of a grid, and a summary.

Each point's run directory, DIR/000-lr=0.01-hidden=8 and so on, is a normal run (config.json,
model.safetensors, history.csv, metrics.json: `wengert predict --model` and `wengert resume`
work on it), written by `wengert train`'s own code in the worker, so it equals that command
typed by hand. DIR/summary.csv holds one row per point, best first by validation loss (then
training loss): its name, the options the grid varies (headed as typed: --lr), its final
metrics, seconds, status and message; the same table is printed. The grid file is read by
wengert.cli.sweep_grid.
"""

from __future__ import annotations

import csv
import io
import math
import os

import click

from wengert.autodiff.render import text_table
from wengert.cli.boundary import UserError, boundary
from wengert.cli.sweep_backends import BACKENDS, METRICS, connect, failed_row
from wengert.cli.sweep_grid import Point, command_line, flag, points, read_grid
from wengert.cli.train import train
from wengert.io import atomic_write

__all__ = ["sweep"]

SUMMARY_FILE = "summary.csv"
STATUS = ("status", "seconds", "message")

EPILOG = """\b
Example (grid.yaml):
  train: {data: xor, model: mlp, epochs: 20}
  grid: {lr: [0.01, 0.1], hidden: ["8", "16"]}
\b
  wengert sweep grid.yaml --out sweeps/xor
  wengert sweep grid.yaml --out sweeps/xor --backend dask --address tcp://10.0.0.5:8786
"""


class PointsFailed(UserError):
    """Some points diverged or failed: one line, exit status 1, after the summary."""

    exit_code = 1


@click.command(
    epilog=EPILOG,
    help="Train one run per point of the grid in GRID (a YAML or JSON file: the `train` "
    "options of every point and the `grid` of options to vary), each in DIR/<point>, and "
    "write DIR/summary.csv, best first by validation loss. --backend local runs the points in "
    "this process (--jobs 1) or in --jobs local processes; dask on the scheduler at --address "
    "or a local cluster of --jobs workers; ray on the cluster at --address or a local instance "
    "of --jobs CPUs. Exit status 0: every point trained; 1: some point diverged or was "
    "refused (see the summary's status and message); 2: bad input (nothing written).",
)
@click.argument("grid_file", metavar="GRID", type=click.Path())
@click.option(
    "--out",
    required=True,
    type=click.Path(),
    metavar="DIR",
    help="The sweep's directory, new or empty: a run directory per point, and summary.csv. A "
    "sweep never writes over an earlier one's points: to run a grid again, give a new DIR.",
)
@click.option("--backend", type=click.Choice(BACKENDS), default="local", show_default=True)
@click.option("--address", help="The cluster's scheduler (dask) or head (ray), HOST:PORT.")
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Local processes, local Dask workers or local Ray CPUs (at most one per point).",
)
@boundary("sweep")
def sweep(grid_file: str, out: str, backend: str, address: str | None, jobs: int) -> None:
    """`wengert sweep`: every point of the grid trained, and their summary written and shown."""
    fixed, grid = read_grid(grid_file, train)
    grid_points = points(fixed, grid)
    _check_out(out)
    calls = {p.index: _arguments(p, out) for p in grid_points}
    runnable = [call for call in calls.values() if isinstance(call, tuple)]
    # Never more local workers than points: each is a process started whether it works or not.
    with connect(backend, address, min(jobs, max(1, len(runnable)))) as run_all:
        _make_out(out)
        results = iter(run_all(runnable))
    rows = [
        _row(
            p,
            next(results) if isinstance(calls[p.index], tuple) else failed_row(calls[p.index], 0.0),
        )
        for p in grid_points
    ]
    rows = _ranked(rows)
    columns = ["point", *map(flag, grid), *_present(rows), *STATUS]
    atomic_write(os.path.join(out, SUMMARY_FILE), _csv(rows, columns).encode("utf-8"))
    for line in _table(rows, columns):
        click.echo(line)
    failed = [row for row in rows if row["status"] != "ok"]
    if failed:
        raise PointsFailed(
            "sweep",
            f"{len(failed)} of {len(rows)} points did not train ({failed[0]['point']}: "
            f"{failed[0]['status']}); see {os.path.join(out, SUMMARY_FILE)}",
        )


def _arguments(point: Point, out: str) -> tuple[list[str], str] | str:
    """The point's `wengert train` arguments and its directory (absolute, as are --data files
    named relative to here: the workers may run elsewhere), or why its options are refused."""
    options = dict(point.options)
    data = options.get("data")
    if isinstance(data, str) and os.path.isfile(data) and not os.path.isabs(data):
        options["data"] = os.path.abspath(data)
    try:
        args = command_line(options, train)
    except ValueError as exc:
        return str(exc)
    return args, os.path.abspath(os.path.join(out, point.name))


def _check_out(out: str) -> None:
    """Refuse an --out that is not a new or empty directory that this process can make and
    write in (a sweep never writes over an earlier sweep's points: run it again elsewhere)."""
    if not out.strip():
        raise ValueError(f"--out must be a directory's path; got {out!r}")
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"--out: {out} exists and is not a directory")
    if os.path.isdir(out) and os.listdir(out):
        raise ValueError(f"--out: {out} is not empty; give a new or empty directory")
    parent = os.path.abspath(out)
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise ValueError(f"--out: {out} cannot be made: {parent} is a file, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"--out: {out} cannot be made: {parent} is not writable")


def _make_out(out: str) -> None:
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"--out: {out} cannot be made: {exc.strerror or exc}") from None


def _row(point: Point, result: dict) -> dict:
    """The point's summary row: its name, the options it varied (as typed, --lr, apart from
    the results: --epochs asked for, epochs run), and the results."""
    return {"point": point.name, **{flag(k): v for k, v in point.varied.items()}, **result}


def _ranked(rows: list[dict]) -> list[dict]:
    """Best first: the points that trained, by validation loss, then training loss."""

    def key(row: dict) -> tuple:  # sorted is stable: ties keep the grid's order
        losses = [row[k] if math.isfinite(row[k]) else math.inf for k in ("val_loss", "loss")]
        return (row["status"] != "ok", *losses)

    return sorted(rows, key=key)


def _present(rows: list[dict]) -> list[str]:
    """The metrics some row has (accuracy only for classifiers, val_loss only with a split)."""
    return [k for k in METRICS if any(not _missing(row[k]) for row in rows)]


def _missing(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _cell(value: object, printed: bool) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if _missing(value):
            return ""
        return f"{value:.6g}" if printed else repr(value)
    return str(value)


def _csv(rows: list[dict], columns: list[str]) -> str:
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row[c], printed=False) for c in columns])
    return text.getvalue()


def _table(rows: list[dict], columns: list[str]) -> list[str]:
    return text_table([columns] + [[_cell(row[c], printed=True) for c in columns] for row in rows])
