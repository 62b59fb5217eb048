"""Queue and engine statistics for operators and the page (GET /api/queue)."""
from __future__ import annotations

from typing import Any

from order_engine.config import Settings
from order_engine.store.keys import Keys
from order_engine.store.orders import OrderRepository
from order_engine.store.postgres import Database
from order_engine.store.queue import queue_counts
from order_engine.store.redis_client import redis_errors, sync_client


def read(s: Settings, db: Database | None = None) -> dict[str, Any]:
    """{ready, inFlight, delayed, deadLettered, peakInFlight} from Redis and {confirmed, failed} from PostgreSQL.

    Raises DependencyUnavailable naming whichever of the two does not answer.
    """
    with redis_errors():
        counts: dict[str, Any] = queue_counts(sync_client(s.redis_url), Keys(s.key_prefix))
    own_db = db is None
    db = db or Database(s.database_url, s.database_schema)
    try:
        by_status = OrderRepository(db).count_by_status()
    finally:
        if own_db:
            db.close()
    counts["confirmed"] = by_status.get("confirmed", 0)
    counts["failed"] = by_status.get("failed", 0)
    counts["unfinished"] = sum(n for status, n in by_status.items() if status not in ("confirmed", "failed"))
    return counts
