"""The shared market: each pair's state read from Redis, advanced to the current tick, and written back only
by compare-and-set. Keeps the last state seen per pair, so an unchanged pair costs no decoding."""
from __future__ import annotations

import json
import time
from typing import Awaitable, Callable

from order_engine.adapters.redis.market_state import CasOutcome, MarketStore
from order_engine.dex.model import market_model as model
from order_engine.dex.model.dlmm import DlmmPool


def encode(state: model.PairState) -> str:
    pool = state.meteora
    return json.dumps(
        [state.tick, state.reference_log, state.raydium_offset, state.meteora_offset, *state.raydium,
         pool.active_id, pool.volatility_accumulator, pool.volatility_reference, pool.index_reference,
         pool.last_update_s, [[i, x, y] for i, (x, y) in pool.bins.items()]],
        separators=(",", ":"),
    )


def decode(raw: str) -> model.PairState:
    tick, ref, r_off, m_off, base, quote, active, va, vr, ir, last, bins = json.loads(raw)
    pool = DlmmPool(active, {i: (x, y) for i, x, y in bins}, va, vr, ir, last)
    return model.PairState(tick, ref, r_off, m_off, (base, quote), pool)


class Market:
    """One process's view of the shared market (see `order_engine.dex.model.market_model` for the model)."""

    def __init__(self, store: MarketStore, params: model.MarketParams, liquidity_usd: int, view_max_age_ms: int = 0):
        self.store = store
        self._view_max_age_s = view_max_age_ms / 1000
        self._read_at: dict[str, float] = {}
        self.params = params
        self.liquidity_usd = liquidity_usd
        self._seen: dict[str, tuple[str, model.PairState]] = {}
        self._advancing: set[str] = set()

    def tick_at(self, now_ms: int) -> int:
        return now_ms // self.params.tick_ms

    def remember(self, spec: model.PairSpec, version: str, state: model.PairState) -> None:
        """Keep the newest state seen: replies to concurrent reads and writes can arrive out of order."""
        seen = self._seen.get(spec.name)
        if seen is None or int(version) > int(seen[0]):
            self._seen[spec.name] = (version, state)

    def learn(self, spec: model.PairSpec, outcome: CasOutcome, now_ms: int) -> tuple[str, model.PairState]:
        """The current state after a lost compare-and-set (the script returned it)."""
        if outcome.raw is None:  # the pair vanished (Redis lost it): seed afresh
            self._seen.pop(spec.name, None)
            return "0", self._genesis(spec, now_ms)
        state = decode(outcome.raw)
        self._seen[spec.name] = (outcome.version, state)
        return outcome.version, state

    def last_seen(self, spec: model.PairSpec) -> tuple[str, model.PairState] | None:
        return self._seen.get(spec.name)

    async def read(self, spec: model.PairSpec, now_ms: int) -> tuple[str, model.PairState]:
        """(version, state as stored); a pair Redis does not hold is seeded (version '0')."""
        seen = self._seen.get(spec.name)
        version, raw = await self.store.read_pair(spec.name, seen[0] if seen else "")
        if version == "0":
            self._seen.pop(spec.name, None)
            return "0", self._genesis(spec, now_ms)
        if raw is None and seen is not None:
            return seen
        state = decode(raw)
        self.remember(spec, version, state)
        return version, state

    async def snapshot(self, spec: model.PairSpec, now_ms: int) -> model.PairState:
        """The pair now, as a router sees it: read from Redis, or (with `view_max_age_ms`) this process's view
        if it is that fresh, as an aggregator quotes from its streamed copy of the pools. When time moved on,
        the advanced state is written back (best effort: if another process wrote first, its state is just as
        valid)."""
        tick = self.tick_at(now_ms)
        seen = self._seen.get(spec.name)
        if (self._view_max_age_s and seen is not None and seen[1].tick == tick
                and time.monotonic() - self._read_at.get(spec.name, 0.0) < self._view_max_age_s):
            return seen[1]
        version, state = await self.read(spec, now_ms)
        self._read_at[spec.name] = time.monotonic()
        if tick <= state.tick and version != "0":
            return state
        advanced = model.advance(state, spec, self.params, self.liquidity_usd, tick)
        if spec.name in self._advancing and version != "0":
            return advanced  # this process is already writing this tick's state back
        self._advancing.add(spec.name)
        try:
            outcome = await self.store.cas_pair(spec.name, version, encode(advanced))
        finally:
            self._advancing.discard(spec.name)
        if outcome.ok:
            self.remember(spec, outcome.version, advanced)
        return advanced

    async def update(self, spec: model.PairSpec, now_ms: int,
                     write: Callable[[str, model.PairState], Awaitable[CasOutcome | None]]) -> None:
        """Read-advance-write until the write wins: `write(version, advanced)` returns None when done or the
        lost CAS to retry on. Starts from the last state seen, so an uncontended pair needs no read."""
        seen = self._seen.get(spec.name)
        version, state = seen if seen is not None else await self.read(spec, now_ms)
        while True:
            advanced = model.advance(state, spec, self.params, self.liquidity_usd, max(state.tick, self.tick_at(now_ms)))
            lost = await write(version, advanced)
            if lost is None:
                return
            version, state = self.learn(spec, lost, now_ms)

    def _genesis(self, spec: model.PairSpec, now_ms: int) -> model.PairState:
        # a listed pair's pools were created at its listing slot (the caller advances them to now)
        tick = self.tick_at(now_ms) if spec.listing_slot is None else min(spec.listing_slot, self.tick_at(now_ms))
        return model.initial_state(spec, self.params, self.liquidity_usd, tick)
