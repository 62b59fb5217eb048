"""The HTTP contract through the chalice app (REST API, payload 1.0, translated to the handler's 2.0 event), run
in-process by chalice.test.Client against the real PostgreSQL and Redis: the same answers as the SAM path."""
from __future__ import annotations

import json
import uuid
from urllib.parse import quote

import pytest
from chalice.test import Client

from tests.support.chalice_app import CHALICE_DIR, chalice_module
from tests.support.reads import status_of

JSON = {"content-type": "application/json"}


class KeyedClient:
    """chalice's test HTTP client sending `Authorization: Bearer <key>` unless a request sets it (chalice's local
    gateway runs the app's authorizer)."""

    def __init__(self, http, key: str):
        self.http, self.key = http, key

    def __getattr__(self, method: str):
        def call(path, headers=None, **kwargs):
            headers = dict(headers or {})
            if not any(h.lower() == "authorization" for h in headers):
                headers["Authorization"] = f"Bearer {self.key}"
            return getattr(self.http, method)(path, headers=headers, **kwargs)
        return call


@pytest.fixture
def client(configured):
    from order_engine import bootstrap

    keys = bootstrap.key_store(configured)
    key, _record = keys.create("chalice-test", operator=True)
    keys.db.close()
    bootstrap.authenticator.cache_clear()
    with Client(chalice_module().app, stage_name="dev", project_dir=str(CHALICE_DIR)) as c:
        yield KeyedClient(c.http, key)
    bootstrap.authenticator.cache_clear()


def test_chalice_refuses_a_bad_key_with_the_error_shape_and_keeps_health_open(client):
    refused = client.get("/api/orders/history", headers={"Authorization": "Bearer oek_" + "x" * 43})
    assert refused.status_code == 401
    assert error_of(refused)["code"] == "unauthorized"
    assert client.get("/api/health", headers={"Authorization": ""}).status_code == 200


def post_order(client, body, headers=None, raw=None):
    return client.post("/api/orders/execute", headers={**JSON, **(headers or {})},
                       body=raw if raw is not None else json.dumps(body).encode())


def error_of(response):
    return json.loads(response.body)["error"]


def test_submit_is_durable_and_readable_through_chalice(client, db):
    submitted = post_order(client, {"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1})
    assert submitted.status_code == 202, submitted.body
    body = json.loads(submitted.body)
    assert body["status"] == "accepted" and body["queued"] is True
    assert submitted.headers["Location"] == f"/api/orders/{body['orderId']}"
    assert status_of(db, body["orderId"]) == "pending"

    got = client.get(f"/api/orders/{body['orderId']}")
    assert got.status_code == 200
    order = json.loads(got.body)
    assert order["amountIn"] == "1000000000" and [e["status"] for e in order["events"]] == ["pending"]


def test_idempotency_key_replays_and_conflicts_through_chalice(client):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = post_order(client, {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "2"}, key)
    again = post_order(client, {"inputMint": "SOL", "outputMint": "USDC", "amountIn": 2_000_000_000}, key)
    assert json.loads(first.body)["orderId"] == json.loads(again.body)["orderId"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    conflict = post_order(client, {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "3"}, key)
    assert conflict.status_code == 409 and error_of(conflict)["code"] == "idempotency_conflict"


@pytest.mark.parametrize("raw,headers,status,code,field", [
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amout":1}', JSON, 400, "invalid_request", "amout"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC"', JSON, 400, "invalid_json", "body"),
    (b'tokenIn=SOL', {"content-type": "text/plain"}, 415, "unsupported_media_type", "Content-Type"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amount":"' + b"1" * 17000 + b'"}', JSON, 413, "body_too_large", "body"),
])
def test_bad_input_is_a_4xx_in_the_apis_error_shape(client, raw, headers, status, code, field):
    response = client.post("/api/orders/execute", headers=headers, body=raw)
    assert response.status_code == status, response.body
    error = error_of(response)
    assert error["code"] == code and error["details"][0]["field"] == field and error["message"]


@pytest.mark.parametrize("order_id,status", [("not-a-uuid", 400), ("3f0c7d9e-0a8b-4c1d-9e2f-5a6b7c8d9e0f", 404)])
def test_a_bad_or_unknown_order_id_is_refused(client, order_id, status):
    response = client.get(f"/api/orders/{order_id}")
    assert response.status_code == status and error_of(response)["message"]


def test_history_pages_with_cursors_and_filters(client):
    ids = [json.loads(post_order(client, {"tokenIn": "SOL", "tokenOut": "USDC", "amount": n}).body)["orderId"]
           for n in (1, 2, 3)]
    first = json.loads(client.get("/api/orders/history?limit=2&token=SOL").body)
    assert [o["orderId"] for o in first["orders"]] == ids[::-1][:2] and first["nextCursor"]
    second = json.loads(client.get(f"/api/orders/history?limit=2&token=SOL&cursor={quote(first['nextCursor'])}").body)
    assert [o["orderId"] for o in second["orders"]] == [ids[0]] and second["nextCursor"] is None
    tampered = client.get(f"/api/orders/history?cursor={quote(first['nextCursor'][:-2] + 'xx')}")
    assert tampered.status_code == 400 and error_of(tampered)["code"] == "invalid_cursor"


def test_health_queue_and_the_openapi_document(client):
    assert json.loads(client.get("/api/health").body)["status"] == "ok"
    assert {"ready", "inFlight"} <= set(json.loads(client.get("/api/queue").body))
    document = json.loads(client.get("/api/openapi.json").body)
    assert "/api/orders/execute" in document["paths"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and docs.headers["Content-Type"].startswith("text/html")
