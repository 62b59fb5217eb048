"""Raydium's constant-product pool (CPMM): integer math as Raydium writes it.

The trade fee is taken from the input at a rate over 1,000,000 (2,500 = 0.25%), rounded up; the output is
`y - ceil(x*y / (x + dx_after_fee))`, so rounding always favours the pool and `x*y` never decreases.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

FEE_RATE_DENOMINATOR = 1_000_000
RAYDIUM_TRADE_FEE_RATE = 2_500


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True, slots=True)
class CpmmSwap:
    amount_in: int
    fee: int
    amount_out: int
    reserve_in_after: int
    reserve_out_after: int
    price_impact_bps: int


def trade_fee(amount_in: int, fee_rate: int = RAYDIUM_TRADE_FEE_RATE) -> int:
    return ceil_div(amount_in * fee_rate, FEE_RATE_DENOMINATOR)


def swap(reserve_in: int, reserve_out: int, amount_in: int, fee_rate: int = RAYDIUM_TRADE_FEE_RATE) -> CpmmSwap:
    """Swap `amount_in` into the pool; the fee stays in the pool, so the invariant grows."""
    if amount_in <= 0:
        return CpmmSwap(0, 0, 0, reserve_in, reserve_out, 0)
    fee = trade_fee(amount_in, fee_rate)
    after_fee = amount_in - fee
    amount_out = reserve_out - ceil_div(reserve_in * reserve_out, reserve_in + after_fee)
    ideal = after_fee * reserve_out // reserve_in
    impact = (ideal - amount_out) * 10_000 // ideal if ideal > 0 else 0
    return CpmmSwap(amount_in, fee, amount_out, reserve_in + amount_in, reserve_out - amount_out, impact)


def rebalance(reserve_base: int, reserve_quote: int, price: float) -> tuple[int, int]:
    """The reserves an arbitrageur leaves behind when moving the pool to `price` (quote per base, base
    units) at no fee: the same invariant, never a smaller one."""
    k = reserve_base * reserve_quote
    base = max(1, math.isqrt(int(k / price)))
    return base, ceil_div(k, base)
