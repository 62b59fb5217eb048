"""Limit orders on real PostgreSQL and Redis, the market driven by its seed and a test clock: an order waits until
the market crosses its price and then fills at or above it; one the market never reaches expires; a Redis loss
while 1,000 wait loses none of them."""
from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta, timezone

import pytest
from decimal import ROUND_DOWN, Decimal

from tests.support.simulated_dex import SOL, USDC, ManualClock, lose_redis, trade_on
from tests.support.executor_support import InProcessExecutor, executor_settings
from tests.support.reads import order_count, order_of, status_of, statuses, timeline
from tests.support.sql import chain_transactions, event_count
from tests.support.lambdas import FakeLambdaContext, http_event, response_json
from order_engine import bootstrap
from order_engine.adapters.postgres.order_repository import OrderRepository
from order_engine.domain.lifecycle import Status
from order_engine.domain.triggers import price_book
from order_engine.adapters.redis.key_scheme import KeyScheme

FAR_EXPIRY_S = 30
SELL_SOL = {"type": "limit", "tokenIn": "SOL", "tokenOut": "USDC", "amount": "0.5"}


def limit_settings(settings):
    # idle_exit_ms: the executor stays up while the test submits (on AWS a submit wakes one)
    return executor_settings(settings, dex_slot_ms=50, reconcile_interval_ms=300, idle_exit_ms=120_000)


def submit(submit_fn, body, key=None):
    headers = {"Idempotency-Key": key} if key else None
    resp = submit_fn.handler(http_event("POST", "/api/orders/execute", body, headers=headers), FakeLambdaContext())
    return resp, response_json(resp)


def price(value: float) -> str:
    return str(Decimal(repr(value)).quantize(Decimal("0.0001"), rounding=ROUND_DOWN))


class Stack(InProcessExecutor):
    """An in-process executor on a dex whose clock the test holds."""

    def __init__(self, s):
        super().__init__(s, ManualClock(), "limit-test")

    async def best_sol_price(self) -> float:
        return (await self.dex.price_levels())[price_book(SOL, USDC)]

    async def lift_sol(self, above: float) -> None:
        """Others buy SOL with USDC on the venue that pays most for SOL until its price (less the watcher's
        margin) is 0.5% past `above`."""
        margin = 1 - self.s.limit_trigger_margin_bps / 10_000
        for _ in range(100):
            if await self.best_sol_price() * margin >= above * 1.005:
                return
            route = await self.dex.route(SOL, USDC, 10**9)
            best = max(route.quotes, key=lambda q: q.amount_out).venue
            await trade_on(self.dex, best, USDC, SOL, 50_000 * 10**6)
        raise AssertionError("the market did not move")


async def until(check, timeout_s: float = 20.0, every_s: float = 0.05):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = await asyncio.to_thread(check)
        if result:
            return result
        await asyncio.sleep(every_s)
    raise AssertionError(f"not within {timeout_s} s")


def test_a_limit_order_waits_until_the_market_crosses_its_price_and_fills_at_or_above_it(
        configured, submit_fn, settings, db):
    s = limit_settings(settings)

    async def scenario():
        async with Stack(s) as stack:
            best = await stack.best_sol_price()
            limit = price(best * 1.01)
            resp, body = submit(submit_fn, {**SELL_SOL, "limitPrice": limit, "ttlSeconds": 600})
            assert resp["statusCode"] == 202, body
            order_id = body["orderId"]
            for _ in range(5):  # five market ticks below the limit: it keeps waiting
                stack.clock.advance(s.dex_slot_ms)
                await asyncio.sleep(s.dex_slot_ms * 2 / 1000)
            assert status_of(db, order_id) == "waiting"
            await stack.lift_sol(float(limit))
            await until(lambda: status_of(db, order_id) in ("confirmed", "failed"))
            return order_id, limit

    order_id, limit = asyncio.run(scenario())
    stored = order_of(db, order_id)
    status, amount_in, amount_out, min_out = stored.status, stored.amount_in, stored.amount_out, stored.min_amount_out
    assert status == "confirmed"
    assert Decimal(stored.limit_price) == Decimal(limit)
    least = -(-(amount_in * Decimal(limit) * 10**6) // 10**9)
    assert min_out == least  # the swap itself refused anything below the limit
    assert amount_out >= least and Decimal(amount_out) / 10**6 / (Decimal(amount_in) / 10**9) >= Decimal(limit)
    steps = [status for _, status, _, _ in timeline(db, order_id)]
    assert steps == ["waiting", "pending", "routing", "building", "submitted", "confirmed"]
    fired = timeline(db, order_id)[1][3]
    assert fired["trigger"] == "price" and Decimal(fired["marketPrice"]) >= Decimal(limit)


def test_a_limit_order_the_market_never_reaches_expires_with_an_event(configured, submit_fn, orders_fn, settings, db):
    s = limit_settings(settings)

    async def scenario():
        async with Stack(s) as stack:
            limit = price(await stack.best_sol_price() * 2)
            resp, body = submit(submit_fn, {**SELL_SOL, "limitPrice": limit, "ttlSeconds": 1})
            assert resp["statusCode"] == 202, body
            await until(lambda: status_of(db, body["orderId"]) == "expired", timeout_s=10)
            return body["orderId"], limit

    order_id, limit = asyncio.run(scenario())
    assert [status for _, status, _, _ in timeline(db, order_id)] == ["waiting", "expired"]
    assert chain_transactions(db) == []
    resp = orders_fn.handler(http_event("GET", f"/api/orders/{order_id}"), FakeLambdaContext())
    order = response_json(resp)
    assert order["status"] == "expired" and order["type"] == "limit" and order["limitPrice"] == limit
    assert order["expiresAt"] and order["completedAt"]


def test_a_limit_order_replayed_with_its_idempotency_key_is_the_same_order(configured, submit_fn, settings, db):
    body = {**SELL_SOL, "limitPrice": "500", "ttlSeconds": 3600}
    first, first_body = submit(submit_fn, body, key="limit-key-1")
    again, again_body = submit(submit_fn, body, key="limit-key-1")
    other, other_body = submit(submit_fn, {**body, "limitPrice": "501"}, key="limit-key-1")
    assert (first["statusCode"], again["statusCode"], other["statusCode"]) == (202, 202, 409)
    assert again_body["orderId"] == first_body["orderId"]
    assert statuses(db) == {"waiting": 1}


def test_a_redis_flush_while_1000_limit_orders_wait_loses_none(configured, settings, db, redis_client):
    s = limit_settings(settings)
    keys = KeyScheme(s.key_prefix)
    submitters = [bootstrap.build(configured).submit for _ in range(4)]  # a connection each, as 4 submit workers

    async def scenario():
        async with Stack(s) as stack:
            best = await stack.best_sol_price()
            near, far = price(best * 1.01), price(best * 3)
            expires_at = datetime.now(timezone.utc) + timedelta(seconds=FAR_EXPIRY_S)
            bodies = [{**SELL_SOL, "amount": "0.01", "limitPrice": near, "ttlSeconds": 600} if i % 10 == 0 else
                      {**SELL_SOL, "amount": "0.01", "limitPrice": far, "expiresAt": expires_at.isoformat()}
                      for i in range(1000)]

            def submit_share(k: int) -> list[str]:
                return [submitters[k].submit(body).order.id for body in bodies[k::4]]

            shares = await asyncio.gather(*(asyncio.to_thread(submit_share, k) for k in range(4)))
            assert datetime.now(timezone.utc) < expires_at - timedelta(seconds=5), "submitting took too long"
            assert redis_client.zcard(keys.waiting_expiry) == 1000
            lose_redis(s)  # what FLUSHALL does to this test's keys
            assert redis_client.zcard(keys.waiting_expiry) == 0
            await until(lambda: redis_client.zcard(keys.waiting_expiry) == 1000, timeout_s=10)
            assert statuses(db) == {"waiting": 1000}
            await stack.lift_sol(float(near))
            await until(lambda: statuses(db).get("confirmed", 0) == 100, timeout_s=60)
            await until(lambda: statuses(db).get("expired", 0) == 900, timeout_s=FAR_EXPIRY_S + 10)
            return [order_id for share in shares for order_id in share], stack

    ids, stack = asyncio.run(scenario())
    assert len(set(ids)) == 1000
    assert statuses(db) == {"confirmed": 100, "expired": 900}
    # rebuilt after the flush (an earlier check may have put back a few whose submit was slow to reach Redis)
    assert stack.summary.waiting_restored >= 1000
    assert redis_client.zcard(keys.waiting_expiry) == 0
    for order_id in ids:
        steps = [status for _, status, _, _ in timeline(db, order_id)]
        assert steps in (["waiting", "expired"], ["waiting", "pending", "routing", "building", "submitted", "confirmed"])
    confirmed = OrderRepository(db).history(len(ids), status=Status.CONFIRMED)
    assert [o.id for o in confirmed if o.amount_out < o.min_amount_out] == []


def test_market_orders_still_run_beside_waiting_limit_orders(configured, submit_fn, settings, db):
    s = limit_settings(settings)

    async def scenario():
        async with Stack(s) as stack:
            far = price(await stack.best_sol_price() * 3)
            _, waiting = submit(submit_fn, {**SELL_SOL, "limitPrice": far, "ttlSeconds": 600})
            resp, market = submit(submit_fn, {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "0.5"})
            assert resp["statusCode"] == 202
            await until(lambda: status_of(db, market["orderId"]) == "confirmed")
            return waiting["orderId"]

    waiting_id = asyncio.run(scenario())
    assert status_of(db, waiting_id) == "waiting"  # the executor never routed it
    assert [status for _, status, _, _ in timeline(db, waiting_id)] == ["waiting"]
    assert len(chain_transactions(db)) == 1


LIMIT = {**SELL_SOL, "amount": "1", "ttlSeconds": 600}
WEEK = 7 * 86_400
BAD_LIMIT_ORDERS = [
    # (case, body, field, rule)
    ("limit price zero", {**LIMIT, "limitPrice": "0"}, "limitPrice", "positive"),
    ("limit price zero with a fraction", {**LIMIT, "limitPrice": "0.000"}, "limitPrice", "positive"),
    ("limit price negative", {**LIMIT, "limitPrice": "-150"}, "limitPrice", "positive"),
    ("limit price not a number", {**LIMIT, "limitPrice": "abc"}, "limitPrice", "decimal_string"),
    ("limit price with an exponent", {**LIMIT, "limitPrice": "1e3"}, "limitPrice", "decimal_string"),
    ("limit price as a JSON number", {**LIMIT, "limitPrice": 150}, "limitPrice", "string_type"),
    ("limit price with more decimals than USDC has", {**LIMIT, "limitPrice": "150.1234567"}, "limitPrice", "decimals"),
    ("limit price with more decimals than SOL has",
     {**LIMIT, "tokenIn": "USDC", "tokenOut": "SOL", "amount": "100", "limitPrice": "0.0066666666"}, "limitPrice",
     "decimals"),
    ("limit price no fill could meet", {**LIMIT, "limitPrice": "99999999999999999999"}, "limitPrice", "maximum"),
    ("limit price missing", LIMIT, "limitPrice", "required"),
    ("expiry in the past", {**SELL_SOL, "limitPrice": "150", "expiresAt": "2020-01-01T00:00:00Z"}, "expiresAt", "future"),
    ("expiry beyond the maximum", {**SELL_SOL, "limitPrice": "150", "expiresAt": "2099-01-01T00:00:00Z"}, "expiresAt",
     "maximum"),
    ("expiry without a time zone", {**SELL_SOL, "limitPrice": "150", "expiresAt": "2099-01-01T00:00:00"}, "expiresAt",
     "time_zone"),
    ("expiry not a time", {**SELL_SOL, "limitPrice": "150", "expiresAt": "tomorrow"}, "expiresAt", "iso8601"),
    ("ttl beyond the maximum", {**LIMIT, "limitPrice": "150", "ttlSeconds": WEEK + 1}, "ttlSeconds", "range"),
    ("ttl zero", {**LIMIT, "limitPrice": "150", "ttlSeconds": 0}, "ttlSeconds", "range"),
    ("both expiries", {**LIMIT, "limitPrice": "150", "expiresAt": "2099-01-01T00:00:00Z"}, "ttlSeconds", "one_expiry"),
    ("no expiry", {**SELL_SOL, "limitPrice": "150"}, "expiresAt", "required"),
    ("slippage on a limit order", {**LIMIT, "limitPrice": "150", "slippageBps": 50}, "slippageBps", "market_only"),
    ("limit price on a market order", {"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1, "limitPrice": "150"},
     "limitPrice", "limit_only"),
    ("ttl on a market order", {"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1, "ttlSeconds": 60}, "ttlSeconds",
     "limit_only"),
]


@pytest.mark.parametrize("case,body,field,rule", BAD_LIMIT_ORDERS, ids=[c[0] for c in BAD_LIMIT_ORDERS])
def test_a_bad_limit_order_is_a_400_naming_the_field_and_rule_and_writes_nothing(
        configured, submit_fn, db, redis_client, settings, case, body, field, rule):
    resp, answer = submit(submit_fn, body)
    assert resp["statusCode"] == 400, answer
    error = answer["error"]
    assert error["code"] == "invalid_request"
    assert field in error["message"]
    assert [(d["field"], d["rule"]) for d in error["details"]] == [(field, rule)]
    assert order_count(db) == 0
    assert event_count(db) == 0
    assert list(redis_client.scan_iter(match=f"{settings.key_prefix}*")) == []


def test_a_cancelled_waiting_order_leaves_its_book(configured, submit_fn, orders_fn, settings, redis_client):
    """So a stale entry cannot hide a lost one from the rebuild's count, and the watcher never sees it again."""
    _, body = submit(submit_fn, {**SELL_SOL, "limitPrice": "500", "ttlSeconds": 600})
    keys = KeyScheme(settings.key_prefix)
    book = keys.waiting_book("price", price_book(SOL, USDC))
    assert redis_client.zscore(book, body["orderId"]) == 500.0
    event = http_event("DELETE", f"/api/orders/{body['orderId']}", route_key="DELETE /api/orders/{orderId}",
                       path_parameters={"orderId": body["orderId"]})
    resp = orders_fn.handler(event, FakeLambdaContext())
    assert resp["statusCode"] == 200 and response_json(resp)["status"] == "cancelled"
    assert redis_client.zcard(book) == 0 and redis_client.zcard(keys.waiting_expiry) == 0
    assert redis_client.hlen(keys.waiting_books) == 0


def test_a_limit_orders_first_frame_is_a_status_frame(configured, submit_fn, settings, redis_client):
    """The waiting event's detail must not overwrite the frame's `type` (a client routes frames by it)."""
    _, body = submit(submit_fn, {**SELL_SOL, "limitPrice": "500", "ttlSeconds": 600})
    [frame] = [json.loads(raw) for raw in redis_client.lrange(KeyScheme(settings.key_prefix).order_events(body["orderId"]), 0, -1)]
    assert frame["type"] == "status" and frame["status"] == "waiting"
    assert (frame["orderType"], frame["limitPrice"], frame["seq"]) == ("limit", "500", 1)
