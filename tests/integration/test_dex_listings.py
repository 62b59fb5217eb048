"""Listing events of the simulated market (real PostgreSQL and Redis, a test clock): a listable token has no pool
until its listing's slot, trades from that slot on at the listing price, only on the venues listed, and keeps its
pools through a Redis loss; the operator route schedules listings and refuses bad ones with nothing written."""
from __future__ import annotations

import asyncio
from fractions import Fraction

import pytest

from order_engine.adapters.postgres.listing_table import PgListingBook
from order_engine.domain.swaps import NoPool
from order_engine.domain.tokens import lookup
from order_engine.services.listing_admin import ListingService
from order_engine.adapters.postgres.database import Database

from tests.support.simulated_dex import SOL, USDC, ManualClock, execute, lose_redis, simulated
from tests.support.lambdas import FakeLambdaContext, http_event, response_json

NOVA, ORBIT = lookup("NOVA"), lookup("ORBIT")
SLOT_MS = 400


def schedule(settings, clock, **body):
    service = ListingService(settings, PgListingBook(Database(settings.database_url, settings.database_schema)), clock)
    return service.create({"token": "NOVA", "quoteToken": "USDC", "price": "0.25", "liquidity": 200_000, **body})


def executed_price(result, spent: int, token_in, token_out) -> Fraction:
    """tokenIn per tokenOut, in whole tokens."""
    return Fraction(spent, token_in.scale) / Fraction(result.amount_out, token_out.scale)


def test_a_pair_has_no_pool_until_its_listing_slot_and_trades_from_it_at_the_listing_price(settings):
    clock = ManualClock()
    listing = schedule(settings, clock, inSeconds=10)
    assert listing["slot"] == (clock.now_ms + 10_000) // SLOT_MS and listing["listed"] is False

    async def scenario():
        async with simulated(settings, clock=clock) as dex:
            with pytest.raises(NoPool) as before:
                await dex.route(USDC, NOVA.mint, 100 * 10**6)
            assert "no pool" in before.value.message and f"slot {listing['slot']}" in before.value.message
            assert not before.value.retryable

            clock.now_ms = listing["slot"] * SLOT_MS - 1  # the last millisecond before the listing slot
            with pytest.raises(NoPool):
                await dex.route(USDC, NOVA.mint, 100 * 10**6)

            clock.now_ms = listing["slot"] * SLOT_MS  # the listing slot itself
            route = await dex.route(USDC, NOVA.mint, 100 * 10**6)
            assert {q.venue for q in route.quotes} == {"raydium", "meteora"}
            result = await execute(dex, route, slippage_bps=100)
            assert result.amount_out >= route.amount_out * 99 // 100
            price = executed_price(result, 100 * 10**6, lookup("USDC"), NOVA)
            # the pools start at the listing price: a small buy pays it plus fees (and a sliver of impact)
            assert Fraction(25, 100) < price < Fraction(25, 100) * Fraction(101, 100)

    asyncio.run(scenario())


def test_a_pair_listed_on_one_venue_trades_there_only_and_the_other_says_it_has_no_pool(settings):
    clock = ManualClock()
    schedule(settings, clock, token="ORBIT", quoteToken="SOL", price="0.002", liquidity=5_000, venue="meteora")

    async def scenario():
        async with simulated(settings, clock=clock) as dex:
            route = await dex.route(SOL, ORBIT.mint, 10**9)
            assert route.dex == "meteora" and [q.venue for q in route.quotes] == ["meteora"]
            assert route.failures == (("raydium", "no_pool"),)
            result = await execute(dex, route)
            assert result.amount_out > 0

    asyncio.run(scenario())


def test_a_pair_nobody_listed_has_no_pool(settings):
    async def scenario():
        async with simulated(settings, clock=ManualClock()) as dex:
            with pytest.raises(NoPool, match="NOVA-SOL is not listed"):
                await dex.route(SOL, NOVA.mint, 10**9)

    asyncio.run(scenario())


def test_a_listed_pool_survives_a_redis_loss(settings):
    clock = ManualClock()
    schedule(settings, clock)

    async def scenario():
        async with simulated(settings, clock=clock) as dex:
            assert (await dex.route(USDC, NOVA.mint, 10**6)).amount_out > 0
        lose_redis(settings)
        clock.advance(60_000)
        async with simulated(settings, clock=clock) as fresh:  # another process, after the flush
            route = await fresh.route(USDC, NOVA.mint, 10**6)
            assert route.amount_out > 0 and len(route.quotes) == 2

    asyncio.run(scenario())


# -- the operator route -------------------------------------------------------------------------------------


def post_listing(orders_fn, body):
    return orders_fn.handler(http_event("POST", "/api/operator/listings", body), FakeLambdaContext())


def get_listings(orders_fn):
    return response_json(orders_fn.handler(http_event("GET", "/api/operator/listings"), FakeLambdaContext()))


def test_the_operator_schedules_a_listing_and_a_second_one_for_the_pair_is_refused(configured, orders_fn):
    body = {"token": "PULSE", "quoteToken": "USDT", "price": "1.5", "liquidity": 50_000, "inSeconds": 30}
    created = post_listing(orders_fn, body)
    assert created["statusCode"] == 201, created
    listing = response_json(created)
    assert listing["pair"] == "PULSE-USDT" and listing["venues"] == ["raydium", "meteora"]
    assert listing["price"] == "1.5" and listing["liquidity"] == "50000" and listing["listed"] is False
    assert get_listings(orders_fn) == {"listings": [listing]}

    again = post_listing(orders_fn, {**body, "price": "2"})
    assert again["statusCode"] == 409
    error = response_json(again)["error"]
    assert error["code"] == "already_listed" and error["details"][0]["listing"]["price"] == "1.5"
    assert [entry["price"] for entry in get_listings(orders_fn)["listings"]] == ["1.5"]


@pytest.mark.parametrize("change, field, rule", [
    ({"token": "SOL"}, "token", "listable"),
    ({"quoteToken": "ORBIT"}, "quoteToken", "quote_token"),
    ({"token": "DOGE"}, "token", "unknown_token"),
    ({"price": "0"}, "price", "positive"),
    ({"price": "-1"}, "price", "positive"),
    ({"price": "abc"}, "price", "decimal"),
    ({"price": "1e3"}, "price", "decimal"),
    ({"price": "0." + "1" * 19}, "price", "decimals"),
    ({"price": 0.25}, "price", None),
    ({"liquidity": 10}, "liquidity", None),
    ({"venue": "orca"}, "venue", None),
    ({"at": "2020-01-01T00:00:00Z"}, "at", "not_past"),
    ({"at": "tomorrow"}, "at", "timestamp"),
    ({"at": "2099-01-01T00:00:00Z", "inSeconds": 5}, "inSeconds", "one_of"),
    ({"inSeconds": -1}, "inSeconds", None),
    ({"inSeconds": 10**9}, "inSeconds", None),
    ({"pool": "x"}, "pool", None),
])
def test_bad_listings_are_refused_naming_the_field_and_nothing_is_written(configured, orders_fn, change, field, rule):
    body = {"token": "NOVA", "quoteToken": "USDC", "price": "0.25", "liquidity": 200_000, **change}
    response = post_listing(orders_fn, body)
    assert response["statusCode"] == 400, response
    details = response_json(response)["error"]["details"]
    assert details[0]["field"] == field
    if rule is not None:
        assert details[0]["rule"] == rule
    assert get_listings(orders_fn) == {"listings": []}


def test_a_listed_pair_joins_the_price_books_and_the_listing_book_from_its_slot(settings):
    from order_engine.domain.triggers import price_book

    clock = ManualClock()
    listing = schedule(settings, clock, inSeconds=5)
    usdc = lookup("USDC").mint

    async def scenario():
        async with simulated(settings, clock=clock, dex_listing_refresh_ms=0) as dex:
            assert price_book(NOVA.mint, usdc) not in await dex.price_levels()
            assert await dex.listing_levels() == {}
            clock.now_ms = listing["slot"] * SLOT_MS
            levels = await dex.price_levels()
            # limit orders on the new pair see its price (whole USDC per NOVA, and NOVA per USDC)
            assert levels[price_book(NOVA.mint, usdc)] == pytest.approx(0.25, rel=1e-3)
            assert levels[price_book(usdc, NOVA.mint)] == pytest.approx(4, rel=1e-3)
            assert await dex.listing_levels() == {price_book(usdc, NOVA.mint): float(listing["slot"])}

    asyncio.run(scenario())
