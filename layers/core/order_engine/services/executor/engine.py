"""The executor loop: claim orders with capped concurrency, drive each through its lifecycle, settle it in the
queue, and keep the chores going: the keep-alive ones once a tick (`chores.py`: heartbeat, lease renewal, crash
recovery, reconcile), retry promotion, the waiting orders' watch and the metrics, each in a loop of its own.

One asyncio loop holds up to `executor_concurrency` orders at once; Redis caps the orders in flight across all
executors at `max_in_flight`. It stops claiming when the Lambda's remaining time falls under the stop margin or
when the queue has been idle for `idle_exit_ms`, finishes (or hands back) what it holds, and returns a summary.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from typing import Callable

from order_engine.batching import GroupCommit
from order_engine.config import Settings
from order_engine.domain.order import Order
from order_engine.domain.retry import RetryPolicy
from order_engine.errors import DependencyUnavailable
from order_engine.log_context import about
from order_engine.ports import (NO_METRICS, Dex, ExecutorFleet, LiveState, Metrics, Notifier, OrderReader,
                                TransitionWriter, WaitingBook, WaitingOrders, Waker, WorkQueue)
from order_engine.services.executor.chores import (CrashRecovery, DataLossCheck, Heartbeat, KeepAlive, LeaseRenewal,
                                                   Reconcile, tick_s)
from order_engine.services.executor.flow import LeaseLost, OrderFlow, Outcome
from order_engine.services.executor.recorder import StepRecorder
from order_engine.services.executor.run_summary import RunSummary
from order_engine.services.executor.watcher import Watcher, trigger_sources

logger = logging.getLogger(__name__)

# Retries wait out their backoff in a ZSET. The promote loop sleeps until the next one is due, and is woken when this
# executor delays an order; a delay another executor set (which promotes its own on time) is seen within this.
PROMOTE_IDLE_S = 0.25
GLOBAL_CAP_WAIT_S = 0.02  # pause before claiming again when every global slot is taken
QUEUE_GAUGES = {"ready": "QueueReady", "delayed": "QueueDelayed", "inFlight": "InFlight",
                "deadLettered": "QueueDeadLettered"}  # WorkQueue.depth() -> metric names


class Executor:
    """Drains the ready queue until told to stop, out of time, or idle. `bootstrap` builds it with its adapters."""

    def __init__(self, s: Settings, *, queue: WorkQueue, fleet: ExecutorFleet, reader: OrderReader,
                 writers: list[TransitionWriter],
                 live: LiveState, dex: Dex, notifier: Notifier, remaining_ms: Callable[[], int],
                 launcher: Waker | None = None, slot: str | None = None, rng: random.Random | None = None,
                 book: WaitingBook | None = None, waiting: WaitingOrders | None = None,
                 metrics: Metrics = NO_METRICS):
        self.settings, self.queue, self.dex, self.notifier, self.metrics = s, queue, dex, notifier, metrics
        self.fleet = fleet  # heartbeats, launching, the shared chores' turns
        self.remaining_ms = remaining_ms
        self.launcher = launcher  # starts more executors (an asynchronous Lambda invoke); None: never
        self._slot = slot  # the start slot this executor was launched into, filled at its first beat
        self.owner = queue.owner
        self.summary = RunSummary(self.owner)
        self.active: dict[str, asyncio.Task[None]] = {}
        self._leased: set[str] = set()  # the active orders not yet being settled: the leases to renew
        self._slot_free = asyncio.Event()
        self._delayed_here = asyncio.Event()  # this executor put an order in the delayed set: promote's next due moved
        self._stopping = False
        self._closing = asyncio.Event()  # ends the chores (redis-py may swallow a cancel, so they do not rely on it)
        self.reader = reader
        self.recorder = StepRecorder(writers, live, notifier, metrics=metrics)
        self._settle = GroupCommit(self._settle_batch)
        self._lease_check = GroupCommit(self.queue.holds)
        # Waiting orders (limit): watched once a slot by one executor; without a book, none are watched here.
        self.watcher = None if book is None or waiting is None else Watcher(
            book, waiting, reader, self.recorder, queue, trigger_sources(dex),
            margin_bps=s.limit_trigger_margin_bps, fire_max=s.watch_fire_max)
        self.flow = OrderFlow(
            dex, self.recorder,
            RetryPolicy(s.max_attempts, s.backoff_base_ms, s.backoff_factor, s.backoff_cap_ms),
            last_sent=reader.last_sent,
            holds_lease=self._lease_check.submit,
            rng=rng,
        )
        tick = tick_s(s)
        self.reconciling = Reconcile(s, queue, fleet, reader, self.active, self.summary, tick_s=tick, watcher=self.watcher,
                                     closing=self._closing)
        self.keep_alive = KeepAlive([
            Heartbeat(fleet, s.heartbeat_ttl_ms, slot),
            LeaseRenewal(queue, self._leased),
            DataLossCheck(fleet, self.reconciling),
            CrashRecovery(queue, fleet, s.sweep_interval_ms, self.summary, metrics, self._launch_missing),
            self.reconciling,
        ], tick_s=tick, on_store_failure=self.reconciling.at_once)

    def stop(self) -> None:
        """Stop claiming; the run returns once the orders in hand are settled."""
        self._stopping = True
        self._slot_free.set()

    async def run(self) -> RunSummary:
        started = time.monotonic()
        chores = [asyncio.create_task(self._keep_alive()), asyncio.create_task(self._promote_loop())]
        if self.watcher is not None:
            chores.append(asyncio.create_task(self._watch_loop()))
        if self.metrics.enabled:
            chores.append(asyncio.create_task(self._metrics_loop()))
        try:
            self.summary.stopped_because = await self._claim_loop()
            if self.summary.stopped_because == "deadline":
                await self._hand_over()
            await self._finish_in_hand()
        finally:
            self._closing.set()
            await asyncio.wait(chores, timeout=10)
            restoring = self.reconciling.books_restore
            if restoring is not None:  # started by the keep-alive loop, which has ended by now
                chores.append(restoring)
                await asyncio.wait([restoring], timeout=10)
            for task in chores:
                task.cancel()
            await self.recorder.close()
            await self._settle.close()
            await self._lease_check.close()
            await self._flush_metrics()
            try:
                await self.fleet.leave()
            except DependencyUnavailable:
                pass  # its heartbeat expires by itself
        self.summary.steps_written = self.recorder.steps
        self.summary.write_batches = self.recorder.batches
        self.summary.elapsed_s = round(time.monotonic() - started, 3)
        return self.summary

    # -- claiming -------------------------------------------------------------------------------------------

    async def _claim_loop(self) -> str:
        s = self.settings
        try:
            await self.fleet.beat(s.heartbeat_ttl_ms, self._slot)
        except DependencyUnavailable as exc:
            logger.warning("unavailable at start-up: %s", exc)  # the claim loop waits for it
        idle_since = time.monotonic()
        while not self._stopping:
            if self.remaining_ms() < s.executor_stop_margin_ms:
                return "deadline"
            room = s.executor_concurrency - len(self.active)
            if room <= 0:
                self._slot_free.clear()
                await self._slot_free.wait()
                continue
            try:
                claimed = await self.queue.claim(room)
                if not claimed.ids and claimed.in_flight < s.max_in_flight:
                    if not self.active and time.monotonic() - idle_since >= s.idle_exit_ms / 1000:
                        watching = self.watcher is not None and self.watcher.in_hand
                        if not watching and not await self.queue.has_waiting():
                            return "idle"
                    claimed = await self.queue.wait_claim(self._wait_s(idle_since))
            except DependencyUnavailable as exc:
                logger.warning("unavailable while claiming: %s", exc)
                await asyncio.sleep(0.5)
                continue
            self.summary.duplicates_dropped += claimed.duplicates_dropped
            if not claimed.ids:
                if claimed.in_flight >= s.max_in_flight:
                    await asyncio.sleep(GLOBAL_CAP_WAIT_S)
                continue
            idle_since = time.monotonic()
            self.summary.claimed += len(claimed.ids)
            self.summary.peak_global_in_flight = max(self.summary.peak_global_in_flight, claimed.in_flight)
            await self._start(claimed.ids)
        return "stopped"

    def _wait_s(self, idle_since: float) -> float:
        s = self.settings
        until_idle = s.idle_exit_ms / 1000 - (time.monotonic() - idle_since)
        until_deadline = (self.remaining_ms() - s.executor_stop_margin_ms) / 1000
        # Redis treats a BLMOVE timeout of 0 as "forever"; never ask for less than 10 ms.
        return max(0.01, min(s.executor_poll_ms / 1000, until_idle, until_deadline))

    async def _start(self, ids: list[str]) -> None:
        valid = []
        for entry in ids:
            try:
                valid.append(str(uuid.UUID(entry)))
            except ValueError:
                await self._dead_letter(entry, "not an order id (a corrupt queue entry)", None)
        try:
            orders = await self.reader.load(valid)
        except DependencyUnavailable:
            await asyncio.gather(*(self._settle.submit((order_id, "release", 0)) for order_id in valid))
            await asyncio.sleep(1)
            return
        for order_id in valid:
            order = orders.get(order_id)
            if order is None:
                await self._dead_letter(order_id, "unknown order id: no such order in PostgreSQL", order_id)
                continue
            self._leased.add(order_id)
            self.active[order_id] = asyncio.create_task(self._work(order))
        self.summary.peak_local_in_flight = max(self.summary.peak_local_in_flight, len(self.active))

    async def _dead_letter(self, entry: str, reason: str, order_id: str | None) -> None:
        self.summary.dead_lettered += 1
        self.metrics.count("DeadLetters")
        logger.warning("dead letter", extra={"entry": entry[:200], "reason": reason})
        await self.queue.dead_letter(entry, reason, order_id)

    # -- one order ------------------------------------------------------------------------------------------

    async def _work(self, order: Order) -> None:
        about(order.id, order.correlation_id)  # this order's task: every line logged in it names the order
        try:
            try:
                outcome = await self.flow.drive(order)
            except LeaseLost:
                outcome = Outcome.ack("lost")
            except DependencyUnavailable as exc:
                logger.warning("dependency failed while working on an order; handing it back: %s", exc)
                outcome = Outcome("release", 0, "released")
            except Exception as exc:  # noqa: BLE001 - a poison order must not take the executor down
                logger.exception("order could not be processed", extra={"order_id": order.id})
                await self._dead_letter(order.id, f"could not be processed: {type(exc).__name__}: {exc}", order.id)
                return
            self.summary.outcomes[outcome.result] += 1
            self._leased.discard(order.id)
            try:
                await self._settle.submit((order.id, outcome.action, outcome.due_ms))
                if outcome.action == "delay":
                    self._delayed_here.set()
            except DependencyUnavailable:
                logger.warning("could not settle an order in the queue; its lease will expire and it comes back")
        finally:
            self.active.pop(order.id, None)
            self._leased.discard(order.id)
            self._slot_free.set()

    async def _settle_batch(self, actions: list[tuple[str, str, int]]) -> list[None]:
        await self.queue.settle(actions)
        return [None] * len(actions)

    async def _finish_in_hand(self) -> None:
        """Let the orders in hand finish while time allows; hand back the rest for another executor."""
        if not self.active:
            return
        budget_s = max(0.0, (self.remaining_ms() - 1_000) / 1000)
        done, pending = await asyncio.wait(list(self.active.values()), timeout=budget_s)
        if pending:
            held = list(self.active)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            await self.queue.settle([(order_id, "release", 0) for order_id in held])
            self.summary.outcomes["released"] += len(held)

    # -- chores ---------------------------------------------------------------------------------------------

    async def _keep_alive(self) -> None:
        while not self._closing.is_set():
            await self.keep_alive.tick()
            await self._pause(self.keep_alive.tick_s)

    async def _launch_missing(self, *, leaving: bool = False) -> None:
        """Start the executors the queue needs beyond the live ones (this one excluded when it is leaving)."""
        if self.launcher is None:
            return
        s = self.settings
        if leaving:
            await self.fleet.leave()
        slots = await self.fleet.missing_executors(s.executor_concurrency, s.executor_max_instances,
                                                   s.executor_min_instances, s.executor_start_grace_ms)
        for slot in slots:
            logger.info("starting an executor the queue needs", extra={"slot": slot})
            if await asyncio.to_thread(self.launcher.wake, f"launched by {self.owner}", slot, "order-engine.executor"):
                self.summary.launched += 1

    async def _hand_over(self) -> None:
        """Out of time with work left: start a successor now rather than leave the queue to the schedule."""
        launched = self.summary.launched
        try:
            await self._launch_missing(leaving=True)
            # Orders waiting for a trigger are not queue work the launcher counts, but need a watcher alive.
            successor = (self.summary.launched == launched and self.watcher is not None
                         and await self.watcher.book.count() > 0)
        except DependencyUnavailable:  # cannot tell whether work waits: start one anyway, it exits when idle
            successor = True
        if successor and self.launcher is not None:
            await asyncio.to_thread(self.launcher.wake, f"successor of {self.owner}", None, "order-engine.executor")

    async def _watch_loop(self) -> None:
        """Once a market tick (a slot), the one executor whose turn it is fires and expires waiting orders."""
        slot_ms = self.settings.dex_slot_ms
        while not self._closing.is_set():
            try:
                if await self.fleet.take_turn("watch", slot_ms):
                    tick = await self.watcher.tick()
                    self.summary.waiting_fired += tick.fired
                    self.summary.waiting_expired += tick.expired
            except DependencyUnavailable as exc:
                logger.warning("could not watch waiting orders: %s", exc)
            except Exception:  # noqa: BLE001 - one bad tick must not stop the watching; the orders stay waiting
                logger.exception("a watcher tick failed")
            await self._pause(slot_ms / 1000)

    async def _promote_loop(self) -> None:
        while not self._closing.is_set():
            self._delayed_here.clear()
            wait_s = PROMOTE_IDLE_S
            try:
                promoted = await self.queue.promote_due()
                if promoted.next_due_ms is not None:
                    wait_s = min(wait_s, max(0.0, (promoted.next_due_ms - time.time() * 1000) / 1000))
            except DependencyUnavailable as exc:
                logger.warning("could not promote due retries: %s", exc)
            await self._pause_until_delayed(wait_s)

    async def _pause_until_delayed(self, seconds: float) -> None:
        woken = asyncio.ensure_future(self._delayed_here.wait())
        closing = asyncio.ensure_future(self._closing.wait())
        try:
            await asyncio.wait([woken, closing], timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
            closing.cancel()

    async def _metrics_loop(self) -> None:
        while not self._closing.is_set():
            await self._pause(self.settings.metrics_flush_ms / 1000)
            if not self._closing.is_set():
                await self._flush_metrics()

    async def _flush_metrics(self) -> None:
        """Write what was aggregated since the last flush, with the queue's gauges read now."""
        if not self.metrics.enabled:
            return
        self.metrics.gauge("LocalInFlight", len(self.active))
        try:
            depth = await self.queue.depth()
        except DependencyUnavailable:
            depth = {}
        for name, value in depth.items():
            self.metrics.gauge(QUEUE_GAUGES.get(name, name), value)
        self.metrics.flush()

    async def _pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._closing.wait(), seconds)
        except TimeoutError:
            pass
