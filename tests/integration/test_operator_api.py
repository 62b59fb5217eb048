"""The operator routes in-process against PostgreSQL and Redis: the dead-letter list, and retrying an order that
failed (a conditional failed -> pending the database checks) or was dead-lettered (back on the queue), and 409 for
every other order."""
from __future__ import annotations

import json

import pytest

from tests.support.factories import advance, fail
from tests.support.lambdas import FakeLambdaContext, http_event, response_json
from tests.support.reads import status_of, timeline


def submit(submit_fn, **body):
    resp = submit_fn.handler(http_event("POST", "/api/orders/execute",
                                        {"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1, **body}), FakeLambdaContext())
    return response_json(resp)["orderId"]


def retry(orders_fn, order_id):
    return orders_fn.handler(http_event("POST", f"/api/operator/orders/{order_id}/retry", None,
                                        route_key="POST /api/operator/orders/{orderId}/retry",
                                        path_parameters={"orderId": order_id}), FakeLambdaContext())


def dead_letters(orders_fn):
    return response_json(orders_fn.handler(http_event("GET", "/api/operator/dead-letters"), FakeLambdaContext()))


def dead_letter(redis_client, keys, order_id, reason="stalled 4 times: its executor stopped"):
    """What the executor's sweeper leaves after an order stalled too often."""
    redis_client.lrem(keys.ready, 0, order_id)
    redis_client.sadd(keys.dead_ids, order_id)
    redis_client.lpush(keys.dead, json.dumps({"entry": order_id, "orderId": order_id, "reason": reason,
                                                          "at": "2026-12-01T15:00:00Z"}))


@pytest.fixture
def keys(configured):
    from order_engine.adapters.redis.key_scheme import KeyScheme

    return KeyScheme(configured.key_prefix)


def test_a_failed_order_starts_over_from_pending_and_is_queued(configured, submit_fn, orders_fn, db, redis_client, keys):
    order_id = submit(submit_fn)
    redis_client.delete(keys.ready)
    fail(db, order_id, "quote timed out on both venues")  # what the executor writes after the last attempt

    resp = retry(orders_fn, order_id)
    assert resp["statusCode"] == 202, resp
    body = response_json(resp)
    assert body["requeuedFrom"] == "failed" and body["order"]["status"] == "pending"
    assert body["order"]["attempts"] == 0 and body["order"]["error"] is None
    events = timeline(db, order_id)
    assert [(seq, status) for seq, status, _, _ in events] == [(1, "pending"), (2, "failed"), (3, "pending")]
    assert events[2][3]["previous"] == {"status": "failed", "error": "quote timed out on both venues", "attempts": 3}
    assert redis_client.lrange(keys.ready, 0, -1) == [order_id]
    assert json.loads(redis_client.lrange(keys.order_events(order_id), -1, -1)[0])["seq"] == 3

    again = retry(orders_fn, order_id)  # it is pending now: not retryable
    assert again["statusCode"] == 409
    assert response_json(again)["error"]["code"] == "not_retryable"


def test_a_dead_lettered_order_goes_back_on_the_queue_off_the_dead_letters(configured, submit_fn, orders_fn, db,
                                                                              redis_client, keys):
    order_id = submit(submit_fn)
    dead_letter(redis_client, keys, order_id)
    listed = dead_letters(orders_fn)["deadLetters"]
    assert [(e["orderId"], e["status"], e["retryable"]) for e in listed] == [(order_id, "pending", True)]

    resp = retry(orders_fn, order_id)
    assert resp["statusCode"] == 202, resp
    assert response_json(resp)["requeuedFrom"] == "dead_letter"
    assert redis_client.lrange(keys.ready, 0, -1) == [order_id]
    assert not redis_client.sismember(keys.dead_ids, order_id)
    assert dead_letters(orders_fn)["deadLetters"] == []
    assert status_of(db, order_id) == "pending"

    assert retry(orders_fn, order_id)["statusCode"] == 409  # queued again, no longer dead-lettered


def test_confirmed_unknown_and_malformed_orders_are_refused(configured, submit_fn, orders_fn, db):
    order_id = submit(submit_fn)
    advance(db, order_id, "routing", "building", "submitted", "confirmed")
    resp = retry(orders_fn, order_id)
    assert resp["statusCode"] == 409
    error = response_json(resp)["error"]
    assert error["code"] == "not_retryable" and "it is confirmed" in error["message"]
    assert retry(orders_fn, "3f0c7d9e-0a8b-4c1d-9e2f-5a6b7c8d9e0f")["statusCode"] == 404
    assert retry(orders_fn, "not-a-uuid")["statusCode"] == 400


def test_the_database_refuses_a_retry_the_lifecycle_does_not_allow(configured, submit_fn, db):
    import pg8000

    order_id = submit(submit_fn)
    advance(db, order_id, "routing")
    with pytest.raises(pg8000.exceptions.DatabaseError, match="illegal order transition routing -> pending"):
        db.run("UPDATE orders SET status = 'pending' WHERE id = CAST(:id AS uuid)", id=order_id)


def test_history_finds_orders_by_client_order_id(configured, submit_fn, orders_fn):
    mine = submit(submit_fn, clientOrderId="desk-7")
    submit(submit_fn, clientOrderId="desk-8")
    resp = orders_fn.handler(http_event("GET", "/api/orders/history", query={"clientOrderId": "desk-7"}),
                             FakeLambdaContext())
    assert [o["orderId"] for o in response_json(resp)["orders"]] == [mine]
