"""Where the points of `wengert sweep` run: in this process, in joblib's local processes
(loky), on a Dask cluster as futures of its client, or on Ray as Ray tasks (which reuse the
worker processes Ray keeps, where joblib's "ray" backend starts a pool of actors each time).
On Dask and Ray each point's result is fetched on its own, so a worker that dies fails its
point only.

Each point is `run_point`: `wengert train`'s own command, called in the worker with the
point's arguments and its output captured, so a point's run directory is the one that command
typed by hand writes. The run directories are written by the workers: on a cluster of several
machines DIR must be on a filesystem they share.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import click

__all__ = ["BACKENDS", "METRICS", "connect", "failed_row", "run_point"]

BACKENDS = ("local", "dask", "ray")
CONNECT_TIMEOUT_S = 5.0
# One point at a time in a process: the redirected stdout and stderr and the warning filters
# belong to the whole process, so a worker's threads take turns.
_ONE_RUN = threading.Lock()
# The metrics a summary row takes from a run's metrics.json, in its order.
METRICS = ("loss", "val_loss", "accuracy", "val_accuracy", "epochs")


def run_point(args: list[str], directory: str) -> dict:
    """Run `wengert train ARGS --out DIRECTORY` here, its output captured; returns the row of
    the summary: status ("ok", "diverged" or "error"), message, seconds and the final metrics
    (those of metrics.json; NaN where the run wrote none)."""
    with _ONE_RUN:
        started = time.perf_counter()
        status, message = _train(args, directory)
        seconds = time.perf_counter() - started
    row = {"status": status, "message": " ".join(message.split()), "seconds": seconds}
    return row | _metrics(directory)


def _train(args: list[str], directory: str) -> tuple[str, str]:
    from wengert.cli.train import train

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            train.main([*args, "--out", directory], "wengert train", standalone_mode=False)
        except click.ClickException as exc:
            return ("diverged" if exc.exit_code == 3 else "error"), exc.format_message()
        except click.Abort:  # interrupted: the sweep stops
            raise
        except Exception as exc:  # a point's failure is its row, never the sweep's end
            return "error", f"{type(exc).__name__}: {exc}"
    return "ok", ""


def _metrics(directory: str) -> dict:
    path = os.path.join(directory, "metrics.json")
    found = {}
    with contextlib.suppress(OSError, ValueError), open(path, encoding="utf-8") as file:
        found = json.load(file)
    return {key: found.get(key, math.nan) for key in METRICS}


Jobs = list[tuple[list[str], str]]  # each point's (arguments of wengert train, directory)


@contextlib.contextmanager
def connect(backend: str, address: str | None, jobs: int) -> Iterator[Callable[[Jobs], list]]:
    """Inside: a function that runs each (args, directory) of a list through run_point on
    `backend` and returns their rows, in order; a cluster or Ray instance started here is
    closed on the way out (one found running is left as it was)."""
    if backend == "local":
        if address is not None:
            raise ValueError("--address: only for --backend dask or ray; got --backend local")
        yield _sequential if jobs == 1 else functools.partial(_joblib, "loky", jobs)
    elif backend == "dask":
        with _dask(address, jobs) as client:
            yield functools.partial(_dask_futures, client)
    else:
        with _ray(address, jobs):
            yield _ray_tasks


@contextlib.contextmanager
def _dask(address: str | None, jobs: int) -> Iterator[object]:
    distributed = _need("distributed", "dask", "dask")
    if address is not None:
        _check_answers(address)
        with distributed.Client(address, timeout=CONNECT_TIMEOUT_S * 2) as client:
            yield client
        return
    cluster = distributed.LocalCluster(
        n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with cluster, distributed.Client(cluster) as client:
        yield client


@contextlib.contextmanager
def _ray(address: str | None, jobs: int) -> Iterator[None]:
    ray = _need("ray", "ray", "ray")
    if address is not None and address != "auto":
        _check_answers(address)
    if ray.is_initialized():  # the calling program's own connection: used, and left open
        yield
        return
    quiet = {"logging_level": logging.WARNING, "log_to_driver": False}
    if address is None:
        ray.init(num_cpus=jobs, include_dashboard=False, **quiet)
    else:
        ray.init(address=address, **quiet)
    try:
        yield
    finally:
        ray.shutdown()


def _need(module: str, extra: str, backend: str):
    try:
        return __import__(module)
    except ImportError as exc:
        raise ImportError(
            f"--backend {backend} needs {module}, which is not installed: "
            f"pip install 'wengert[{extra}]'"
        ) from exc


def _check_answers(address: str) -> None:
    """Refuse, within CONNECT_TIMEOUT_S, an address where nothing accepts a connection or
    where the connection stays silent: a Dask scheduler sends its handshake and a Ray cluster
    (gRPC) its HTTP/2 settings as soon as a connection opens, before the client says anything,
    whereas their clients would wait on a silent port for minutes."""
    host, port = _host_port(address)
    timeout = CONNECT_TIMEOUT_S
    try:
        connection = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        why = "no connection" if isinstance(exc, TimeoutError) else exc.strerror or str(exc)
    except UnicodeError:  # a host name that IDNA cannot encode: a label of over 63 characters
        raise ValueError(f"--address must name a host that can exist; got {address!r}") from None
    else:
        with connection:
            why = _first_word(connection)
    if why is not None:
        raise ValueError(
            f"--address: nothing answers at {address} ({why} within {timeout:g} s); start the "
            "scheduler there, or leave --address out to start a local one"
        )


def _first_word(connection: socket.socket) -> str | None:
    """None once the other side has sent something; else what happened instead."""
    try:
        return None if connection.recv(1) else "the connection was closed at once"
    except TimeoutError:
        return "a connection opened, but nothing was said on it"
    except OSError as exc:
        return exc.strerror or str(exc)


def _host_port(address: str) -> tuple[str, int]:
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None:
        raise ValueError(f"--address must be HOST:PORT (or SCHEME://HOST:PORT); got {address!r}")
    return parts.hostname, port


def _sequential(jobs: Jobs) -> list[dict]:
    return [run_point(args, directory) for args, directory in jobs]


def _joblib(backend: str, n_jobs: int, jobs: Jobs) -> list[dict]:
    import joblib

    call: Callable = joblib.delayed(run_point)
    with joblib.parallel_config(backend=backend, n_jobs=n_jobs):
        return list(joblib.Parallel()(call(args, directory) for args, directory in jobs))


def _dask_futures(client, jobs: Jobs) -> list[dict]:
    args, directories = [a for a, _ in jobs], [d for _, d in jobs]
    futures = client.map(run_point, args, directories, pure=False)
    return [_outcome(future.result) for future in futures]


def _ray_tasks(jobs: Jobs) -> list[dict]:
    import ray

    task = ray.remote(num_cpus=1, max_retries=0)(run_point)
    refs = [task.remote(args, directory) for args, directory in jobs]
    return [_outcome(functools.partial(ray.get, ref)) for ref in refs]


def _outcome(result: Callable[[], dict]) -> dict:
    """A point's row as its worker returned it, or an error row where the worker failed (the
    process died, the cluster lost it): the other points go on."""
    try:
        return result()
    except Exception as exc:
        return failed_row(f"its worker failed: {type(exc).__name__}: {exc}")


def failed_row(message: str, seconds: float = math.nan) -> dict:
    """The summary row of a point that gave no result of its own: status error, `message`."""
    row = {"status": "error", "message": " ".join(message.split()), "seconds": seconds}
    return row | dict.fromkeys(METRICS, math.nan)
