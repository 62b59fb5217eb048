"""The market model: a reference price per pair that walks randomly, and each venue's pool drifting around it.

Per pair, the reference log-price moves as a random walk. Each venue has an offset from the reference that
drifts as a mean-reverting (Ornstein-Uhlenbeck) process whose stationary spread makes the venues' prices differ
by `venue_spread_bps` on average; arbitrage pulls each pool's actual price (which swaps push around) back to the
reference plus its venue's offset. Time is counted in ticks (Solana slots), and advancing any number of ticks is
O(1): the exact transition of each process. Noise comes from a hash of (seed, what, from tick, to tick), so every
process that advances the same state over the same ticks gets the same market.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import lru_cache

from order_engine.dex.model import cpmm, dlmm
from order_engine.domain.listings import Listing
from order_engine.domain.swaps import METEORA, RAYDIUM, VENUES  # noqa: F401 - the model's names for them
from order_engine.domain.tokens import Token, lookup
DLMM_LIQUIDITY_BINS = 69  # the initial liquidity is spread over this many bins around the active one


@dataclass(frozen=True)
class PairSpec:
    base: Token  # X in the pools; prices are quote per base
    quote: Token
    reference_price: float  # whole quote tokens per whole base token
    dlmm_bin_step: int
    dlmm_base_factor: int
    dlmm_variable_fee_control: int
    dlmm_max_volatility_accumulator: int
    raydium_depth_usd: int  # the pool's value at seeding (both sides), calibrated to the real pool (docs/architecture.md)
    meteora_depth_usd: int
    raydium_fee_rate: int = cpmm.RAYDIUM_TRADE_FEE_RATE
    venues: tuple[str, ...] = VENUES  # the venues with a pool of the pair
    liquidity: int | None = None  # whole quote tokens per pool (None: the market's default depth)
    listing_slot: int | None = None  # a listed pair's pools exist from this slot on, at the listing price

    @property
    def name(self) -> str:
        return f"{self.base.symbol}-{self.quote.symbol}"

    @property
    def reference_log_price(self) -> float:
        """ln(quote base units per base base unit)."""
        return math.log(self.reference_price * self.quote.scale / self.base.scale)

    def depth_usd(self, venue: str, liquidity_usd: int = 0) -> int:
        """A venue's pool value at seeding: a listed pair's own liquidity; else `liquidity_usd` for every pool
        when given (an override, e.g. the uniform $2M pools of before the calibration), else the pool's
        calibrated depth."""
        if self.liquidity is not None:
            return self.liquidity
        if liquidity_usd > 0:
            return liquidity_usd
        return self.raydium_depth_usd if venue == RAYDIUM else self.meteora_depth_usd

    def dlmm_params(self, liquidity_usd: int = 0) -> dlmm.DlmmParams:
        return _dlmm_params(self, self.depth_usd(METEORA, liquidity_usd))


@lru_cache(maxsize=64)
def _dlmm_params(spec: PairSpec, depth_usd: int) -> dlmm.DlmmParams:
    return dlmm.DlmmParams(
        bin_step=spec.dlmm_bin_step,
        base_factor=spec.dlmm_base_factor,
        variable_fee_control=spec.dlmm_variable_fee_control,
        max_volatility_accumulator=spec.dlmm_max_volatility_accumulator,
        filter_period_s=30,
        decay_period_s=600,
        reduction_factor=5_000,
        bin_liquidity=depth_usd * spec.quote.scale // DLMM_LIQUIDITY_BINS,
    )


def _pair(base: str, quote: str, price: float, bin_step: int, base_factor: int, vfc: int, max_va: int,
          raydium_usd: int, meteora_usd: int) -> PairSpec:
    return PairSpec(lookup(base), lookup(quote), price, bin_step, base_factor, vfc, max_va, raydium_usd, meteora_usd)


# Depths: approximate TVL of the largest real pool of each pair on each venue (Raydium AMM v4, Meteora DLMM), as
# the venues' pool pages and DefiLlama showed them around mid-2025; docs/architecture.md's table names the pools.
PAIRS: tuple[PairSpec, ...] = (
    _pair("SOL", "USDC", 150.0, bin_step=10, base_factor=8_000, vfc=300_000, max_va=100_000,
          raydium_usd=10_000_000, meteora_usd=6_000_000),
    _pair("SOL", "USDT", 150.0, bin_step=10, base_factor=8_000, vfc=300_000, max_va=100_000,
          raydium_usd=3_000_000, meteora_usd=2_000_000),
    _pair("USDC", "USDT", 1.0, bin_step=1, base_factor=10_000, vfc=2_000_000, max_va=100_000,
          raydium_usd=2_000_000, meteora_usd=4_000_000),
)
_BY_MINTS = {frozenset((p.base.mint, p.quote.mint)): p for p in PAIRS}


def pair_for(input_mint: str, output_mint: str) -> PairSpec | None:
    return _BY_MINTS.get(frozenset((input_mint, output_mint)))


# A new token's pools: Meteora's 80-bin-step pools with a 0.25% base fee, as launch pools commonly are.
_LISTING_DLMM = dict(dlmm_bin_step=80, dlmm_base_factor=3_125, dlmm_variable_fee_control=30_000,
                     dlmm_max_volatility_accumulator=350_000)


@lru_cache(maxsize=256)
def listed_pair(listing: Listing) -> PairSpec:
    """The pair a listing creates: the new token as base, priced in its quote token."""
    return PairSpec(listing.token, listing.quote, float(listing.price), **_LISTING_DLMM,
                    raydium_depth_usd=listing.liquidity, meteora_depth_usd=listing.liquidity, venues=listing.venues,
                    liquidity=listing.liquidity, listing_slot=listing.slot)


@dataclass(frozen=True)
class MarketParams:
    """The knobs of the model, per tick."""

    seed: int
    tick_ms: int
    reference_sigma: float  # std dev of the reference log-price per tick
    offset_sigma: float  # stationary std dev of a venue's offset
    offset_reversion: float  # per tick, in (0, 1]
    arbitrage_reversion: float  # per tick, in [0, 1)

    @classmethod
    def from_knobs(cls, seed: int, tick_ms: int, volatility_bps_per_minute: float, venue_spread_bps: float,
                   drift_half_life_s: float, arbitrage_half_life_s: float) -> "MarketParams":
        tick_s = tick_ms / 1000
        return cls(
            seed=seed,
            tick_ms=tick_ms,
            reference_sigma=volatility_bps_per_minute / 10_000 * math.sqrt(tick_s / 60),
            # the mean |difference| of two independent N(0, s^2) offsets is 2s/sqrt(pi)
            offset_sigma=venue_spread_bps / 10_000 * math.sqrt(math.pi) / 2,
            offset_reversion=0.5 ** (tick_s / drift_half_life_s),
            arbitrage_reversion=0.5 ** (tick_s / arbitrage_half_life_s) if arbitrage_half_life_s > 0 else 0.0,
        )


@dataclass(frozen=True, slots=True)
class PairState:
    tick: int
    reference_log: float
    raydium_offset: float
    meteora_offset: float
    raydium: tuple[int, int]  # (base reserve, quote reserve)
    meteora: dlmm.DlmmPool

    def venue_log_price(self, venue: str, spec: PairSpec) -> float:
        if venue == RAYDIUM:
            return math.log(self.raydium[1] / self.raydium[0])
        return dlmm.log_price(spec.dlmm_bin_step, self.meteora.active_id)


def _digest(seed: int, parts: tuple[object, ...]) -> bytes:
    return hashlib.blake2b(repr((seed, *parts)).encode(), digest_size=16).digest()


def _uniform(seed: int, *parts: object) -> float:
    return int.from_bytes(_digest(seed, parts)[:8], "big") / 2.0**64


def normal(seed: int, *parts: object) -> float:
    """A standard normal drawn from a hash of its inputs (Box-Muller)."""
    digest = _digest(seed, parts)
    u1 = (int.from_bytes(digest[:8], "big") + 1) / 2.0**64
    u2 = int.from_bytes(digest[8:], "big") / 2.0**64
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def initial_state(spec: PairSpec, market: MarketParams, liquidity_usd: int, tick: int) -> PairState:
    """A freshly seeded pair: offsets drawn from their stationary distribution, pools at their venue prices; a
    listed pair's pools both start at the listing price (its offsets drift from there)."""
    ref = spec.reference_log_price
    listed = spec.listing_slot is not None
    r_off = 0.0 if listed else market.offset_sigma * normal(market.seed, spec.name, RAYDIUM, "genesis")
    m_off = 0.0 if listed else market.offset_sigma * normal(market.seed, spec.name, METEORA, "genesis")
    quote_reserve = spec.depth_usd(RAYDIUM, liquidity_usd) * spec.quote.scale // 2
    base_reserve = max(1, int(quote_reserve / math.exp(ref + r_off)))
    active = dlmm.bin_for_log_price(spec.dlmm_bin_step, ref + m_off)
    pool = dlmm.DlmmPool(active_id=active, index_reference=active)
    return PairState(tick, ref, r_off, m_off, (base_reserve, quote_reserve), pool)


def advance(state: PairState, spec: PairSpec, market: MarketParams, liquidity_usd: int, to_tick: int) -> PairState:
    """The pair `to_tick - state.tick` ticks later: the reference walked, offsets drifted, arbitrage done."""
    n = to_tick - state.tick
    if n <= 0:
        return state
    noise = lambda what: normal(market.seed, spec.name, what, state.tick, to_tick)  # noqa: E731
    ref = state.reference_log + market.reference_sigma * math.sqrt(n) * noise("reference")
    a_n = market.offset_reversion**n
    spread = market.offset_sigma * math.sqrt(max(0.0, 1.0 - a_n * a_n))
    r_off = state.raydium_offset * a_n + spread * noise(RAYDIUM)
    m_off = state.meteora_offset * a_n + spread * noise(METEORA)
    pull = market.arbitrage_reversion**n

    def pulled(current: float, target: float) -> float:
        return target + (current - target) * pull

    r_log = pulled(state.venue_log_price(RAYDIUM, spec), ref + r_off)
    m_log = pulled(state.venue_log_price(METEORA, spec), ref + m_off)
    # the DLMM price moves in whole bins: round stochastically, so small pulls still close the gap on average
    m_bins = m_log / math.log1p(spec.dlmm_bin_step / dlmm.BASIS_POINT_MAX)
    m_target = math.floor(m_bins) + (1 if _uniform(market.seed, spec.name, "bin", state.tick, to_tick) < m_bins % 1 else 0)
    return PairState(
        tick=to_tick,
        reference_log=ref,
        raydium_offset=r_off,
        meteora_offset=m_off,
        raydium=cpmm.rebalance(*state.raydium, math.exp(r_log)),
        meteora=dlmm.move_active(state.meteora, spec.dlmm_params(liquidity_usd), m_target),
    )


def shocked(state: PairState, spec: PairSpec, liquidity_usd: int, venue: str, log_move: float) -> PairState:
    """The pair after a sudden move of one venue's price by `log_move` (someone else's large trade)."""
    if venue == RAYDIUM:
        price = math.exp(state.venue_log_price(RAYDIUM, spec) + log_move)
        return _with(state, raydium=cpmm.rebalance(*state.raydium, price))
    target = dlmm.bin_for_log_price(spec.dlmm_bin_step, state.venue_log_price(METEORA, spec) + log_move)
    return _with(state, meteora=dlmm.move_active(state.meteora, spec.dlmm_params(liquidity_usd), target))


def recent_volatility_bps(state: PairState, spec: PairSpec, market: MarketParams, venue: str,
                          horizon_ticks: int) -> int:
    """How far the venue's price may move before a swap quoted now lands `horizon_ticks` later: one standard
    deviation of the reference walk over that time, plus how far recent trades pushed the pool from where
    arbitrage pulls it (flow comes in bursts, and the pull moves the price back), plus, for the DLMM pool, its
    volatility accumulator (the bins crossed recently: Meteora's own measure of recent volatility)."""
    walk = market.reference_sigma * math.sqrt(max(1, horizon_ticks))
    offset = state.raydium_offset if venue == RAYDIUM else state.meteora_offset
    pushed = abs(state.venue_log_price(venue, spec) - (state.reference_log + offset))
    accumulated = 0.0
    if venue == METEORA:
        accumulated = state.meteora.volatility_accumulator / dlmm.BASIS_POINT_MAX * spec.dlmm_bin_step / 10_000
    return math.ceil((walk + pushed + accumulated) * 10_000)


@dataclass(frozen=True, slots=True)
class VenueSwap:
    venue: str
    amount_in: int
    amount_out: int
    fee: int  # input base units
    price_impact_bps: int
    state: PairState  # the pair after the swap


def swap_venue(state: PairState, spec: PairSpec, liquidity_usd: int, venue: str, input_mint: str, amount_in: int,
               now_s: int, *, quote_only: bool = False) -> VenueSwap:
    """Swap on one venue's pool of the pair. A quote is the same swap with `quote_only`: its `state` is the
    unchanged input state."""
    sell_base = input_mint == spec.base.mint
    if venue == RAYDIUM:
        base, quote = state.raydium
        reserve_in, reserve_out = (base, quote) if sell_base else (quote, base)
        result = cpmm.swap(reserve_in, reserve_out, amount_in, spec.raydium_fee_rate)
        if quote_only:
            return VenueSwap(venue, amount_in, result.amount_out, result.fee, result.price_impact_bps, state)
        after = (result.reserve_in_after, result.reserve_out_after)
        reserves = after if sell_base else (after[1], after[0])
        return VenueSwap(venue, amount_in, result.amount_out, result.fee, result.price_impact_bps, _with(state, raydium=reserves))
    result = dlmm.swap(state.meteora, spec.dlmm_params(liquidity_usd), amount_in, sell_base, now_s, keep_pool=not quote_only)
    after_state = state if quote_only else _with(state, meteora=result.pool)
    return VenueSwap(venue, amount_in, result.amount_out, result.fee, result.price_impact_bps, after_state)


def _with(state: PairState, *, raydium: tuple[int, int] | None = None, meteora: dlmm.DlmmPool | None = None) -> PairState:
    return PairState(state.tick, state.reference_log, state.raydium_offset, state.meteora_offset,
                     state.raydium if raydium is None else raydium, state.meteora if meteora is None else meteora)
