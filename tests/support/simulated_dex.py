"""Helpers for the simulated DEX tests: a dex per test (its own key prefix and schema), a controllable clock."""
from __future__ import annotations

import contextlib
import dataclasses
from typing import AsyncIterator

from order_engine.config import Settings
from order_engine.domain.swaps import BuiltSwap, Route, RouteLeg, SwapResult
from order_engine.bootstrap import simulated_dex
from order_engine.dex.simulated import SimulatedDex
from order_engine.domain.tokens import lookup
from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.redis.connect import sync_client

SOL, USDC, USDT = lookup("SOL").mint, lookup("USDC").mint, lookup("USDT").mint


class ManualClock:
    """Time that moves only when a test moves it (the market ticks with it)."""

    def __init__(self, start_ms: int = 1_800_000_000_000):
        self.now_ms = start_ms

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, ms: int) -> None:
        self.now_ms += ms


@contextlib.asynccontextmanager
async def simulated(settings: Settings, clock=None, **knobs) -> AsyncIterator[SimulatedDex]:
    knobs.setdefault("dex_latency_scale", 0.0)
    dex = simulated_dex(dataclasses.replace(settings, **knobs), **({"clock": clock} if clock else {}))
    try:
        yield dex
    finally:
        await dex.close()


async def execute(dex: SimulatedDex, route: Route, slippage_bps: int = 50, order_id: str = "order") -> SwapResult:
    built = await dex.build(order_id, route, slippage_bps)
    return await dex.confirm(await dex.submit(built))


async def trade_on(dex: SimulatedDex, venue: str, input_mint: str, output_mint: str, amount_in: int) -> SwapResult:
    """Someone else's trade on one venue, whatever the price (no slippage bound)."""
    route = Route(input_mint, output_mint, amount_in, (RouteLeg(venue, amount_in, 0),), (), "another trader")
    built = await dex.build("other-trader", route, 0)
    unbounded = dataclasses.replace(built, min_amount_out=0)
    return await dex.confirm(await dex.submit(unbounded))


def lose_redis(settings: Settings) -> None:
    """What a Redis restart or FLUSHALL does to this test's data (without touching other tests' keys)."""
    client = sync_client(settings.redis_url)
    keys = list(client.scan_iter(match=f"{settings.key_prefix}*", count=1000))
    if keys:
        client.delete(*keys)


def pair_key(settings: Settings, pair: str = "SOL-USDC") -> str:
    return KeyScheme(settings.key_prefix).dex_pair(pair)


__all__ = ["BuiltSwap", "ManualClock", "SOL", "USDC", "USDT", "execute", "lose_redis", "pair_key", "simulated", "trade_on"]
