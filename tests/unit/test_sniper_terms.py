"""A sniper order's terms and a listing's as the domain reads them: the least output that keeps the fill at or under
maxPrice, what makes two submits of one sniper order the same body, and when a listing's pools exist."""
from datetime import datetime, timedelta, timezone
from fractions import Fraction

import pytest

from order_engine.domain.listings import parse_listing_request
from order_engine.domain.order import parse_order_request
from order_engine.domain.prices import parse_price, price_text
from order_engine.domain.sniper_orders import sniper_min_amount_out
from order_engine.domain.tokens import lookup
from order_engine.errors import InvalidField

SOL, USDC, NOVA, ORBIT = lookup("SOL"), lookup("USDC"), lookup("NOVA"), lookup("ORBIT")
NOW = datetime(2026, 12, 1, 18, 0, tzinfo=timezone.utc)
NOW_MS = int(NOW.timestamp()) * 1000
SNIPE = {"type": "sniper", "tokenIn": "USDC", "tokenOut": "NOVA", "amount": "100", "maxPrice": "0.25",
         "ttlSeconds": 60}


def parse(body, now=NOW):
    return parse_order_request(body, default_slippage_bps=50, max_slippage_bps=5000, max_ttl_s=7 * 86_400, now=now)


@pytest.mark.parametrize("amount_in,max_price,token_in,token_out,least", [
    (100 * 10**6, "0.25", USDC, NOVA, 400 * 10**6),  # 100 USDC at most 0.25 each: at least 400 NOVA
    (10**9, "0.000000003", SOL, ORBIT, 333_333_333_333_333_334),  # 1 SOL at 3e-9 SOL each, rounded up
    (1, "3", USDC, NOVA, 1),  # a third of a NOVA base unit rounds up to one
    (7, "7", USDC, NOVA, 1),
])
def test_the_least_output_of_a_sniper_order_is_its_amount_over_its_max_price_rounded_up(
        amount_in, max_price, token_in, token_out, least):
    assert sniper_min_amount_out(amount_in, Fraction(max_price), token_in, token_out) == least
    # rounding up keeps the fill's price (tokenIn per tokenOut) at or under maxPrice
    assert Fraction(amount_in, token_in.scale) / Fraction(least, token_out.scale) <= Fraction(max_price)


def test_a_sniper_order_replayed_later_with_the_same_ttl_is_the_same_body_and_is_bounded_by_its_max_price():
    first, later = parse(SNIPE), parse(SNIPE, now=NOW + timedelta(seconds=30))
    assert first.fingerprint() == later.fingerprint() and first.slippage_bps == 0
    assert parse({**SNIPE, "maxPrice": "0.250"}).fingerprint() == first.fingerprint()
    assert parse({**SNIPE, "maxPrice": "0.26"}).fingerprint() != first.fingerprint()
    assert first.sniper.max_price == Fraction(1, 4) and first.expires_at == NOW + timedelta(seconds=60)


@pytest.mark.parametrize("text, value", [("0.25", "0.25"), ("007.500", "7.5"), ("1", "1"),
                                         ("0.000000000000000001", "0.000000000000000001")])
def test_prices_are_read_exactly_and_written_back_shortest(text, value):
    assert price_text(parse_price("p", text, "units")) == value


def test_a_listing_lists_in_the_slot_its_time_falls_in_and_not_before():
    listing = parse_listing_request({"token": "nova", "quoteToken": "USDC", "price": "0.25", "liquidity": 1_000,
                                     "inSeconds": 1}, now_ms=NOW_MS, slot_ms=400)
    assert listing.slot == (NOW_MS + 1_000) // 400 and listing.pair == "NOVA-USDC"
    assert not listing.live(listing.slot * 400 - 1, 400) and listing.live(listing.slot * 400, 400)
    with pytest.raises(InvalidField) as refused:
        parse_listing_request({"token": "NOVA", "quoteToken": "USDC", "price": "0.25", "liquidity": 1_000,
                               "at": "2026-12-01T17:59:59Z"}, now_ms=NOW_MS, slot_ms=400)
    assert (refused.value.field, refused.value.rule) == ("at", "not_past")
