"""The simulated market's and chain's state in Redis: one hash per pair, one hash per transaction.

A pair's state is only ever replaced by compare-and-set on its version (a Lua script), so concurrent swaps from
any number of executors stay consistent; the math runs in Python on exact integers (Lua numbers are doubles).
Landing transactions is one script that checks each is still pending and unexpired, swaps the pair state in, and
marks them landed, all atomically; the transactions landing on one pair at the same moment share that script call.
Concurrent reads of one pair share a round trip too (each caller gets a read issued after it asked). The scripts
are lua/market_*.lua.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import redis.asyncio

from order_engine.batching import GroupCommit
from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.redis.connect import translates_redis_errors
from order_engine.adapters.redis.scripts import register


@dataclass(frozen=True, slots=True)
class CasOutcome:
    ok: bool
    version: str
    raw: str | None = None  # the current state when the CAS lost


@dataclass(frozen=True, slots=True)
class Landing:
    """One transaction to land: its signature, the fields that record how it landed, and, for a transaction
    sent this instant (no pending record yet), its blockhash expiry."""

    signature: str
    fields: dict[str, Any]
    sent_now_expiring_at: int | None = None


@dataclass(frozen=True, slots=True)
class LandOutcome:
    landed: bool  # all of them
    refused: dict[str, str] | None = None  # signature -> why it cannot land: 'expired', '' (unknown), or its state
    conflict: CasOutcome | None = None  # the pair changed underneath: retry on this state
    version: str | None = None  # the pair's version after a landing


class MarketStore:
    """Redis access for the simulated DEX (the chain is an outside system, so this lives with it)."""

    def __init__(self, redis_client: redis.asyncio.Redis, keys: KeyScheme, transaction_ttl_s: int):
        self._redis = redis_client
        self._keys = keys
        self._ttl = transaction_ttl_s
        self._read = register(redis_client, "market_read_pair")
        self._cas = register(redis_client, "market_cas_pair")
        self._land = register(redis_client, "market_land")
        self._expire = register(redis_client, "market_expire_if_due")
        self._put_pending = register(redis_client, "market_put_pending")
        self._reads: dict[str, GroupCommit[str, tuple[str, str | None]]] = {}

    @translates_redis_errors
    async def read_pair(self, pair: str, known_version: str) -> tuple[str, str | None]:
        """(version, state JSON), the JSON None when it equals `known_version` or the pair is not seeded ('0')."""
        reads = self._reads.get(pair)
        if reads is None:
            reads = self._reads[pair] = GroupCommit(functools.partial(self._read_for_all, pair))
        return await reads.submit(known_version)

    async def _read_for_all(self, pair: str, known_versions: list[str]) -> list[tuple[str, str | None]]:
        # Routing a thousand orders at once would read one pair a thousand times; one read answers every caller
        # that asked while the previous read was out.
        known = known_versions[0] if known_versions.count(known_versions[0]) == len(known_versions) else ""
        reply = await self._read(keys=[self._keys.dex_pair(pair)], args=[known])
        answer = (reply[0], reply[1] if len(reply) > 1 else None)
        return [answer] * len(known_versions)

    @translates_redis_errors
    async def cas_pair(self, pair: str, expected_version: str, raw: str) -> CasOutcome:
        reply = await self._cas(keys=[self._keys.dex_pair(pair)], args=[expected_version, raw])
        return CasOutcome(reply[0] == 1, reply[1], reply[2] if len(reply) > 2 and reply[2] else None)

    @translates_redis_errors
    async def put_pending(self, signature: str, fields: dict[str, Any]) -> bool:
        """Record a sent transaction as pending; False (and nothing changes) if the chain already knows it."""
        flat: list[Any] = [self._ttl, "state", "pending"]
        for name, value in fields.items():
            flat.extend((name, value))
        return bool(await self._put_pending(keys=[self._keys.dex_transaction(signature)], args=flat))

    @translates_redis_errors
    async def land(self, pair: str, landings: list[Landing], expected_version: str, raw: str,
                   now_ms: int) -> LandOutcome:
        """Swap the pair's state in and mark every transaction landed, if each is still pending and its blockhash
        valid; otherwise change nothing and say which cannot land."""
        keys = [self._keys.dex_pair(pair)]
        flat: list[Any] = [expected_version, raw, now_ms, self._ttl]
        for landing in landings:
            created = landing.sent_now_expiring_at is not None
            keys.append(self._keys.dex_transaction(landing.signature))
            flat += ["1" if created else "0", landing.sent_now_expiring_at if created else 0, 2 * len(landing.fields)]
            for name, value in landing.fields.items():
                flat += (name, "" if value is None else value)
        reply = await self._land(keys=keys, args=flat)
        if reply[0] == 1:
            return LandOutcome(True, version=reply[1])
        if reply[0] == -1:
            refused = {landings[int(i) - 1].signature: why for i, why in zip(reply[1::2], reply[2::2])}
            return LandOutcome(False, refused=refused)
        return LandOutcome(False, conflict=CasOutcome(False, reply[1], reply[2] or None))

    @translates_redis_errors
    async def transaction(self, signature: str) -> dict[str, str]:
        return await self._redis.hgetall(self._keys.dex_transaction(signature))

    @translates_redis_errors
    async def expire_if_due(self, signature: str, now_ms: int) -> str:
        return await self._expire(keys=[self._keys.dex_transaction(signature)], args=[now_ms])

    async def close(self) -> None:
        for reads in self._reads.values():
            await reads.close()
        self._reads.clear()
