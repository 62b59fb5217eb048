r"""The work queue in Redis: a reliable list with leases, delayed retries, stall counts and dead letters.

ready (LIST) --claim--> leases (ZSET id -> expiry, the orders in flight) --ack--> gone
                                      \--retry_later--> delayed (ZSET id -> due) --promote--> ready
                                      \--lease expired (crash)--> ready, or dead after too many stalls
Every move between structures is one Lua script, so an id is never in two places or none because of a crash.
Claims drop duplicates of an order already in flight or waiting out a backoff, and respect a global cap on the
orders in flight across all executors (`max_in_flight`). The scripts are lua/queue_*.lua (scripts.py loads them);
the executors' coordination among themselves (heartbeats, launching, chore turns) is executor_fleet.py.
"""
from __future__ import annotations

import time
from typing import Iterable

import redis.asyncio

from order_engine.ports import Claimed, Promoted, Recovered, Snapshot
from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.redis.connect import translates_redis_errors
from order_engine.adapters.redis.scripts import register

ORPHAN_OWNER = "-"  # owner of a lease the sweeper took for an id stranded in the processing list


def now_ms() -> int:
    return int(time.time() * 1000)


def _iso_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class RedisWorkQueue:
    """The executor's side of the queue (redis.asyncio). One instance per executor; `owner` names it in leases."""

    def __init__(self, client: redis.asyncio.Redis, keys: KeyScheme, owner: str, *, lease_ms: int, max_in_flight: int,
                 max_stalls: int, dead_letter_max: int = 10_000):
        self.redis, self.keys, self.owner = client, keys, owner
        self.lease_ms, self.max_in_flight, self.max_stalls = lease_ms, max_in_flight, max_stalls
        self.dead_letter_max = dead_letter_max
        self._claim = register(client, "queue_claim")
        self._lease = register(client, "queue_lease")
        self._renew = register(client, "queue_renew")
        self._settle = register(client, "queue_settle")
        self._promote = register(client, "queue_promote")
        self._recover = register(client, "queue_recover")
        self._dead_letter = register(client, "queue_dead_letter")

    @property
    def _claim_keys(self) -> list[str]:
        k = self.keys
        return [k.ready, k.processing, k.leases, k.lease_owners, k.delayed, k.peak_in_flight]

    @translates_redis_errors
    async def claim(self, n: int) -> Claimed:
        """Lease up to n ready orders at once, without blocking (fewer when the global cap leaves less room)."""
        if n <= 0:
            return Claimed([], 0, 0)
        in_flight, dropped, ids = await self._claim(
            keys=self._claim_keys, args=[n, self.owner, now_ms() + self.lease_ms, self.max_in_flight])
        return Claimed(list(ids), int(in_flight), int(dropped))

    @translates_redis_errors
    async def wait_claim(self, timeout_s: float) -> Claimed:
        """Block until an order is ready (BLMOVE ready -> processing), then lease it. Empty on timeout."""
        order_id = await self.redis.blmove(self.keys.ready, self.keys.processing, timeout_s, "RIGHT", "LEFT")
        if order_id is None:
            return Claimed([], 0, 0)
        outcome, in_flight = await self._lease(
            keys=self._claim_keys, args=[order_id, self.owner, now_ms() + self.lease_ms, self.max_in_flight, ORPHAN_OWNER])
        if int(outcome) == 1:
            return Claimed([order_id], int(in_flight), 0)
        return Claimed([], 0, 1 if int(outcome) == 0 else 0)

    @translates_redis_errors
    async def renew(self, ids: Iterable[str]) -> list[str]:
        """Extend this executor's leases; returns the ids whose lease it lost (expired and taken by another)."""
        ids = list(ids)
        if not ids:
            return []
        return list(await self._renew(keys=[self.keys.leases, self.keys.lease_owners],
                                      args=[self.owner, now_ms() + self.lease_ms, *ids]))

    @translates_redis_errors
    async def settle(self, actions: list[tuple[str, str, int]]) -> int:
        """Apply (order_id, 'ack' | 'delay' | 'release', due_ms) for orders this executor holds, in one call."""
        if not actions:
            return 0
        k = self.keys
        args: list[object] = [self.owner]
        for order_id, action, due in actions:
            args += [order_id, action, due]
        return int(await self._settle(keys=[k.leases, k.lease_owners, k.stalls, k.delayed, k.ready], args=args))

    @translates_redis_errors
    async def holds(self, ids: list[str]) -> list[bool]:
        """Whether this executor still holds each order's lease (checked right before sending a swap); renews
        them, and takes back one Redis lost."""
        lost = set(await self.renew(ids))
        return [order_id not in lost for order_id in ids]

    @translates_redis_errors
    async def dead_letter(self, entry: str, reason: str, order_id: str | None = None) -> None:
        k = self.keys
        await self._dead_letter(keys=[k.leases, k.lease_owners, k.stalls, k.dead, k.dead_ids],
                                args=[self.owner, entry, order_id or "", reason, _iso_now(), self.dead_letter_max])

    @translates_redis_errors
    async def promote_due(self, limit: int = 1000) -> Promoted:
        """Move retries whose backoff is over to the front of the ready list; says when the next one is due."""
        promoted, next_due = await self._promote(keys=[self.keys.delayed, self.keys.ready], args=[now_ms(), limit])
        return Promoted(int(promoted), None if next_due is None else int(float(next_due)))

    @translates_redis_errors
    async def recover_expired(self) -> Recovered:
        k = self.keys
        requeued, dead, orphans = await self._recover(
            keys=[k.leases, k.lease_owners, k.stalls, k.ready, k.dead, k.dead_ids, k.processing],
            args=[now_ms(), self.max_stalls, now_ms() + self.lease_ms, _iso_now(), self.dead_letter_max, ORPHAN_OWNER])
        return Recovered(int(requeued), int(dead), int(orphans))

    @translates_redis_errors
    async def snapshot(self) -> Snapshot:
        k = self.keys
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lrange(k.ready, 0, -1)
            pipe.lrange(k.processing, 0, -1)
            pipe.zrange(k.leases, 0, -1)
            pipe.zrange(k.delayed, 0, -1)
            pipe.smembers(k.dead_ids)
            ready, processing, leased, delayed, dead = await pipe.execute()
        return Snapshot(held={*ready, *processing, *leased, *delayed}, dead=set(dead))

    @translates_redis_errors
    async def requeue(self, ids: list[str]) -> None:
        for start in range(0, len(ids), 1000):
            await self.redis.rpush(self.keys.ready, *ids[start:start + 1000])

    @translates_redis_errors
    async def has_waiting(self) -> bool:
        """Whether any order is ready, waiting out a backoff, or in flight anywhere, read atomically (a retry
        being promoted from the delayed set to the ready list is seen in one or the other). An executor stays
        while any is, so a live one is there to reclaim the orders of one that dies."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.llen(self.keys.ready)
            pipe.zcard(self.keys.delayed)
            pipe.zcard(self.keys.leases)
            pipe.llen(self.keys.processing)
            pipe.zcard(self.keys.waiting_expiry)  # waiting orders need a live executor to watch them
            counts = await pipe.execute()
        return any(counts)

    @translates_redis_errors
    async def depth(self) -> dict[str, int]:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.llen(self.keys.ready)
            pipe.zcard(self.keys.delayed)
            pipe.zcard(self.keys.leases)
            pipe.llen(self.keys.processing)
            pipe.llen(self.keys.dead)
            ready, delayed, leased, landing, dead = await pipe.execute()
        return {"ready": ready, "delayed": delayed, "inFlight": leased + landing, "deadLettered": dead}
