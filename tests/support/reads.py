"""What PostgreSQL holds about orders, read back through the adapter's own reads (OrderRepository), as the
API reads it: an order, its status, its timeline, the counts by status."""
from __future__ import annotations

from collections import Counter
from typing import Any

from order_engine.adapters.postgres.database import Database
from order_engine.adapters.postgres.order_repository import OrderRepository
from order_engine.domain.order import Order


def order_of(db: Database, order_id: str) -> Order:
    """The stored order (it must exist)."""
    order = OrderRepository(db).get(order_id)
    assert order is not None, f"no order {order_id}"
    return order


def status_of(db: Database, order_id: str) -> str:
    return str(order_of(db, order_id).status)


def statuses(db: Database) -> Counter:
    """How many orders there are in each status."""
    return Counter(OrderRepository(db).count_by_status())


def order_count(db: Database, client_id: str | None = None) -> int:
    """Every order stored (with `client_id`: that client's)."""
    return sum(OrderRepository(db).count_by_status(client_id).values())


def timeline(db: Database, order_id: str) -> list[tuple[int, str, int, dict[str, Any]]]:
    """The order's events in seq order: (seq, status, attempt, detail)."""
    return [(e.seq, str(e.status), e.attempt, e.detail) for e in OrderRepository(db).events(order_id)]
