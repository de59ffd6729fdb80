"""The playground under concurrent use: a request that waits for a stepping run does not hold
up the other runs, and a live stream stops on a deleted run and keeps its own run alive."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest

pytest.importorskip("starlette", reason="the playground extra (Starlette) is not installed")
httpx = pytest.importorskip("httpx", reason="the test client needs httpx")

from wengert.playground.limits import RunStore  # noqa: E402
from wengert.playground.server import create_app  # noqa: E402

CONFIG = {"dataset": "xor", "hidden": [4], "seed": 3, "batch_size": 4, "learning_rate": 0.05}


def _client(app):
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@pytest.mark.parametrize("reader", ["weights", "history"])
def test_reading_a_stepping_run_waits_off_the_event_loop(reader):
    async def session():
        app = create_app()
        async with _client(app) as client:
            key = (await client.post("/api/runs", json=CONFIG)).json()["id"]
            run = app.state.runs.get(key).run
            started, gate, original = threading.Event(), threading.Event(), run.step

            def held(n):  # a long step: the run's lock is held until the gate opens
                with run.lock:
                    started.set()
                    gate.wait(5)
                return original(n)

            run.step = held
            stepping = asyncio.create_task(client.post(f"/api/runs/{key}/step", json={"steps": 3}))
            while not started.is_set():
                await asyncio.sleep(0.01)
            start = time.monotonic()
            reading = asyncio.create_task(client.get(f"/api/runs/{key}/{reader}"))
            await asyncio.sleep(0.05)
            options = await client.get("/api/options")  # served while the run steps
            waited = time.monotonic() - start
            gate.set()
            stepped, read = await stepping, await reading
            return waited, [options.status_code, stepped.status_code], read.json()

    waited, statuses, read = asyncio.run(session())
    assert waited < 1
    assert statuses == [200, 200]
    if "step" in read:  # the history, read after the step that held it up
        assert read["step"] == [3]


def _live(app, client, key, frames):
    return client.get(f"/api/runs/{key}/live", params={"steps": 2, "frames": frames})


def _states(text):
    events = [block.split("\n") for block in text.strip().split("\n\n")]
    assert events[-1][0] == "event: done"
    return [json.loads(e[1].removeprefix("data: "))["step"] for e in events[:-1]]


def test_a_live_stream_stops_once_its_run_is_deleted():
    async def session():
        app = create_app()
        async with _client(app) as client:
            key = (await client.post("/api/runs", json=CONFIG)).json()["id"]
            run = app.state.runs.get(key).run
            original = run.step

            def deleting(n):  # the second frame's step: a DELETE comes meanwhile
                state = original(n)
                if state["step"] == 4:
                    app.state.runs.remove(key)
                return state

            run.step = deleting
            reply = await _live(app, client, key, 50)
            return reply.status_code, _states(reply.text)

    status, steps = asyncio.run(session())
    assert status == 200
    assert steps == [2, 4]  # not 48 more frames of a run that no longer exists


def test_a_live_stream_keeps_its_run_from_expiring_idle():
    now = [0.0]

    async def session():
        app = create_app(store=RunStore(idle_seconds=10, clock=lambda: now[0]))
        async with _client(app) as client:
            key = (await client.post("/api/runs", json=CONFIG)).json()["id"]
            run = app.state.runs.get(key).run
            original = run.step

            def slow(n):  # each frame takes 6 s of the store's clock
                now[0] += 6
                return original(n)

            run.step = slow
            reply = await _live(app, client, key, 5)
            weights = await client.get(f"/api/runs/{key}/weights")
            return _states(reply.text), weights.status_code

    steps, status = asyncio.run(session())
    assert steps == [2, 4, 6, 8, 10]
    assert status == 200  # used 6 s ago, by the stream's last frame
