"""The playground's web app: the page's static files and the JSON API under /api.

    POST   /api/runs                    a JSON config -> 201 {"id", "config"} (422 names a field)
    POST   /api/runs/{id}/step          {"steps": n} -> step, epoch, losses, accuracies, diverged
    GET    /api/runs/{id}/boundary      ?resolution=r -> an r × r grid of decision values, points
    GET    /api/runs/{id}/trace         ?x=…&y=…[&label=…] -> the Wengert list of that point's loss
    GET    /api/runs/{id}/weights       the weight matrix and bias of each layer
    GET    /api/runs/{id}/history       the curves so far
    GET    /api/runs/{id}/live          ?steps=n&frames=k: server-sent events, a state a frame
    DELETE /api/runs/{id}               -> 204
    GET    /api/options                 what the page's menus offer, the defaults and the limits
    GET    /api/paths                   ?surface=…&optimizers=…&lr=…&steps=… optimizer paths

Errors are JSON, {"error": message} (and "field" for a bad field): 400 for a body that is not
JSON, 422 for a bad field, 404 for an unknown run, 429 for a request over a limit.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from wengert.nn import ACTIVATIONS
from wengert.optim.sgd import MOMENTUM_FORMS
from wengert.playground import config as configs
from wengert.playground import limits, surfaces
from wengert.playground.config import ConfigError
from wengert.playground.limits import LimitError, RateBucket, RunStore
from wengert.playground.run import Run
from wengert.plot.paths import OPTIMIZERS as PATH_OPTIMIZERS
from wengert.plot.paths import SURFACES

__all__ = ["STATIC", "create_app"]

STATIC = Path(__file__).parent / "static"


def _clean(value: object) -> object:
    """JSON has no NaN or infinity: they become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


class CleanJSON(JSONResponse):
    """A JSON response whose non-finite numbers are written as null."""

    def render(self, content: object) -> bytes:
        """The content as UTF-8 JSON, NaN and infinities as null."""
        text = json.dumps(_clean(content), ensure_ascii=False, allow_nan=False)
        return text.encode("utf-8")


def _error(status: int, message: str, field: str | None = None) -> CleanJSON:
    body = {"error": message} if field is None else {"error": message, "field": field}
    return CleanJSON(body, status_code=status)


class _Entry:
    """A live run, its step budget, and the lock that lets one request at a time work on it
    (requests run in a thread pool: a boundary asked for while steps are taken waits for them)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.bucket = RateBucket(limits.STEPS_PER_SECOND, limits.MAX_STEPS_PER_REQUEST)
        self.lock = threading.Lock()

    async def call(self, method: Callable[..., dict], *args: object) -> dict:
        """`method(*args)` in the thread pool, alone on this run."""

        def alone() -> dict:
            with self.lock:
                return method(*args)

        return await run_in_threadpool(alone)


def _entry(request: Request) -> _Entry:
    key = request.path_params["run_id"]
    entry = request.app.state.runs.get(key)
    if entry is None:
        idle = limits.IDLE_SECONDS
        message = (
            f"playground: no run has id {key!r}; it was deleted, expired after {idle} s idle, "
            "or never made. Make one with POST /api/runs."
        )
        raise HTTPException(404, message)
    return entry


async def _body(request: Request) -> object:
    try:
        return await request.json()
    except ValueError:
        raise HTTPException(400, "playground: the request body must be JSON.") from None


def _int_param(request: Request, name: str, default: int | None, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None and default is not None:
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        value = None
    if value is None or not low <= value <= high:
        message = f"playground: {name} must be an int in [{low}, {high}]; got {raw!r}."
        raise ConfigError(name, message)
    return value


def _float_param(request: Request, name: str, required: bool = True) -> float | None:
    raw = request.query_params.get(name)
    if raw is None and not required:
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value):
        raise ConfigError(name, f"playground: {name} must be a finite number; got {raw!r}.")
    return value


async def create_run(request: Request) -> Response:
    """POST /api/runs: a run of the config, 201 with its id and full config."""
    config = configs.validate(await _body(request))
    run = await run_in_threadpool(Run, config)
    key = request.app.state.runs.add(_Entry(run))
    return CleanJSON({"id": key, "config": config}, status_code=201)


async def step_run(request: Request) -> Response:
    """POST /api/runs/{id}/step: {"steps": n} optimizer steps, then the counters and losses."""
    entry = _entry(request)
    body = await _body(request)
    steps = body.get("steps", 1) if isinstance(body, dict) else None
    most = limits.MAX_STEPS_PER_REQUEST
    if isinstance(steps, bool) or not isinstance(steps, int) or not 0 <= steps <= most:
        message = (
            f"playground: steps must be an int in [0, {most}] (the limit per request); "
            f"got {steps!r}."
        )
        raise ConfigError("steps", message)
    entry.bucket.take(steps)
    return CleanJSON(await entry.call(entry.run.step, steps))


async def boundary(request: Request) -> Response:
    """GET /api/runs/{id}/boundary?resolution=r."""
    entry = _entry(request)
    resolution = _int_param(request, "resolution", 50, 2, limits.MAX_RESOLUTION)
    return CleanJSON(await entry.call(entry.run.boundary, resolution))


async def trace(request: Request) -> Response:
    """GET /api/runs/{id}/trace?x=…&y=…: the Wengert list of that point's loss."""
    entry = _entry(request)
    x, y = _float_param(request, "x"), _float_param(request, "y")
    label = _float_param(request, "label", required=False)
    if label is not None and label not in (0.0, 1.0) and not entry.run.data.regression:
        raise ConfigError("label", f"playground: label must be 0 or 1; got {label:g}.")
    return CleanJSON(await entry.call(entry.run.trace, x, y, label))


async def weights(request: Request) -> Response:
    """GET /api/runs/{id}/weights (in the thread pool: while the run steps, it waits there,
    not on the event loop, which goes on serving the other runs)."""
    entry = _entry(request)
    return CleanJSON(await entry.call(entry.run.weights))


async def history(request: Request) -> Response:
    """GET /api/runs/{id}/history (in the thread pool, as weights)."""
    entry = _entry(request)
    return CleanJSON(await entry.call(entry.run.history))


async def live(request: Request) -> Response:
    """GET /api/runs/{id}/live?steps=n&frames=k: the run trained for k frames of n steps, each
    frame's state sent as a server-sent event ("state"), then "done"; it waits for the step
    budget instead of refusing, and stops when the run diverges, the page goes away or the
    run is deleted. Each frame counts as a use of the run, so that it does not expire idle
    while it streams."""
    entry = _entry(request)
    steps = _int_param(request, "steps", 10, 1, limits.MAX_STEPS_PER_REQUEST)
    frames = _int_param(request, "frames", 100, 1, 10_000)
    return StreamingResponse(_frames(request, entry, steps, frames), media_type="text/event-stream")


async def _frames(request: Request, entry: _Entry, steps: int, frames: int) -> AsyncIterator[str]:
    key, runs = request.path_params["run_id"], request.app.state.runs
    for _ in range(frames):
        if await request.is_disconnected():
            return
        if runs.get(key) is not entry:  # deleted (or expired): no more steps on it
            break
        while True:
            try:
                entry.bucket.take(steps)
                break
            except LimitError:
                await asyncio.sleep(steps / limits.STEPS_PER_SECOND)
        state = await entry.call(entry.run.step, steps)
        yield f"event: state\ndata: {json.dumps(_clean(state))}\n\n"
        if state["diverged"]:
            break
    yield "event: done\ndata: {}\n\n"


async def delete_run(request: Request) -> Response:
    """DELETE /api/runs/{id}: 204, or 404 for an unknown id."""
    _entry(request)
    request.app.state.runs.remove(request.path_params["run_id"])
    return Response(status_code=204)


async def options(request: Request) -> Response:
    """GET /api/options: the menus' choices, each dataset's defaults and the limits."""
    return CleanJSON(
        {
            "datasets": list(configs.DATASETS),
            "features": [{"name": k, "label": v} for k, v in configs.FEATURES.items()],
            "losses": list(configs.LOSSES),
            "optimizers": list(configs.OPTIMIZERS),
            "momentum_forms": list(MOMENTUM_FORMS),
            "schedules": list(configs.SCHEDULES),
            "activations": [a for a in ACTIVATIONS if a not in ("sign", "step")],
            "surfaces": list(SURFACES),
            "path_optimizers": list(PATH_OPTIMIZERS),
            "defaults": {name: configs.defaults(name) for name in configs.DATASETS},
            "limits": limits.limits_json(),
        }
    )


async def paths(request: Request) -> Response:
    """GET /api/paths?surface=…&optimizers=…&lr=…&steps=…: paths on a lecture surface."""
    surface = request.query_params.get("surface", "valley")
    names = request.query_params.get("optimizers")
    lr = _float_param(request, "lr", required=False)
    steps = _int_param(request, "steps", 60, 1, limits.MAX_PATH_STEPS)
    return CleanJSON(await run_in_threadpool(surfaces.paths, surface, names, lr, steps))


async def index(request: Request) -> Response:
    """GET /: the page."""
    page = request.app.state.static / "index.html"
    if not page.is_file():
        raise HTTPException(404, "playground: the page (static/index.html) is not installed.")
    return FileResponse(page)


async def _config_error(request: Request, exc: Exception) -> Response:
    return _error(422, str(exc), exc.field)


async def _limit_error(request: Request, exc: Exception) -> Response:
    return _error(429, str(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    return _error(exc.status_code, exc.detail)


def create_app(static: Path = STATIC, store: RunStore | None = None) -> Starlette:
    """The playground's app: the page from `static` and the JSON API over `store`'s runs."""
    run = "/api/runs/{run_id}"
    routes = [
        Route("/", index),
        Route("/api/options", options),
        Route("/api/paths", paths),
        Route("/api/runs", create_run, methods=["POST"]),
        Route(run, delete_run, methods=["DELETE"]),
        Route(run + "/step", step_run, methods=["POST"]),
        Route(run + "/boundary", boundary),
        Route(run + "/trace", trace),
        Route(run + "/weights", weights),
        Route(run + "/history", history),
        Route(run + "/live", live),
        Mount("/static", StaticFiles(directory=static, check_dir=False)),
        Mount("/", StaticFiles(directory=static, check_dir=False)),
    ]
    handlers = {ConfigError: _config_error, LimitError: _limit_error, HTTPException: _http_error}
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.state.runs = RunStore() if store is None else store
    app.state.static = Path(static)
    return app
