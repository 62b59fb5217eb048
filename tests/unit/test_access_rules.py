"""Access rules without I/O: the credentials a request presents, the authorizer's cached decision per key, the
submit limiter, and how a function reads the authorizer's context (401, 403, 503 or the client)."""
from __future__ import annotations

import json

import pytest

from tests.support.lambdas import http_event
from order_engine.api.authorizer_context import caller, refusal
from order_engine.config import Settings
from order_engine.domain.api_keys import Client, KeyRecord, credentials, key_hash, new_key, retry_after_s, well_formed
from order_engine.errors import DependencyUnavailable, RateLimited
from order_engine.services.caller_access import Authenticator, SubmitLimiter


class Keys:
    def __init__(self, *keys: str, operator: bool = False):
        self.records = {key_hash(k): KeyRecord("id", "acme", k[:10], "", operator, None, None, None, None) for k in keys}
        self.lookups = 0
        self.down = False

    def find(self, hashed: str):
        self.lookups += 1
        if self.down:
            raise DependencyUnavailable("postgresql")
        return self.records.get(hashed)


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_key_is_found_in_a_bearer_header_an_x_api_key_header_or_the_websocket_query():
    assert credentials({"Authorization": "Bearer k1"}) == "k1"
    assert credentials({"authorization": "bearer  k1 "}) == "k1"
    assert credentials({"X-Api-Key": "k2"}) == "k2"
    assert credentials({}, {"apiKey": "k3"}) == "k3"
    assert credentials({"Authorization": "Basic abc"}) is None
    assert credentials({}) is None


def test_new_keys_are_well_formed_distinct_and_stored_only_as_a_hash():
    first, second = new_key(), new_key()
    assert well_formed(first) and well_formed(second) and first != second
    assert len(key_hash(first)) == 64 and first not in key_hash(first)
    assert not well_formed("oek_short") and not well_formed(None)


def test_the_decision_per_key_is_reused_for_the_ttl_so_a_revocation_shows_after_it():
    key, clock = new_key(), Clock()
    keys = Keys(key)
    auth = Authenticator(Settings(auth_cache_ttl_s=30, rate_limit_per_s=5, rate_limit_burst=7), keys, clock)
    client = auth.client(key)
    assert client == Client("acme", False, 5.0, 7)
    keys.records.clear()  # revoked
    clock.now += 29
    assert auth.client(key) == client and keys.lookups == 1
    clock.now += 2
    assert auth.client(key) is None and keys.lookups == 2


def test_a_malformed_key_costs_no_lookup_and_an_outage_is_said_not_hidden():
    keys = Keys()
    auth = Authenticator(Settings(), keys, Clock())
    assert auth.client("nope") is None and keys.lookups == 0
    keys.down = True
    with pytest.raises(DependencyUnavailable):
        auth.client(new_key())


class Buckets:
    def __init__(self, waits):
        self.waits, self.calls = list(waits), []

    def take(self, client_id, rate, burst):
        self.calls.append((client_id, rate, burst))
        return self.waits.pop(0)


def test_the_limiter_takes_a_token_or_says_when_to_retry_in_whole_seconds():
    buckets = Buckets([0, 1200])
    limiter = SubmitLimiter(buckets)
    client = Client("acme", False, 2.0, 3)
    limiter.check(client)
    with pytest.raises(RateLimited) as raised:
        limiter.check(client)
    assert raised.value.retry_after_s == 2 and raised.value.headers == {"Retry-After": "2"}
    assert raised.value.http_status == 429 and buckets.calls == [("acme", 2.0, 3)] * 2
    limiter.check(None)  # access control off: nothing to limit
    assert retry_after_s(1) == 1 and retry_after_s(0) == 1


def with_context(context, path="/api/queue"):
    event = http_event("GET", path)
    event["requestContext"]["authorizer"] = {"lambda": context}
    return event


def test_a_function_refuses_what_the_authorizer_could_not_admit_in_the_error_shape():
    for reason in ("missing", "invalid"):
        response = refusal(with_context({"clientId": "", "reason": reason}))
        assert response.status_code == 401 and json.loads(response.body)["error"]["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    down = refusal(with_context({"clientId": "", "reason": "postgresql"}))
    assert down.status_code == 503 and json.loads(down.body)["error"]["code"] == "database_unavailable"


def test_operator_routes_want_an_operator_key_and_operators_read_every_clients_orders():
    plain = Client("acme", False, 1, 1).to_context()
    operator = Client("ops", True, 1, 1).to_context()
    forbidden = refusal(with_context(plain, "/api/operator/dead-letters"))
    assert forbidden.status_code == 403 and json.loads(forbidden.body)["error"]["code"] == "forbidden"
    assert refusal(with_context(operator, "/api/operator/dead-letters")) is None
    assert caller(with_context(plain)).reads_as == "acme" and caller(with_context(operator)).reads_as is None


def test_without_an_authorizer_context_nothing_is_refused_and_there_is_no_caller():
    event = http_event("GET", "/api/health")
    assert refusal(event) is None and caller(event) is None


def test_with_redis_down_a_submit_is_not_refused_by_its_rate_limit():
    class Down:
        def take(self, *_):
            raise DependencyUnavailable("redis")

    SubmitLimiter(Down()).check(Client("acme", False, 1, 1))  # no exception: the order is still accepted
