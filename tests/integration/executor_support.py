"""Shared by the executor tests: submit orders the way submit does, run executors in-process, read outcomes."""
from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections import Counter
from typing import Any

from order_engine.config import Settings
from order_engine.domain.lifecycle import TERMINAL
from order_engine.domain.order import OrderEvent, parse_order_request
from order_engine.bootstrap import deadline_in, run_executor_async as run_async
from order_engine.services.executor.engine import RunSummary
from order_engine.adapters.aws.ws_fanout import LoggingNotifier
from order_engine.adapters.redis.order_intake import RedisOrderIntake
from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.domain.order import pending_detail
from order_engine.adapters.postgres.order_repository import OrderRepository
from order_engine.adapters.postgres.database import Database

SOL_TO_USDC = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "0.5", "slippageBps": 100}


def executor_settings(settings: Settings, **overrides: Any) -> Settings:
    """Fast, deterministic executor settings for tests: no venue latency, short leases and intervals."""
    base = dict(dex_latency_scale=0.0, idle_exit_ms=700, executor_poll_ms=100, lease_ms=2_000,
                sweep_interval_ms=200, reconcile_interval_ms=500, reconcile_grace_ms=300,
                backoff_base_ms=20, backoff_cap_ms=200, dex_blockhash_lifetime_ms=1_000)
    return dataclasses.replace(settings, **{**base, **overrides})


def submit_orders(s: Settings, db: Database, n: int, body: dict[str, Any] = SOL_TO_USDC, *, push: bool = True,
                  pushes: int = 1) -> list[str]:
    """Insert n orders (and their pending events) as submit does, and push each id `pushes` times."""
    repo, intake = OrderRepository(db), RedisOrderIntake(s.redis_url, KeyScheme(s.key_prefix))
    request = parse_order_request(body, default_slippage_bps=s.default_slippage_bps,
                                  max_slippage_bps=s.max_slippage_bps)
    ids = []
    for _ in range(n):
        order = repo.insert(str(uuid.uuid4()), request, None).order
        first = OrderEvent(order.id, 1, order.status, 0, order.created_at, pending_detail(request))
        for _ in range(pushes if push else 0):
            intake.enqueue(order.id, first.to_message())
        ids.append(order.id)
    return ids


async def run_executors(s: Settings, count: int = 1, within_ms: int = 60_000) -> list[RunSummary]:
    return list(await asyncio.gather(*(
        run_async(s, deadline_in(within_ms), notifier=LoggingNotifier(), owner=f"test-executor-{i}")
        for i in range(count))))


def run(s: Settings, count: int = 1) -> list[RunSummary]:
    return asyncio.run(run_executors(s, count))


def timeline(db: Database, order_id: str) -> list[tuple[int, str, int, dict[str, Any]]]:
    rows = db.run("SELECT seq, status, attempt, detail FROM order_events WHERE order_id = CAST(:id AS uuid)"
                  " ORDER BY seq", id=order_id)
    return [(seq, status, attempt, json.loads(d) if isinstance(d, str) else d) for seq, status, attempt, d in rows]


def insert_waiting(db: Database, like: str) -> str:
    """A waiting (limit) order shaped like order `like`, as the limit-order intake would store it."""
    order_id = str(uuid.uuid4())
    db.run("INSERT INTO orders (id, status, order_type, token_in, token_out, amount_in, slippage_bps, request_hash)"
           " SELECT CAST(:new AS uuid), 'waiting', 'limit', token_in, token_out, amount_in, slippage_bps, :h"
           "   FROM orders WHERE id = CAST(:like AS uuid)", new=order_id, like=like, h=f"waiting-{order_id}")
    db.run("INSERT INTO order_events (order_id, seq, status) VALUES (CAST(:id AS uuid), 1, 'waiting')", id=order_id)
    return order_id


def statuses(db: Database) -> Counter:
    return Counter(dict(db.run("SELECT status, count(*) FROM orders GROUP BY status")))


def terminal_events_per_order(db: Database) -> Counter:
    rows = db.run("SELECT CAST(order_id AS text), count(*) FROM order_events"
                  " WHERE status = ANY(CAST(:terminal AS text[])) GROUP BY order_id", terminal=sorted(TERMINAL))
    return Counter({order_id: n for order_id, n in rows})


def landed_swaps_per_order(db: Database) -> Counter:
    """Successful swaps the simulated chain recorded, per order: the effect that must happen at most once."""
    rows = db.run("SELECT order_id, count(*) FROM chain_transactions WHERE state = 'confirmed' GROUP BY order_id")
    return Counter({order_id: n for order_id, n in rows})


def assert_each_order_finished_once(db: Database, ids: list[str]) -> None:
    terminal = terminal_events_per_order(db)
    assert {i: terminal[i] for i in ids} == {i: 1 for i in ids}
    swaps = landed_swaps_per_order(db)
    assert max((swaps[i] for i in ids), default=0) <= 1
    confirmed = {row[0] for row in db.run("SELECT CAST(id AS text) FROM orders WHERE status = 'confirmed'")}
    assert all(swaps[i] == 1 for i in ids if i in confirmed)
    for order_id in ids:
        seqs = [seq for seq, *_ in timeline(db, order_id)]
        assert seqs == list(range(1, len(seqs) + 1))


class InProcessExecutor:
    """`async with InProcessExecutor(s, clock)`: an executor (and its watcher) running in this process on a
    simulated dex whose clock the test holds; `summary` is its run's once the block ends."""

    def __init__(self, s: Settings, clock: Any, owner: str):
        self.s, self.clock, self.owner = s, clock, owner
        self.executor = None

    async def __aenter__(self) -> "InProcessExecutor":
        from order_engine.bootstrap import simulated_dex

        self.dex = simulated_dex(self.s, clock=self.clock)
        self.task = asyncio.create_task(run_async(
            self.s, deadline_in(120_000), dex=self.dex, notifier=LoggingNotifier(), owner=self.owner,
            on_start=lambda executor: setattr(self, "executor", executor)))
        while self.executor is None:
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.executor.stop()
        self.summary = await asyncio.wait_for(self.task, 30)
        await self.dex.close()
