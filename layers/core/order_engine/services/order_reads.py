"""Reading orders: one with its timeline, the history in pages, the queue's counts, and the engine's health."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from order_engine.config import Settings
from order_engine.domain.lifecycle import HELD, TERMINAL, Status
from order_engine.domain.order import ORDER_ID_PATTERN, HistoryPosition, Order, parse_client_order_id
from order_engine.domain.tokens import resolve_token
from order_engine.errors import EngineError, ErrorCode, InvalidField
from order_engine.ports import Intake, OrderStore
from order_engine.services import cursor as cursors
_ORDER_ID = re.compile(ORDER_ID_PATTERN)


def parse_order_id(value: str) -> str:
    """The canonical (lower-case) form of an order id given as 8-4-4-4-12 hex digits; `uuid.UUID` alone would also
    take braces, a `urn:uuid:` prefix or no hyphens, which the document's `format: uuid` does not."""
    if isinstance(value, str) and _ORDER_ID.fullmatch(value):
        return str(uuid.UUID(value))
    raise EngineError(
        "orderId must be a UUID such as 3f0c7d9e-0a8b-4c1d-9e2f-5a6b7c8d9e0f.",
        [{"field": "orderId", "rule": "uuid", "message": "orderId must be a UUID."}],
        code=ErrorCode.INVALID_ORDER_ID,
    )


@dataclass(frozen=True)
class HistoryPage:
    orders: list[dict[str, Any]]
    next_cursor: str | None


class OrderQueries:
    def __init__(self, settings: Settings, orders: OrderStore, intake: Intake):
        self.settings, self.orders, self.intake = settings, orders, intake

    # client_id: the caller's; its reads see only its own orders (another client's is "no such order", so ids
    # cannot be probed). None: access control is off, every order is visible.
    def get(self, order_id: str, client_id: str | None = None) -> dict[str, Any]:
        order_id = parse_order_id(order_id)
        found = self.orders.get_with_events(order_id, client_id)
        if found is None:
            raise EngineError(f"No order has id {order_id}.", code=ErrorCode.ORDER_NOT_FOUND)
        order, events = found
        return {**order.to_api(), "events": [e.to_api() for e in events]}

    def order(self, order_id: str, client_id: str | None = None) -> Order:
        """The order a caller names (cancel): 400 for a malformed id, 404 for one there is no such order (or one
        of another client's)."""
        order_id = parse_order_id(order_id)
        order = self.orders.get(order_id, client_id)
        if order is None:
            raise EngineError(f"No order has id {order_id}.", code=ErrorCode.ORDER_NOT_FOUND)
        return order

    def history(self, limit: int | None, cursor: str | None, status: str | None, token: str | None,
                client_order_id: str | None = None, client_id: str | None = None) -> HistoryPage:
        s = self.settings
        limit = s.history_default_limit if limit is None else limit
        if not 1 <= limit <= s.history_max_limit:
            raise InvalidField("limit", "range", f"limit must be between 1 and {s.history_max_limit}.")
        if status is not None and status not in set(Status):
            raise InvalidField("status", "enum", f"status must be one of: {', '.join(Status)}.")
        mint = resolve_token("token", token).mint if token is not None else None
        client_order_id = parse_client_order_id(client_order_id)
        after = cursors.decode(cursor, s.cursor_secret) if cursor else None
        page = self.orders.history(limit + 1, after, Status(status) if status else None, mint, client_order_id,
                                   client_id)
        more, page = len(page) > limit, page[:limit]
        next_cursor = (
            cursors.encode(HistoryPosition(page[-1].created_at, page[-1].id), s.cursor_secret) if more else None
        )
        return HistoryPage([o.to_api() for o in page], next_cursor)

    def queue_stats(self, client_id: str | None = None) -> dict[str, Any]:
        """{ready, inFlight, delayed, deadLettered, peakInFlight} from the queue (the engine's load, which names no
        order), then the counts of each terminal status, of waiting (held) orders and of all unfinished ones from
        the durable store: the caller's own orders when `client_id` is given. Raises DependencyUnavailable naming
        whichever does not answer."""
        counts: dict[str, Any] = self.intake.counts()
        by_status = self.orders.count_by_status(client_id)
        for status in sorted(TERMINAL | HELD):
            counts[str(status)] = by_status.get(status, 0)
        counts["unfinished"] = sum(n for status, n in by_status.items() if status not in TERMINAL)
        return counts

    def health(self) -> dict[str, Any]:
        """Raises DependencyUnavailable naming the first dependency that does not answer."""
        checks = {}
        for name, ping in (("postgresql", self.orders.ping), ("redis", self.intake.ping)):
            ping()
            checks[name] = "ok"
        return {"status": "ok", "checks": checks}
