"""The `Dex` the executor trades on: the simulated venues (`venues.py`: Raydium CPMM and Meteora DLMM pools in
Redis, a market that moves) over the simulated chain (`chain.py`: landings recorded in PostgreSQL), with latencies
scaled by `dex_latency_scale` and injectable failures (`conditions.py`).

`order_engine.bootstrap.simulated_dex(settings)` builds one over its adapters: a `MarketStore` on a Redis client
bound to the loop that uses the dex, and a `ChainStore` on a PostgreSQL schema that holds `chain_transactions`.
Call `await dex.close()` before the loop ends: it writes the chain's buffered records. One instance per event
loop; many instances (processes) share one market.
"""
from __future__ import annotations

from typing import Awaitable, Callable

from order_engine.adapters.postgres.chain_ledger import ChainStore
from order_engine.adapters.postgres.listing_table import ListingCache
from order_engine.adapters.redis.market_state import MarketStore
from order_engine.config import Settings
from order_engine.dex.chain import TRANSACTION_TTL_S, SimulatedChain
from order_engine.dex.live_market import Market
from order_engine.dex.model import market_model as model
from order_engine.dex.conditions import Conditions, wall_clock_ms
from order_engine.dex.pairs import Pairs
from order_engine.dex.venues import Venues
from order_engine.domain.swaps import BuiltSwap, Quote, Route, SwapResult

__all__ = ["TRANSACTION_TTL_S", "SimulatedDex", "wall_clock_ms"]  # what bootstrap wires it with


class SimulatedDex:
    def __init__(self, settings: Settings, store: MarketStore, ledger: ChainStore, listings: ListingCache, *,
                 clock: Callable[[], int] = wall_clock_ms, release: Callable[[], Awaitable[None]] | None = None):
        self._release = release  # closes the clients under the stores, when they are the dex's own
        conditions = Conditions(clock, settings.dex_latency_scale, settings.dex_seed)
        params = model.MarketParams.from_knobs(
            seed=settings.dex_seed,
            tick_ms=settings.dex_slot_ms,
            volatility_bps_per_minute=settings.dex_volatility_bps,
            venue_spread_bps=settings.dex_venue_spread_bps,
            drift_half_life_s=settings.dex_venue_drift_half_life_s,
            arbitrage_half_life_s=settings.dex_arbitrage_half_life_s,
        )
        self.market = Market(store, params, settings.dex_initial_liquidity_usd, settings.dex_quote_view_max_age_ms)
        pairs = Pairs(listings, settings.dex_slot_ms)
        self.chain = SimulatedChain(settings, self.market, pairs, ledger, conditions)
        self.venues = Venues(settings, self.market, pairs, conditions, self.chain)

    async def quote(self, venue: str, input_mint: str, output_mint: str, amount_in: int) -> Quote:
        return await self.venues.quote(venue, input_mint, output_mint, amount_in)

    async def route(self, input_mint: str, output_mint: str, amount_in: int) -> Route:
        return await self.venues.route(input_mint, output_mint, amount_in)

    async def price_levels(self) -> dict[str, float]:
        return await self.venues.price_levels()

    async def listing_levels(self) -> dict[str, float]:
        return await self.venues.listing_levels()

    async def build(self, order_id: str, route: Route, slippage_bps: int, min_amount_out: int | None = None) -> BuiltSwap:
        return self.venues.build(order_id, route, slippage_bps, min_amount_out)

    async def submit(self, built: BuiltSwap) -> str:
        return await self.chain.submit(built)

    async def confirm(self, signature: str) -> SwapResult:
        return await self.chain.confirm(signature)

    async def signature_status(self, signature: str) -> SwapResult:
        return await self.chain.signature_status(signature)

    async def close(self) -> None:
        """Write the chain's buffered records; release the clients the dex was given to own. Transactions still
        in flight are abandoned (they expire), as when a process stops."""
        await self.chain.close()
        await self.market.store.close()
        if self._release is not None:
            await self._release()
