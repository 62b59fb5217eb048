import uuid


from tests.support.lambdas import FakeLambdaContext, http_event, response_json
from tests.support.reads import order_count, order_of


def submit(fn, body, **kw):
    return fn.handler(http_event("POST", "/api/orders/execute", body, **kw), FakeLambdaContext())


def test_submit_whole_token_shape_is_durable_and_queued(configured, submit_fn, orders_fn, db, redis_client):
    resp = submit(submit_fn, {"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1})
    assert resp["statusCode"] == 202, resp
    body = response_json(resp)
    assert body["status"] == "accepted" and body["queued"] is True
    assert body["wsUrl"].endswith(f"?orderId={body['orderId']}")
    stored = order_of(db, body["orderId"])
    assert (stored.status, stored.amount_in, stored.token_in_mint) == (
        "pending", 1_000_000_000, "So11111111111111111111111111111111111111112")
    assert redis_client.lrange(f"{configured.key_prefix}queue:ready", 0, -1) == [body["orderId"]]

    got = orders_fn.handler(http_event("GET", f"/api/orders/{body['orderId']}", route_key="GET /api/orders/{orderId}",
                                       path_parameters={"orderId": body["orderId"]}), FakeLambdaContext())
    order = response_json(got)
    assert got["statusCode"] == 200
    assert order["amountIn"] == "1000000000" and order["amount"] == "1" and order["tokenOut"] == "USDC"
    assert [e["status"] for e in order["events"]] == ["pending"] and order["events"][0]["seq"] == 1


def test_submit_base_unit_shape(configured, submit_fn, db):
    resp = submit(submit_fn, {"inputMint": "SOL", "outputMint": "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
                              "amountIn": "1500000000", "slippageBps": 100})
    assert resp["statusCode"] == 202, resp
    order_id = response_json(resp)["orderId"]
    stored = order_of(db, order_id)
    assert (stored.amount_in, stored.slippage_bps) == (1_500_000_000, 100)


def test_idempotent_repeat_returns_same_order_and_different_body_conflicts(configured, submit_fn, db):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = submit(submit_fn, {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "2"}, headers=key)
    again = submit(submit_fn, {"inputMint": "SOL", "outputMint": "USDC", "amountIn": 2_000_000_000}, headers=key)
    assert first["statusCode"] == again["statusCode"] == 202
    assert response_json(first)["orderId"] == response_json(again)["orderId"]
    assert again["headers"].get("Idempotent-Replayed") == "true"
    conflict = submit(submit_fn, {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "3"}, headers=key)
    assert conflict["statusCode"] == 409
    assert response_json(conflict)["error"]["code"] == "idempotency_conflict"
    assert order_count(db) == 1


def test_log_lines_about_an_order_are_json_with_its_id(configured, submit_fn):
    import io
    import json as _json
    import logging

    out = io.StringIO()
    handler = logging.getLogger("order_engine").handlers[0]
    previous = handler.setStream(out)
    try:
        order_id = response_json(submit(submit_fn, {"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1}))["orderId"]
    finally:
        handler.setStream(previous)
    lines = [_json.loads(line) for line in out.getvalue().splitlines()]
    about = [line for line in lines if line["message"] == "order accepted"]
    assert about and all(line["order_id"] == order_id for line in about)
