import json
import uuid
from concurrent.futures import ThreadPoolExecutor


from order_engine import bootstrap, config
from tests.support.lambdas import FakeLambdaContext, http_event, response_json
from tests.support.reads import order_count, status_of
from tests.support.sql import event_count

ORDER = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "0.5"}


def submit(fn, body=ORDER, **kw):
    return fn.handler(http_event("POST", "/api/orders/execute", body, **kw), FakeLambdaContext())


def reconfigure(monkeypatch, **env):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    config.settings.cache_clear()
    bootstrap.services.cache_clear()


def test_postgres_down_is_503_and_nothing_queued(configured, submit_fn, orders_fn, redis_client, monkeypatch):
    reconfigure(monkeypatch, DATABASE_URL="postgresql://postgres@127.0.0.1:1/order_engine")
    resp = submit(submit_fn)
    assert resp["statusCode"] == 503
    assert response_json(resp)["error"]["code"] == "database_unavailable"
    assert list(redis_client.scan_iter(match=f"{configured.key_prefix}*")) == []
    health = orders_fn.handler(http_event("GET", "/api/health"), FakeLambdaContext())
    assert health["statusCode"] == 503 and response_json(health)["error"]["code"] == "database_unavailable"


def test_redis_down_after_insert_still_accepts_durably(configured, submit_fn, orders_fn, db, monkeypatch):
    reconfigure(monkeypatch, REDIS_URL="redis://127.0.0.1:1/0")
    resp = submit(submit_fn)
    body = response_json(resp)
    assert resp["statusCode"] == 202 and body["queued"] is False
    assert status_of(db, body["orderId"]) == "pending"
    health = orders_fn.handler(http_event("GET", "/api/health"), FakeLambdaContext())
    assert health["statusCode"] == 503 and response_json(health)["error"]["code"] == "redis_unavailable"


def test_health_ok_when_both_answer(configured, orders_fn):
    resp = orders_fn.handler(http_event("GET", "/api/health"), FakeLambdaContext())
    assert resp["statusCode"] == 200
    assert response_json(resp)["checks"] == {"postgresql": "ok", "redis": "ok"}


def test_fifty_concurrent_submits_with_one_key_make_one_order(configured, submit_fn, db):
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    with ThreadPoolExecutor(max_workers=50) as pool:
        # each thread is its own "container": its own connections, as 50 Lambda instances would have
        def one(_):
            from order_engine.bootstrap import build
            from order_engine.config import settings
            svc = build(settings())
            return svc.submit.submit(ORDER, key["Idempotency-Key"]).order.id
        ids = list(pool.map(one, range(50)))
    assert len(set(ids)) == 1
    assert order_count(db) == 1
    assert event_count(db) == 1


def _history(fn, **query):
    resp = fn.handler(http_event("GET", "/api/orders/history", query={k: str(v) for k, v in query.items()}),
                      FakeLambdaContext())
    assert resp["statusCode"] == 200, resp
    return response_json(resp)


def test_history_pages_newest_first_without_gaps_or_repeats(configured, submit_fn, orders_fn):
    submitted = [response_json(submit(submit_fn, {**ORDER, "amount": str(i + 1)}))["orderId"] for i in range(7)]
    seen, cursor = [], None
    while True:
        page = _history(orders_fn, limit=3, **({"cursor": cursor} if cursor else {}))
        seen += [o["orderId"] for o in page["orders"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == list(reversed(submitted))


def test_history_filters_by_status_and_token(configured, submit_fn, orders_fn):
    sol = response_json(submit(submit_fn))["orderId"]
    usdt = response_json(submit(submit_fn, {"tokenIn": "USDC", "tokenOut": "USDT", "amount": 10}))["orderId"]
    assert [o["orderId"] for o in _history(orders_fn, token="USDT")["orders"]] == [usdt]
    assert [o["orderId"] for o in _history(orders_fn, token="SOL")["orders"]] == [sol]
    assert len(_history(orders_fn, status="pending")["orders"]) == 2
    assert _history(orders_fn, status="confirmed")["orders"] == []


def test_openapi_describes_every_route_and_responses_match_it(configured, submit_fn, orders_fn):
    resp = orders_fn.handler(http_event("GET", "/api/openapi.json"), FakeLambdaContext())
    spec = json.loads(resp["body"])
    assert {"/api/orders/execute", "/api/orders/{orderId}", "/api/orders/history", "/api/health", "/api/queue"} <= set(spec["paths"])
    schemas = spec["components"]["schemas"]
    shapes = {branch["title"]: branch for branch in schemas["ExecuteOrderRequest"]["oneOf"]}
    assert set(shapes["WholeTokenOrder"]["required"]) == {"tokenIn", "tokenOut", "amount"}
    assert set(shapes["BaseUnitOrder"]["required"]) == {"inputMint", "outputMint", "amountIn"}
    assert all(branch["additionalProperties"] is False for branch in shapes.values())
    assert {"slippageBps", "type", "clientOrderId"} <= set(shapes["WholeTokenOrder"]["properties"])
    order_id = spec["paths"]["/api/orders/{orderId}"]["get"]["parameters"][0]["schema"]
    assert order_id["format"] == "uuid"
    limit = next(p for p in spec["paths"]["/api/orders/history"]["get"]["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 500)
    assert {"200", "503"} <= set(spec["paths"]["/api/health"]["get"]["responses"])
    assert not any("422" in op["responses"] for ops in spec["paths"].values() for op in ops.values())

    accepted = response_json(submit(submit_fn))
    assert set(accepted) == set(schemas["ExecuteOrderResponse"]["properties"])
    order = response_json(orders_fn.handler(
        http_event("GET", f"/api/orders/{accepted['orderId']}", route_key="GET /api/orders/{orderId}",
                   path_parameters={"orderId": accepted["orderId"]}), FakeLambdaContext()))
    assert set(order) == set(schemas["OrderWithEvents"]["properties"])
    assert set(schemas["OrderWithEvents"]["required"]) <= set(order)
    error = response_json(submit(submit_fn, {"tokenIn": "SOL"}))
    assert set(error["error"]) == set(schemas["ErrorBody"]["properties"])


def test_queue_stats_count_what_waits_and_what_finished(configured, submit_fn, orders_fn):
    for _ in range(3):
        submit(submit_fn)
    resp = orders_fn.handler(http_event("GET", "/api/queue"), FakeLambdaContext())
    assert resp["statusCode"] == 200
    stats = response_json(resp)
    assert stats["ready"] == 3 and stats["unfinished"] == 3
    assert stats["inFlight"] == stats["delayed"] == stats["deadLettered"] == stats["confirmed"] == stats["failed"] == 0
