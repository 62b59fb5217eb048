"""Choosing where an order goes: the venue with the most output after fees and impact, or a split across two
venues by the percentage that yields the most, as Jupiter's route plans do.

Pure: the venues are given as functions from an input amount to an output amount (quotes on pool state).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

from order_engine.domain.tokens import Token, to_decimal_string

Quoter = Callable[[int], int]


@dataclass(frozen=True)
class Split:
    first_pct: int  # share of the input sent to the first venue, 0..100
    first_amount_in: int
    second_amount_in: int
    first_amount_out: int
    second_amount_out: int

    @property
    def amount_out(self) -> int:
        return self.first_amount_out + self.second_amount_out


def split_amounts(amount_in: int, first_pct: int) -> tuple[int, int]:
    first = amount_in * first_pct // 100
    return first, amount_in - first


def _evaluate(first: Quoter, second: Quoter, amount_in: int, pct: int) -> Split:
    a, b = split_amounts(amount_in, pct)
    return Split(pct, a, b, first(a) if a else 0, second(b) if b else 0)


def splitting_may_pay(best: Quoter, other: Quoter, amount_in: int, best_out: int | None = None) -> bool:
    """Would moving the last 1% of the order from the best venue to the other give more? If not, the
    (concave) split curve peaks at 'all on the best venue' and no search is needed. `best_out` is
    `best(amount_in)` when already known."""
    moved = amount_in // 100
    if moved == 0:
        return False
    whole = best(amount_in) if best_out is None else best_out
    return best(amount_in - moved) + other(moved) > whole


def best_split(first: Quoter, second: Quoter, amount_in: int) -> Split:
    """The whole-percent split with the most total output (ternary search on a concave curve, then a scan of
    the last few points; both ends are always candidates)."""
    cache: dict[int, Split] = {}

    def at(pct: int) -> Split:
        if pct not in cache:
            cache[pct] = _evaluate(first, second, amount_in, pct)
        return cache[pct]

    lo, hi = 0, 100
    while hi - lo > 3:
        m1 = lo + (hi - lo) // 3
        m2 = hi - (hi - lo) // 3
        if at(m1).amount_out < at(m2).amount_out:
            lo = m1 + 1
        else:
            hi = m2
    candidates = [at(p) for p in range(lo, hi + 1)] + [at(0), at(100)]
    return max(candidates, key=lambda s: (s.amount_out, -abs(s.first_pct - 50)))


def gain_in_words(better_out: int, worse_out: int, token_out: Token) -> str:
    """How much more one route returns than another, in whole tokens and percent: "0.615 USDC (0.41%)"."""
    gain = better_out - worse_out
    pct = Decimal(gain * 100) / Decimal(worse_out) if worse_out > 0 else None
    share = "" if pct is None else f" ({pct:.2f}%)" if pct >= Decimal("0.01") else " (under 0.01%)"
    return f"{to_decimal_string(gain, token_out)} {token_out.symbol}{share}"
