"""The watcher of waiting orders: once a market tick, fire the orders whose trigger the market reached and end
the ones past their expiry. It runs in one executor per tick (`ExecutorFleet.take_turn("watch")`).

Each trigger kind has a source of levels (`sources[kind]()` -> {book key: current level}); a book fires the
orders whose score the level reached, with one range read, so a tick costs the orders it fires, not the orders
that wait. A fired order moves waiting -> pending (a conditional step with its event, as every step) and goes on
the ready queue; an expired one moves waiting -> expired. An order the books fire but PostgreSQL no longer has
waiting (cancelled meanwhile, or a stale entry of a rebuild) is left as it is.

Nothing is lost if this executor dies between taking orders out of Redis and storing their steps: PostgreSQL
still has them waiting, and `restore_if_lost` (run by the reconciler) puts them back.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Awaitable, Callable

from order_engine.domain.lifecycle import Status
from order_engine.domain.transition import Transition
from order_engine.domain.sniper_orders import SNIPER
from order_engine.domain.triggers import LISTING, PRICE
from order_engine.ports import Dex, OrderReader, WaitingBook, WaitingOrders, WorkQueue
from order_engine.services.executor.recorder import StepRecorder

logger = logging.getLogger(__name__)

LevelSource = Callable[[], Awaitable[dict[str, float]]]


def trigger_sources(dex: Dex) -> dict[str, LevelSource]:
    """Where each trigger kind reads its levels: a limit order's price book from the venues' prices, a sniper
    order's listing book from the listings whose slot has come."""
    return {PRICE: dex.price_levels, LISTING: dex.listing_levels}


@dataclass
class TickResult:
    fired: int = 0  # orders moved to pending and queued
    expired: int = 0
    skipped: int = 0  # taken out of a book but no longer waiting in PostgreSQL


class Watcher:
    def __init__(self, book: WaitingBook, waiting: WaitingOrders, reader: OrderReader, recorder: StepRecorder,
                 queue: WorkQueue, sources: dict[str, LevelSource], *, margin_bps: int, fire_max: int,
                 clock_ms: Callable[[], int] = lambda: int(time.time() * 1000)):
        self.book, self.waiting, self.reader, self.recorder, self.queue = book, waiting, reader, recorder, queue
        self.sources = sources
        self.margin = margin_bps / 10_000
        self.fire_max = fire_max
        self.clock_ms = clock_ms
        self.in_hand = False  # orders taken out of the books and not yet stored and queued: its executor stays

    async def tick(self) -> TickResult:
        self.in_hand = True
        try:
            return await self._tick()
        finally:
            self.in_hand = False

    async def _tick(self) -> TickResult:
        result = TickResult()
        expired = await self.book.take_expired(self.clock_ms(), self.fire_max)
        fired: dict[str, tuple[str, str, float]] = {}  # order id -> (kind, book key, level)
        for kind, source in self.sources.items():
            for key, level in (await source()).items():
                reached = level * (1 - self.margin) if kind == PRICE else level
                for order_id in await self.book.take_reached(kind, key, reached, self.fire_max):
                    fired[order_id] = (kind, key, level)
        if not expired and not fired:
            return result
        orders = await self.reader.load([*expired, *fired])
        steps = []
        for order_id in expired:
            order = orders.get(order_id)
            if order is None or order.status is not Status.WAITING:
                result.skipped += 1
                continue
            steps.append(Transition(order, Status.EXPIRED, detail={"reason": "expired before its trigger fired",
                                                                   "expiresAt": order.to_api()["expiresAt"]},
                                    changes={"error": _expired_because(order.order_type)}))
        for order_id, (kind, key, level) in fired.items():
            order = orders.get(order_id)
            if order is None or order.status is not Status.WAITING:
                result.skipped += 1
                continue
            steps.append(Transition(order, Status.PENDING, detail={"trigger": kind, "book": key, **_fired_at(kind, level)},
                                    changes={"min_amount_out": order.floor_amount_out}))
        stored = await asyncio.gather(*(self.recorder.record(step) for step in steps))
        queued = [after.id for after in stored if after is not None and after.status is Status.PENDING]
        result.expired = sum(1 for after in stored if after is not None and after.status is Status.EXPIRED)
        result.fired = len(queued)
        if queued:
            # A crash before this push leaves them pending and unqueued: the reconciler queues them.
            await self.queue.requeue(queued)
        if result.fired or result.expired:
            logger.info("watcher tick", extra={"fired": result.fired, "expired": result.expired})
        return result

    async def restore_if_lost(self, grace_ms: int, *, certain: bool = False) -> int:
        """Rebuild the books from PostgreSQL when Redis holds fewer waiting orders than PostgreSQL has settled
        (submitted over `grace_ms` ago), or at once when `certain`; returns the orders put back. A count, not a
        comparison of ids, so the periodic check costs one count on each side however many wait."""
        if not certain and await self.book.count() >= await self.waiting.settled_count(grace_ms):
            return 0
        entries = await self.waiting.entries()
        if entries:
            logger.warning("rebuilding the waiting books from PostgreSQL: %d orders", len(entries))
        return await self.book.restore(entries)


def _price_text(level: float) -> str:
    return format(Decimal(repr(level)).quantize(Decimal("1e-9")).normalize(), "f")


def _fired_at(kind: str, level: float) -> dict[str, object]:
    return {"listingSlot": int(level)} if kind == LISTING else {"marketPrice": _price_text(level)}


def _expired_because(order_type: str) -> str:
    if order_type == SNIPER:
        return "expired: its pool did not list in time"
    return "expired: the market did not reach the limit price in time"
