"""DELETE /api/orders/{orderId} in-process against PostgreSQL and Redis, with the executor and the simulated
venues for what happens to a cancelled order's id still on the queue, and the WebSocket gateway for its event."""
from __future__ import annotations

import asyncio
import json
from collections import Counter

import pg8000
import pytest

from tests.support.executor_support import executor_settings
from tests.support.factories import submit_orders
from tests.support.reads import status_of, timeline
from tests.support.sql import event_count, insert_unwatched_waiting, landed_swaps_per_order
from tests.support.lambdas import FakeLambdaContext, http_event, response_json
from order_engine import bootstrap
from order_engine.bootstrap import deadline_in, run_executor_async
from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.aws.ws_fanout import LoggingNotifier
from tests.support.ws_stack import advance

SOL_TO_USDC = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "0.5"}


def submit(submit_fn, **body) -> str:
    resp = submit_fn.handler(http_event("POST", "/api/orders/execute", {**SOL_TO_USDC, **body}), FakeLambdaContext())
    assert resp["statusCode"] == 202, resp
    return response_json(resp)["orderId"]


def cancel(orders_fn, order_id: str) -> dict:
    return orders_fn.handler(http_event("DELETE", f"/api/orders/{order_id}", route_key="DELETE /api/orders/{orderId}",
                                        path_parameters={"orderId": order_id}), FakeLambdaContext())


class VenueSpy:
    """The simulated dex, recording every amount it quotes and every order it builds a swap for."""

    def __init__(self, dex):
        self.dex, self.quoted, self.built = dex, Counter(), Counter()

    async def route(self, input_mint, output_mint, amount_in):
        self.quoted[amount_in] += 1
        return await self.dex.route(input_mint, output_mint, amount_in)

    async def build(self, order_id, route, slippage_bps, min_amount_out=None):
        self.built[order_id] += 1
        return await self.dex.build(order_id, route, slippage_bps, min_amount_out)

    def __getattr__(self, name):
        return getattr(self.dex, name)


def run_executor_with_spy(s):
    async def go():
        spy = VenueSpy(bootstrap.simulated_dex(s))
        try:
            summary = await run_executor_async(s, deadline_in(60_000), dex=spy, notifier=LoggingNotifier(),
                                               owner="test-executor")
        finally:
            await spy.dex.close()
        return summary, spy

    return asyncio.run(go())


def test_a_cancel_before_routing_ends_cancelled_and_the_order_never_reaches_the_venues(
        configured, settings, submit_fn, orders_fn, db, redis_client):
    keys = KeyScheme(settings.key_prefix)
    cancelled = submit(submit_fn, amount="0.123456789")  # an amount of its own, to find among the venues' quotes
    kept = submit(submit_fn)

    resp = cancel(orders_fn, cancelled)

    assert resp["statusCode"] == 200, resp
    body = response_json(resp)
    assert body["orderId"] == cancelled and body["status"] == "cancelled" and body["completedAt"] is not None
    assert [(seq, status) for seq, status, _, _ in timeline(db, cancelled)] == [(1, "pending"), (2, "cancelled")]
    assert timeline(db, cancelled)[1][3] == {"cancelledFrom": "pending"}
    assert redis_client.hget(keys.order_live(cancelled), "status") == "cancelled"
    frames = [json.loads(f) for f in redis_client.lrange(keys.order_events(cancelled), 0, -1)]
    assert [(f["seq"], f["status"]) for f in frames] == [(1, "pending"), (2, "cancelled")]
    assert cancelled in redis_client.lrange(keys.ready, 0, -1)  # still queued: the executor must drop it

    summary, spy = run_executor_with_spy(executor_settings(settings))

    assert status_of(db, cancelled) == "cancelled" and status_of(db, kept) == "confirmed"
    assert [status for _, status, _, _ in timeline(db, cancelled)] == ["pending", "cancelled"]
    assert spy.quoted[123_456_789] == 0 and spy.built[cancelled] == 0
    assert spy.quoted[500_000_000] >= 1 and spy.built[kept] >= 1  # the spy saw the other order go through
    assert cancelled not in landed_swaps_per_order(db)
    assert summary.outcomes["done"] == 1 and summary.dead_lettered == 0
    assert redis_client.hget(keys.order_live(cancelled), "status") == "cancelled"


def test_a_cancel_once_routing_started_is_409_with_the_status_and_changes_nothing(
        configured, settings, submit_fn, orders_fn, db, redis_client):
    keys = KeyScheme(settings.key_prefix)
    order_id = submit(submit_fn)
    advance(db, redis_client, keys, order_id, "routing")

    resp = cancel(orders_fn, order_id)

    assert resp["statusCode"] == 409, resp
    error = response_json(resp)["error"]
    assert error["code"] == "not_cancellable" and "it is routing" in error["message"]
    assert error["details"][0]["status"] == "routing" and error["details"][0]["field"] == "orderId"
    assert [status for _, status, _, _ in timeline(db, order_id)] == ["pending", "routing"]
    for step in ("building", "submitted", "confirmed"):
        advance(db, redis_client, keys, order_id, step)
    finished = response_json(cancel(orders_fn, order_id))["error"]
    assert finished["details"][0]["status"] == "confirmed" and "finished" in finished["message"]
    assert status_of(db, order_id) == "confirmed"


def test_cancelling_twice_answers_200_both_times_with_one_cancelled_event(configured, submit_fn, orders_fn, db):
    order_id = submit(submit_fn)

    first, second = cancel(orders_fn, order_id), cancel(orders_fn, order_id)

    assert (first["statusCode"], second["statusCode"]) == (200, 200)
    assert response_json(first) == response_json(second)
    assert [status for _, status, _, _ in timeline(db, order_id)] == ["pending", "cancelled"]


def test_a_waiting_order_can_be_cancelled(configured, submit_fn, orders_fn, db, redis_client):
    waiting = insert_unwatched_waiting(db, like=submit(submit_fn))

    resp = cancel(orders_fn, waiting)

    assert resp["statusCode"] == 200 and response_json(resp)["status"] == "cancelled"
    assert timeline(db, waiting)[-1][3] == {"cancelledFrom": "waiting"}


def test_a_cancel_reads_the_order_as_get_does_404_and_400_writing_nothing(configured, orders_fn, db):
    unknown = cancel(orders_fn, "3f0c7d9e-0a8b-4c1d-9e2f-5a6b7c8d9e0f")
    assert unknown["statusCode"] == 404 and response_json(unknown)["error"]["code"] == "order_not_found"
    malformed = cancel(orders_fn, "3f0c7d9e0a8b4c1d9e2f5a6b7c8d9e0f")
    assert malformed["statusCode"] == 400 and response_json(malformed)["error"]["code"] == "invalid_order_id"
    assert event_count(db) == 0


@pytest.mark.parametrize("before", ["routing", "confirmed"])
def test_the_database_refuses_a_cancel_the_lifecycle_does_not_allow_even_in_direct_sql(
        configured, settings, submit_fn, db, redis_client, before):
    keys = KeyScheme(settings.key_prefix)
    order_id = submit(submit_fn)
    for step in ("routing", "building", "submitted", "confirmed")[:("routing", "confirmed").index(before) * 3 + 1]:
        advance(db, redis_client, keys, order_id, step)
    with pytest.raises(pg8000.exceptions.DatabaseError, match=f"illegal order transition {before} -> cancelled"):
        db.run("UPDATE orders SET status = 'cancelled' WHERE id = CAST(:id AS uuid)", id=order_id)
    assert status_of(db, order_id) == before


def test_a_postgresql_outage_is_503_naming_it(configured, submit_fn, orders_fn, db, monkeypatch):
    from order_engine import config

    order_id = submit(submit_fn)
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/order_engine")
    config.settings.cache_clear()
    bootstrap.services.cache_clear()

    resp = cancel(orders_fn, order_id)

    assert resp["statusCode"] == 503 and response_json(resp)["error"]["code"] == "database_unavailable"
    assert status_of(db, order_id) == "pending"


def test_a_redis_outage_after_the_cancel_is_stored_still_answers_cancelled(configured, submit_fn, orders_fn, db,
                                                                           monkeypatch):
    from order_engine import config

    order_id = submit(submit_fn)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    config.settings.cache_clear()
    bootstrap.services.cache_clear()

    resp = cancel(orders_fn, order_id)

    assert resp["statusCode"] == 200 and response_json(resp)["status"] == "cancelled"
    assert status_of(db, order_id) == "cancelled"  # durable; GET and replays read PostgreSQL


def test_history_filters_cancelled_orders(configured, submit_fn, orders_fn):
    cancelled, _ = submit(submit_fn), submit(submit_fn)
    cancel(orders_fn, cancelled)

    resp = orders_fn.handler(http_event("GET", "/api/orders/history", query={"status": "cancelled"}),
                             FakeLambdaContext())

    assert resp["statusCode"] == 200
    assert [o["orderId"] for o in response_json(resp)["orders"]] == [cancelled]
    stats = response_json(orders_fn.handler(http_event("GET", "/api/queue"), FakeLambdaContext()))
    assert stats["cancelled"] == 1 and stats["unfinished"] == 1


def test_a_websocket_subscriber_receives_the_cancelled_event(ws_stack, settings, orders_fn, db):
    [order_id] = submit_orders(settings, db, 1)  # as submit stores it, without waking the stack's executor

    async def scenario():
        async with ws_stack.session() as session:
            ws = await session.ws_connect(ws_stack.ws_url)
            await ws.send_json({"action": "subscribe", "orderId": order_id})
            frames = [json.loads((await ws.receive(timeout=10)).data) for _ in range(2)]  # subscribed, pending
            resp = await asyncio.to_thread(cancel, orders_fn, order_id)
            frames.append(json.loads((await ws.receive(timeout=10)).data))
            await ws.close()
            return resp, frames

    resp, frames = asyncio.run(scenario())

    assert resp["statusCode"] == 200
    assert frames[0]["type"] == "subscribed" and (frames[1]["seq"], frames[1]["status"]) == (1, "pending")
    live = frames[2]
    assert (live["type"], live["orderId"], live["seq"], live["status"]) == ("status", order_id, 2, "cancelled")
    assert live["cancelledFrom"] == "pending"
