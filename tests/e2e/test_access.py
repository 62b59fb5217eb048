"""Access control through the local gateway, as API Gateway runs it: the HTTP API's Lambda authorizer and the
WebSocket API's $connect authorizer, keys made and revoked with the admin command (python -m local.key_admin)."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid

import aiohttp
import pytest
import requests

pytestmark = pytest.mark.e2e
ORDER = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1}
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def keys_command(stack, *args: str) -> list[dict]:
    env = {**os.environ, "DATABASE_URL": stack.env["DATABASE_URL"]}
    run = subprocess.run([sys.executable, "-m", "local.key_admin", *args], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return [json.loads(line) for line in run.stdout.splitlines() if line.strip()]


def new_key(stack, *args: str) -> str:
    return keys_command(stack, "create", "--client", f"c-{uuid.uuid4().hex[:8]}", *args)[0]["apiKey"]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_unauthorized(response) -> None:
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "unauthorized" and error["details"][0]["field"] == "Authorization"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def ws_status(stack, *, query: str = "", headers: dict[str, str] | None = None) -> int:
    """101 when the handshake completes, else the status it was refused with."""
    async def attempt() -> int:
        async with aiohttp.ClientSession() as session:
            try:
                async with session.ws_connect(stack.ws_url + query, headers=headers) as ws:
                    await ws.send_json({"action": "ping"})
                    assert json.loads((await ws.receive(timeout=10)).data)["type"] == "pong"
                    return 101
            except aiohttp.WSServerHandshakeError as exc:
                return exc.status
    return asyncio.run(attempt())


def test_without_a_key_every_route_but_the_open_ones_is_401_in_the_error_shape(local_stack):
    base = local_stack.http_url
    assert_unauthorized(requests.post(f"{base}/api/orders/execute", json=ORDER, timeout=30))
    assert_unauthorized(requests.get(f"{base}/api/orders/history", timeout=30))
    assert_unauthorized(requests.get(f"{base}/api/orders/{uuid.uuid4()}", timeout=30))
    assert_unauthorized(requests.get(f"{base}/api/queue", timeout=30))
    assert_unauthorized(requests.get(f"{base}/api/operator/dead-letters", timeout=30))
    assert_unauthorized(requests.get(f"{base}/api/queue", headers=bearer("oek_" + "A" * 43), timeout=30))
    assert_unauthorized(requests.get(f"{base}/api/queue", headers={"x-api-key": "not-a-key"}, timeout=30))
    for path in ("/api/health", "/", "/api/config", "/api/openapi.json"):
        assert requests.get(base + path, timeout=30).status_code == 200, path
    assert ws_status(local_stack) == 401
    assert ws_status(local_stack, query="?apiKey=oek_" + "A" * 43) == 401


def test_a_key_works_in_either_header_and_on_the_websocket_as_query_or_header(local_stack):
    key = new_key(local_stack)
    assert requests.get(f"{local_stack.http_url}/api/queue", headers=bearer(key), timeout=30).status_code == 200
    assert requests.get(f"{local_stack.http_url}/api/queue", headers={"x-api-key": key}, timeout=30).status_code == 200
    assert ws_status(local_stack, query=f"?apiKey={key}") == 101
    assert ws_status(local_stack, headers={"x-api-key": key}) == 101


def test_a_client_cannot_read_list_or_subscribe_to_another_clients_orders(local_stack):
    base = local_stack.http_url
    a, b = new_key(local_stack), new_key(local_stack)
    submitted = requests.post(f"{base}/api/orders/execute", json=ORDER, headers=bearer(a), timeout=30)
    assert submitted.status_code == 202
    order_id = submitted.json()["orderId"]
    assert requests.get(f"{base}/api/orders/{order_id}", headers=bearer(a), timeout=30).status_code == 200
    theirs = requests.get(f"{base}/api/orders/{order_id}", headers=bearer(b), timeout=30)
    unknown = requests.get(f"{base}/api/orders/{uuid.uuid4()}", headers=bearer(b), timeout=30)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["error"]["code"] == unknown.json()["error"]["code"] == "order_not_found"
    listed_a = requests.get(f"{base}/api/orders/history?limit=500", headers=bearer(a), timeout=30).json()["orders"]
    listed_b = requests.get(f"{base}/api/orders/history?limit=500", headers=bearer(b), timeout=30).json()["orders"]
    assert [o["orderId"] for o in listed_a] == [order_id] and listed_b == []
    counts_b = requests.get(f"{base}/api/queue", headers=bearer(b), timeout=30).json()
    assert counts_b["confirmed"] + counts_b["failed"] + counts_b["unfinished"] == 0

    async def subscribe(key: str, target: str) -> dict:
        async with aiohttp.ClientSession() as session, session.ws_connect(f"{local_stack.ws_url}?apiKey={key}") as ws:
            await ws.send_json({"action": "subscribe", "orderId": target})
            while True:  # a live event of a running order may come before the acknowledgement
                frame = json.loads((await ws.receive(timeout=15)).data)
                if frame["type"] != "status":
                    return frame

    async def connect_status(key: str, target: str) -> int:
        async with aiohttp.ClientSession() as session:
            try:
                async with session.ws_connect(f"{local_stack.ws_url}?apiKey={key}&orderId={target}"):
                    return 101
            except aiohttp.WSServerHandshakeError as exc:
                return exc.status

    assert asyncio.run(subscribe(a, order_id))["type"] == "subscribed"
    theirs, unknown = asyncio.run(subscribe(b, order_id)), asyncio.run(subscribe(b, str(uuid.uuid4())))
    assert theirs["type"] == unknown["type"] == "error"
    assert theirs["code"] == unknown["code"] == "order_not_found"
    assert asyncio.run(connect_status(a, order_id)) == 101
    assert asyncio.run(connect_status(b, order_id)) == asyncio.run(connect_status(b, str(uuid.uuid4()))) == 404


def test_idempotency_keys_are_per_client(local_stack):
    base, a, b = local_stack.http_url, new_key(local_stack), new_key(local_stack)
    idem = {"Idempotency-Key": f"same-{uuid.uuid4().hex}"}
    first = requests.post(f"{base}/api/orders/execute", json=ORDER, headers={**bearer(a), **idem}, timeout=30)
    again = requests.post(f"{base}/api/orders/execute", json=ORDER, headers={**bearer(a), **idem}, timeout=30)
    other = requests.post(f"{base}/api/orders/execute", json=ORDER, headers={**bearer(b), **idem}, timeout=30)
    assert first.status_code == again.status_code == other.status_code == 202
    assert again.json()["orderId"] == first.json()["orderId"] and again.headers["Idempotent-Replayed"] == "true"
    assert other.json()["orderId"] != first.json()["orderId"] and "Idempotent-Replayed" not in other.headers


def test_a_burst_over_the_keys_limit_is_429_with_retry_after_and_the_bucket_refills(local_stack):
    key = new_key(local_stack, "--rate", "2", "--burst", "3")
    statuses, limited = [], None
    for _ in range(5):
        response = requests.post(f"{local_stack.http_url}/api/orders/execute", json=ORDER, headers=bearer(key),
                                 timeout=30)
        statuses.append(response.status_code)
        if response.status_code == 429:
            limited = response
    assert statuses[:3] == [202, 202, 202] and 429 in statuses[3:]
    assert limited.json()["error"]["code"] == "rate_limited"
    retry_after = int(limited.headers["Retry-After"])
    assert retry_after >= 1
    time.sleep(retry_after)
    assert requests.post(f"{local_stack.http_url}/api/orders/execute", json=ORDER, headers=bearer(key),
                         timeout=30).status_code == 202


@pytest.fixture(scope="module")
def short_cache_stack(start_engine):
    """The authorizers reuse a decision for 2 s, so a revocation shows within the test."""
    return start_engine(AUTH_CACHE_TTL_S="2")


def test_a_revoked_key_stops_working_within_the_cache_ttl_on_http_and_websocket(short_cache_stack):
    stack = short_cache_stack
    created = keys_command(stack, "create", "--client", "soon-revoked", "--label", "revocation test")[0]
    key = created["apiKey"]
    assert requests.get(f"{stack.http_url}/api/queue", headers=bearer(key), timeout=30).status_code == 200
    assert ws_status(stack, query=f"?apiKey={key}") == 101
    assert [r["keyId"] for r in keys_command(stack, "revoke", created["keyId"])] == [created["keyId"]]
    revoked_at = time.monotonic()
    while requests.get(f"{stack.http_url}/api/queue", headers=bearer(key), timeout=30).status_code == 200:
        assert time.monotonic() - revoked_at < 2 + 3, "the revoked key still works after the cache TTL"
        time.sleep(0.2)
    assert_unauthorized(requests.get(f"{stack.http_url}/api/queue", headers=bearer(key), timeout=30))
    # the WebSocket authorizer's decision was cached after the HTTP one's, so it may outlive it by that much
    while (status := ws_status(stack, query=f"?apiKey={key}")) == 101 and time.monotonic() - revoked_at < 2 + 3:
        time.sleep(0.2)
    assert status == 401, "the revoked key still opens a WebSocket after the cache TTL"
    listed = {r["keyId"]: r for r in keys_command(stack, "list", "--all")}
    assert listed[created["keyId"]]["revokedAt"] is not None and "apiKey" not in listed[created["keyId"]]


def test_the_load_generator_runs_with_auth_on(local_stack):
    key = new_key(local_stack, "--rate", "1000", "--burst", "1000")
    run = subprocess.run([sys.executable, "-m", "local.bench", "submit", "-n", "40", "-c", "4", "--warmup", "0",
                          "--no-cpu", "--json", "--url", local_stack.http_url, "--api-key", key],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert "accepted" in run.stdout and report, run.stdout
    assert '"accepted": 40' in run.stdout, run.stdout
