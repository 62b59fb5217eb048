"""Meteora's DLMM (dynamic liquidity market maker): liquidity in bins at prices `(1 + binStep/10,000)^id`.

A swap takes the output token out of the active bin at that bin's fixed price, then steps to the next bin
(down when selling the base token X, up when buying it) until the input is spent. Fee = base fee + a variable
fee that grows with the bins crossed recently (the volatility accumulator), capped at 10%: Meteora's formulas,
with rates over 10^9 and prices in Q64.64 fixed point.

Bins hold X above the active bin and Y below it. Only bins whose reserves differ from the pool's default
shape are stored (`bins`); every other bin holds `bin_liquidity` worth (in Y base units) of its side's token.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from decimal import Decimal, localcontext
from functools import lru_cache

from order_engine.dex.model.cpmm import ceil_div

FEE_PRECISION = 1_000_000_000
MAX_FEE_RATE = 100_000_000  # 10%
BASIS_POINT_MAX = 10_000
SCALE_OFFSET = 64
ONE = 1 << SCALE_OFFSET
STORED_BINS_AROUND_ACTIVE = 80  # bins further from the active one fall back to the default shape


@dataclass(frozen=True, slots=True)
class DlmmParams:
    bin_step: int  # basis points between adjacent bins
    base_factor: int
    variable_fee_control: int
    max_volatility_accumulator: int
    filter_period_s: int
    decay_period_s: int
    reduction_factor: int
    bin_liquidity: int  # value of one default bin, in Y base units

    @property
    def base_fee_rate(self) -> int:
        return self.base_factor * self.bin_step * 10

    def variable_fee_rate(self, volatility_accumulator: int) -> int:
        squared = (volatility_accumulator * self.bin_step) ** 2
        return ceil_div(self.variable_fee_control * squared, 100_000_000_000)

    def total_fee_rate(self, volatility_accumulator: int) -> int:
        return min(self.base_fee_rate + self.variable_fee_rate(volatility_accumulator), MAX_FEE_RATE)


@dataclass(frozen=True, slots=True)
class DlmmPool:
    active_id: int
    bins: dict[int, tuple[int, int]] = field(default_factory=dict)  # id -> (x, y), overrides only
    volatility_accumulator: int = 0
    volatility_reference: int = 0
    index_reference: int = 0
    last_update_s: int = 0


@dataclass(frozen=True, slots=True)
class DlmmSwap:
    amount_in: int
    fee: int
    amount_out: int
    price_impact_bps: int
    bins_crossed: int
    pool: DlmmPool


@lru_cache(maxsize=8192)
def bin_price_q64(bin_step: int, bin_id: int) -> int:
    """Price of Y per X (base units) at a bin, in Q64.64."""
    with localcontext() as ctx:
        ctx.prec = 60
        return int((Decimal(1) + Decimal(bin_step) / BASIS_POINT_MAX) ** bin_id * ONE)


def bin_for_log_price(bin_step: int, log_price: float) -> int:
    return round(log_price / math.log1p(bin_step / BASIS_POINT_MAX))


def log_price(bin_step: int, bin_id: int) -> float:
    return bin_id * math.log1p(bin_step / BASIS_POINT_MAX)


def default_reserves(params: DlmmParams, active_id: int, bin_id: int) -> tuple[int, int]:
    price = bin_price_q64(params.bin_step, bin_id)
    if bin_id > active_id:
        return (params.bin_liquidity << SCALE_OFFSET) // price, 0
    if bin_id < active_id:
        return 0, params.bin_liquidity
    return (params.bin_liquidity << SCALE_OFFSET) // (2 * price), params.bin_liquidity // 2


def reserves(pool: DlmmPool, params: DlmmParams, bin_id: int) -> tuple[int, int]:
    stored = pool.bins.get(bin_id)
    return stored if stored is not None else default_reserves(params, pool.active_id, bin_id)


def _updated_references(pool: DlmmPool, params: DlmmParams, now_s: int) -> tuple[int, int]:
    """(volatility_reference, index_reference) at the start of a swap, as Meteora's `update_references`."""
    elapsed = now_s - pool.last_update_s
    if elapsed < params.filter_period_s:
        return pool.volatility_reference, pool.index_reference
    if elapsed < params.decay_period_s:
        return pool.volatility_accumulator * params.reduction_factor // BASIS_POINT_MAX, pool.active_id
    return 0, pool.active_id


def swap(pool: DlmmPool, params: DlmmParams, amount_in: int, x_to_y: bool, now_s: int, *,
         keep_pool: bool = True) -> DlmmSwap:
    """Swap `amount_in` of X (x_to_y) or Y through the bins; returns the result and (unless `keep_pool` is
    False, as for a quote) the pool after it."""
    volatility_reference, index_reference = _updated_references(pool, params, now_s)
    stored_bins = pool.bins
    touched: dict[int, tuple[int, int]] = {}
    bin_id = start_id = pool.active_id
    remaining, amount_out, fees = amount_in, 0, 0
    volatility_accumulator = pool.volatility_accumulator
    step = -1 if x_to_y else 1
    while remaining > 0:
        volatility_accumulator = min(
            volatility_reference + abs(index_reference - bin_id) * BASIS_POINT_MAX, params.max_volatility_accumulator
        )
        rate = params.total_fee_rate(volatility_accumulator)
        stored = touched.get(bin_id) or stored_bins.get(bin_id)
        x, y = stored if stored is not None else default_reserves(params, start_id, bin_id)
        price = bin_price_q64(params.bin_step, bin_id)
        available = y if x_to_y else x
        if available == 0:
            bin_id += step
            continue
        if x_to_y:
            max_in = ceil_div(available << SCALE_OFFSET, price)
        else:
            max_in = ceil_div(available * price, ONE)
        max_fee = ceil_div(max_in * rate, FEE_PRECISION - rate)
        if remaining >= max_in + max_fee:
            used, fee, out = max_in, max_fee, available
        else:
            fee = ceil_div(remaining * rate, FEE_PRECISION)
            used = remaining - fee
            out = (used * price) >> SCALE_OFFSET if x_to_y else (used << SCALE_OFFSET) // price
        touched[bin_id] = (x + used, y - out) if x_to_y else (x - out, y + used)
        remaining -= used + fee
        amount_out += out
        fees += fee
        if remaining > 0:
            bin_id += step
    start_price = bin_price_q64(params.bin_step, start_id)
    spent = amount_in - fees
    ideal = (spent * start_price) >> SCALE_OFFSET if x_to_y else (spent << SCALE_OFFSET) // start_price
    impact = max(0, (ideal - amount_out) * 10_000 // ideal) if ideal > 0 else 0
    if not keep_pool:
        return DlmmSwap(amount_in, fees, amount_out, impact, abs(bin_id - start_id), pool)
    after = DlmmPool(
        active_id=bin_id,
        bins=_trim(_settle_defaults({**stored_bins, **touched}, params, start_id, bin_id), bin_id),
        volatility_accumulator=volatility_accumulator,
        volatility_reference=volatility_reference,
        index_reference=index_reference,
        last_update_s=now_s,
    )
    return DlmmSwap(amount_in, fees, amount_out, impact, abs(bin_id - start_id), after)


def move_active(pool: DlmmPool, params: DlmmParams, target_id: int) -> DlmmPool:
    """The pool after an arbitrageur walks the price to `target_id` at no fee: every bin crossed is converted
    wholly into the token the arbitrageur paid with, at that bin's price."""
    if target_id == pool.active_id:
        return pool
    bins = dict(pool.bins)
    start = pool.active_id
    step = 1 if target_id > start else -1
    for bin_id in range(start, target_id, step):
        stored = bins.get(bin_id)
        if stored is None and bin_id != start:
            continue  # a default bin converts to the default of its new side: nothing to store
        x, y = stored if stored is not None else default_reserves(params, start, bin_id)
        price = bin_price_q64(params.bin_step, bin_id)
        if step > 0:  # price up: X bought with Y
            bins[bin_id] = (0, y + ceil_div(x * price, ONE))
        else:
            bins[bin_id] = (x + ceil_div(y << SCALE_OFFSET, price), 0)
    return replace(pool, active_id=target_id, bins=_trim(_settle_defaults(bins, params, start, target_id), target_id))


def _settle_defaults(bins: dict[int, tuple[int, int]], params: DlmmParams, old_active: int, new_active: int) -> dict[int, tuple[int, int]]:
    """Defaults are relative to the active bin; when it moves, pin the bins whose default would change
    without anything having traded them (only the old and new active bins can be such)."""
    if old_active != new_active:
        for bin_id in (old_active, new_active):
            if bin_id not in bins:
                bins[bin_id] = default_reserves(params, old_active, bin_id)
    return bins


def _trim(bins: dict[int, tuple[int, int]], active_id: int) -> dict[int, tuple[int, int]]:
    if len(bins) <= 2 * STORED_BINS_AROUND_ACTIVE:
        return bins
    return {i: r for i, r in bins.items() if abs(i - active_id) <= STORED_BINS_AROUND_ACTIVE}
