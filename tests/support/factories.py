"""Orders, and the states tests start from, written through the real adapters as submit, the executor and an
operator write them: OrderRepository (adapters/postgres/order_repository.py), the executor's transition writes
(adapters/postgres/transition_writes.py) and the Redis intake (adapters/redis/order_intake.py). A state no
adapter writes is a named statement in tests/support/sql.py."""
from __future__ import annotations

import uuid
from typing import Any

from order_engine.adapters.postgres.database import Database
from order_engine.adapters.postgres.order_repository import OrderRepository
from order_engine.adapters.postgres.transition_writes import write_transitions
from order_engine.adapters.redis.connect import sync_client
from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.redis.order_intake import RedisOrderIntake
from order_engine.config import Settings
from order_engine.domain.lifecycle import Status
from order_engine.domain.order import Order, OrderEvent, OrderRequest, parse_order_request, pending_detail
from order_engine.domain.transition import Transition

SOL_TO_USDC = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "0.5", "slippageBps": 100}


def order_request(body: dict[str, Any] = SOL_TO_USDC, s: Settings | None = None) -> OrderRequest:
    """The request submit parses from `body`, with the settings' slippage defaults."""
    s = s or Settings()
    return parse_order_request(body, default_slippage_bps=s.default_slippage_bps, max_slippage_bps=s.max_slippage_bps)


def submit_orders(s: Settings, db: Database, n: int, body: dict[str, Any] = SOL_TO_USDC, *, push: bool = True,
                  pushes: int = 1) -> list[str]:
    """Insert n orders (and their pending events) as submit does, and push each id `pushes` times."""
    repo, intake = OrderRepository(db), RedisOrderIntake(sync_client(s.redis_url), KeyScheme(s.key_prefix))
    request = order_request(body, s)
    ids = []
    for _ in range(n):
        order = repo.insert(str(uuid.uuid4()), request, None).order
        first = OrderEvent(order.id, 1, order.status, 0, order.created_at, pending_detail(request))
        for _ in range(pushes if push else 0):
            intake.enqueue(order.id, first.to_message())
        ids.append(order.id)
    return ids


def advance(db: Database, order_id: str, *statuses: str, detail: dict[str, Any] | None = None,
            **changes: Any) -> Order:
    """Move the order through `statuses` as its watcher and the executor do: one conditional write each (status and
    seq as read), with its event (`detail`) and column `changes` (attempts, error, ...); returns the order after."""
    repo = OrderRepository(db)
    for status in statuses:
        transition = Transition(repo.get(order_id), Status(status), detail=dict(detail or {}), changes=changes)
        assert write_transitions(db, [transition]) == [True], f"{order_id} moved meanwhile"
    return repo.get(order_id)


def fail(db: Database, order_id: str, error: str, attempts: int = 3) -> Order:
    """What the executor writes after its last attempt: failed, with the error and the attempts made."""
    return advance(db, order_id, "failed", detail={"error": error}, attempts=attempts, error=error)
