"""The pipelined posts of a replay (ConnectionPoster.post_many) against a management API that fails: whatever it
answers, every frame is delivered (a frame retried after a 5xx may arrive after the ones behind it, which the
client orders by seq), and frames after a 410 are not sent."""
from __future__ import annotations

import asyncio
import json
import threading

import pytest
from aiohttp import web

from order_engine.ports import PostResult
from order_engine.adapters.aws.management_api import ConnectionPoster


class FlakyManagementApi:
    """`POST /local/@connections/{id}` that records each frame and answers what `script` says for the n-th request
    (200 once it runs out); "drop" closes the connection without an answer."""

    def __init__(self, script: dict[int, int | str]):
        self.script, self.requests, self.received = script, 0, []
        self.loop = asyncio.new_event_loop()
        self.started = threading.Event()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        answer = self.script.get(self.requests, 200)
        body = await request.read()
        if answer == "drop":
            request.transport.close()
            return web.Response(status=200)
        if answer == 200:
            self.received.append(json.loads(body)["seq"])
        return web.Response(status=answer)

    def start(self) -> str:
        app = web.Application()
        app.router.add_post("/local/@connections/{connection_id}", self.handle)
        runner = web.AppRunner(app)

        def serve() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            self.loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001 - the port the OS chose
            self.started.set()
            self.loop.run_forever()

        threading.Thread(target=serve, daemon=True).start()
        assert self.started.wait(10)
        return f"http://127.0.0.1:{self.port}/local"

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")


FRAMES = [{"type": "status", "seq": seq} for seq in range(1, 7)]


@pytest.mark.parametrize("script", [{3: 500}, {4: "drop"}, {1: "drop"}], ids=["a 500", "a dropped connection", "a stale connection"])
def test_frames_after_a_failure_are_sent_again_in_order_and_all_arrive(script):
    api = FlakyManagementApi(script)
    poster = ConnectionPoster(api.start())
    try:
        results = poster.post_many("conn", FRAMES)
        again = poster.post_many("conn", FRAMES)  # the connection after the failure is usable
    finally:
        api.stop()
    assert results == [PostResult.DELIVERED] * 6 and again == [PostResult.DELIVERED] * 6
    first = api.received[:len(api.received) - 6]
    assert sorted(set(first)) == list(range(1, 7))  # every frame arrived; a frame sent twice is dropped by seq
    failed_at = next(n for n in script)  # the frames before the failure arrived first, in order
    assert first[:failed_at - 1] == list(range(1, failed_at))
    assert api.received[-6:] == list(range(1, 7))


def test_nothing_is_sent_after_a_gone_connection():
    api = FlakyManagementApi({2: 410})
    poster = ConnectionPoster(api.start())
    try:
        results = poster.post_many("conn", FRAMES)
    finally:
        api.stop()
    assert results == [PostResult.DELIVERED, PostResult.GONE]
    # the frames behind the gone one may already be on the wire (one pipelined write), but none is sent again
    assert api.received[0] == 1 and len(api.received) == len(set(api.received))
