"""Requests that run at once, in the server's thread pool, give the numbers of requests in turn."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("starlette", reason="the playground extra (Starlette) is not installed")
httpx = pytest.importorskip("httpx", reason="the test client needs httpx")

from wengert.playground.server import create_app  # noqa: E402

CONFIG = {"dataset": "xor", "hidden": [8, 8], "seed": 3, "batch_size": 4, "learning_rate": 0.05}


async def _session(concurrent: bool) -> list[dict]:
    """Two runs: 8 requests of 25 steps each, with boundaries and traces asked for meanwhile;
    at once (gathered) or one after the other. The runs' weights at the end."""
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        ids = [(await client.post("/api/runs", json=CONFIG)).json()["id"] for _ in range(2)]
        requests = []
        for _ in range(8):
            for key in ids:
                requests.append(("post", f"/api/runs/{key}/step", {"steps": 25}))
                requests.append(("get", f"/api/runs/{key}/boundary?resolution=30", None))
                requests.append(("get", f"/api/runs/{key}/trace?x=0.5&y=-0.5", None))

        async def send(method: str, url: str, body: dict | None) -> httpx.Response:
            if method == "post":
                return await client.post(url, json=body)
            return await client.get(url)

        if concurrent:
            answers = await asyncio.gather(*(send(*r) for r in requests))
        else:
            answers = [await send(*r) for r in requests]
        assert [a.status_code for a in answers] == [200] * len(requests)
        return [(await client.get(f"/api/runs/{key}/weights")).json() for key in ids]


def test_requests_at_once_train_as_requests_in_turn():
    in_turn = asyncio.run(_session(concurrent=False))
    at_once = asyncio.run(_session(concurrent=True))
    assert in_turn[0] == in_turn[1]  # the same config and seed
    assert at_once == in_turn
