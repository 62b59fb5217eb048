"""The executor's keep-alive chores: each one job with its own schedule, run in order once a tick by `KeepAlive`.

Every executor beats, renews its leases and looks for a Redis that lost its data every tick. Crash recovery and
the reconcile are the fleet's: Redis gives each turn to one executor per interval, and every executor asks for it
every tick. A store that does not answer ends the tick (the chores after the failed one wait for the next tick)
and makes the next reconcile run at once, so whatever Redis lost meanwhile is re-enqueued once it answers again.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Awaitable, Callable, Container

from order_engine.config import Settings
from order_engine.errors import DependencyUnavailable
from order_engine.ports import ExecutorFleet, Metrics, OrderReader, WorkQueue
from order_engine.services.executor.run_summary import RunSummary
from order_engine.services.executor.watcher import Watcher

logger = logging.getLogger(__name__)


def tick_s(s: Settings) -> float:
    """Three heartbeats per heartbeat TTL and three renewals per lease, so one slow tick neither counts this
    executor out nor loses a lease; and at least one ask per sweep interval, so the sweep turn is not missed."""
    return min(s.heartbeat_ttl_ms, s.lease_ms, s.sweep_interval_ms * 3) / 3000


class Chore:
    """One job of the keep-alive loop: `due()` is its schedule (it may ask Redis for the fleet's turn), `run()`
    the job."""

    async def due(self) -> bool:
        return True  # every tick

    async def run(self) -> None:
        raise NotImplementedError


class KeepAlive:
    """The chores, in order, once a tick; a store failing ends the tick and calls `on_store_failure`."""

    def __init__(self, chores: list[Chore], *, tick_s: float, on_store_failure: Callable[[], None]):
        self.chores = chores
        self.tick_s = tick_s
        self.on_store_failure = on_store_failure

    async def tick(self) -> None:
        try:
            for chore in self.chores:
                if await chore.due():
                    await chore.run()
        except DependencyUnavailable as exc:
            logger.warning("chore failed: %s", exc)
            self.on_store_failure()


class Heartbeat(Chore):
    """Every tick: this executor is alive to its peers (who count it out `ttl_ms` after its last beat), and the
    start slot it was launched into is filled."""

    def __init__(self, fleet: ExecutorFleet, ttl_ms: int, slot: str | None):
        self.fleet, self.ttl_ms, self.slot = fleet, ttl_ms, slot

    async def run(self) -> None:
        await self.fleet.beat(self.ttl_ms, self.slot)


class LeaseRenewal(Chore):
    """Every tick: renew the leases of the orders in hand that are not being settled yet, so no other executor
    takes them back. A lease another executor holds now is lost: the order's lease check stops it before it sends."""

    def __init__(self, queue: WorkQueue, leased: set[str]):
        self.queue, self.leased = queue, leased

    async def run(self) -> None:
        for order_id in await self.queue.renew(list(self.leased)):
            logger.warning("lease lost", extra={"order_id": order_id})


class CrashRecovery(Chore):
    """In this executor's sweep turn (one executor per `interval_ms`): put back the orders whose holder died (their
    lease expired), then start the executors the queue needs beyond the live ones."""

    def __init__(self, queue: WorkQueue, fleet: ExecutorFleet, interval_ms: int, summary: RunSummary,
                 metrics: Metrics, launch_missing: Callable[[], Awaitable[None]]):
        self.queue, self.fleet, self.interval_ms, self.summary, self.metrics = queue, fleet, interval_ms, summary, metrics
        self.launch_missing = launch_missing

    async def due(self) -> bool:
        return await self.fleet.take_turn("sweep", self.interval_ms)

    async def run(self) -> None:
        recovered = await self.queue.recover_expired()
        self.summary.stalled_requeued += recovered.requeued
        self.summary.stalled_dead += recovered.dead_lettered
        self.metrics.count("DeadLetters", recovered.dead_lettered)
        await self.launch_missing()


class Reconcile(Chore):
    """Make Redis hold what PostgreSQL says it should: re-enqueue the queued orders Redis holds nowhere, and
    rebuild the waiting books if Redis lost some.

    Runs at once at start-up and whenever `at_once()` is called (Redis lost its data, a store failed); once more
    a grace (and a tick) after each of those, when the orders accepted just before are past the grace the first
    one left them; otherwise in this executor's reconcile turn (one executor per `reconcile_interval_ms`)."""

    def __init__(self, s: Settings, queue: WorkQueue, fleet: ExecutorFleet, reader: OrderReader,
                 in_hand: Container[str], summary: RunSummary, *, tick_s: float, watcher: Watcher | None,
                 closing: asyncio.Event, clock: Callable[[], float] = time.monotonic):
        self.queue, self.fleet, self.reader, self.in_hand, self.summary = queue, fleet, reader, in_hand, summary
        self.watcher = watcher
        self.interval_ms, self.grace_ms, self.slot_ms = s.reconcile_interval_ms, s.reconcile_grace_ms, s.dex_slot_ms
        self.tick_s = tick_s
        self.closing = closing  # no rebuild starts once the executor is closing
        self.clock = clock
        self._urgent = True
        self._again_at: float | None = None
        self.books_restore: asyncio.Task[None] | None = None  # a rebuild of the waiting books, when one runs

    def at_once(self) -> None:
        self._urgent = True

    def _again_due(self) -> bool:
        return self._again_at is not None and self.clock() >= self._again_at

    async def due(self) -> bool:
        return self._urgent or self._again_due() or await self.fleet.take_turn("reconcile", self.interval_ms)

    async def run(self) -> None:
        urgent, again = self._urgent, self._again_due()
        self._urgent = False
        self.summary.reconciled += await self.requeue_lost()
        await self._check_waiting_books()
        if urgent:
            self._again_at = self.clock() + self.grace_ms / 1000 + self.tick_s
        elif again:
            self._again_at = None

    async def requeue_lost(self) -> int:
        """Re-enqueue queued orders (lifecycle.QUEUED) that Redis holds nowhere (after a Redis restart or a lost
        push); returns how many."""
        unfinished = await self.reader.unfinished(self.grace_ms)
        if not unfinished:
            return 0
        snapshot = await self.queue.snapshot()
        missing = [i for i in unfinished if i not in snapshot.held and i not in snapshot.dead and i not in self.in_hand]
        if missing:
            logger.warning("reconciler re-enqueued %d orders Redis had lost", len(missing))
            await self.queue.requeue(missing)
        return len(missing)

    async def _check_waiting_books(self) -> None:
        """Rebuild the waiting books if Redis lost some, in a task of its own: rebuilding 100,000 takes seconds,
        which must not hold up the heartbeat and lease renewal. Checked in the watcher's turn, so no tick has
        orders out of the books and not yet stored (which would look like a loss); a turn another executor holds
        leaves it to the next reconcile."""
        watcher = self.watcher
        if (watcher is None or self.closing.is_set() or watcher.in_hand
                or (self.books_restore is not None and not self.books_restore.done())):
            return
        if not await self.fleet.take_turn("watch", self.slot_ms):
            return

        async def restore() -> None:
            try:
                self.summary.waiting_restored += await watcher.restore_if_lost(self.grace_ms)
            except DependencyUnavailable as exc:
                logger.warning("could not check the waiting books: %s", exc)
                self.at_once()

        self.books_restore = asyncio.create_task(restore())


class DataLossCheck(Chore):
    """Every tick: when Redis lost its data (flushed, or restarted empty), the reconcile runs at once."""

    def __init__(self, fleet: ExecutorFleet, reconcile: Reconcile):
        self.fleet, self.reconcile = fleet, reconcile

    async def run(self) -> None:
        if await self.fleet.state_lost():
            logger.warning("Redis lost its data (flushed or restarted empty): reconciling now")
            self.reconcile.at_once()
