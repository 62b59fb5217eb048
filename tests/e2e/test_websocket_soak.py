"""WebSocket soak: 1,000 connections with churn (closed ones, dropped ones, new ones) for SOAK_SECONDS while orders
run, each subscribed to by a slice of the connections; then a burst of 1,000 malformed frames. Every subscriber
still open when its order finished got every event; afterwards the registry's keys and the stack's memory are back
within 10% of their baseline within the runtime's reaping time. CI runs 45 s; `SOAK_SECONDS=600` is the long run."""
from __future__ import annotations

import asyncio
import json
import os
import random
import time
from dataclasses import dataclass, field

import aiohttp

from tests.support.fault_harness import record
from order_engine.domain.lifecycle import TERMINAL
from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.redis.connect import sync_client

CONNECTIONS = 1000
SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "45"))
ORDERS_PER_SECOND = 2
SUBSCRIBERS_PER_ORDER = 5  # each subscribe is a Lambda invocation that replays by signed posts: CPU-heavy
CHURN_PER_SECOND = 20  # closed (half with a close frame, half dropped) and replaced every second
MALFORMED = 1000
REAP_S = 10
TERMINAL_NAMES = {str(s) for s in TERMINAL}
ORDER = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "0.1"}


def stack_rss_bytes(stack) -> int:
    """Resident memory of the stack's whole process group (gateway, every function worker)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                pgid = int(f.read().rsplit(")", 1)[1].split()[2])
            if pgid != stack.process.pid:
                continue
            with open(f"/proc/{entry}/status") as f:
                total += next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))
        except (OSError, StopIteration, ValueError, IndexError):
            continue
    return total


def registry_keys(stack) -> int:
    client = sync_client(stack.env["REDIS_URL"])
    return sum(1 for _ in client.scan_iter(match=f"{KeyScheme(stack.env['KEY_PREFIX']).prefix}ws:*", count=1000))


def leftover_keys(stack) -> list[str]:
    client = sync_client(stack.env["REDIS_URL"])
    return sorted(client.scan_iter(match=f"{KeyScheme(stack.env['KEY_PREFIX']).prefix}ws:*", count=1000))


@dataclass
class Subscriber:
    ws: aiohttp.ClientWebSocketResponse
    frames: dict[str, dict[int, str]] = field(default_factory=dict)  # order id -> seq -> status
    closed: bool = False
    reader: asyncio.Task | None = None


async def read_frames(sub: Subscriber) -> None:
    async for message in sub.ws:
        if message.type is not aiohttp.WSMsgType.TEXT:
            break
        frame = json.loads(message.data)
        if frame.get("type") == "status":
            sub.frames.setdefault(frame["orderId"], {})[frame["seq"]] = frame["status"]


def complete(events: dict[int, str]) -> bool:
    return bool(events) and sorted(events) == list(range(1, len(events) + 1)) and events[max(events)] in TERMINAL_NAMES


async def soak(stack) -> dict:
    rng = random.Random(20261201)
    # every $connect is a Lambda invocation: on a busy 2-core machine 1,000 of them take a while
    session = stack.session(timeout=aiohttp.ClientTimeout(total=120),
                            connector=aiohttp.TCPConnector(limit=0))  # a socket per connection, no cap
    live: list[Subscriber] = []
    watched: list[tuple[Subscriber, str]] = []  # (subscriber, order) pairs to check

    async def connect() -> Subscriber:
        sub = Subscriber(await session.ws_connect(stack.ws_url, heartbeat=None))
        sub.reader = asyncio.create_task(read_frames(sub))
        return sub

    async def close(sub: Subscriber, drop: bool) -> None:
        sub.closed = True
        live.remove(sub)
        if drop:  # gone without a close frame, as a client that loses its network
            sub.ws._response.connection.transport.abort()  # noqa: SLF001 - no public way to drop a socket
        else:
            await sub.ws.close()

    try:
        for start in range(0, CONNECTIONS, 50):
            live.extend(await asyncio.gather(*(connect() for _ in range(start, min(start + 50, CONNECTIONS)))))
        peak_connections = len(live)
        ends = time.monotonic() + SOAK_SECONDS
        orders = 0
        while time.monotonic() < ends:
            second = time.monotonic()
            for _ in range(ORDERS_PER_SECOND):
                async with session.post(f"{stack.http_url}/api/orders/execute", json=ORDER) as response:
                    assert response.status == 202, await response.text()
                    order_id = (await response.json())["orderId"]
                orders += 1
                for sub in rng.sample(live, SUBSCRIBERS_PER_ORDER):
                    await sub.ws.send_json({"action": "subscribe", "orderId": order_id})
                    watched.append((sub, order_id))
            for index, sub in enumerate(rng.sample(live, CHURN_PER_SECOND)):
                await close(sub, drop=index % 2 == 1)
            live.extend(await asyncio.gather(*(connect() for _ in range(CHURN_PER_SECOND))))
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - second)))

        # every subscriber still open gets its orders' whole timelines
        deadline = time.monotonic() + 90
        while True:
            missing = [(sub, order_id) for sub, order_id in watched
                       if not sub.closed and not complete(sub.frames.get(order_id, {}))]
            if not missing or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        checked = sum(1 for sub, _ in watched if not sub.closed)

        # a burst of malformed frames on fresh connections (how each is answered is another test's business)
        bad = [b"{", b"[" * 5000, b'{"action": ' + b"9" * 5000 + b"}", b"\x00\xff", b'"just a string"',
               b'{"action": "subscribe", "orderId": {"$gt": ""}}', b'{"action": "nope"}', b"[" * 200 + b"]" * 200]
        burst = [await connect() for _ in range(10)]
        for i in range(MALFORMED):
            await burst[i % len(burst)].ws.send_str(bad[i % len(bad)].decode("latin-1"))
        await asyncio.sleep(2)
        for sub in burst:
            await sub.ws.close()
        for sub in list(live):
            await close(sub, drop=False)
        return {"orders": orders, "checked": checked, "missing": len(missing), "peak": peak_connections}
    finally:
        await session.close()


def test_a_thousand_churning_connections_get_every_event_and_leave_nothing_behind(start_engine, wait_for):
    stack = start_engine(DEX_LATENCY_SCALE="0.2", IDLE_EXIT_MS="2000", LOCAL_IDLE_REAP_SECONDS=str(REAP_S),
                         LOCAL_SCHEDULE_ON_START="no")
    # baseline: a warm, idle stack (one order watched end to end, the executor gone, spare workers reaped)
    asyncio.run(warm_up(stack))
    time.sleep(REAP_S * 1.5)
    baseline_rss, baseline_keys = stack_rss_bytes(stack), registry_keys(stack)

    result = asyncio.run(soak(stack))
    assert result["peak"] == CONNECTIONS and result["checked"] > 0
    assert result["missing"] == 0, f"{result['missing']} of {result['checked']} subscriptions missed events"

    started = time.monotonic()
    deadline = time.monotonic() + REAP_S * 3
    while registry_keys(stack) > baseline_keys * 1.1:
        assert time.monotonic() < deadline, f"registry keys left: {leftover_keys(stack)[:10]}"
        time.sleep(0.5)
    wait_for(lambda: stack_rss_bytes(stack) <= baseline_rss * 1.1, timeout=REAP_S * 3 + 30, interval=1)
    record(f"[soak] {SOAK_SECONDS:.0f} s, {CONNECTIONS} connections, {result['orders']} orders, "
          f"{result['checked']} subscriptions complete; baseline {baseline_rss / 2**20:.0f} MiB, "
          f"{baseline_keys} registry keys; back within 10% {time.monotonic() - started:.1f} s after the last "
          f"connection closed ({stack_rss_bytes(stack) / 2**20:.0f} MiB, {registry_keys(stack)} keys)")


async def warm_up(stack) -> None:
    async with stack.session() as session:
        async with session.post(f"{stack.http_url}/api/orders/execute", json=ORDER) as response:
            order_id = (await response.json())["orderId"]
        sub = Subscriber(await session.ws_connect(stack.ws_url))
        sub.reader = asyncio.create_task(read_frames(sub))
        await sub.ws.send_json({"action": "subscribe", "orderId": order_id})
        deadline = time.monotonic() + 60
        while not complete(sub.frames.get(order_id, {})):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        await sub.ws.close()
