"""The simulated market's and chain's state in Redis: one hash per pair, one hash per transaction.

A pair's state is only ever replaced by compare-and-set on its version (a Lua script), so concurrent swaps from
any number of executors stay consistent; the math runs in Python on exact integers (Lua numbers are doubles).
Landing a transaction is one script that checks the transaction is still pending and unexpired, swaps the pair
state in, and marks the transaction landed, all atomically.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis.asyncio

from order_engine.store.keys import Keys

_READ_IF_CHANGED = """
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return {'0'} end
if v == ARGV[1] then return {v} end
return {v, redis.call('HGET', KEYS[1], 's')}
"""

_CAS = """
local v = redis.call('HGET', KEYS[1], 'v') or '0'
if v ~= ARGV[1] then return {0, v, redis.call('HGET', KEYS[1], 's') or ''} end
local nv = tostring(tonumber(v) + 1)
redis.call('HSET', KEYS[1], 'v', nv, 's', ARGV[2])
return {1, nv}
"""

_LAND = """
local tx = redis.call('HMGET', KEYS[2], 'state', 'expires_at')
local state, expires = tx[1], tx[2]
if not state and ARGV[4] == '1' then state, expires = 'pending', ARGV[5] end
if state ~= 'pending' then return {-1, state or ''} end
if tonumber(ARGV[3]) >= tonumber(expires) then
  redis.call('HSET', KEYS[2], 'state', 'expired', 'expires_at', expires)
  redis.call('EXPIRE', KEYS[2], ARGV[6])
  return {-1, 'expired'}
end
local v = redis.call('HGET', KEYS[1], 'v') or '0'
if v ~= ARGV[1] then return {0, v, redis.call('HGET', KEYS[1], 's') or ''} end
local nv = tostring(tonumber(v) + 1)
redis.call('HSET', KEYS[1], 'v', nv, 's', ARGV[2])
redis.call('HSET', KEYS[2], 'expires_at', expires, unpack(ARGV, 7))
redis.call('EXPIRE', KEYS[2], ARGV[6])
return {1, nv}
"""

_EXPIRE_IF_DUE = """
local tx = redis.call('HMGET', KEYS[1], 'state', 'expires_at')
if tx[1] == 'pending' and tonumber(ARGV[1]) >= tonumber(tx[2]) then
  redis.call('HSET', KEYS[1], 'state', 'expired')
  return 'expired'
end
return tx[1] or ''
"""


@dataclass(frozen=True, slots=True)
class CasOutcome:
    ok: bool
    version: str
    raw: str | None = None  # the current state when the CAS lost


@dataclass(frozen=True, slots=True)
class LandOutcome:
    landed: bool
    dropped_as: str | None = None  # why it cannot land: 'expired', '' (unknown), or its existing state
    conflict: CasOutcome | None = None  # the pair changed underneath: retry on this state
    version: str | None = None  # the pair's version after a landing


class MarketStore:
    """Redis access for the simulated DEX (the chain is an outside system, so this lives with it)."""

    def __init__(self, redis_client: redis.asyncio.Redis, keys: Keys, transaction_ttl_s: int):
        self._redis = redis_client
        self._keys = keys
        self._ttl = transaction_ttl_s
        self._read = redis_client.register_script(_READ_IF_CHANGED)
        self._cas = redis_client.register_script(_CAS)
        self._land = redis_client.register_script(_LAND)
        self._expire = redis_client.register_script(_EXPIRE_IF_DUE)

    async def read_pair(self, pair: str, known_version: str) -> tuple[str, str | None]:
        """(version, state JSON), the JSON None when it equals `known_version` or the pair is not seeded ('0')."""
        reply = await self._read(keys=[self._keys.dex_pair(pair)], args=[known_version])
        return reply[0], reply[1] if len(reply) > 1 else None

    async def cas_pair(self, pair: str, expected_version: str, raw: str) -> CasOutcome:
        reply = await self._cas(keys=[self._keys.dex_pair(pair)], args=[expected_version, raw])
        return CasOutcome(reply[0] == 1, reply[1], reply[2] if len(reply) > 2 and reply[2] else None)

    async def put_pending(self, signature: str, fields: dict[str, Any]) -> None:
        key = self._keys.dex_transaction(signature)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={**fields, "state": "pending"})
            pipe.expire(key, self._ttl)
            await pipe.execute()

    async def land(self, pair: str, signature: str, expected_version: str, raw: str, now_ms: int,
                   fields: dict[str, Any], *, sent_now_expiring_at: int | None = None) -> LandOutcome:
        """Swap the pair's state in and mark the transaction landed, if it is still pending and its blockhash
        valid. `sent_now_expiring_at` lands a transaction sent this instant (no pending record yet)."""
        created = sent_now_expiring_at is not None
        flat: list[Any] = [expected_version, raw, now_ms, "1" if created else "0",
                           sent_now_expiring_at if created else 0, self._ttl]
        for name, value in fields.items():
            flat.extend((name, "" if value is None else value))
        reply = await self._land(keys=[self._keys.dex_pair(pair), self._keys.dex_transaction(signature)], args=flat)
        if reply[0] == 1:
            return LandOutcome(True, version=reply[1])
        if reply[0] == -1:
            return LandOutcome(False, dropped_as=reply[1])
        return LandOutcome(False, conflict=CasOutcome(False, reply[1], reply[2] or None))

    async def transaction(self, signature: str) -> dict[str, str]:
        return await self._redis.hgetall(self._keys.dex_transaction(signature))

    async def expire_if_due(self, signature: str, now_ms: int) -> str:
        return await self._expire(keys=[self._keys.dex_transaction(signature)], args=[now_ms])
