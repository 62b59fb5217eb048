r"""The work queue in Redis: a reliable list with leases, delayed retries, stall counts and dead letters.

ready (LIST) --claim--> leases (ZSET id -> expiry, the orders in flight) --ack--> gone
                                      \--retry_later--> delayed (ZSET id -> due) --promote--> ready
                                      \--lease expired (crash)--> ready, or dead after too many stalls
Every move between structures is one Lua script, so an id is never in two places or none because of a crash.
Claims drop duplicates of an order already in flight or waiting out a backoff, and respect a global cap on the
orders in flight across all executors (`max_in_flight`).
"""
from __future__ import annotations

import json
import time
from typing import Iterable

import redis
import redis.asyncio

from order_engine.ports import Claimed, Promoted, Recovered, Snapshot
from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.redis.connect import translates_redis_errors

ORPHAN_OWNER = "-"  # owner of a lease the sweeper took for an id stranded in the processing list

# Lua's unpack() is bounded by its C stack: multi-member commands go out in chunks of this many arguments.
_CHUNKED = """
local function chunked(command, key, items, flag)
  for i = 1, #items, 4000 do
    local last = math.min(i + 3999, #items)
    if flag then redis.call(command, key, flag, unpack(items, i, last))
    else redis.call(command, key, unpack(items, i, last)) end
  end
end
local function hmget(key, ids)
  local values = {}
  for i = 1, #ids, 4000 do
    for _, v in ipairs(redis.call('HMGET', key, unpack(ids, i, math.min(i + 3999, #ids)))) do
      values[#values + 1] = v
    end
  end
  return values
end
"""

# KEYS: ready, processing, leases, owners, delayed, peak   ARGV: n, owner, expiry, max_in_flight
# A few commands per claim, not per order: ids pop in one RPOP, are checked in one ZMSCORE per set, leased in one
# ZADD and one HSET.
_CLAIM = _CHUNKED + """
local n = tonumber(ARGV[1])
local room = tonumber(ARGV[4]) - redis.call('ZCARD', KEYS[3])
if room < n then n = room end
local claimed, dropped, seen, leases, owners = {}, 0, {}, {}, {}
while #claimed < n do
  local want = n - #claimed
  local ids = redis.call('RPOP', KEYS[1], want)
  if not ids then break end
  local leased = redis.call('ZMSCORE', KEYS[3], unpack(ids))
  local delayed = redis.call('ZMSCORE', KEYS[5], unpack(ids))
  for i, id in ipairs(ids) do
    if leased[i] or delayed[i] or seen[id] then
      dropped = dropped + 1
    else
      seen[id] = true
      claimed[#claimed + 1] = id
      leases[#leases + 1] = ARGV[3]; leases[#leases + 1] = id
      owners[#owners + 1] = id; owners[#owners + 1] = ARGV[2]
    end
  end
  if #ids < want then break end
end
if #claimed > 0 then
  chunked('ZADD', KEYS[3], leases)
  chunked('HSET', KEYS[4], owners)
end
local inflight = redis.call('ZCARD', KEYS[3])
if inflight > tonumber(redis.call('GET', KEYS[6]) or '0') then redis.call('SET', KEYS[6], inflight) end
return {inflight, dropped, claimed}
"""

# After BLMOVE landed `id` at the head of processing: lease it, or drop a duplicate, or hand it back when the
# global cap is reached.  KEYS: ready, processing, leases, owners, delayed, peak  ARGV: id, owner, expiry, max
# Returns {1 leased | 0 dropped as a duplicate | -1 handed back (no room), the orders in flight}.
_LEASE = """
local id = ARGV[1]
local landed = redis.call('LREM', KEYS[2], 1, id)
local owner = redis.call('HGET', KEYS[4], id)
if landed == 0 and owner == '""" + ORPHAN_OWNER + """' then
  redis.call('ZADD', KEYS[3], ARGV[3], id)
  redis.call('HSET', KEYS[4], id, ARGV[2])
  return {1, redis.call('ZCARD', KEYS[3])}
end
if redis.call('ZSCORE', KEYS[3], id) or redis.call('ZSCORE', KEYS[5], id) then return {0, 0} end
if landed == 0 then return {0, 0} end
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[4]) then
  redis.call('RPUSH', KEYS[1], id)
  return {-1, 0}
end
redis.call('ZADD', KEYS[3], ARGV[3], id)
redis.call('HSET', KEYS[4], id, ARGV[2])
local inflight = redis.call('ZCARD', KEYS[3])
if inflight > tonumber(redis.call('GET', KEYS[6]) or '0') then redis.call('SET', KEYS[6], inflight) end
return {1, inflight}
"""

# KEYS: leases, owners  ARGV: owner, expiry, ids...  Returns the ids whose lease this owner no longer holds.
# An id nobody holds (Redis lost its leases: FLUSHALL, or a restart without them) is taken back by the executor
# still working on it, so it is neither reclaimed by the reconciler nor left unheld.
_RENEW = _CHUNKED + """
local ids = {}
for i = 3, #ARGV do ids[#ids + 1] = ARGV[i] end
local owners = hmget(KEYS[2], ids)
local mine, taken, lost = {}, {}, {}
for i, id in ipairs(ids) do
  local owner = owners[i]
  if owner == ARGV[1] then
    mine[#mine + 1] = ARGV[2]; mine[#mine + 1] = id
  elseif not owner and not redis.call('ZSCORE', KEYS[1], id) then
    taken[#taken + 1] = id
  else
    lost[#lost + 1] = id
  end
end
if #mine > 0 then chunked('ZADD', KEYS[1], mine, 'XX') end
for _, id in ipairs(taken) do
  redis.call('ZADD', KEYS[1], ARGV[2], id)
  redis.call('HSET', KEYS[2], id, ARGV[1])
end
return lost
"""

# Finish with orders this owner holds. KEYS: leases, owners, stalls, delayed, ready
# ARGV: owner, then (id, action, arg) triples; action 'ack' | 'delay' (arg = due ms) | 'release' (back to ready)
_SETTLE = _CHUNKED + """
local ids = {}
for i = 2, #ARGV, 3 do ids[#ids + 1] = ARGV[i] end
local owners = hmget(KEYS[2], ids)
local held, acked, delays, released, seen = {}, {}, {}, {}, {}
for j, id in ipairs(ids) do
  if owners[j] == ARGV[1] and not seen[id] then
    seen[id] = true
    local i = 2 + (j - 1) * 3
    local action = ARGV[i + 1]
    held[#held + 1] = id
    if action == 'ack' then
      acked[#acked + 1] = id
    elseif action == 'delay' then
      delays[#delays + 1] = ARGV[i + 2]; delays[#delays + 1] = id
    else
      released[#released + 1] = id
    end
  end
end
if #held > 0 then
  chunked('ZREM', KEYS[1], held)
  chunked('HDEL', KEYS[2], held)
end
if #acked > 0 then chunked('HDEL', KEYS[3], acked) end
if #delays > 0 then chunked('ZADD', KEYS[4], delays) end
if #released > 0 then chunked('RPUSH', KEYS[5], released) end
return #held
"""

# KEYS: delayed, ready  ARGV: now, limit   Returns {promoted, the next due time as a string, or false}.
_PROMOTE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('RPUSH', KEYS[2], id)
end
local next = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {#due, next[2] or false}
"""

# Expired leases back to ready, or to the dead letters after too many stalls; ids stranded in processing (a crash
# between BLMOVE and the lease) get a lease of their own, so they expire and come back the same way.
# KEYS: leases, owners, stalls, ready, dead, dead_ids, processing  ARGV: now, max_stalls, orphan_expiry, at_iso, max_dead
_RECOVER = """
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1000)
local requeued, dead = 0, 0
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  local stalls = redis.call('HINCRBY', KEYS[3], id, 1)
  if stalls > tonumber(ARGV[2]) then
    redis.call('HDEL', KEYS[3], id)
    redis.call('SADD', KEYS[6], id)
    redis.call('LPUSH', KEYS[5], cjson.encode({entry = id, orderId = id, at = ARGV[4],
      reason = 'stalled ' .. stalls .. ' times: its executor stopped (crash or timeout) while working on it'}))
    redis.call('LTRIM', KEYS[5], 0, tonumber(ARGV[5]) - 1)
    dead = dead + 1
  else
    redis.call('RPUSH', KEYS[4], id)
    requeued = requeued + 1
  end
end
local orphans = redis.call('LRANGE', KEYS[7], 0, -1)
for _, id in ipairs(orphans) do
  redis.call('LREM', KEYS[7], 1, id)
  if redis.call('ZADD', KEYS[1], 'NX', ARGV[3], id) == 1 then
    redis.call('HSET', KEYS[2], id, '""" + ORPHAN_OWNER + """')
  end
end
return {requeued, dead, #orphans}
"""

# KEYS: leases, owners, stalls, dead, dead_ids  ARGV: owner, entry, order_id ('' if none), reason, at_iso, max_dead
_DEAD_LETTER = """
local id = ARGV[3]
local leased = id ~= '' and id or ARGV[2]  -- a corrupt entry was leased under its own text
if redis.call('HGET', KEYS[2], leased) == ARGV[1] then
  redis.call('ZREM', KEYS[1], leased)
  redis.call('HDEL', KEYS[2], leased)
end
if id ~= '' then
  redis.call('HDEL', KEYS[3], id)
  redis.call('SADD', KEYS[5], id)
end
redis.call('LPUSH', KEYS[4], cjson.encode({entry = ARGV[2], orderId = (id ~= '' and id or cjson.null),
  reason = ARGV[4], at = ARGV[5]}))
redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[6]) - 1)
return 1
"""


# How many executors the queue needs, and a start slot for each one missing: the slots count as live executors
# until the started one beats (and removes its slot) or `start_grace` passes (the start failed).
# KEYS: beats, ready, leases, delayed, processing
# ARGV: now, orders per executor, max instances, min instances while work exists, start grace ms, slot prefix
_ENSURE = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local work = redis.call('LLEN', KEYS[2]) + redis.call('ZCARD', KEYS[3]) + redis.call('ZCARD', KEYS[4])
  + redis.call('LLEN', KEYS[5])
if work == 0 then return {} end
local need = math.ceil(work / tonumber(ARGV[2]))
if need < tonumber(ARGV[4]) then need = tonumber(ARGV[4]) end
if need > tonumber(ARGV[3]) then need = tonumber(ARGV[3]) end
local slots = {}
for i = redis.call('ZCARD', KEYS[1]) + 1, need do
  local slot = ARGV[6] .. i .. ':' .. ARGV[1]
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[5]), slot)
  slots[#slots + 1] = slot
end
return slots
"""


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
        self._claim = client.register_script(_CLAIM)
        self._lease = client.register_script(_LEASE)
        self._renew = client.register_script(_RENEW)
        self._settle = client.register_script(_SETTLE)
        self._promote = client.register_script(_PROMOTE)
        self._recover = client.register_script(_RECOVER)
        self._dead_letter = client.register_script(_DEAD_LETTER)
        self._ensure = client.register_script(_ENSURE)

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
            keys=self._claim_keys, args=[order_id, self.owner, now_ms() + self.lease_ms, self.max_in_flight])
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
            args=[now_ms(), self.max_stalls, now_ms() + self.lease_ms, _iso_now(), self.dead_letter_max])
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
    async def take_turn(self, chore: str, interval_ms: int) -> bool:
        """True for the one executor that gets to run a periodic chore (sweep, reconcile) this interval."""
        lock = {"sweep": self.keys.sweep_lock, "reconcile": self.keys.reconcile_lock, "watch": self.keys.watch_lock}[chore]
        return bool(await self.redis.set(lock, self.owner, nx=True, px=interval_ms))

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
        slots = await self._ensure(
            keys=[k.executor_beats, k.ready, k.leases, k.delayed, k.processing],
            args=[now_ms(), max(1, per_executor), max_instances, min_with_work, start_grace_ms, "start:"])
        return list(slots)

    @translates_redis_errors
    async def state_lost(self) -> bool:
        """True when Redis no longer holds the marker this queue's executors keep in it (FLUSHALL, or a restart
        that lost its data) and the marker is set again now: the caller reconciles at once."""
        return bool(await self.redis.set(self.keys.redis_marker, self.owner, nx=True))


def queue_counts(client: redis.Redis, keys: KeyScheme) -> dict[str, int]:
    """Ready, in flight, delayed and dead-lettered counts (synchronous, for the orders API)."""
    pipe = client.pipeline(transaction=False)
    pipe.llen(keys.ready)
    pipe.zcard(keys.leases)
    pipe.llen(keys.processing)
    pipe.zcard(keys.delayed)
    pipe.llen(keys.dead)
    pipe.get(keys.peak_in_flight)
    ready, leased, landing, delayed, dead, peak = pipe.execute()
    return {"ready": ready, "inFlight": leased + landing, "delayed": delayed, "deadLettered": dead,
            "peakInFlight": int(peak or 0)}


# Take an order off the dead letters and queue it again, only if it is dead-lettered (its entries on the list go).
# KEYS: dead_ids, dead, stalls, ready  ARGV: order id   Returns 1 revived, 0 not dead-lettered.
_REVIVE = """
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return 0 end
for _, raw in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
  local ok, entry = pcall(cjson.decode, raw)
  if ok and entry.orderId == ARGV[1] then redis.call('LREM', KEYS[2], 0, raw) end
end
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('LPUSH', KEYS[4], ARGV[1])
return 1
"""


def revive_script(client: redis.Redis):
    return client.register_script(_REVIVE)


def dead_letters(client: redis.Redis, keys: KeyScheme, limit: int = 100) -> list[dict[str, object]]:
    return [json.loads(raw) for raw in client.lrange(keys.dead, 0, limit - 1)]
