"""The waiting orders as PostgreSQL keeps them: what the Redis books are checked against and rebuilt from."""
from __future__ import annotations

import json
from typing import Any

from order_engine.domain.triggers import Trigger
from order_engine.adapters.postgres.database import Database
from order_engine.adapters.postgres.transition_writes import PgWorker

_WAITING = """
SELECT CAST(id AS text), waiting_trigger, CAST(extract(epoch FROM expires_at) * 1000 AS bigint) FROM orders
 WHERE completed_at IS NULL AND waiting_trigger IS NOT NULL
"""
_SETTLED_COUNT = """
SELECT count(*) FROM orders
 WHERE completed_at IS NULL AND waiting_trigger IS NOT NULL AND created_at < now() - make_interval(secs => :grace_s)
"""


def waiting_entries(db: Database) -> list[tuple[str, Trigger, int]]:
    def trigger(raw: Any) -> Trigger:
        return Trigger.from_json(json.loads(raw) if isinstance(raw, str) else raw)

    return [(order_id, trigger(raw), int(expires_ms)) for order_id, raw, expires_ms in db.run(_WAITING)]


def settled_waiting_count(db: Database, grace_ms: int) -> int:
    return int(db.run(_SETTLED_COUNT, grace_s=grace_ms / 1000)[0][0])


class PgWaitingOrders:
    """The executor's `WaitingOrders`, on a connection of its own."""

    def __init__(self, worker: PgWorker):
        self.worker = worker

    async def entries(self) -> list[tuple[str, Trigger, int]]:
        return await self.worker.call(waiting_entries)

    async def settled_count(self, grace_ms: int) -> int:
        return await self.worker.call(settled_waiting_count, grace_ms)

    def close(self) -> None:
        self.worker.close()
