"""The venues: each pair's Raydium (CPMM) and Meteora (DLMM) pools in the shared market. They quote (after a
latency, and may time out or fail), the router picks the best of them or a split across both, and a route is
built into a signed swap transaction for the chain."""
from __future__ import annotations

import asyncio
import logging
import math

from order_engine.config import Settings
from order_engine.dex.chain import SimulatedChain, new_signature
from order_engine.dex.live_market import Market
from order_engine.dex.model import market_model as model
from order_engine.dex.model import transaction
from order_engine.dex.conditions import Conditions
from order_engine.dex.pairs import Pairs
from order_engine.domain import routing, slippage
from order_engine.domain.swaps import (
    BuiltSwap, DexError, NoPool, NoRoute, Quote, QuoteTimeout, Route, RouteLeg, VenueUnavailable,
)
from order_engine.domain.tokens import by_mint
from order_engine.domain.triggers import price_book

logger = logging.getLogger(__name__)

_LANDING_HORIZON_TICKS = 2  # a transaction sent now lands within one or two slots


class Venues:
    def __init__(self, settings: Settings, market: Market, pairs: Pairs, conditions: Conditions, chain: SimulatedChain):
        self.settings = settings
        self.market = market
        self.pairs = pairs
        self.chain = chain  # what a transaction is built for: its blockhash, its congestion
        self._conditions = conditions
        self._clock = conditions.clock
        self._scale = conditions.scale
        self._liquidity = settings.dex_initial_liquidity_usd

    # -- quoting and routing -------------------------------------------------------------------------------

    async def quote(self, venue: str, input_mint: str, output_mint: str, amount_in: int) -> Quote:
        """One venue's quote for the whole amount, after the venue's latency (may time out or fail)."""
        now_ms = self._clock()
        spec = await self.pairs.live(input_mint, output_mint, now_ms)
        state = await self.market.snapshot(spec, now_ms)
        return await self._venue_quote(venue, spec, state, input_mint, amount_in)

    async def route(self, input_mint: str, output_mint: str, amount_in: int) -> Route:
        now_ms = self._clock()
        spec = await self.pairs.live(input_mint, output_mint, now_ms)
        state = await self.market.snapshot(spec, now_ms)
        outcomes = await self._quote_venues(spec, state, input_mint, amount_in)
        quotes = tuple(o for o in outcomes if isinstance(o, Quote))
        failures = tuple((venue, o.reason) for venue, o in zip(model.VENUES, outcomes) if isinstance(o, DexError))
        if not quotes:
            raise next((o for o in outcomes if isinstance(o, QuoteTimeout)), outcomes[0])
        best = max(quotes, key=lambda q: q.amount_out)
        if best.amount_out <= 0:
            raise NoRoute(f"{amount_in} base units of {by_mint(input_mint).symbol} is too little to buy anything.")
        legs, reason = self._choose(spec, state, input_mint, amount_in, quotes, failures, now_ms // 1000)
        route = Route(input_mint, output_mint, amount_in, legs, quotes, reason, failures)
        if logger.isEnabledFor(logging.DEBUG):  # the route is in the routing event: stored and published
            logger.debug("routed", extra={"route": route.to_detail()})
        return route

    async def _quote_venues(self, spec: model.PairSpec, state: model.PairState, input_mint: str,
                            amount_in: int) -> list[Quote | DexError]:
        if self._scale <= 0:
            outcomes: list[Quote | DexError] = []
            for venue in model.VENUES:
                try:
                    outcomes.append(await self._venue_quote(venue, spec, state, input_mint, amount_in))
                except DexError as exc:
                    outcomes.append(exc)
            return outcomes
        timeout_s = self.settings.dex_quote_timeout_ms * self._scale / 1000

        async def bounded(venue: str) -> Quote | DexError:
            try:
                return await asyncio.wait_for(self._venue_quote(venue, spec, state, input_mint, amount_in), timeout_s)
            except asyncio.TimeoutError:
                return QuoteTimeout(f"{venue} did not quote within {self.settings.dex_quote_timeout_ms} ms.")
            except DexError as exc:
                return exc

        return list(await asyncio.gather(*(bounded(venue) for venue in model.VENUES)))

    async def _venue_quote(self, venue: str, spec: model.PairSpec, state: model.PairState, input_mint: str,
                           amount_in: int) -> Quote:
        if venue not in spec.venues:
            raise NoPool(f"{venue} has no {spec.name} pool (the listing created one on {' and '.join(spec.venues)}).")
        conditions = self._conditions
        if conditions.chance(self.settings.dex_fail_quote_timeout):
            await conditions.pause(self.settings.dex_quote_timeout_ms * 2)
            raise QuoteTimeout(f"{venue} did not quote within {self.settings.dex_quote_timeout_ms} ms.")
        latency_ms = self.settings.dex_quote_latency_ms
        await conditions.pause(conditions.rng.gauss(latency_ms, latency_ms / 5))
        if conditions.chance(self.settings.dex_fail_venue_error):
            raise VenueUnavailable(f"{venue} answered the quote request with an error.")
        swap = model.swap_venue(state, spec, self._liquidity, venue, input_mint, amount_in, self._clock() // 1000,
                                quote_only=True)
        volatility = model.recent_volatility_bps(state, spec, self.market.params, venue, _LANDING_HORIZON_TICKS)
        return Quote(venue, amount_in, swap.amount_out, swap.fee, swap.price_impact_bps, volatility)

    def _choose(self, spec: model.PairSpec, state: model.PairState, input_mint: str, amount_in: int,
                quotes: tuple[Quote, ...], failures: tuple[tuple[str, str], ...], now_s: int) -> tuple[tuple[RouteLeg, ...], str]:
        ranked = sorted(quotes, key=lambda q: q.amount_out, reverse=True)
        best = ranked[0]
        single = (RouteLeg(best.venue, amount_in, best.amount_out, best.price_impact_bps),)
        if len(ranked) == 1:
            failed = ", ".join(f"{venue} ({reason})" for venue, reason in failures)
            return single, f"only {best.venue} quoted; {failed} did not."
        other = ranked[1]

        def swap(venue: str, amount: int) -> model.VenueSwap:
            return model.swap_venue(state, spec, self._liquidity, venue, input_mint, amount, now_s, quote_only=True)

        def out(venue: str) -> routing.Quoter:
            return lambda amount: swap(venue, amount).amount_out

        token_out = spec.quote if input_mint == spec.base.mint else spec.base
        if routing.splitting_may_pay(out(best.venue), out(other.venue), amount_in, best.amount_out):
            split = routing.best_split(out(best.venue), out(other.venue), amount_in)
            if split.amount_out > best.amount_out and 0 < split.first_pct < 100:
                legs = (RouteLeg(best.venue, split.first_amount_in, split.first_amount_out,
                                 swap(best.venue, split.first_amount_in).price_impact_bps),
                        RouteLeg(other.venue, split.second_amount_in, split.second_amount_out,
                                 swap(other.venue, split.second_amount_in).price_impact_bps))
                gain = routing.gain_in_words(split.amount_out, best.amount_out, token_out)
                return legs, (f"splitting {split.first_pct}% to {best.venue} and {100 - split.first_pct}% to "
                              f"{other.venue} returns {gain} more than {best.venue} alone.")
        gain = routing.gain_in_words(best.amount_out, other.amount_out, token_out)
        return single, f"{best.venue} returns {gain} more than {other.venue} after fees and price impact."

    # -- what the watcher fires on -------------------------------------------------------------------------

    async def price_levels(self) -> dict[str, float]:
        now_ms = self._clock()
        levels: dict[str, float] = {}
        listed = [model.listed_pair(listing) for listing in await self.pairs.live_listings(now_ms)]
        for spec in (*model.PAIRS, *listed):
            state = await self.market.snapshot(spec, now_ms)
            # quote per base in whole tokens, as each venue's pool stands
            prices = [math.exp(state.venue_log_price(venue, spec)) * spec.base.scale / spec.quote.scale
                      for venue in spec.venues]
            levels[price_book(spec.base.mint, spec.quote.mint)] = max(prices)
            levels[price_book(spec.quote.mint, spec.base.mint)] = 1 / min(prices)
        return levels

    async def listing_levels(self) -> dict[str, float]:
        return {price_book(listing.quote.mint, listing.token.mint): float(listing.slot)
                for listing in await self.pairs.live_listings(self._clock())}

    # -- building ------------------------------------------------------------------------------------------

    def build(self, order_id: str, route: Route, slippage_bps: int, min_amount_out: int | None = None) -> BuiltSwap:
        token_in, token_out = by_mint(route.input_mint), by_mint(route.output_mint)
        steps = transaction.swap_steps(token_in, token_out, tuple(leg.venue for leg in route.legs))
        congestion = min(100, self.chain.in_flight)
        now_ms = self._clock()
        expires_at = now_ms + self.settings.dex_blockhash_lifetime_ms
        if self._conditions.chance(self.settings.dex_fail_blockhash_expired):
            expires_at = now_ms + int(self.settings.dex_slot_ms * self._scale) // 2  # stale: it lapses before landing
        min_out = slippage.min_amount_out(route.amount_out, slippage_bps) if min_amount_out is None else min_amount_out
        fee = transaction.priority_fee_lamports(steps, congestion)
        detail = {
            "steps": list(steps),
            "wrapSol": transaction.WRAP_SOL in steps,
            "unwrapSol": transaction.UNWRAP_SOL in steps,
            "minAmountOut": str(min_out),
            "slippageBps": slippage_bps,
            "computeUnitLimit": transaction.compute_unit_limit(steps),
            "priorityFeeLamports": fee,
        }
        # Signing fixes the signature (a Solana transaction's id) before anything is sent, so the executor can
        # record it first and a recovered order can always ask the chain about the one transaction it may have sent.
        return BuiltSwap(order_id, route, min_out, steps, fee, self.chain.latest_blockhash(now_ms), expires_at, detail,
                         signature=new_signature())
