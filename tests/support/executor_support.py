"""Shared by the executor tests: run executors in-process, and check what they did (orders are submitted by
tests/support/factories.py, read back by tests/support/reads.py)."""
from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from order_engine.config import Settings
from order_engine.bootstrap import deadline_in, run_executor_async as run_async
from order_engine.services.executor.engine import RunSummary
from order_engine.adapters.aws.ws_fanout import LoggingNotifier
from order_engine.adapters.postgres.database import Database
from tests.support.reads import status_of, timeline
from tests.support.sql import landed_swaps_per_order, terminal_events_per_order


def executor_settings(settings: Settings, **overrides: Any) -> Settings:
    """Fast, deterministic executor settings for tests: no venue latency, short leases and intervals."""
    base = dict(dex_latency_scale=0.0, idle_exit_ms=700, executor_poll_ms=100, lease_ms=2_000,
                sweep_interval_ms=200, reconcile_interval_ms=500, reconcile_grace_ms=300,
                backoff_base_ms=20, backoff_cap_ms=200, dex_blockhash_lifetime_ms=1_000)
    return dataclasses.replace(settings, **{**base, **overrides})


async def run_executors(s: Settings, count: int = 1, within_ms: int = 60_000) -> list[RunSummary]:
    return list(await asyncio.gather(*(
        run_async(s, deadline_in(within_ms), notifier=LoggingNotifier(), owner=f"test-executor-{i}")
        for i in range(count))))


def run(s: Settings, count: int = 1) -> list[RunSummary]:
    return asyncio.run(run_executors(s, count))


def assert_each_order_finished_once(db: Database, ids: list[str]) -> None:
    terminal = terminal_events_per_order(db)
    assert {i: terminal[i] for i in ids} == {i: 1 for i in ids}
    swaps = landed_swaps_per_order(db)
    assert max((swaps[i] for i in ids), default=0) <= 1
    assert all(swaps[i] == 1 for i in ids if status_of(db, i) == "confirmed")
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
