"""A limit order's terms as the domain reads them: the least output that respects the limit, and what makes two
submits of one limit order the same body."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from order_engine.domain.limit_orders import limit_min_amount_out
from order_engine.domain.order import parse_order_request
from order_engine.domain.tokens import lookup
from order_engine.errors import InvalidField

SOL, USDC = lookup("SOL"), lookup("USDC")
NOW = datetime(2026, 12, 1, 18, 0, tzinfo=timezone.utc)


def parse(body, now=NOW):
    return parse_order_request(body, default_slippage_bps=50, max_slippage_bps=5000, max_ttl_s=7 * 86_400, now=now)


@pytest.mark.parametrize("amount_in,price,token_in,token_out,least", [
    (10**9, "150", SOL, USDC, 150 * 10**6),  # 1 SOL at 150 USDC: exactly 150 USDC
    (1, "150.000001", SOL, USDC, 1),  # one lamport: a fraction of a USDC base unit, rounded up to one
    (333_333_333, "0.000001", SOL, USDC, 1),
    (10**6, "0.006666667", USDC, SOL, 6_666_667),  # 1 USDC at 0.006666667 SOL
    (3, "0.5", USDC, SOL, 1_500),
])
def test_the_least_output_of_a_limit_order_is_its_price_times_its_amount_rounded_up(amount_in, price, token_in,
                                                                                     token_out, least):
    assert limit_min_amount_out(amount_in, Decimal(price), token_in, token_out) == least


def test_a_limit_order_replayed_later_with_the_same_ttl_is_the_same_body():
    body = {"type": "limit", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 1, "limitPrice": "160", "ttlSeconds": 60}
    first, later = parse(body), parse(body, now=NOW + timedelta(seconds=30))
    assert first.fingerprint() == later.fingerprint()
    assert parse({**body, "limitPrice": "160.000"}).fingerprint() == first.fingerprint()
    assert parse({**body, "limitPrice": "161"}).fingerprint() != first.fingerprint()
    assert parse({**body, "ttlSeconds": 61}).fingerprint() != first.fingerprint()


def test_a_limit_order_is_bounded_by_its_price_not_by_a_slippage_tolerance():
    request = parse({"type": "limit", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 1, "limitPrice": "160",
                     "expiresAt": "2026-12-01T19:00:00+00:00"})
    assert request.slippage_bps == 0
    assert request.limit.limit_price == Decimal("160")
    assert request.limit.expires_at == NOW + timedelta(hours=1)


def test_a_market_order_is_not_a_limit_order_by_accident():
    with pytest.raises(InvalidField) as refused:
        parse({"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1, "expiresAt": "2026-12-01T19:00:00Z"})
    assert (refused.value.field, refused.value.rule) == ("expiresAt", "limit_only")


def test_the_openapi_document_describes_limit_orders_in_both_request_shapes_and_the_order_object():
    import json

    from order_engine.api.routes import openapi_json

    schemas = json.loads(openapi_json())["components"]["schemas"]
    shapes = schemas["ExecuteOrderRequest"]["oneOf"]
    for shape in shapes:
        assert {"limitPrice", "expiresAt", "ttlSeconds"} <= set(shape["properties"]), shape["title"]
        assert shape["properties"]["type"]["enum"] == ["market", "limit", "sniper"]
    assert shapes[0]["properties"]["limitPrice"]["pattern"] == r"^[0-9]+(?:\.[0-9]+)?$"
    assert {"limitPrice", "expiresAt"} <= set(schemas["OrderView"]["properties"])
