"""The waiting orders in Redis: one sorted set per trigger book (order id -> trigger score), one of every waiting
order by expiry, and a hash from order id to its book. Each move is one Lua script, so an order is in a book and
the expiry set together or in neither (lua/waiting_*.lua). Redis may lose all of it: PostgreSQL keeps every waiting
order's trigger, and the executor's reconciler puts them back (`restore`).
"""
from __future__ import annotations

import json
from typing import Any, Callable, Iterable

import redis
import redis.asyncio

from order_engine.domain.triggers import Trigger
from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.redis.connect import redis_errors, translates_redis_errors
from order_engine.adapters.redis.scripts import register

RESTORE_CHUNK = 1_000


def hold_waiting(script: Callable[..., Any], keys: KeyScheme, order_id: str, trigger: Trigger, expires_ms: int,
                 frames: list[dict[str, Any]], wake_debounce_ms: int, now_ms: int) -> bool:
    """Submit's side (RedisOrderIntake.hold): start the order's live event log and put it in its book and the expiry
    set, at once, by lua/waiting_hold.lua (`script`); True when an executor must be woken to watch it. Raises
    DependencyUnavailable('redis')."""
    book = keys.waiting_book(trigger.kind, trigger.key)
    encoded = [json.dumps(frame, separators=(",", ":")) for frame in frames]
    with redis_errors():
        return bool(script(keys=(keys.order_events(order_id), book, keys.waiting_expiry, keys.waiting_books,
                                 keys.executor_beats, keys.executor_wake),
                           args=(order_id, repr(trigger.score), expires_ms, wake_debounce_ms, now_ms, *encoded)))


class RedisWaitingRelease:
    """`WaitingRelease`: a cancel's side (synchronous, for the HTTP functions)."""

    def __init__(self, client: redis.Redis, keys: KeyScheme):
        self.redis, self.keys = client, keys
        self._release = register(client, "waiting_release")

    def release(self, order_id: str) -> bool:
        """Take a waiting order out of its book and the expiry set (after it was cancelled): True when it was
        there. Raises DependencyUnavailable('redis')."""
        with redis_errors():
            return bool(self._release(keys=(self.keys.waiting_expiry, self.keys.waiting_books), args=(order_id,)))


class RedisWaitingBook:
    """The watcher's side (asyncio): take out what the market reached and what expired, count, restore."""

    def __init__(self, client: redis.asyncio.Redis, keys: KeyScheme):
        self.redis, self.keys = client, keys
        self._fire = register(client, "waiting_fire")
        self._expire = register(client, "waiting_expire")

    @translates_redis_errors
    async def take_reached(self, kind: str, key: str, level: float, limit: int) -> list[str]:
        k = self.keys
        return list(await self._fire(keys=(k.waiting_book(kind, key), k.waiting_expiry, k.waiting_books),
                                     args=(repr(level), limit)))

    @translates_redis_errors
    async def take_expired(self, now_ms: int, limit: int) -> list[str]:
        return list(await self._expire(keys=(self.keys.waiting_expiry, self.keys.waiting_books),
                                       args=(now_ms, limit)))

    @translates_redis_errors
    async def count(self) -> int:
        return int(await self.redis.zcard(self.keys.waiting_expiry))

    @translates_redis_errors
    async def restore(self, entries: Iterable[tuple[str, Trigger, int]]) -> int:
        """Put (order id, trigger, expiry ms) back, as a rebuild from PostgreSQL; idempotent."""
        k, n, batch = self.keys, 0, []

        async def flush() -> None:  # a few multi-member commands per chunk, not three per order
            books: dict[str, dict[str, float]] = {}
            for order_id, trigger, _ in batch:
                books.setdefault(k.waiting_book(trigger.kind, trigger.key), {})[order_id] = trigger.score
            async with self.redis.pipeline(transaction=False) as pipe:
                for book, members in books.items():
                    pipe.zadd(book, members)
                    pipe.hset(k.waiting_books, mapping=dict.fromkeys(members, book))
                pipe.zadd(k.waiting_expiry, {order_id: expires_ms for order_id, _, expires_ms in batch})
                await pipe.execute()

        for entry in entries:
            batch.append(entry)
            n += 1
            if len(batch) >= RESTORE_CHUNK:
                await flush()
                batch.clear()
        if batch:
            await flush()
        return n
