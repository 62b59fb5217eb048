"""Records order steps: group-committed to the durable store (PostgreSQL), then the live state and event log
(Redis), then the notifier. A step counts (and the caller moves on) only once the durable store has it.

A caller may hand over several consecutive steps of one order at once (`record_chain`): they reach the durable
store in one write (all or none) and are published in order once it has them."""
from __future__ import annotations

import asyncio
import functools
import logging
import zlib

from order_engine.batching import GroupCommit
from order_engine.domain.order import Order, OrderEvent
from order_engine.domain.transition import Transition
from order_engine.errors import DependencyUnavailable
from order_engine.log_context import about
from order_engine.ports import NO_METRICS, LiveState, Metrics, Notifier, TransitionWriter
from order_engine.services.executor import step_metrics

logger = logging.getLogger(__name__)

PUBLISH_CONCURRENCY = 50
TIMELINES_MAX = 10_000


class StepRecorder:
    """`await record(transition)` -> the order as stored, or None when another executor moved it first."""

    def __init__(self, writers: list[TransitionWriter], live: LiveState, notifier: Notifier, max_batch: int = 1000,
                 metrics: Metrics = NO_METRICS):
        self.writers, self._live, self._notifier, self._metrics = writers, live, notifier, metrics
        # Each writer (a connection of its own) group-commits the orders that hash to it, so PostgreSQL works on
        # several batches at once while one order's steps still go through one connection, in order.
        self._commits: list[GroupCommit[list[Transition], Order | None]] = [
            GroupCommit(functools.partial(self._flush, writer), max_batch) for writer in writers]
        self._steps = 0
        self._timelines: dict[str, list[tuple[str, float]]] = {}  # order id -> its steps' timings, until it ends
        # (order, event, its subscribers if known) to publish
        self._fanout: asyncio.Queue[list[tuple[Order, OrderEvent, set[str] | None]] | None] = asyncio.Queue()
        self._fanout_task = asyncio.create_task(self._deliver())

    @property
    def batches(self) -> int:
        return sum(commit.batches for commit in self._commits)

    @property
    def steps(self) -> int:
        return self._steps

    async def record(self, transition: Transition) -> Order | None:
        return await self.record_chain([transition])

    async def record_chain(self, chain: list[Transition]) -> Order | None:
        """Consecutive steps of one order (each starting where the one before ends), stored together: the order
        after the last, or None when another executor moved it first."""
        commit = self._commits[zlib.crc32(chain[0].order.id.encode()) % len(self._commits)]
        return await commit.submit(chain)

    async def _flush(self, writer: TransitionWriter, chains: list[list[Transition]]) -> list[Order | None]:
        batch = [t for chain in chains for t in chain]
        stored = await writer.write(batch)
        self._steps += len(batch)
        done = [t for t, ok in zip(batch, stored) if ok]
        steps = [(after, t.event(after)) for t in done for after in (t.after(),)]
        step_metrics.observe(self._metrics, done)
        self._log(done, steps)
        if steps:
            subscribers = None
            try:
                subscribers = await self._live.record(steps)
            except DependencyUnavailable:
                # PostgreSQL has the steps; readers fall back to it and the reconciler restores the queue.
                logger.warning("could not write the live state of %d steps to Redis", len(steps))
            if subscribers is None:
                self._fanout.put_nowait([(order, event, None) for order, event in steps])
            else:  # the steps of orders nobody watches (most) go nowhere
                watched = [(order, event, subscribers[order.id]) for order, event in steps if subscribers.get(order.id)]
                if watched:
                    self._fanout.put_nowait(watched)
        ends = iter(stored)
        return [chain[-1].after() if all([next(ends) for _ in chain]) else None for chain in chains]

    def _log(self, done: list[Transition], steps: list[tuple[Order, OrderEvent]]) -> None:
        """One INFO line per order when it ends (with its steps' timings) and per retry; each step at DEBUG.
        The full timeline is in PostgreSQL: the lines are for following an order without querying it."""
        debug = logger.isEnabledFor(logging.DEBUG)
        for t, (after, _event) in zip(done, steps):
            step_ms = round(t.step_ms, 1)
            if debug:
                logger.debug("order step recorded", extra={
                    "order_id": after.id, "correlation_id": after.correlation_id, "status": str(after.status),
                    "seq": after.seq, "attempt": after.attempts, "step_ms": step_ms})
            timeline = self._timelines.pop(after.id, None) or []
            timeline.append((str(after.status), step_ms))
            retry = t.detail.get("retry")
            if t.terminal:
                logger.info("order finished", extra={
                    "order_id": after.id, "correlation_id": after.correlation_id, "status": str(after.status),
                    "seq": after.seq, "attempt": after.attempts, "error": after.error,
                    "total_ms": round(t.since_accepted_ms, 1),
                    "steps_ms": timeline})  # [status, ms since the step before], as this executor saw them
                continue
            if retry:
                logger.info("order retry scheduled", extra={
                    "order_id": after.id, "correlation_id": after.correlation_id, "seq": after.seq,
                    "attempt": after.attempts, "reason": retry.get("reason"), "error": after.error})
            self._timelines[after.id] = timeline
            if len(self._timelines) > TIMELINES_MAX:  # orders another executor finishes: forget the oldest
                del self._timelines[next(iter(self._timelines))]

    async def _deliver(self) -> None:
        # Batches go out in order (an order's events stay in seq order); within one, a bounded number at once.
        limit = asyncio.Semaphore(PUBLISH_CONCURRENCY)

        async def publish(order: Order, event: OrderEvent, subscribers: set[str] | None) -> None:
            about(order.id, order.correlation_id)  # this task's lines (the notifier's too) name the order
            async with limit:
                try:
                    await self._notifier.publish(order.id, event.to_message(), subscribers)
                except Exception as exc:  # noqa: BLE001 - delivery is best effort; the event is stored
                    logger.warning("notifier failed: %s", exc)

        while (steps := await self._fanout.get()) is not None:
            await asyncio.gather(*(publish(*step) for step in steps))

    async def close(self) -> None:
        """Stop taking steps; deliver the events already stored."""
        for commit in self._commits:
            await commit.close()
        self._fanout.put_nowait(None)
        await self._fanout_task
