"""The executors as a group, in Redis: who is alive (heartbeats in one ZSET, with the start slots of executors
being launched), how many more the queue needs, whose turn a shared chore is, and whether Redis lost its data.

Submit reads the same beats (lua/intake_enqueue.lua) to decide whether to wake an executor.
"""
from __future__ import annotations

import redis.asyncio

from order_engine.adapters.redis.connect import translates_redis_errors
from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.redis.scripts import register
from order_engine.adapters.redis.work_queue import now_ms

START_SLOT_PREFIX = "start:"  # a start slot's member in the beats ZSET: start:<n>:<reserved at ms>


class RedisExecutorFleet:
    """`ExecutorFleet` for one executor (redis.asyncio); `owner` names it in the beats and the chore locks."""

    def __init__(self, client: redis.asyncio.Redis, keys: KeyScheme, owner: str):
        self.redis, self.keys, self.owner = client, keys, owner
        self._missing = register(client, "fleet_missing_executors")

    @translates_redis_errors
    async def take_turn(self, chore: str, interval_ms: int) -> bool:
        """True for the one executor that gets to run a periodic chore (sweep, reconcile) this interval."""
        lock = {"sweep": self.keys.sweep_lock, "reconcile": self.keys.reconcile_lock, "watch": self.keys.watch_lock}[chore]
        return bool(await self.redis.set(lock, self.owner, nx=True, px=interval_ms))

    @translates_redis_errors
    async def beat(self, ttl_ms: int, slot: str | None = None) -> None:
        """This executor is alive for `ttl_ms` more; `slot` is the start slot it was launched into (now filled)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(self.keys.executor_beats, {self.owner: now_ms() + ttl_ms})
            if slot:
                pipe.zrem(self.keys.executor_beats, slot)
            await pipe.execute()

    @translates_redis_errors
    async def leave(self) -> None:
        """This executor stops: it no longer counts as live."""
        await self.redis.zrem(self.keys.executor_beats, self.owner)

    @translates_redis_errors
    async def missing_executors(self, per_executor: int, max_instances: int, min_with_work: int,
                                start_grace_ms: int) -> list[str]:
        """The start slots of the executors the queue needs beyond the live ones (reserved in Redis, so two
        executors never launch the same replacement)."""
        k = self.keys
        slots = await self._missing(
            keys=[k.executor_beats, k.ready, k.leases, k.delayed, k.processing],
            args=[now_ms(), max(1, per_executor), max_instances, min_with_work, start_grace_ms, START_SLOT_PREFIX])
        return list(slots)

    @translates_redis_errors
    async def state_lost(self) -> bool:
        """True when Redis no longer holds the marker the executors keep in it (FLUSHALL, or a restart that lost
        its data) and the marker is set again now: the caller reconciles at once."""
        return bool(await self.redis.set(self.keys.redis_marker, self.owner, nx=True))
