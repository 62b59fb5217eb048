"""Quote preview and execute-by-quote, on real PostgreSQL and Redis: the market runs on a test clock (it moves only
when a test trades on it), the executor in-process on the same simulated venues."""
from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable

import pytest

from tests.support.simulated_dex import SOL, USDC, ManualClock, simulated, trade_on
from tests.support.executor_support import executor_settings, run
from tests.support.reads import order_count, order_of, timeline
from tests.support.lambdas import FakeLambdaContext, http_event, response_json
from order_engine import bootstrap, config
from order_engine.bootstrap import deadline_in, run_executor_async
from order_engine.config import Settings
from order_engine.adapters.postgres.listing_table import PgListingBook
from order_engine.dex.simulated import SimulatedDex
from order_engine.domain.slippage import min_amount_out
from order_engine.services.quote import QuoteService
from order_engine.services.submit import SubmitService
from order_engine.adapters.redis.order_intake import RedisOrderIntake
from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.postgres.order_repository import OrderRepository
from order_engine.adapters.postgres.database import Database
from order_engine.adapters.redis.quote_book import RedisQuoteBook
from order_engine.adapters.redis.connect import sync_client
from order_engine.adapters.aws.ws_fanout import LoggingNotifier

ONE_SOL = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1"}


class NoWaker:
    def wake(self, reason: str, slot: str | None = None, source: str = "test") -> bool:
        return False


Move = Callable[[SimulatedDex, dict[str, Any]], Awaitable[None]]


def quote_then_execute(settings: Settings, db: Database, query: dict[str, str], move: Move | None = None
                       ) -> tuple[dict[str, Any], str]:
    """Quote, optionally move the market, submit by the quote's id, run an executor until the queue is empty."""
    s = executor_settings(settings)
    clock = ManualClock()

    async def scenario() -> tuple[dict[str, Any], str]:
        async with simulated(s, clock=clock) as dex:
            book = RedisQuoteBook(sync_client(s.redis_url), KeyScheme(s.key_prefix))
            quoted = await QuoteService(s, dex, book, clock_ms=clock).quote(query)
            if move is not None:
                await move(dex, quoted)
            intake = RedisOrderIntake(sync_client(s.redis_url), KeyScheme(s.key_prefix))
            submit = SubmitService(s, OrderRepository(db), intake, NoWaker(), PgListingBook(db), book, clock_ms=clock)
            order = submit.submit({**query, "quoteId": quoted["quoteId"]}).order
            await run_executor_async(s, deadline_in(30_000), dex=dex, notifier=LoggingNotifier(), owner="quote-test")
            return quoted, order.id

    return asyncio.run(scenario())


def order_row(db: Database, order_id: str) -> dict[str, Any]:
    order = order_of(db, order_id)
    return dict(status=str(order.status), dex=order.dex, min_out=order.min_amount_out, amount_out=order.amount_out,
                slippage=order.slippage_bps, attempts=order.attempts, error=order.error)


def test_a_quote_shows_both_venues_the_route_and_its_reason_and_its_minimum(settings):
    async def scenario() -> dict[str, Any]:
        async with simulated(settings, clock=ManualClock()) as dex:
            book = RedisQuoteBook(sync_client(settings.redis_url), KeyScheme(settings.key_prefix))
            return await QuoteService(settings, dex, book).quote({**ONE_SOL, "slippageBps": "80"})

    quoted = asyncio.run(scenario())
    assert {q["venue"] for q in quoted["quotes"]} == {"raydium", "meteora"}
    best = max(quoted["quotes"], key=lambda q: int(q["amountOut"]))
    assert quoted["route"]["dex"] == best["venue"] and quoted["expectedAmountOut"] == best["amountOut"]
    assert quoted["minAmountOut"] == str(min_amount_out(int(best["amountOut"]), 80))
    assert quoted["slippageBps"] == 80 and quoted["amountIn"] == "1000000000"
    # the reason is in whole tokens and percent, e.g. "meteora returns 1.93 USDC (1.30%) more than raydium ..."
    assert "USDC (" in quoted["route"]["reason"] and "%) more than" in quoted["route"]["reason"]
    assert quoted["expiresAt"] - quoted["quotedAt"] == settings.quote_ttl_ms


def test_execute_by_quote_confirms_on_the_quoted_route_with_the_quoted_minimum(settings, db):
    quoted, order_id = quote_then_execute(settings, db, ONE_SOL)
    order = order_row(db, order_id)
    assert order["status"] == "confirmed", order
    assert order["dex"] == quoted["route"]["dex"]
    assert str(order["min_out"]) == quoted["minAmountOut"] and order["amount_out"] >= order["min_out"]
    routing = [detail for _, status, _, detail in timeline(db, order_id) if status == "routing"]
    assert routing[0]["quoteId"] == quoted["quoteId"] and routing[0]["legs"] == quoted["route"]["legs"]


def test_execute_by_quote_after_a_large_price_move_fails_with_the_slippage_reason_and_is_not_rerouted(settings, db):
    async def crash_the_quoted_venues(dex: SimulatedDex, quoted: dict[str, Any]) -> None:
        for leg in quoted["route"]["legs"]:  # someone sells 20,000 SOL on each venue the quote routes through
            await trade_on(dex, leg["venue"], SOL, USDC, 20_000 * 10**9)

    quoted, order_id = quote_then_execute(settings, db, ONE_SOL, move=crash_the_quoted_venues)
    order = order_row(db, order_id)
    assert order["status"] == "failed", order
    assert order["attempts"] == 1  # failed at once: a retry would re-route, which a quote rules out
    assert "slippage" in order["error"] and quoted["quoteId"] in order["error"]
    routing = [detail for _, status, _, detail in timeline(db, order_id) if status == "routing"]
    assert [r["legs"] for r in routing] == [quoted["route"]["legs"]]


# -- through the HTTP functions ------------------------------------------------------------------------------

@pytest.fixture
def http_quotes(configured, monkeypatch):
    monkeypatch.setenv("DEX_LATENCY_SCALE", "0")
    config.settings.cache_clear()
    bootstrap.services.cache_clear()
    yield config.settings()
    bootstrap.services().quotes.close()


def get_quote(orders_fn, query: dict[str, str]) -> dict[str, Any]:
    return orders_fn.handler(http_event("GET", "/api/quote", query=query), FakeLambdaContext())


def submit(submit_fn, body: dict[str, Any]) -> dict[str, Any]:
    return submit_fn.handler(http_event("POST", "/api/orders/execute", body), FakeLambdaContext())


def error_of(response: dict[str, Any]) -> tuple[int, str, str | None]:
    error = response_json(response)["error"]
    return response["statusCode"], error["code"], (error["details"] or [{}])[0].get("field")


def test_the_quote_route_answers_both_request_shapes(http_quotes, orders_fn):
    whole = get_quote(orders_fn, ONE_SOL)
    base = get_quote(orders_fn, {"inputMint": "SOL", "outputMint": USDC, "amountIn": "1000000000", "slippageBps": "50"})
    assert whole["statusCode"] == base["statusCode"] == 200, (whole, base)
    assert response_json(whole)["amountIn"] == response_json(base)["amountIn"] == "1000000000"
    assert response_json(whole)["quoteId"] != response_json(base)["quoteId"]


@pytest.mark.parametrize("query, field, rule", [
    ({"tokenIn": "SOL", "tokenOut": "USDC"}, "amount", "required"),
    ({**ONE_SOL, "amount": "1e3"}, "amount", None),
    ({**ONE_SOL, "amountIn": "5"}, "amountIn", "one_shape"),
    ({**ONE_SOL, "tokenOut": "SOL"}, "tokenOut", "distinct_tokens"),
    ({**ONE_SOL, "slippageBps": "9999"}, "slippageBps", None),
    ({**ONE_SOL, "amout": "1"}, "amout", "extra_forbidden"),
])
def test_a_bad_quote_query_is_a_400_naming_the_field(http_quotes, orders_fn, redis_client, query, field, rule):
    response = get_quote(orders_fn, query)
    status, code, named = error_of(response)
    assert (status, code, named) == (400, "invalid_request", field), response
    if rule is not None:
        assert response_json(response)["error"]["details"][0]["rule"] == rule
    assert not list(redis_client.scan_iter(match=f"{http_quotes.key_prefix}quote:*"))


def test_submit_by_quote_refuses_unknown_expired_and_mismatched_quotes_and_writes_nothing(
        http_quotes, orders_fn, submit_fn, db, monkeypatch):
    quote_id = response_json(get_quote(orders_fn, ONE_SOL))["quoteId"]
    cases = [
        ({**ONE_SOL, "quoteId": "q_" + "0" * 32}, (404, "quote_not_found", "quoteId")),
        ({**ONE_SOL, "quoteId": "not-a-quote"}, (400, "invalid_request", "quoteId")),
        ({**ONE_SOL, "amount": "2", "quoteId": quote_id}, (400, "invalid_request", "quoteId")),
        ({**ONE_SOL, "tokenOut": "USDT", "quoteId": quote_id}, (400, "invalid_request", "quoteId")),
        ({**ONE_SOL, "slippageBps": 70, "quoteId": quote_id}, (400, "invalid_request", "slippageBps")),
        ({**ONE_SOL, "dynamicSlippage": {"minBps": 10, "maxBps": 90}, "quoteId": quote_id},
         (400, "invalid_request", "dynamicSlippage")),
    ]
    for body, expected in cases:
        assert error_of(submit(submit_fn, body)) == expected, body
    monkeypatch.setenv("QUOTE_TTL_MS", "1")
    bootstrap.services().quotes.close()
    config.settings.cache_clear()
    bootstrap.services.cache_clear()
    short_lived = response_json(get_quote(orders_fn, ONE_SOL))["quoteId"]
    time.sleep(0.01)
    expired = submit(submit_fn, {**ONE_SOL, "quoteId": short_lived})
    assert error_of(expired) == (410, "quote_expired", "quoteId")
    assert order_count(db) == 0


def test_a_valid_quote_is_accepted_and_the_order_shows_it(http_quotes, orders_fn, submit_fn, db):
    quoted = response_json(get_quote(orders_fn, {**ONE_SOL, "slippageBps": "120"}))
    accepted = submit(submit_fn, {**ONE_SOL, "quoteId": quoted["quoteId"]})
    assert accepted["statusCode"] == 202, accepted
    order_id = response_json(accepted)["orderId"]
    got = orders_fn.handler(http_event("GET", f"/api/orders/{order_id}", route_key="GET /api/orders/{orderId}",
                                       path_parameters={"orderId": order_id}), FakeLambdaContext())
    order = response_json(got)
    assert order["quoteId"] == quoted["quoteId"] and order["slippageBps"] == 120
    assert order["events"][0]["quoteId"] == quoted["quoteId"]


def test_the_tolerance_dynamic_slippage_picked_shows_in_the_order_and_the_history(http_quotes, orders_fn, submit_fn,
                                                                                   settings):
    bounds = {"minBps": 15, "maxBps": 250}
    accepted = submit(submit_fn, {**ONE_SOL, "dynamicSlippage": bounds})
    assert accepted["statusCode"] == 202, accepted
    order_id = response_json(accepted)["orderId"]
    run(executor_settings(http_quotes))
    page = response_json(orders_fn.handler(http_event("GET", "/api/orders/history", route_key="GET /api/orders/history"),
                                           FakeLambdaContext()))
    [listed] = [o for o in page["orders"] if o["orderId"] == order_id]
    assert listed["status"] == "confirmed" and listed["dynamicSlippage"] == bounds
    assert bounds["minBps"] <= listed["slippageBps"] <= bounds["maxBps"]
    got = response_json(orders_fn.handler(http_event("GET", f"/api/orders/{order_id}", route_key="GET /api/orders/{orderId}",
                                                     path_parameters={"orderId": order_id}), FakeLambdaContext()))
    [building] = [e for e in got["events"] if e["status"] == "building"]
    assert building["slippageBps"] == building["dynamicSlippage"]["chosenBps"] == listed["slippageBps"]
