"""The WebSocket API end to end in one process: the local gateway and management API over real sockets, the
template's ws handlers, real Redis and PostgreSQL."""
from __future__ import annotations

import asyncio
import dataclasses
import json
import time

import aiohttp
import boto3
import pytest

from order_engine import bootstrap, config
from order_engine.adapters.redis.key_scheme import REPLAYING, KeyScheme
from tests.support.subscriptions import live_subscription
from tests.support.ws_stack import WsStack

from local.ws_gateway import GatewayLimits

ORDER = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1.5"}



def submit_order() -> str:
    return bootstrap.services().submit.submit(ORDER).order.id


async def receive(ws: aiohttp.ClientWebSocketResponse, count: int = 1, timeout: float = 10) -> list[dict]:
    frames = []
    for _ in range(count):
        message = await ws.receive(timeout=timeout)
        assert message.type is aiohttp.WSMsgType.TEXT, message
        frames.append(json.loads(message.data))
    return frames


def eventually(predicate, within_s: float = 10.0) -> bool:
    """Wait for something that follows asynchronously (a $disconnect after a close)."""
    deadline = time.monotonic() + within_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def run(coro):
    return asyncio.run(coro)


def test_ping_answers_pong(ws_stack):
    async def scenario():
        async with ws_stack.session() as session, session.ws_connect(ws_stack.ws_url) as ws:
            await ws.send_json({"action": "ping"})
            return await receive(ws)

    assert run(scenario()) == [{"type": "pong"}]


def test_bad_messages_get_an_error_frame_each_and_the_connection_stays_usable(ws_stack):
    async def scenario():
        async with ws_stack.session() as session, session.ws_connect(ws_stack.ws_url) as ws:
            codes = []
            for message in ("{not json", "[1, 2]", json.dumps({"action": "launch"}), json.dumps({"hello": 1}),
                            json.dumps({"action": "subscribe", "orderId": "not-a-uuid"}),
                            json.dumps({"action": "subscribe"}),
                            json.dumps({"action": "subscribe", "orderId": "3f0c7d9e-0a8b-4c1d-9e2f-5a6b7c8d9e0f"})):
                await ws.send_str(message)
                (frame,) = await receive(ws)
                assert frame["type"] == "error" and frame["message"]
                codes.append(frame["code"])
            await ws.send_json({"action": "ping"})
            return codes, await receive(ws)

    codes, after = run(scenario())
    assert codes == ["invalid_json", "invalid_request", "unknown_action", "unknown_action", "invalid_order_id",
                     "invalid_order_id", "order_not_found"]
    assert after == [{"type": "pong"}]


def test_subscribe_replays_the_events_so_far(ws_stack):
    order_id = submit_order()

    async def scenario():
        async with ws_stack.session() as session, session.ws_connect(ws_stack.ws_url) as ws:
            await ws.send_json({"action": "subscribeOrder", "orderId": order_id})
            return await receive(ws, 2)

    ack, pending = run(scenario())
    assert ack == {"type": "subscribed", "orderId": order_id}
    assert (pending["type"], pending["orderId"], pending["status"], pending["seq"]) == ("status", order_id, "pending", 1)


def test_connect_with_order_id_gets_its_replay_once_open(ws_stack):
    order_id = submit_order()

    async def scenario():
        async with ws_stack.session() as session, session.ws_connect(f"{ws_stack.ws_url}?orderId={order_id}") as ws:
            return await receive(ws, 2)

    ack, pending = run(scenario())
    assert ack == {"type": "subscribed", "orderId": order_id}
    assert (pending["status"], pending["seq"]) == ("pending", 1)


@pytest.mark.parametrize("order_id, status", [("nope", 400), ("3f0c7d9e-0a8b-4c1d-9e2f-5a6b7c8d9e0f", 404)])
def test_connect_with_a_bad_or_unknown_order_id_is_refused(ws_stack, order_id, status):
    async def scenario():
        async with ws_stack.session() as session:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(f"{ws_stack.ws_url}?orderId={order_id}")
            return refused.value.status

    assert run(scenario()) == status


LIFECYCLE = ("routing", "building", "submitted", "confirmed")


def test_a_subscriber_that_joins_mid_way_misses_nothing(ws_stack, settings, db, redis_client):
    from order_engine.adapters.aws.ws_fanout import ManagementApiNotifier
    from order_engine.adapters.redis.connect import async_client
    from tests.support.ws_stack import advance

    keys = KeyScheme(settings.key_prefix)
    order_id = submit_order()
    live_settings = config.settings()

    async def scenario():
        client = async_client(live_settings.redis_url)
        notifier = ManagementApiNotifier(live_settings, client, keys)
        async with ws_stack.session() as session, session.ws_connect(ws_stack.ws_url) as ws:
            for status in LIFECYCLE[:2]:
                await notifier.publish(order_id, advance(db, redis_client, keys, order_id, status))
            await ws.send_json({"action": "subscribe", "orderId": order_id})
            frames = await receive(ws, 4)  # subscribed, pending, routing, building
            for status in LIFECYCLE[2:]:
                await notifier.publish(order_id, advance(db, redis_client, keys, order_id, status))
            frames += await receive(ws, 2)
        await notifier.close()
        await client.aclose()
        return frames

    frames = run(scenario())
    assert frames[0] == {"type": "subscribed", "orderId": order_id}
    assert [(f["seq"], f["status"]) for f in frames[1:]] == list(enumerate(("pending", *LIFECYCLE), start=1))


def test_a_subscriber_after_completion_gets_the_whole_history_from_postgresql(ws_stack, settings, db, redis_client):
    from tests.support.ws_stack import advance

    keys = KeyScheme(settings.key_prefix)
    order_id = submit_order()
    for status in LIFECYCLE:
        advance(db, redis_client, keys, order_id, status, {"note": status})
    redis_client.delete(keys.order_events(order_id))  # Redis no longer holds the finished order's log

    async def scenario():
        async with ws_stack.session() as session, session.ws_connect(f"{ws_stack.ws_url}?orderId={order_id}") as ws:
            return await receive(ws, 6)

    frames = run(scenario())
    assert [(f["seq"], f["status"]) for f in frames[1:]] == list(enumerate(("pending", *LIFECYCLE), start=1))
    assert frames[-1]["note"] == "confirmed"


def management_client(ws_stack):
    return boto3.client("apigatewaymanagementapi", endpoint_url=ws_stack.management_endpoint)


def test_management_api_posts_describes_and_closes_a_connection(ws_stack, settings, redis_client):
    keys = KeyScheme(settings.key_prefix)
    client = management_client(ws_stack)

    async def scenario():
        async with ws_stack.session() as session, session.ws_connect(ws_stack.ws_url) as ws:
            await ws.send_json({"action": "ping"})
            await receive(ws)
            (connection_id,) = list(ws_stack.gateway.connections)
            await asyncio.to_thread(client.post_to_connection, ConnectionId=connection_id, Data=b'{"hello":1}')
            posted = await receive(ws)
            described = await asyncio.to_thread(client.get_connection, ConnectionId=connection_id)
            assert redis_client.exists(keys.ws_connection(connection_id))
            await asyncio.to_thread(client.delete_connection, ConnectionId=connection_id)
            closed = await ws.receive(timeout=10)
            return connection_id, posted, described, closed

    connection_id, posted, described, closed = run(scenario())
    assert posted == [{"hello": 1}]
    assert described["Identity"]["SourceIp"] == "127.0.0.1" and described["ConnectedAt"]
    assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId=connection_id, Data=b"{}")
    assert eventually(lambda: not redis_client.exists(keys.ws_connection(connection_id)))  # $disconnect cleaned up


def test_management_api_works_without_the_stage_prefix_and_refuses_unsigned_requests(ws_stack):
    base = ws_stack.management_endpoint.rsplit("/", 1)[0]
    client = boto3.client("apigatewaymanagementapi", endpoint_url=base)
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId="bm90LWEtY29ubmVjdGlvbg=", Data=b"{}")

    async def unsigned():
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{ws_stack.management_endpoint}/@connections/abc", data=b"{}") as response:
                return response.status

    assert run(unsigned()) == 403


def test_a_message_over_128_kb_closes_the_connection_with_1009(ws_stack):
    async def scenario():
        async with ws_stack.session() as session, session.ws_connect(ws_stack.ws_url) as ws:
            await ws.send_str(json.dumps({"action": "ping", "pad": "x" * (128 * 1024)}))
            message = await ws.receive(timeout=10)
            return message.type, ws.close_code if message.type is not aiohttp.WSMsgType.CLOSE else message.data

    kind, code = run(scenario())
    assert code == 1009


def test_a_stale_connection_is_removed_at_the_next_post_and_others_still_get_the_event(ws_stack, settings, db, redis_client):
    from order_engine.adapters.redis.ws_registry import RedisConnectionRegistry, Limits
    from order_engine.adapters.aws.ws_fanout import ManagementApiNotifier
    from order_engine.adapters.redis.connect import async_client
    from tests.support.ws_stack import advance

    keys = KeyScheme(settings.key_prefix)
    live_settings = config.settings()
    registry = RedisConnectionRegistry(redis_client, keys, Limits(live_settings.ws_max_connection_ms, live_settings.ws_idle_ms))
    order_id = submit_order()
    # a connection whose $disconnect was lost: open, subscribed, unknown to the gateway
    registry.register("c3RhbGUtY29ubmVjdGlvbg=", 1, 1)
    registry.mark_open("c3RhbGUtY29ubmVjdGlvbg=")
    live_subscription(registry, "c3RhbGUtY29ubmVjdGlvbg=", order_id, 1, 1)

    def both_live() -> bool:  # the client's replay is sent, so the executor posts to it (adapters/redis/ws_registry.py)
        members = redis_client.smembers(keys.ws_subscribers(order_id))
        return len(members) == 2 and not any(m.startswith(REPLAYING) for m in members)

    async def scenario():
        # a loaded machine's slow answer must not pass for a failed post: the 410 is what this test is about
        client = async_client(live_settings.redis_url)
        notifier = ManagementApiNotifier(dataclasses.replace(live_settings, ws_post_timeout_ms=5_000,
                                                             ws_publish_timeout_ms=20_000), client, keys)
        async with ws_stack.session() as session, session.ws_connect(f"{ws_stack.ws_url}?orderId={order_id}") as ws:
            await receive(ws, 2)
            assert await asyncio.to_thread(eventually, both_live)
            await notifier.publish(order_id, advance(db, redis_client, keys, order_id, "routing"))
            frames = await receive(ws)
        await notifier.close()
        await client.aclose()
        return frames, notifier.stats

    frames, stats = run(scenario())
    assert [f["status"] for f in frames] == ["routing"]
    assert stats["gone"] == 1 and stats["delivered"] == 1, stats
    # the stale one is gone at once; the live one leaves when its $disconnect (asynchronous) has run
    assert "c3RhbGUtY29ubmVjdGlvbg=" not in registry.subscribers(order_id)
    assert eventually(lambda: registry.subscribers(order_id) == set())
    assert not redis_client.exists(keys.ws_connection("c3RhbGUtY29ubmVjdGlvbg="))


def test_an_idle_connection_is_closed_with_1001_and_forgotten(configured, monkeypatch, settings, redis_client):
    stack = WsStack(GatewayLimits(idle_timeout_s=0.3, max_duration_s=7200), auth=False).start()  # limits, not keys
    monkeypatch.setenv("WS_MANAGEMENT_ENDPOINT", stack.management_endpoint)
    config.settings.cache_clear()
    bootstrap.subscriptions.cache_clear()
    keys = KeyScheme(settings.key_prefix)

    async def scenario():
        async with aiohttp.ClientSession() as session, session.ws_connect(stack.ws_url, autoping=True) as ws:
            await ws.send_json({"action": "ping"})
            await receive(ws)
            (connection_id,) = list(stack.gateway.connections)
            message = await ws.receive(timeout=10)
            return connection_id, message

    try:
        connection_id, message = run(scenario())
    finally:
        stack.stop()
        bootstrap.subscriptions.cache_clear()
    assert message.type is aiohttp.WSMsgType.CLOSE and message.data == 1001
    assert not redis_client.exists(keys.ws_connection(connection_id))


def test_pipelined_posts_arrive_in_order_over_one_connection_and_stop_at_a_gone_connection(ws_stack):
    from order_engine.ports import PostResult
    from order_engine.adapters.aws.management_api import ConnectionPoster

    poster = ConnectionPoster(ws_stack.management_endpoint)
    frames = [{"type": "status", "seq": seq} for seq in range(1, 41)]

    async def scenario():
        async with ws_stack.session() as session, session.ws_connect(ws_stack.ws_url) as ws:
            await ws.send_json({"action": "ping"})
            await receive(ws)
            (connection_id,) = list(ws_stack.gateway.connections)
            first = await asyncio.to_thread(poster.post_many, connection_id, frames[:20])
            second = await asyncio.to_thread(poster.post_many, connection_id, frames[20:])  # the kept-alive pipe
            return connection_id, first + second, await receive(ws, 40)

    connection_id, results, received = run(scenario())
    assert results == [PostResult.DELIVERED] * 40
    assert [frame["seq"] for frame in received] == list(range(1, 41))
    assert ws_stack.gateway.stats["posts"] >= 40
    # the connection is closed now: the first answer is 410 and nothing more is sent
    assert poster.post_many(connection_id, frames[:5]) == [PostResult.GONE]
