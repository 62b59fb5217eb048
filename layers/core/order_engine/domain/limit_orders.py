"""A limit order's terms: its limit price and expiry as a request gives them, and the least output a fill
must return so that it respects the limit.

`limitPrice` is a decimal string of whole tokenOut per whole tokenIn, with at most tokenOut's decimals. The
expiry is `expiresAt` (ISO-8601 with a time zone) or `ttlSeconds`, never both, at most `max_ttl_s` ahead. A limit
order's protection is its limit price, so the market-only field `slippageBps` is refused on one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Mapping

from order_engine.domain.tokens import MAX_AMOUNT_CHARS, Token
from order_engine.errors import InvalidField

LIMIT_PRICE, EXPIRES_AT, TTL_SECONDS = "limitPrice", "expiresAt", "ttlSeconds"
LIMIT_FIELDS = (LIMIT_PRICE, EXPIRES_AT, TTL_SECONDS)
MARKET_ONLY_FIELDS = ("slippageBps",)
LIMIT_PRICE_PATTERN = r"^[0-9]+(?:\.[0-9]+)?$"
_DECIMAL = re.compile(LIMIT_PRICE_PATTERN)


@dataclass(frozen=True)
class LimitTerms:
    limit_price: Decimal  # whole tokenOut per whole tokenIn
    expires_at: datetime


def parse_limit_terms(body: Mapping[str, Any], token_out: Token, now: datetime, max_ttl_s: int) -> LimitTerms:
    for name in MARKET_ONLY_FIELDS:
        if body.get(name) is not None:
            raise InvalidField(name, "market_only",
                               f"{name} applies to market orders only; a limit order is bounded by its {LIMIT_PRICE}.")
    return LimitTerms(_limit_price(body.get(LIMIT_PRICE), token_out), parse_expiry(body, now, max_ttl_s))


def refuse_limit_fields(body: Mapping[str, Any]) -> None:
    """A market order carrying a limit order's fields is a mistake, not an order to guess at."""
    for name in LIMIT_FIELDS:
        if body.get(name) is not None:
            raise InvalidField(name, "limit_only", f"{name} applies to limit orders only (type \"limit\").")


def _limit_price(value: Any, token_out: Token) -> Decimal:
    if value is None:
        raise InvalidField(LIMIT_PRICE, "required", f"{LIMIT_PRICE} is required for a limit order.")
    if not isinstance(value, str):
        raise InvalidField(LIMIT_PRICE, "decimal_string",
                           f"{LIMIT_PRICE} must be a decimal string of tokenOut per tokenIn, e.g. \"160.5\".")
    if len(value) > MAX_AMOUNT_CHARS:
        raise InvalidField(LIMIT_PRICE, "length", f"{LIMIT_PRICE} is longer than {MAX_AMOUNT_CHARS} characters.")
    if _DECIMAL.fullmatch(value) is None:
        if value[:1] == "-" and _DECIMAL.fullmatch(value[1:]):
            raise InvalidField(LIMIT_PRICE, "positive", f"{LIMIT_PRICE} must be greater than zero.")
        raise InvalidField(LIMIT_PRICE, "decimal_string",
                           f"{LIMIT_PRICE} {value[:40]!r} is not a price: write ASCII digits with an optional "
                           "fraction, e.g. \"160.5\".")
    fraction = value.partition(".")[2].rstrip("0")
    if len(fraction) > token_out.decimals:
        raise InvalidField(LIMIT_PRICE, "decimals", f"{LIMIT_PRICE} has more than {token_out.decimals} decimal "
                                                    f"places, the most {token_out.symbol} (tokenOut) allows.")
    price = Decimal(value)
    if price <= 0:
        raise InvalidField(LIMIT_PRICE, "positive", f"{LIMIT_PRICE} must be greater than zero.")
    return price


def parse_expiry(body: Mapping[str, Any], now: datetime, max_ttl_s: int, kind: str = "limit") -> datetime:
    """A waiting order's expiry (limit or sniper): expiresAt or ttlSeconds, never both, at most max_ttl_s ahead."""
    expires_at, ttl = body.get(EXPIRES_AT), body.get(TTL_SECONDS)
    if expires_at is not None and ttl is not None:
        raise InvalidField(TTL_SECONDS, "one_expiry", f"Give either {EXPIRES_AT} or {TTL_SECONDS}, not both.")
    if expires_at is None and ttl is None:
        raise InvalidField(EXPIRES_AT, "required",
                           f"A {kind} order needs an expiry: {EXPIRES_AT} (ISO-8601) or {TTL_SECONDS}.")
    latest = now + timedelta(seconds=max_ttl_s)
    if ttl is not None:
        if isinstance(ttl, bool) or not isinstance(ttl, int):
            raise InvalidField(TTL_SECONDS, "integer", f"{TTL_SECONDS} must be an integer number of seconds.")
        if not 1 <= ttl <= max_ttl_s:
            raise InvalidField(TTL_SECONDS, "range", f"{TTL_SECONDS} must be between 1 and {max_ttl_s}.")
        return now + timedelta(seconds=ttl)
    if not isinstance(expires_at, str) or len(expires_at) > 40:
        raise InvalidField(EXPIRES_AT, "iso8601", f"{EXPIRES_AT} must be an ISO-8601 time, e.g. 2026-12-01T18:00:00Z.")
    try:
        when = datetime.fromisoformat(expires_at)
    except ValueError:
        raise InvalidField(EXPIRES_AT, "iso8601",
                           f"{EXPIRES_AT} must be an ISO-8601 time, e.g. 2026-12-01T18:00:00Z.") from None
    if when.tzinfo is None:
        raise InvalidField(EXPIRES_AT, "time_zone", f"{EXPIRES_AT} must name its time zone (e.g. Z or +00:00).")
    if when <= now:
        raise InvalidField(EXPIRES_AT, "future", f"{EXPIRES_AT} must be in the future.")
    if when > latest:
        raise InvalidField(EXPIRES_AT, "maximum", f"{EXPIRES_AT} must be at most {max_ttl_s} seconds from now.")
    return when


def limit_min_amount_out(amount_in: int, limit_price: Decimal, token_in: Token, token_out: Token) -> int:
    """The least output (base units of tokenOut) at which selling `amount_in` meets the limit: rounded up."""
    num, den = limit_price.as_integer_ratio()
    return -(-(amount_in * num * token_out.scale) // (den * token_in.scale))
