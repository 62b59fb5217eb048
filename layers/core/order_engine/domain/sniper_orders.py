"""A sniper order's terms: buy a token as soon as its pool lists, at no more than `maxPrice`, before an expiry.

`maxPrice` is a decimal string of whole tokenIn per whole tokenOut (what one token may cost at most); the least
output a fill must return follows from it, rounded up. The order waits on its pair's listing (a trigger of kind
`listing` on the book of its direction), so tokenOut must be a listable token and tokenIn one that already trades.
Its price protection is `maxPrice`, so the market-only `slippageBps` and the limit-only `limitPrice` are refused.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any, Mapping

from order_engine.domain.limit_orders import LIMIT_PRICE, MARKET_ONLY_FIELDS, parse_expiry
from order_engine.domain.prices import parse_price
from order_engine.domain.tokens import LISTABLE, Token
from order_engine.domain.triggers import LISTING, Trigger, price_book
from order_engine.errors import InvalidField

SNIPER = "sniper"
MAX_PRICE = "maxPrice"
SNIPER_FIELDS = (MAX_PRICE,)
LISTED = 1.0  # a sniper's trigger score: any listed pair's level (its slot) reaches it


@dataclass(frozen=True)
class SniperTerms:
    max_price: Fraction  # whole tokenIn per whole tokenOut
    expires_at: datetime


def parse_sniper_terms(body: Mapping[str, Any], token_in: Token, token_out: Token, fields: tuple[str, str],
                       now: datetime, max_ttl_s: int) -> SniperTerms:
    """`fields`: the names the request gave tokenIn and tokenOut (either seed shape)."""
    in_field, out_field = fields
    for name in MARKET_ONLY_FIELDS:
        if body.get(name) is not None:
            raise InvalidField(name, "market_only", f"{name} applies to market orders only; a sniper order is "
                                                    f"bounded by its {MAX_PRICE}.")
    if body.get(LIMIT_PRICE) is not None:
        raise InvalidField(LIMIT_PRICE, "limit_only", f"{LIMIT_PRICE} applies to limit orders only; a sniper "
                                                      f"order is bounded by its {MAX_PRICE}.")
    if not token_out.listable:
        raise InvalidField(out_field, "not_listed", f"{token_out.symbol} already has pools; a sniper order buys a "
                                                    f"token before its pool lists: {', '.join(t.symbol for t in LISTABLE)}.")
    if token_in.listable:
        raise InvalidField(in_field, "quote_token", f"A sniper order pays with a token that already trades, not "
                                                    f"{token_in.symbol}.")
    if body.get(MAX_PRICE) is None:
        raise InvalidField(MAX_PRICE, "required", f"{MAX_PRICE} is required for a sniper order: the most "
                                                  f"{token_in.symbol} one {token_out.symbol} may cost.")
    max_price = parse_price(MAX_PRICE, body[MAX_PRICE], f"{token_in.symbol} per {token_out.symbol}")
    return SniperTerms(max_price, parse_expiry(body, now, max_ttl_s, kind=SNIPER))


def refuse_sniper_fields(body: Mapping[str, Any], order_type: str) -> None:
    for name in SNIPER_FIELDS:
        if body.get(name) is not None:
            raise InvalidField(name, "sniper_only", f"{name} applies to sniper orders only (type \"sniper\"), not "
                                                    f"to a {order_type} order.")


def sniper_min_amount_out(amount_in: int, max_price: Fraction, token_in: Token, token_out: Token) -> int:
    """The least output (base units of tokenOut) at which spending `amount_in` pays at most `max_price`: rounded
    up, so the fill's price never exceeds it."""
    return -(-(amount_in * token_out.scale * max_price.denominator) // (max_price.numerator * token_in.scale))


def listing_trigger(token_in: Token, token_out: Token) -> Trigger:
    """A sniper fires when the pair buying tokenOut with tokenIn lists."""
    return Trigger(LISTING, price_book(token_in.mint, token_out.mint), LISTED)
