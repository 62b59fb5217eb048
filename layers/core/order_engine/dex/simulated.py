"""The simulated venues and chain behind `Dex`: Raydium (CPMM) and Meteora (DLMM) pools in Redis, a market that
moves, latencies scaled by `dex_latency_scale`, injectable failures, and a chain whose landed transactions are
recorded in PostgreSQL.

`order_engine.bootstrap.simulated_dex(settings)` builds one over its adapters: a `MarketStore` on a Redis client
bound to the loop that uses the dex, and a `ChainStore` on a PostgreSQL schema that holds `chain_transactions`.
Call `await dex.close()` before the loop ends: it writes the chain's buffered records. One instance per event
loop; many instances (processes) share one market.
"""
from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import secrets
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from order_engine.config import Settings
from order_engine.adapters.postgres.chain_ledger import ChainStore, LandedTransaction
from order_engine.adapters.postgres.listing_table import ListingCache
from order_engine.domain.swaps import (
    BlockhashExpired, BuiltSwap, DexError, NoPool, NoRoute, Quote, QuoteTimeout, Route, RouteLeg, RpcError, SignatureState,
    SlippageExceeded, SwapResult, TransactionDropped, VenueUnavailable,
)
from order_engine.dex.live_market import Market, encode
from order_engine.adapters.redis.market_state import CasOutcome, Landing, MarketStore
from order_engine.dex.model import market_model as model
from order_engine.dex.model import transaction
from order_engine.domain import routing, slippage
from order_engine.dex.model.base58 import b58encode
from order_engine.domain.listings import iso_ms, listable_pair
from order_engine.domain.tokens import by_mint
from order_engine.domain.triggers import price_book
from order_engine.batching import GroupCommit

logger = logging.getLogger(__name__)

TRANSACTION_TTL_S = 7 * 24 * 3600
_CONFIRMATION_JITTER = 0.2
_LANDING_HORIZON_TICKS = 2  # a transaction sent now lands within one or two slots


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


def new_signature() -> str:
    """64 random bytes in base58, as Solana prints a transaction signature (87 or 88 characters)."""
    while True:
        signature = b58encode(secrets.token_bytes(64))
        if len(signature) in (87, 88):
            return signature


@dataclass
class _InFlight:
    """What this process knows about a transaction it sent."""

    built: BuiltSwap
    submitted_at_ms: int
    lands_at_ms: int
    confirmed_at_ms: int
    price_move: bool
    landed: asyncio.Event = field(default_factory=asyncio.Event)
    outcome: LandedTransaction | None = None
    dropped_as: str | None = None


class SimulatedDex:
    """The `Dex` the executor trades on: see the module docstring for how to construct it."""

    def __init__(self, settings: Settings, store: MarketStore, chain: ChainStore, listings: ListingCache, *,
                 clock: Callable[[], int] = wall_clock_ms, release: Callable[[], Awaitable[None]] | None = None):
        self.settings = settings
        self.listings = listings
        self._release = release  # closes the clients under the stores, when they are the dex's own
        self._clock = clock
        self._scale = settings.dex_latency_scale
        self._rng = random.Random(settings.dex_seed)
        self._liquidity = settings.dex_initial_liquidity_usd
        params = model.MarketParams.from_knobs(
            seed=settings.dex_seed,
            tick_ms=settings.dex_slot_ms,
            volatility_bps_per_minute=settings.dex_volatility_bps,
            venue_spread_bps=settings.dex_venue_spread_bps,
            drift_half_life_s=settings.dex_venue_drift_half_life_s,
            arbitrage_half_life_s=settings.dex_arbitrage_half_life_s,
        )
        self.market = Market(store, params, self._liquidity, settings.dex_quote_view_max_age_ms)
        self.chain = chain
        self._in_flight: dict[str, _InFlight] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._landings: dict[str, GroupCommit[tuple[str, _InFlight, bool], None]] = {}
        self._latest_blockhash: tuple[int, str] = (-1, "")

    # -- quoting and routing -------------------------------------------------------------------------------

    async def quote(self, venue: str, input_mint: str, output_mint: str, amount_in: int) -> Quote:
        """One venue's quote for the whole amount, after the venue's latency (may time out or fail)."""
        now_ms = self._clock()
        spec = await self._listed_pair(input_mint, output_mint, now_ms)
        state = await self.market.snapshot(spec, now_ms)
        return await self._venue_quote(venue, spec, state, input_mint, amount_in)

    async def route(self, input_mint: str, output_mint: str, amount_in: int) -> Route:
        now_ms = self._clock()
        spec = await self._listed_pair(input_mint, output_mint, now_ms)
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
        if self._chance(self.settings.dex_fail_quote_timeout):
            await self._pause(self.settings.dex_quote_timeout_ms * 2)
            raise QuoteTimeout(f"{venue} did not quote within {self.settings.dex_quote_timeout_ms} ms.")
        await self._pause(self._rng.gauss(self.settings.dex_quote_latency_ms, self.settings.dex_quote_latency_ms / 5))
        if self._chance(self.settings.dex_fail_venue_error):
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

    async def price_levels(self) -> dict[str, float]:
        now_ms = self._clock()
        levels: dict[str, float] = {}
        listed = [model.listed_pair(listing) for listing in await self.listings.all()
                  if listing.live(now_ms, self.settings.dex_slot_ms)]
        for spec in (*model.PAIRS, *listed):
            state = await self.market.snapshot(spec, now_ms)
            # quote per base in whole tokens, as each venue's pool stands
            prices = [math.exp(state.venue_log_price(venue, spec)) * spec.base.scale / spec.quote.scale
                      for venue in spec.venues]
            levels[price_book(spec.base.mint, spec.quote.mint)] = max(prices)
            levels[price_book(spec.quote.mint, spec.base.mint)] = 1 / min(prices)
        return levels

    async def listing_levels(self) -> dict[str, float]:
        now_ms, slot_ms = self._clock(), self.settings.dex_slot_ms
        return {price_book(listing.quote.mint, listing.token.mint): float(listing.slot)
                for listing in await self.listings.all() if listing.live(now_ms, slot_ms)}

    # -- building and sending ------------------------------------------------------------------------------

    async def build(self, order_id: str, route: Route, slippage_bps: int, min_amount_out: int | None = None) -> BuiltSwap:
        token_in, token_out = by_mint(route.input_mint), by_mint(route.output_mint)
        steps = transaction.swap_steps(token_in, token_out, tuple(leg.venue for leg in route.legs))
        congestion = min(100, len(self._in_flight))
        now_ms = self._clock()
        expires_at = now_ms + self.settings.dex_blockhash_lifetime_ms
        if self._chance(self.settings.dex_fail_blockhash_expired):
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
        return BuiltSwap(order_id, route, min_out, steps, fee, self._blockhash(now_ms), expires_at, detail,
                         signature=new_signature())

    async def submit(self, built: BuiltSwap) -> str:
        """Send the signed transaction. Sending the same signature again is harmless, as on Solana: the chain
        processes a signature at most once."""
        signature = built.signature
        if signature is None:
            raise ValueError("submit() sends a transaction that build() signed; this one has no signature")
        await self._pause(self.settings.dex_submit_latency_ms)
        if self._chance(self.settings.dex_fail_rpc_error):
            raise RpcError("the RPC node refused the transaction (it was not sent).")
        if signature in self._in_flight:
            return signature
        now_ms = self._clock()
        lands_at = now_ms + int(self.settings.dex_slot_ms * self._scale * self._rng.uniform(1.0, 2.0))
        confirmation = self.settings.dex_confirmation_ms * self._scale * self._rng.uniform(1 - _CONFIRMATION_JITTER, 1 + _CONFIRMATION_JITTER)
        confirmed_at = max(lands_at, now_ms + int(confirmation))
        flight = _InFlight(built, now_ms, lands_at, confirmed_at, self._chance(self.settings.dex_fail_price_move))
        if lands_at <= now_ms:  # no latency: it lands as it is sent (one script does both)
            self._in_flight[signature] = flight
            await self._land(signature, flight, sent_now=True)
        else:
            if not await self.market.store.put_pending(signature, {
                    "order_id": built.order_id, "expires_at": built.blockhash_expires_at_ms, "submitted_at": now_ms}):
                known = await self.market.store.transaction(signature)
                if known.get("state") != "pending":
                    return signature  # the chain already processed it: confirm() asks the chain about it
                # A rebroadcast of a transaction still pending (its first sender may have died): this send can
                # land it too; the landing script lets only the first of them land.
            self._in_flight[signature] = flight
            task = asyncio.create_task(self._land_later(signature, flight))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return signature

    # -- the chain -----------------------------------------------------------------------------------------

    async def _land_later(self, signature: str, flight: _InFlight) -> None:
        await asyncio.sleep(max(0, flight.lands_at_ms - self._clock()) / 1000)
        try:
            await self._land(signature, flight)
        except Exception:  # noqa: BLE001 - a transaction the chain fails to process never lands
            logger.exception("landing failed", extra={"signature": signature})
            flight.dropped_as = "error"
            flight.landed.set()

    async def _land(self, signature: str, flight: _InFlight, *, sent_now: bool = False) -> None:
        """Execute the transaction against the pools as they are now (not as quoted), atomically. Transactions
        landing on one pair at the same moment land together, in the order they arrived, as a slot orders them."""
        route = flight.built.route
        pair = (await self._listed_pair(route.input_mint, route.output_mint, self._clock())).name
        landings = self._landings.get(pair)
        if landings is None:
            landings = self._landings[pair] = GroupCommit(self._land_together)
        await landings.submit((signature, flight, sent_now))

    async def _land_together(self, batch: list[tuple[str, _InFlight, bool]]) -> list[None]:
        route = batch[0][1].built.route  # every transaction in a batch trades the same pair
        spec = self._pair(route.input_mint, route.output_mint)
        now_ms = self._clock()
        waiting = batch
        while waiting:
            refused: dict[str, str] = {}
            outcomes: dict[str, dict[str, object]] = {}

            async def write(version: str, state: model.PairState) -> CasOutcome | None:
                outcomes.clear()
                landings = []
                for signature, flight, sent_now in waiting:
                    state, outcome = self._execute(spec, state, flight, now_ms)
                    outcomes[signature] = outcome
                    expiry = flight.built.blockhash_expires_at_ms if sent_now else None
                    # the ledger's whole record rides along, so whoever finds the landing can make it durable
                    landings.append(Landing(signature, {**_ledger_fields(flight.built), **outcome}, expiry))
                result = await self.market.store.land(spec.name, landings, version, encode(state), now_ms)
                if result.landed:
                    self.market.remember(spec, result.version or version, state)
                    return None
                if result.conflict is not None:
                    return result.conflict
                refused.update(result.refused or {})
                return None

            await self.market.update(spec, now_ms, write)
            for signature, flight, _ in waiting:
                if signature in refused:
                    flight.dropped_as = refused[signature] or "unknown"
                elif not refused:
                    flight.outcome = _landed(signature, flight.built, outcomes[signature])
                    self.chain.record(flight.outcome)
                else:
                    continue  # lands in the next round, without the refused ones
                flight.landed.set()
            waiting = [item for item in waiting if refused and item[0] not in refused]
        return [None] * len(batch)

    def _execute(self, spec: model.PairSpec, state: model.PairState, flight: _InFlight,
                 now_ms: int) -> tuple[model.PairState, dict[str, object]]:
        """One transaction against the pair: the state after it, and how it landed (it fails below its minimum
        output and then leaves the pools as it found them, apart from the price move it was hit by)."""
        route, built = flight.built.route, flight.built
        if flight.price_move:
            move = self.settings.dex_price_move_bps / 10_000 * (-1 if route.input_mint == spec.base.mint else 1)
            for leg in route.legs:
                state = model.shocked(state, spec, self._liquidity, leg.venue, move)
        after, amount_out = state, 0
        for leg in route.legs:
            swap = model.swap_venue(after, spec, self._liquidity, leg.venue, route.input_mint, leg.amount_in, now_ms // 1000)
            after, amount_out = swap.state, amount_out + swap.amount_out
        ok = amount_out >= built.min_amount_out
        token_in, token_out = by_mint(route.input_mint), by_mint(route.output_mint)
        outcome: dict[str, object] = dict(
            state="confirmed" if ok else "failed",
            amount_out=amount_out if ok else None,
            executed_price=slippage.executed_price(route.amount_in, amount_out, token_in, token_out) if ok else None,
            error=None if ok else (f"slippage exceeded: the swap would return {amount_out}, below the minimum "
                                   f"{built.min_amount_out}; the price moved since the quote."),
            landed_at_ms=now_ms,
            confirmed_at_ms=flight.confirmed_at_ms,
        )
        return (after if ok else state), outcome

    async def confirm(self, signature: str) -> SwapResult:
        flight = self._in_flight.get(signature)
        if flight is None:
            return await self._await_foreign(signature)
        try:
            await flight.landed.wait()
            if flight.outcome is None:
                if flight.dropped_as in ("pending", "confirmed", "failed"):
                    return await self._await_foreign(signature)  # an earlier send of it is the one that counts
                result = await self.signature_status(signature)
                if result.state is SignatureState.EXPIRED or flight.dropped_as == "expired":
                    await self._pause_until(flight.built.blockhash_expires_at_ms)
                    raise BlockhashExpired(f"transaction {signature} was not landed before its blockhash expired.")
                raise TransactionDropped(f"transaction {signature} was dropped before it landed.")
            await self._pause_until(flight.confirmed_at_ms)
            await self.chain.wait_durable(signature)
            result = self._result(flight.outcome)
            if result.state is SignatureState.FAILED:
                raise SlippageExceeded(result.error or f"transaction {signature} failed.")
            return result
        finally:
            self._in_flight.pop(signature, None)

    async def _await_foreign(self, signature: str) -> SwapResult:
        """Confirm a transaction this process did not send (a recovered order): poll its status."""
        while True:
            result = await self.signature_status(signature)
            if result.state is SignatureState.CONFIRMED:
                return result
            if result.state is SignatureState.FAILED:
                raise SlippageExceeded(result.error or f"transaction {signature} failed.")
            if result.state is SignatureState.EXPIRED:
                raise BlockhashExpired(f"transaction {signature} was not landed before its blockhash expired.")
            if result.state is SignatureState.UNKNOWN:
                raise TransactionDropped(f"the chain has no record of transaction {signature}.")
            await asyncio.sleep(max(self.settings.dex_slot_ms * self._scale, 10) / 1000)

    async def signature_status(self, signature: str) -> SwapResult:
        now_ms = self._clock()
        record = await self.market.store.transaction(signature)
        state = record.get("state") if record else None
        if state == "pending":
            if now_ms < int(record["expires_at"]):
                return SwapResult(signature, SignatureState.PENDING)
            state = await self.market.store.expire_if_due(signature, now_ms)
            if state == "pending":
                return SwapResult(signature, SignatureState.PENDING)
        if state == "expired":
            return SwapResult(signature, SignatureState.EXPIRED, error="blockhash expired before the transaction landed")
        if state in ("confirmed", "failed"):
            if now_ms < int(record["confirmed_at_ms"]):
                return SwapResult(signature, SignatureState.PENDING)
            return self._result(await self._durable_landing(signature, record))
        landed = await self.chain.get(signature)  # Redis never saw it, or lost it: the durable ledger decides
        if landed is None:
            return SwapResult(signature, SignatureState.UNKNOWN)
        if now_ms < landed.confirmed_at_ms:
            return SwapResult(signature, SignatureState.PENDING)
        return self._result(landed)

    async def _durable_landing(self, signature: str, record: dict[str, str]) -> LandedTransaction:
        """A landing Redis shows is reported only once the ledger holds it: the process that landed it may have
        died before its batch reached PostgreSQL, and after a Redis flush only the ledger remembers."""
        landed = await self.chain.get(signature)
        if landed is None:
            landed = _landed_from_record(signature, record)
            self.chain.record(landed)
        await self.chain.wait_durable(signature)
        return landed

    @staticmethod
    def _result(landed: LandedTransaction) -> SwapResult:
        return _swap_result(landed.signature, landed.state, landed.amount_out, landed.executed_price, landed.error)

    async def close(self) -> None:
        """Write the chain's buffered records; release the clients the dex was given to own. Transactions still
        in flight are abandoned (they expire), as when a process stops."""
        for task in list(self._tasks):
            task.cancel()
        for landings in self._landings.values():
            await landings.close()
        await self.market.store.close()
        await self.chain.close()
        if self._release is not None:
            await self._release()

    # -- helpers -------------------------------------------------------------------------------------------

    def _pair(self, input_mint: str, output_mint: str) -> model.PairSpec:
        """A pair with pools: one of the market's own, or a listed one this process has read (see _listed_pair)."""
        spec = model.pair_for(input_mint, output_mint)
        if spec is not None and input_mint != output_mint:
            return spec
        tokens = listable_pair(by_mint(input_mint), by_mint(output_mint))
        listing = self.listings.cached(*tokens) if tokens else None
        if listing is None:
            raise NoRoute(f"no venue trades {by_mint(input_mint).symbol} for {by_mint(output_mint).symbol}.")
        return model.listed_pair(listing)

    async def _listed_pair(self, input_mint: str, output_mint: str, now_ms: int) -> model.PairSpec:
        """The pair's pools as of now: a listed token trades from its listing's slot on, and has no pool before."""
        tokens = listable_pair(by_mint(input_mint), by_mint(output_mint))
        if tokens is None:
            return self._pair(input_mint, output_mint)
        listing = await self.listings.for_pair(*tokens)
        name = f"{tokens[0].symbol}-{tokens[1].symbol}"
        if listing is None:
            raise NoPool(f"no pool: {name} is not listed ({tokens[0].symbol} has no pool against {tokens[1].symbol}).")
        if not listing.live(now_ms, self.settings.dex_slot_ms):
            raise NoPool(f"no pool: {name} lists at slot {listing.slot} "
                         f"({iso_ms(listing.starts_at_ms(self.settings.dex_slot_ms))}), not yet.")
        return model.listed_pair(listing)

    def _blockhash(self, now_ms: int) -> str:
        """The latest blockhash: a new one every slot, shared by the transactions built in it."""
        slot = now_ms // self.settings.dex_slot_ms
        if self._latest_blockhash[0] != slot:
            self._latest_blockhash = (slot, b58encode(secrets.token_bytes(32)))
        return self._latest_blockhash[1]

    def _chance(self, probability: float) -> bool:
        return probability > 0 and self._rng.random() < probability

    async def _pause(self, ms: float) -> None:
        if self._scale > 0 and ms > 0:
            await asyncio.sleep(ms * self._scale / 1000)

    async def _pause_until(self, at_ms: int) -> None:
        wait = at_ms - self._clock()
        if wait > 0 and self._scale > 0:
            await asyncio.sleep(wait / 1000)


def _ledger_fields(built: BuiltSwap) -> dict[str, object]:
    route = built.route
    return dict(order_id=built.order_id, input_mint=route.input_mint, output_mint=route.output_mint,
                amount_in=route.amount_in, min_amount_out=built.min_amount_out,
                legs=json.dumps([[leg.venue, leg.amount_in] for leg in route.legs]))


def _landed(signature: str, built: BuiltSwap, outcome: dict[str, object]) -> LandedTransaction:
    return LandedTransaction(signature=signature, **_ledger_fields(built), **outcome)  # type: ignore[arg-type]


def _landed_from_record(signature: str, record: dict[str, str]) -> LandedTransaction:
    """The ledger entry from the chain's Redis record of a landing (strings; '' for none)."""
    def optional_int(name: str) -> int | None:
        return int(record[name]) if record.get(name) else None

    return LandedTransaction(
        signature=signature, order_id=record["order_id"], state=record["state"], input_mint=record["input_mint"],
        output_mint=record["output_mint"], amount_in=int(record["amount_in"]),
        min_amount_out=int(record["min_amount_out"]), amount_out=optional_int("amount_out"),
        executed_price=record.get("executed_price") or None, error=record.get("error") or None,
        legs=record["legs"], landed_at_ms=int(record["landed_at_ms"]), confirmed_at_ms=int(record["confirmed_at_ms"]),
    )


def _swap_result(signature: str, state: str, amount_out: int | None, executed_price: str | None,
                 error: str | None) -> SwapResult:
    if state == "confirmed":
        return SwapResult(signature, SignatureState.CONFIRMED, amount_out, executed_price)
    return SwapResult(signature, SignatureState.FAILED, error=error or "slippage exceeded")
