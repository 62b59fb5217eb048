"""Sniper orders on real PostgreSQL and Redis, the market driven by its seed and a test clock: an order waits for
its pair's listing and fills in the listing's own slot, paying at most its maxPrice; one whose maxPrice the listing
price exceeds fails with that reason and sends nothing; one whose listing never comes expires; bad input is 400
naming the field and the rule, with nothing written."""
from __future__ import annotations

import asyncio
import time
from fractions import Fraction

import pytest

from tests.support.simulated_dex import ManualClock
from tests.support.executor_support import InProcessExecutor, executor_settings
from tests.support.reads import order_count, order_of, status_of, timeline
from tests.support.sql import chain_transactions
from tests.support.lambdas import FakeLambdaContext, http_event, response_json
from order_engine import bootstrap, config

SLOT_MS = 50
NOVA_SCALE, USDC_SCALE = 10**6, 10**6
SNIPE_NOVA = {"type": "sniper", "tokenIn": "USDC", "tokenOut": "NOVA", "amount": "100", "ttlSeconds": 600}
NOVA_LISTING = {"token": "NOVA", "quoteToken": "USDC", "price": "0.25", "liquidity": 200_000, "inSeconds": 30}


@pytest.fixture
def sniper_env(configured, monkeypatch):
    """The functions and the executor agree on the slot length (a listing is scheduled in slots)."""
    monkeypatch.setenv("DEX_SLOT_MS", str(SLOT_MS))
    config.settings.cache_clear()
    bootstrap.services.cache_clear()
    return config.settings()


def submit(submit_fn, body):
    resp = submit_fn.handler(http_event("POST", "/api/orders/execute", body), FakeLambdaContext())
    return resp, response_json(resp)


def list_token(orders_fn, body=NOVA_LISTING):
    resp = orders_fn.handler(http_event("POST", "/api/operator/listings", body), FakeLambdaContext())
    assert resp["statusCode"] == 201, resp
    return response_json(resp)


class Stack(InProcessExecutor):
    """An in-process executor on a dex whose clock the test holds (it starts at now, the time the functions
    schedule listings and expiries by)."""

    def __init__(self, s):
        super().__init__(s, ManualClock(int(time.time() * 1000)), "sniper-test")

    async def ticks(self, n: int) -> None:
        """n market ticks: the clock moves a slot, and the watcher has time to look."""
        for _ in range(n):
            self.clock.advance(SLOT_MS)
            await asyncio.sleep(SLOT_MS * 3 / 1000)


async def until(check, timeout_s: float = 20.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = await asyncio.to_thread(check)
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {timeout_s} s")


def stack_settings(settings):
    return executor_settings(settings, dex_slot_ms=SLOT_MS, dex_listing_refresh_ms=20)


def test_a_sniper_order_waits_for_its_listing_and_fills_in_the_listing_slot_within_its_max_price(
        sniper_env, submit_fn, orders_fn, settings, db):
    s = stack_settings(settings)

    async def scenario():
        async with Stack(s) as stack:
            listing = list_token(orders_fn)
            resp, body = submit(submit_fn, {**SNIPE_NOVA, "maxPrice": "0.3"})
            assert resp["statusCode"] == 202, body
            order_id = body["orderId"]
            await stack.ticks(5)  # before the listing slot: no pool, and the order keeps waiting
            assert status_of(db, order_id) == "waiting"
            stack.clock.now_ms = listing["slot"] * SLOT_MS  # the listing slot starts; the clock stays in it
            await until(lambda: status_of(db, order_id) in ("confirmed", "failed"))
            return order_id, listing

    order_id, listing = asyncio.run(scenario())
    stored = order_of(db, order_id)
    status, amount_in, amount_out, min_out = stored.status, stored.amount_in, stored.amount_out, stored.min_amount_out
    assert status == "confirmed"
    assert min_out == -(-(amount_in * NOVA_SCALE * 10) // (3 * USDC_SCALE))  # amount / maxPrice, rounded up
    assert amount_out >= min_out
    paid = Fraction(amount_in, USDC_SCALE) / Fraction(amount_out, NOVA_SCALE)
    assert Fraction(1, 4) < paid <= Fraction(3, 10)  # the listing price plus fees, within maxPrice
    steps = timeline(db, order_id)
    assert [status for _, status, _, _ in steps] == ["waiting", "pending", "routing", "building", "submitted",
                                                      "confirmed"]
    assert steps[0][3]["maxPrice"] == "0.3" and steps[0][3]["orderType"] == "sniper"
    assert steps[1][3]["trigger"] == "listing" and steps[1][3]["listingSlot"] == listing["slot"]
    [landed] = chain_transactions(db, order_id=order_id)
    assert landed["landed_at_ms"] // SLOT_MS == listing["slot"]  # the first slot the pool exists in, not a later one
    order = response_json(orders_fn.handler(http_event("GET", f"/api/orders/{order_id}"), FakeLambdaContext()))
    assert order["type"] == "sniper" and order["maxPrice"] == "0.3" and order["status"] == "confirmed"


def test_a_sniper_order_whose_max_price_the_listing_price_exceeds_fails_with_the_reason_and_sends_nothing(
        sniper_env, submit_fn, orders_fn, settings, db):
    s = stack_settings(settings)

    async def scenario():
        async with Stack(s) as stack:
            listing = list_token(orders_fn)
            resp, body = submit(submit_fn, {**SNIPE_NOVA, "maxPrice": "0.2"})
            assert resp["statusCode"] == 202, body
            stack.clock.now_ms = listing["slot"] * SLOT_MS
            await until(lambda: status_of(db, body["orderId"]) in ("confirmed", "failed"))
            return body["orderId"]

    order_id = asyncio.run(scenario())
    stored = order_of(db, order_id)
    assert stored.status == "failed" and stored.attempts == 3
    assert "maxPrice 0.2" in stored.error and "below the" in stored.error
    assert chain_transactions(db) == []


def test_a_sniper_order_whose_listing_never_comes_expires(sniper_env, submit_fn, orders_fn, settings, db):
    s = stack_settings(settings)

    async def scenario():
        async with Stack(s) as stack:
            resp, body = submit(submit_fn, {**SNIPE_NOVA, "maxPrice": "0.3", "ttlSeconds": 1})
            assert resp["statusCode"] == 202, body
            await stack.ticks(3)
            await until(lambda: status_of(db, body["orderId"]) == "expired", timeout_s=10)
            return body["orderId"]

    order_id = asyncio.run(scenario())
    assert [status for _, status, _, _ in timeline(db, order_id)] == ["waiting", "expired"]
    assert order_of(db, order_id).error == "expired: its pool did not list in time"
    assert chain_transactions(db) == []


@pytest.mark.parametrize("body, field, rule", [
    ({**SNIPE_NOVA, "tokenOut": "SOL", "maxPrice": "200"}, "tokenOut", "not_listed"),
    ({**SNIPE_NOVA, "tokenIn": "ORBIT", "amount": "1", "maxPrice": "1"}, "tokenIn", "quote_token"),
    ({**SNIPE_NOVA, "maxPrice": "0.3", "slippageBps": 100}, "slippageBps", "market_only"),
    ({**SNIPE_NOVA, "maxPrice": "0.3", "limitPrice": "4"}, "limitPrice", "limit_only"),
    ({**SNIPE_NOVA}, "maxPrice", "required"),
    ({**SNIPE_NOVA, "maxPrice": "0"}, "maxPrice", "positive"),
    ({**SNIPE_NOVA, "maxPrice": "-0.3"}, "maxPrice", "positive"),
    ({**SNIPE_NOVA, "maxPrice": "cheap"}, "maxPrice", "decimal"),
    ({**SNIPE_NOVA, "maxPrice": "0." + "3" * 19}, "maxPrice", "decimals"),
    ({**SNIPE_NOVA, "maxPrice": "0.3", "ttlSeconds": None}, "expiresAt", "required"),
    ({**SNIPE_NOVA, "maxPrice": "0.3", "ttlSeconds": None, "expiresAt": "2020-01-01T00:00:00Z"}, "expiresAt",
     "future"),
    ({**SNIPE_NOVA, "maxPrice": "0.3", "ttlSeconds": 10**8}, "ttlSeconds", "range"),
    ({**SNIPE_NOVA, "maxPrice": "0.3", "expiresAt": "2099-01-01T00:00:00Z"}, "ttlSeconds", "one_expiry"),
    ({"tokenIn": "USDC", "tokenOut": "NOVA", "amount": "100", "maxPrice": "0.3"}, "maxPrice", "sniper_only"),
    ({"type": "limit", "tokenIn": "SOL", "tokenOut": "USDC", "amount": "1", "limitPrice": "150", "ttlSeconds": 60,
      "maxPrice": "0.3"}, "maxPrice", "sniper_only"),
])
def test_bad_sniper_orders_are_refused_naming_the_field_and_rule_and_nothing_is_written(
        sniper_env, submit_fn, db, body, field, rule):
    resp, answer = submit(submit_fn, {k: v for k, v in body.items() if v is not None})
    assert resp["statusCode"] == 400, answer
    assert answer["error"]["code"] == "invalid_request"
    assert [(d["field"], d["rule"]) for d in answer["error"]["details"]] == [(field, rule)]
    assert order_count(db) == 0


@pytest.mark.parametrize("shape", [
    {"tokenIn": "USDC", "tokenOut": "NOVA", "amount": "100"},
    {"inputMint": "USDC", "outputMint": "NOVA", "amountIn": "100000000"},
])
def test_a_sniper_order_for_a_token_whose_pool_has_listed_is_refused(sniper_env, submit_fn, orders_fn, db, shape):
    list_token(orders_fn, {**NOVA_LISTING, "inSeconds": 0})
    resp, answer = submit(submit_fn, {**shape, "type": "sniper", "maxPrice": "0.3", "ttlSeconds": 60})
    assert resp["statusCode"] == 400, answer
    [detail] = answer["error"]["details"]
    out_field = "outputMint" if "outputMint" in shape else "tokenOut"
    assert (detail["field"], detail["rule"]) == (out_field, "not_listed") and "NOVA-USDC" in detail["message"]
    assert order_count(db) == 0
    # a scheduled listing that has not come yet is what a sniper order is for
    list_token(orders_fn, {**NOVA_LISTING, "token": "PULSE"})
    resp, answer = submit(submit_fn, {**shape, "tokenOut" if "tokenOut" in shape else "outputMint": "PULSE",
                                      "type": "sniper", "maxPrice": "2", "ttlSeconds": 60})
    assert resp["statusCode"] == 202, answer
