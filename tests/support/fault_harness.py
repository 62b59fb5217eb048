"""What every fault test does: drive orders through the HTTP API as a careful client would (an Idempotency-Key per
order, the same request again after a 5xx or a dropped connection), then audit PostgreSQL: nothing lost, nothing
doubled, no seq gap, nothing half-written, and how long after the fault the last order finished. The fault suite's
own PostgreSQL and Redis (`Servers`: embedded servers from pip on free ports, one pair per test) are here too."""
from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import aiohttp
import pg8000.native

from local.embedded import EmbeddedPostgres, EmbeddedRedis
from order_engine.adapters.redis.connect import sync_client
from order_engine.domain.lifecycle import TERMINAL, can_transition
from tests.support.clients import aiohttp_session
from tests.support.sql import (confirmed_ledger, last_terminal_epoch, order_rows, order_timelines, order_total,
                               unfinished_count)

TERMINAL_NAMES = {str(s) for s in TERMINAL}
ORDER = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "0.1"}
DATA_ROOT = Path(__file__).resolve().parents[2] / ".local-data" / "faults"  # PostgreSQL's own user reaches it
# Realistic venue latency (quotes ~200 ms, confirmation ~2.5 s), the template's three executors, 50 orders each.
FAULT_ENV = {
    "DEX_LATENCY_SCALE": "1",
    "EXECUTOR_CONCURRENCY": "50",
    "LOCAL_EMBEDDED": "never",
}


@dataclass
class Servers:
    postgres: EmbeddedPostgres
    redis: EmbeddedRedis

    @property
    def database_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.postgres.port}/order_engine"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis.port}/0"

    def flush_redis(self) -> None:
        sync_client(self.redis_url).flushall()

    def kill_redis(self) -> None:
        """SIGKILL redis-server: whatever it had not yet appended to its log (up to a second) is gone."""
        self.redis.process.send_signal(signal.SIGKILL)
        self.redis.process.wait()

    def stop_postgres(self) -> None:
        self.postgres.stop()

    def start(self, which: str) -> None:
        {"redis": self.redis, "postgres": self.postgres}[which].start()


@dataclass
class Client:
    """What the client saw: the order each key got, and every refusal along the way."""

    accepted: dict[str, str] = field(default_factory=dict)  # Idempotency-Key -> orderId
    refusals: list[tuple[int, Any]] = field(default_factory=list)  # (status, body) of each 5xx
    dropped: int = 0  # connections that failed without an answer


async def submit_orders(http_url: str, count: int, client: Client, *, api_key: str | None = None,
                        concurrency: int = 16, give_up_s: float = 120.0) -> None:
    semaphore = asyncio.Semaphore(concurrency)

    async def one(session: aiohttp.ClientSession) -> None:
        key = str(uuid.uuid4())
        deadline = time.monotonic() + give_up_s
        async with semaphore:
            while True:
                try:
                    async with session.post(f"{http_url}/api/orders/execute", json=ORDER,
                                            headers={"Idempotency-Key": key}) as response:
                        body = await response.json(content_type=None)
                        if response.status == 202:
                            client.accepted[key] = body["orderId"]
                            return
                        assert response.status >= 500, (response.status, body)
                        client.refusals.append((response.status, body))
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    client.dropped += 1
                assert time.monotonic() < deadline, f"order {key} not accepted within {give_up_s}s"
                await asyncio.sleep(0.2)

    timeout = aiohttp.ClientTimeout(total=15)
    async with aiohttp_session(api_key, timeout=timeout) as session:
        await asyncio.gather(*(one(session) for _ in range(count)))


FIGURES = DATA_ROOT / "figures.txt"


def record(line: str) -> None:
    """Print a measured figure and keep it in .local-data/faults/figures.txt (xdist swallows prints)."""
    print(line)
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    with FIGURES.open("a") as out:
        out.write(time.strftime("%Y-%m-%dT%H:%M:%SZ ", time.gmtime()) + line.strip() + "\n")


def unfinished(database_url: str) -> int:
    try:
        return unfinished_count(database_url)
    except (pg8000.native.InterfaceError, pg8000.native.DatabaseError, OSError):
        return -1  # PostgreSQL is down: not finished


def wait_all_terminal(database_url: str, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            total = order_total(database_url)
        except (pg8000.native.InterfaceError, pg8000.native.DatabaseError, OSError):
            total = -1
        if total >= expected and unfinished(database_url) == 0:
            return
        assert time.monotonic() < deadline, f"orders still unfinished {timeout:.0f}s on: {unfinished(database_url)}"
        time.sleep(0.25)


@dataclass
class Audit:
    orders: int
    confirmed: int
    failed: int
    last_terminal_epoch: float  # when the last order reached its terminal state (PostgreSQL's clock)

    def seconds_after(self, fault_epoch: float) -> float:
        return round(self.last_terminal_epoch - fault_epoch, 2)


def audit(database_url: str, client: Client) -> Audit:
    """Every invariant the fault suite holds the engine to; returns the counts and the last terminal time."""
    rows = order_rows(database_url)  # id -> (status, seq, tx_hash)
    statuses = {order_id: status for order_id, (status, _, _) in rows.items()}
    order_ids = set(client.accepted.values())
    assert len(order_ids) == len(client.accepted), "two keys got the same order"
    assert set(statuses) == order_ids, (  # none lost, none invented (a retried submit is the same order)
        f"lost {len(order_ids - set(statuses))}, unasked-for {len(set(statuses) - order_ids)}")
    assert set(statuses.values()) <= TERMINAL_NAMES, Counter(statuses.values())

    timelines = order_timelines(database_url)
    for order_id, (status, seq, _) in rows.items():
        timeline = timelines.get(order_id, [])
        seqs, path = [s for s, _ in timeline], [st for _, st in timeline]
        assert seqs == list(range(1, len(seqs) + 1)), (order_id, timeline)  # no seq gap
        assert path and path[0] == "pending", (order_id, path)
        assert (path[-1], seqs[-1]) == (status, seq), (order_id, path, status, seq)  # no half-written order
        assert sum(st in TERMINAL_NAMES for st in path) == 1, (order_id, path)  # exactly one terminal event
        assert all(can_transition(a, b) for a, b in zip(path, path[1:])), (order_id, path)

    tx_hashes = {order_id: tx for order_id, (status, _, tx) in rows.items() if status == "confirmed"}
    landed = confirmed_ledger(database_url)
    per_order = Counter(order_id for order_id, _ in landed)
    assert not per_order or max(per_order.values()) == 1, "an order's swap landed twice"
    assert dict(landed) == tx_hashes, "the confirmed orders and the chain's landed swaps differ"

    counts = Counter(statuses.values())
    return Audit(len(statuses), counts["confirmed"], counts["failed"], last_terminal_epoch(database_url))


def check_refusals(client: Client, allowed: Callable[[int, Any], bool]) -> None:
    """Every 5xx the client got had the API's error shape and was one the fault explains."""
    for status, body in client.refusals:
        assert allowed(status, body), (status, body)
