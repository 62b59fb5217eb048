"""Listing events of the simulated market: a new token's pool(s) created on Raydium and/or Meteora at a slot the
operator chooses. Before its slot the pair has no pool (quotes fail with a "no pool" reason); from it on it trades.

`parse_listing_request` turns the operator's request into a `Listing`, or raises `InvalidField` naming the field
and the rule. A pair is listed once: a listing is never changed afterwards, so any process may cache it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from typing import Any, Mapping

from order_engine.domain.prices import parse_price, price_text
from order_engine.domain.swaps import VENUES
from order_engine.domain.tokens import LISTABLE, TOKENS, Token, resolve_token
from order_engine.errors import InvalidField

TOKEN, QUOTE_TOKEN, VENUE, PRICE, LIQUIDITY, AT, IN_SECONDS = (
    "token", "quoteToken", "venue", "price", "liquidity", "at", "inSeconds")
LISTING_FIELDS = (TOKEN, QUOTE_TOKEN, VENUE, PRICE, LIQUIDITY, AT, IN_SECONDS)
BOTH_VENUES = "both"
VENUE_CHOICES = (*VENUES, BOTH_VENUES)
MIN_LIQUIDITY, MAX_LIQUIDITY = 1_000, 1_000_000_000  # whole quote tokens per pool
MAX_LISTING_AHEAD_S = 7 * 24 * 3600
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Listing:
    token: Token  # the new token: the pools' base
    quote: Token  # what it is priced in (SOL, USDC or USDT)
    venues: tuple[str, ...]
    price: Fraction  # whole quote tokens per whole token, at listing
    liquidity: int  # whole quote tokens of value in each pool at listing
    slot: int  # the first slot in which the pools exist

    @property
    def pair(self) -> str:
        return pair_name(self.token, self.quote)

    def starts_at_ms(self, slot_ms: int) -> int:
        return self.slot * slot_ms

    def live(self, now_ms: int, slot_ms: int) -> bool:
        return now_ms // slot_ms >= self.slot

    def to_api(self, slot_ms: int, now_ms: int) -> dict[str, Any]:
        return {"pair": self.pair, "token": self.token.symbol, "tokenMint": self.token.mint,
                "quoteToken": self.quote.symbol, "venues": list(self.venues), "price": price_text(self.price),
                "liquidity": str(self.liquidity), "slot": self.slot,
                "listsAt": iso_ms(self.starts_at_ms(slot_ms)), "listed": self.live(now_ms, slot_ms)}


def pair_name(token: Token, quote: Token) -> str:
    return f"{token.symbol}-{quote.symbol}"


def listable_pair(a: Token, b: Token) -> tuple[Token, Token] | None:
    """(new token, quote token) when exactly one of the two is a listable token: the only pairs a listing makes."""
    if a.listable == b.listable:
        return None
    return (a, b) if a.listable else (b, a)


def iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_listing_request(body: Mapping[str, Any], *, now_ms: int, slot_ms: int) -> Listing:
    unknown = next((name for name in body if name not in LISTING_FIELDS), None)
    if unknown is not None:
        raise InvalidField(unknown, "unknown_field", f"{unknown[:64]} is not a listing field; the fields are "
                                                     f"{', '.join(LISTING_FIELDS)}.")
    for name in (TOKEN, QUOTE_TOKEN, PRICE, LIQUIDITY):
        if body.get(name) is None:
            raise InvalidField(name, "required", f"{name} is required.")
    token = resolve_token(TOKEN, body[TOKEN])
    if not token.listable:
        raise InvalidField(TOKEN, "listable", f"{TOKEN} {token.symbol} already trades; the tokens a listing can "
                                              f"create a pool for are {', '.join(t.symbol for t in LISTABLE)}.")
    quote = resolve_token(QUOTE_TOKEN, body[QUOTE_TOKEN])
    if quote.listable:
        quotes = ", ".join(t.symbol for t in TOKENS if not t.listable)
        raise InvalidField(QUOTE_TOKEN, "quote_token", f"{QUOTE_TOKEN} must be a token that already trades: {quotes}.")
    venue = body.get(VENUE, BOTH_VENUES)
    if venue not in VENUE_CHOICES:
        raise InvalidField(VENUE, "choice", f"{VENUE} must be one of {', '.join(VENUE_CHOICES)}.")
    price = parse_price(PRICE, body[PRICE], f"{quote.symbol} per {token.symbol}")
    liquidity = body[LIQUIDITY]
    if isinstance(liquidity, bool) or not isinstance(liquidity, int):
        raise InvalidField(LIQUIDITY, "integer", f"{LIQUIDITY} must be an integer number of whole {quote.symbol}.")
    if not MIN_LIQUIDITY <= liquidity <= MAX_LIQUIDITY:
        raise InvalidField(LIQUIDITY, "range", f"{LIQUIDITY} must be between {MIN_LIQUIDITY} and {MAX_LIQUIDITY} "
                                               f"{quote.symbol}.")
    at_ms = _listing_time(body, now_ms)
    slot = at_ms // slot_ms  # the slot the time asked for falls in
    return Listing(token, quote, VENUES if venue == BOTH_VENUES else (venue,), price, liquidity, slot)


def _listing_time(body: Mapping[str, Any], now_ms: int) -> int:
    at, in_seconds = body.get(AT), body.get(IN_SECONDS)
    if at is not None and in_seconds is not None:
        raise InvalidField(IN_SECONDS, "one_of", f"Give either {AT} or {IN_SECONDS}, not both.")
    if in_seconds is not None:
        if isinstance(in_seconds, bool) or not isinstance(in_seconds, int):
            raise InvalidField(IN_SECONDS, "integer", f"{IN_SECONDS} must be an integer number of seconds.")
        if not 0 <= in_seconds <= MAX_LISTING_AHEAD_S:
            raise InvalidField(IN_SECONDS, "range", f"{IN_SECONDS} must be between 0 and {MAX_LISTING_AHEAD_S}.")
        return now_ms + in_seconds * 1000
    if at is None:
        return now_ms
    at_ms = parse_timestamp_ms(AT, at)
    if at_ms < now_ms:
        raise InvalidField(AT, "not_past", f"{AT} is in the past; give a time from now on (or {IN_SECONDS}).")
    if at_ms > now_ms + MAX_LISTING_AHEAD_S * 1000:
        raise InvalidField(AT, "maximum", f"{AT} is more than {MAX_LISTING_AHEAD_S // 86_400} days ahead.")
    return at_ms


def parse_timestamp_ms(field: str, value: object) -> int:
    """An RFC 3339 timestamp with its offset (e.g. 2026-12-01T18:00:00Z) to epoch milliseconds."""
    if not isinstance(value, str) or not 20 <= len(value) <= 40 or not value.isascii():
        raise InvalidField(field, "timestamp", f"{field} must be an RFC 3339 timestamp, e.g. 2026-12-01T18:00:00Z.")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or "T" not in value.upper():
        raise InvalidField(field, "timestamp", f"{field} must be an RFC 3339 timestamp with its offset, "
                                               "e.g. 2026-12-01T18:00:00Z.")
    return (moment - _EPOCH) // timedelta(milliseconds=1)
