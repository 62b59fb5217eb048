"""The access adapters on the real servers: keys stored as hashes and revoked in PostgreSQL; the submit token bucket
in Redis, atomic under concurrent takes and refilling at its rate; and a submit over the limit writes nothing."""
from __future__ import annotations

import json
import threading
import time

from tests.support.lambdas import FakeLambdaContext, http_event, response_json
from tests.support.reads import order_count
from tests.support.sql import stored_api_keys
from order_engine.domain.api_keys import Client, key_hash
from order_engine.adapters.postgres.api_key_table import PgApiKeyStore
from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.redis.submit_buckets import RedisSubmitBuckets


def test_a_key_is_stored_as_its_hash_found_until_revoked_and_listed_without_itself(db):
    store = PgApiKeyStore(db)
    key, record = store.create("acme", label="bot", rate_per_s=3.0, burst=4)
    assert stored_api_keys(db, key_hash(key)) == 1
    assert stored_api_keys(db, key) == 0
    found = store.find(key_hash(key))
    assert (found.client_id, found.rate_per_s, found.burst, found.operator) == ("acme", 3.0, 4, False)
    assert [r.key_id for r in store.revoke(record.key_id)] == [record.key_id]
    assert store.find(key_hash(key)) is None and store.list() == []
    assert store.list(include_revoked=True)[0].revoked_at is not None
    assert store.revoke(record.key_id) == []


def test_concurrent_takes_never_spend_more_tokens_than_the_bucket_holds(settings, redis_client):
    buckets = RedisSubmitBuckets(redis_client, KeyScheme(settings.key_prefix))
    results: list[int] = []
    lock = threading.Lock()

    def take() -> None:
        wait = buckets.take("acme", 0.001, 5)  # next to no refill during the test
        with lock:
            results.append(wait)

    threads = [threading.Thread(target=take) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(0) == 5 and all(w > 0 for w in results if w)
    assert buckets.take("other-client", 0.001, 5) == 0  # buckets are per client


def test_the_bucket_refills_at_its_rate(settings, redis_client):
    buckets = RedisSubmitBuckets(redis_client, KeyScheme(settings.key_prefix))
    assert [buckets.take("acme", 10, 2) for _ in range(2)] == [0, 0]
    wait = buckets.take("acme", 10, 2)
    assert 0 < wait <= 100
    time.sleep(wait / 1000 + 0.05)
    assert buckets.take("acme", 10, 2) == 0


def submit_as(submit_fn, client: Client, key: str | None = None):
    event = http_event("POST", "/api/orders/execute", {"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1},
                       headers={"idempotency-key": key} if key else None)
    event["requestContext"]["authorizer"] = {"lambda": client.to_context()}
    return submit_fn.handler(event, FakeLambdaContext())


def test_a_submit_over_the_limit_is_429_with_retry_after_and_writes_nothing(configured, submit_fn, db):
    client = Client("acme", False, 0.5, 1)
    assert submit_as(submit_fn, client)["statusCode"] == 202
    limited = submit_as(submit_fn, client)
    assert limited["statusCode"] == 429 and int(limited["headers"]["Retry-After"]) == 2
    assert response_json(limited)["error"]["code"] == "rate_limited"
    assert order_count(db) == order_count(db, client_id="acme") == 1


def test_another_clients_order_reads_as_unknown_through_the_orders_function(configured, submit_fn, orders_fn):
    a, b = Client("a", False, 100, 100), Client("b", False, 100, 100)
    order_id = response_json(submit_as(submit_fn, a))["orderId"]

    def get(client: Client, path: str):
        event = http_event("GET", path, path_parameters={"orderId": path.rsplit("/", 1)[1]},
                           route_key="GET /api/orders/{orderId}")
        event["requestContext"]["authorizer"] = {"lambda": client.to_context()}
        return orders_fn.handler(event, FakeLambdaContext())

    assert get(a, f"/api/orders/{order_id}")["statusCode"] == 200
    theirs = get(b, f"/api/orders/{order_id}")
    assert theirs["statusCode"] == 404 and json.loads(theirs["body"])["error"]["code"] == "order_not_found"
