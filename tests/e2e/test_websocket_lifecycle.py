"""Orders watched over WebSocket while the executor runs them, through the real local stack."""
from __future__ import annotations

import asyncio
import json

import aiohttp

from order_engine.domain.lifecycle import TERMINAL, can_transition
from order_engine.adapters.redis.ws_registry import RedisConnectionRegistry, Limits
from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.redis.connect import sync_client

from tests.support.subscriptions import live_subscription

ORDER = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "0.25"}
TERMINAL_NAMES = {str(s) for s in TERMINAL}


def submit(stack) -> str:
    response = stack.client.post(f"{stack.http_url}/api/orders/execute", json=ORDER)
    assert response.status_code == 202, response.text
    return response.json()["orderId"]


def complete(frames: list[dict]) -> bool:
    """The client holds every event from seq 1 up to a terminal one (what `seq` lets a client know)."""
    events = timeline(frames)
    return bool(events) and events[-1][1] in TERMINAL_NAMES and [s for s, _ in events] == list(range(1, len(events) + 1))


async def watch(ws: aiohttp.ClientWebSocketResponse, timeout: float = 60, frames: list[dict] | None = None) -> list[dict]:
    """Every status frame (after `frames`, those already received) until the client has the order's whole
    timeline, as received (duplicates included)."""
    frames = [] if frames is None else frames
    while not complete(frames):
        message = await ws.receive(timeout=timeout)
        assert message.type is aiohttp.WSMsgType.TEXT, message
        frame = json.loads(message.data)
        if frame.get("type") == "status":
            frames.append(frame)
    return frames


def timeline(frames: list[dict]) -> list[tuple[int, str]]:
    """Deduplicated by seq, as a client does."""
    return sorted({f["seq"]: f["status"] for f in frames}.items())


def assert_complete_lifecycle(events: list[tuple[int, str]]) -> None:
    seqs, statuses = [s for s, _ in events], [st for _, st in events]
    assert seqs == list(range(1, len(seqs) + 1)), events
    assert statuses[0] == "pending" and statuses[-1] in TERMINAL_NAMES, events
    assert all(can_transition(a, b) for a, b in zip(statuses, statuses[1:])), events


def test_five_concurrent_orders_each_watched_see_their_lifecycle_in_order(local_stack):
    async def one(session: aiohttp.ClientSession) -> list[dict]:
        order_id = await asyncio.to_thread(submit, local_stack)
        async with session.ws_connect(f"{local_stack.ws_url}?orderId={order_id}") as ws:
            return await watch(ws)

    async def scenario():
        async with local_stack.session() as session:
            return await asyncio.gather(*(one(session) for _ in range(5)))

    for frames in asyncio.run(scenario()):
        assert_complete_lifecycle(timeline(frames))
        # each event exactly once, in order: a live frame never overtakes the replay
        assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1)), [f["seq"] for f in frames]
        assert [st for _, st in timeline(frames)][-1] == "confirmed"
        assert frames[-1]["txHash"] and frames[-1]["dex"] in ("raydium", "meteora")


def test_late_and_mid_way_subscribers_miss_nothing(local_stack):
    order_id = submit(local_stack)

    async def scenario():
        async with local_stack.session() as session:
            async with session.ws_connect(f"{local_stack.ws_url}?orderId={order_id}") as first:
                seen = []
                while not seen or seen[-1]["status"] == "pending":  # wait until the executor has started it
                    message = json.loads((await first.receive(timeout=60)).data)
                    if message.get("type") == "status":
                        seen.append(message)
                async with session.ws_connect(local_stack.ws_url) as mid_way:
                    await mid_way.send_json({"action": "subscribe", "orderId": order_id})
                    mid = await watch(mid_way)
                seen = await watch(first, frames=seen)
            async with session.ws_connect(f"{local_stack.ws_url}?orderId={order_id}") as late:
                last = await watch(late)
            return seen, mid, last

    first, mid, late = asyncio.run(scenario())
    full = local_stack.client.get(f"{local_stack.http_url}/api/orders/{order_id}").json()["events"]
    expected = [(e["seq"], e["status"]) for e in full]
    assert_complete_lifecycle(expected)
    assert timeline(first) == timeline(mid) == timeline(late) == expected
    for frames in (first, mid, late):  # none twice, none out of order, whenever the client subscribed
        assert [(f["seq"], f["status"]) for f in frames] == expected


def test_a_client_that_drops_without_closing_is_removed_and_others_are_not_held_up(local_stack):
    env = local_stack.env
    keys = KeyScheme(env["KEY_PREFIX"])
    redis = sync_client(env["REDIS_URL"])
    registry = RedisConnectionRegistry(redis, keys, Limits(7_200_000, 600_000))
    order_id = submit(local_stack)
    # a connection that vanished without its $disconnect ever running (as API Gateway may lose one)
    registry.register("bG9zdC1kaXNjb25uZWN0", 0, 0)
    registry.mark_open("bG9zdC1kaXNjb25uZWN0")
    live_subscription(registry, "bG9zdC1kaXNjb25uZWN0", order_id)

    async def scenario():
        async with local_stack.session() as session:
            dropped = await session.ws_connect(f"{local_stack.ws_url}?orderId={order_id}")
            await dropped.receive(timeout=30)  # subscribed: it is registered and open
            dropped._response.connection.transport.abort()  # no close frame, just gone
            async with session.ws_connect(f"{local_stack.ws_url}?orderId={order_id}") as watcher:
                return await watch(watcher)

    frames = asyncio.run(scenario())
    assert_complete_lifecycle(timeline(frames))
    assert timeline(frames)[-1][1] == "confirmed"
    assert "bG9zdC1kaXNjb25uZWN0" not in registry.subscribers(order_id)  # removed at its first 410
    assert registry.state("bG9zdC1kaXNjb25uZWN0") is None


def test_a_thousand_subscribers_of_one_order_all_receive_every_event(local_stack):
    order_id = submit(local_stack)

    async def scenario():
        async with local_stack.session(connector=aiohttp.TCPConnector(limit=0)) as session:
            sockets = []
            for start in range(0, 1000, 100):
                sockets += await asyncio.gather(*(session.ws_connect(f"{local_stack.ws_url}?orderId={order_id}")
                                                  for _ in range(start, start + 100)))
            try:
                return await asyncio.gather(*(watch(ws, timeout=120) for ws in sockets))
            finally:
                await asyncio.gather(*(ws.close() for ws in sockets))

    results = asyncio.run(scenario())
    expected = [(e["seq"], e["status"]) for e in local_stack.client.get(f"{local_stack.http_url}/api/orders/{order_id}").json()["events"]]
    assert_complete_lifecycle(expected)
    assert len(results) == 1000
    # every client got each event once and in order: none overtook its replay
    assert all([(f["seq"], f["status"]) for f in frames] == expected for frames in results)
