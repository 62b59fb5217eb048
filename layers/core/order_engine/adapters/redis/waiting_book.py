"""The waiting orders in Redis: one sorted set per trigger book (order id -> trigger score), one of every waiting
order by expiry, and a hash from order id to its book. Each move is one Lua script, so an order is in a book and
the expiry set together or in neither. Redis may lose all of it: PostgreSQL keeps every waiting order's trigger,
and the executor's reconciler puts them back (`restore`).
"""
from __future__ import annotations

import json
from typing import Any, Callable, Iterable

import redis
import redis.asyncio

from order_engine.domain.triggers import Trigger
from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.redis.connect import redis_errors, translates_redis_errors

# KEYS: the order's event log, its book, expiry, books, executor beats, wake   ARGV: id, score, expiry ms,
# wake debounce ms, now ms, frame... Answers whether to wake an executor (to watch), as the queue's submit does.
_HOLD = """
for i = 6, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], KEYS[2])
if redis.call('ZCOUNT', KEYS[5], ARGV[5], '+inf') > 0 then return 0 end
if redis.call('SET', KEYS[6], '1', 'NX', 'PX', ARGV[4]) then return 1 end
return 0
"""

# KEYS: book, expiry, books   ARGV: level, limit. Fires (takes out) the orders whose score the level reached.
_FIRE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
end
return ids
"""

# KEYS: expiry, books   ARGV: now ms, limit. Takes out the orders whose expiry passed, from their books too.
_EXPIRE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  local book = redis.call('HGET', KEYS[2], id)
  if book then redis.call('ZREM', book, id) end
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', KEYS[1], id)
end
return ids
"""

# KEYS: expiry, books   ARGV: id. Takes one order out of its book (a cancel), so no stale entry stays behind.
_RELEASE = """
local book = redis.call('HGET', KEYS[2], ARGV[1])
if book then redis.call('ZREM', book, ARGV[1]) end
redis.call('HDEL', KEYS[2], ARGV[1])
return redis.call('ZREM', KEYS[1], ARGV[1])
"""

RESTORE_CHUNK = 1_000


def hold_script(client: redis.Redis) -> Callable[..., Any]:
    return client.register_script(_HOLD)


def hold_waiting(script: Callable[..., Any], keys: KeyScheme, order_id: str, trigger: Trigger, expires_ms: int,
                 frames: list[dict[str, Any]], wake_debounce_ms: int, now_ms: int) -> bool:
    """Submit's side: start the order's live event log and put it in its book and the expiry set, at once; True
    when an executor must be woken to watch it. Raises DependencyUnavailable('redis')."""
    book = keys.waiting_book(trigger.kind, trigger.key)
    encoded = [json.dumps(frame, separators=(",", ":")) for frame in frames]
    with redis_errors():
        return bool(script(keys=(keys.order_events(order_id), book, keys.waiting_expiry, keys.waiting_books,
                                 keys.executor_beats, keys.executor_wake),
                           args=(order_id, repr(trigger.score), expires_ms, wake_debounce_ms, now_ms, *encoded)))


def release_script(client: redis.Redis) -> Callable[..., Any]:
    return client.register_script(_RELEASE)


def release_waiting(script: Callable[..., Any], keys: KeyScheme, order_id: str) -> bool:
    """Take a waiting order out of its book and the expiry set (True when it was there). Raises
    DependencyUnavailable('redis')."""
    with redis_errors():
        return bool(script(keys=(keys.waiting_expiry, keys.waiting_books), args=(order_id,)))


class RedisWaitingBook:
    """The watcher's side (asyncio): take out what the market reached and what expired, count, restore."""

    def __init__(self, client: redis.asyncio.Redis, keys: KeyScheme):
        self.redis, self.keys = client, keys
        self._fire = client.register_script(_FIRE)
        self._expire = client.register_script(_EXPIRE)

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
