"""What the browser tests share besides fixtures: viewport sizes, and the stack-side actions a test takes."""
from __future__ import annotations

import json
import urllib.request

from e2e.conftest import StackProcess

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def restart_websocket_gateway(stack: StackProcess, down_seconds: float) -> None:
    request = urllib.request.Request(f"{stack.lambda_url}/local/websocket/restart?downSeconds={down_seconds}",
                                     method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202


def stall_into_dead_letters(stack: StackProcess, client_order_id: str) -> str:
    """An order in the state the executor's sweeper leaves one that stalled too often: durable in PostgreSQL,
    unfinished, off the queue and on the dead letters (written through the adapters, as test setup)."""
    import uuid

    from order_engine.domain.order import parse_order_request
    from order_engine.adapters.redis.key_scheme import KeyScheme
    from order_engine.adapters.postgres.order_repository import OrderRepository
    from order_engine.adapters.postgres.database import Database
    from order_engine.adapters.redis.connect import sync_client

    order_id = str(uuid.uuid4())
    request = parse_order_request({"tokenIn": "SOL", "tokenOut": "USDC", "amount": "0.4",
                                   "clientOrderId": client_order_id}, default_slippage_bps=50, max_slippage_bps=5000)
    db = Database(stack.env["DATABASE_URL"], "public")
    try:
        OrderRepository(db).insert(order_id, request, None)
    finally:
        db.close()
    keys, redis = KeyScheme(stack.env["KEY_PREFIX"]), sync_client(stack.env["REDIS_URL"])
    redis.sadd(keys.dead_ids, order_id)
    redis.lpush(keys.dead, json.dumps({"entry": order_id, "orderId": order_id, "at": "2026-12-01T15:00:00Z",
                                       "reason": "stalled 4 times: its executor stopped (crash or timeout) while working on it"}))
    return order_id


def insert_waiting(stack: StackProcess, client_order_id: str) -> str:
    """A limit order waiting for its price, as the limit intake stores it (test setup through the adapters'
    database; its watcher never triggers it here)."""
    import uuid

    from order_engine.domain.tokens import resolve_token
    from order_engine.adapters.postgres.database import Database

    order_id = str(uuid.uuid4())
    db = Database(stack.env["DATABASE_URL"], "public")
    try:
        db.run("INSERT INTO orders (id, status, order_type, token_in, token_out, amount_in, slippage_bps,"
               " client_order_id, request_hash) VALUES (CAST(:id AS uuid), 'waiting', 'limit', :a, :b, 400000000, 50,"
               " :ref, :id)", id=order_id, ref=client_order_id,
               a=resolve_token("tokenIn", "SOL").mint, b=resolve_token("tokenOut", "USDC").mint)
        db.run("INSERT INTO order_events (order_id, seq, status) VALUES (CAST(:id AS uuid), 1, 'waiting')", id=order_id)
    finally:
        db.close()
    return order_id


def advance(stack: StackProcess, order_id: str, *statuses: str) -> None:
    """Move an order through `statuses` as its watcher and the executor would (conditional, with an event each)."""
    from order_engine.domain.lifecycle import Status
    from order_engine.domain.transition import Transition
    from order_engine.adapters.postgres.order_repository import OrderRepository
    from order_engine.adapters.postgres.database import Database
    from order_engine.adapters.postgres.transition_writes import write_transitions

    db = Database(stack.env["DATABASE_URL"], "public")
    try:
        for status in statuses:
            assert write_transitions(db, [Transition(OrderRepository(db).get(order_id), Status(status))]) == [True]
    finally:
        db.close()
