"""The production notifier against the local management API: one frame per subscriber, 410s cleaned, and a
bounded cost to the executor whatever the clients or the endpoint do."""
from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest
import uvloop
from aiohttp import web

from order_engine import config
from order_engine.adapters.redis.ws_registry import RedisConnectionRegistry, Limits
from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.redis.connect import async_client
from order_engine.adapters.aws.ws_fanout import ManagementApiNotifier

from tests.support.subscriptions import live_subscription

ORDER_ID = "3f0c7d9e-0a8b-4c1d-9e2f-5a6b7c8d9e0f"
FRAME = {"type": "status", "orderId": ORDER_ID, "status": "routing", "seq": 2}


@pytest.fixture
def registry(settings, redis_client):
    return RedisConnectionRegistry(redis_client, KeyScheme(settings.key_prefix), Limits(settings.ws_max_connection_ms, settings.ws_idle_ms))


def test_every_subscriber_gets_the_frame_once(ws_stack, registry):
    async def scenario():
        client = async_client(config.settings().redis_url)
        notifier = ManagementApiNotifier(config.settings(), client, KeyScheme(config.settings().key_prefix))
        async with ws_stack.session() as session:
            clients = [await session.ws_connect(ws_stack.ws_url) for _ in range(20)]
            for ws in clients:  # a ping marks each connection open; then subscribe it directly
                await ws.send_json({"action": "ping"})
                await ws.receive(timeout=10)
            for connection_id in list(ws_stack.gateway.connections):
                live_subscription(registry, connection_id, ORDER_ID)
            await notifier.publish(ORDER_ID, FRAME)
            received = [json.loads((await ws.receive(timeout=10)).data) for ws in clients]
            extra = []
            for ws in clients:  # the next frame after the event is the answer to a later ping: no duplicate
                await ws.send_json({"action": "ping"})
                extra.append(json.loads((await ws.receive(timeout=10)).data))
            for ws in clients:
                await ws.close()
        await notifier.close()
        await client.aclose()
        return received, extra, notifier.stats

    received, extra, stats = asyncio.run(scenario())
    assert received == [FRAME] * 20
    assert stats["delivered"] == 20
    assert extra == [{"type": "pong"}] * 20


def test_a_connection_still_inside_connect_is_not_removed_by_an_early_410(ws_stack, registry):
    registry.register("aW4tY29ubmVjdA==", connected_at_ms=_now_ms(), now_ms=_now_ms())
    live_subscription(registry, "aW4tY29ubmVjdA==", ORDER_ID, _now_ms(), _now_ms())

    async def scenario():
        client = async_client(config.settings().redis_url)
        notifier = ManagementApiNotifier(config.settings(), client, KeyScheme(config.settings().key_prefix))
        await notifier.publish(ORDER_ID, FRAME)
        await notifier.close()
        await client.aclose()
        return notifier.stats

    assert asyncio.run(scenario())["gone"] == 1
    assert registry.subscribers(ORDER_ID) == {"aW4tY29ubmVjdA=="}


def test_an_endpoint_that_never_answers_costs_the_executor_only_the_publish_bound(configured, registry, settings):
    registry.register("c2xvdw==", 0, 0)
    registry.mark_open("c2xvdw==")
    live_subscription(registry, "c2xvdw==", ORDER_ID)

    async def scenario():
        stalled = asyncio.Event()

        async def never_answers(request: web.Request) -> web.Response:
            await stalled.wait()
            return web.Response()

        runner, port = await _serve(never_answers)
        live = dataclasses.replace(config.settings(), ws_management_endpoint=f"http://127.0.0.1:{port}/local",
                                   ws_publish_timeout_ms=300)
        client = async_client(live.redis_url)
        notifier = ManagementApiNotifier(live, client, KeyScheme(live.key_prefix))
        await notifier.publish(ORDER_ID, FRAME)  # returns: the bound cut the stalled post off
        stalled.set()
        await notifier.close()
        await client.aclose()
        await runner.cleanup()
        return notifier.stats

    stats = asyncio.run(scenario())
    assert stats["timed_out"] == 1 and stats["delivered"] == 0
    assert registry.subscribers(ORDER_ID) == {"c2xvdw=="}  # a slow client is not a gone one


async def _serve(handler) -> tuple[web.AppRunner, int]:  # noqa: ANN001 - an aiohttp handler
    """A management-API endpoint of the test's own answering every path with `handler`: its runner and port."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)


@pytest.mark.parametrize("run", [asyncio.run, uvloop.run], ids=["asyncio", "uvloop"])  # the executor's loop
def test_a_subscribers_frames_arrive_in_the_order_they_were_published(ws_stack, registry, run):
    frames = [dict(FRAME, seq=seq) for seq in range(1, 41)]

    async def scenario():
        client = async_client(config.settings().redis_url)
        notifier = ManagementApiNotifier(config.settings(), client, KeyScheme(config.settings().key_prefix))
        async with ws_stack.session() as session:
            clients = [await session.ws_connect(ws_stack.ws_url) for _ in range(3)]
            for ws in clients:
                await ws.send_json({"action": "ping"})
                await ws.receive(timeout=10)
            for connection_id in list(ws_stack.gateway.connections):
                live_subscription(registry, connection_id, ORDER_ID)
            # published at once: their posts share loop turns and connections, and must not overtake each other
            await asyncio.gather(*(notifier.publish(ORDER_ID, frame) for frame in frames))
            received = [[json.loads((await ws.receive(timeout=10)).data)["seq"] for _ in frames] for ws in clients]
            for ws in clients:
                await ws.close()
        await notifier.close()
        await client.aclose()
        return received, notifier.stats

    received, stats = run(scenario())
    assert received == [list(range(1, 41))] * 3
    assert stats["delivered"] == 120


@pytest.mark.parametrize("answer", ["chunked", "close"])
def test_answers_chunked_or_closing_the_connection_are_read(configured, registry, answer):
    """Answers the local gateway never sends, and a real endpoint may: a chunked body, `Connection: close`."""
    registry.register("b3RoZXI=", 0, 0)
    registry.mark_open("b3RoZXI=")
    live_subscription(registry, "b3RoZXI=", ORDER_ID)
    bodies: list[bytes] = []

    async def scenario():
        async def endpoint(request: web.Request) -> web.StreamResponse:
            bodies.append(await request.read())
            if answer == "close":
                return web.Response(text="{}", headers={"Connection": "close"})
            response = web.StreamResponse()
            response.enable_chunked_encoding()
            await response.prepare(request)
            await response.write(b'{"ok":')
            await response.write(b"true}")
            await response.write_eof()
            return response

        runner, port = await _serve(endpoint)
        live = dataclasses.replace(config.settings(), ws_management_endpoint=f"http://127.0.0.1:{port}/local")
        client = async_client(live.redis_url)
        notifier = ManagementApiNotifier(live, client, KeyScheme(live.key_prefix))
        for seq in range(1, 6):
            await notifier.publish(ORDER_ID, dict(FRAME, seq=seq))
        await notifier.close()
        await client.aclose()
        await runner.cleanup()
        return notifier.stats

    stats = asyncio.run(scenario())
    assert stats["delivered"] == 5 and not stats["failed"]
    assert [json.loads(body)["seq"] for body in bodies] == [1, 2, 3, 4, 5]
