"""The orders and order_events tables: inserting a new order (idempotently), reading one with its timeline, paging
the history, and an operator's retry of a failed order. The executor's status changes belong to its batched writer
(adapters/postgres/transition_writes.py)."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import orjson

from order_engine.domain.lifecycle import Status
from order_engine.domain.triggers import Trigger
from order_engine.domain.prices import price_text
from order_engine.domain.order import HistoryPosition, Order, OrderEvent, OrderRequest, pending_detail
from order_engine.domain.slippage import SlippageBounds
from order_engine.ports import Inserted
from order_engine.adapters.postgres.database import Database

ORDER_COLUMNS = (
    "id, status, token_in, token_out, amount_in, slippage_bps, order_type, attempts, seq, created_at, updated_at,"
    " client_order_id, dex, executed_price, amount_out, min_amount_out, tx_hash, error, completed_at, limit_price,"
    " expires_at, max_price, correlation_id, quote, dynamic_slippage"
)

# A market order is created pending; a limit or sniper order waiting, with the trigger its Redis book is rebuilt
# from (the waiting columns are NULL for a market order).
_INSERT = """
WITH inserted AS (
    INSERT INTO orders (id, status, order_type, token_in, token_out, amount_in, slippage_bps, client_order_id,
                        idempotency_key, request_hash, limit_price, expires_at, waiting_trigger, max_price,
                        correlation_id, client_id, quote, dynamic_slippage)
    VALUES (:id, :status, :order_type, :token_in, :token_out, :amount_in, :slippage_bps, :client_order_id,
            :idempotency_key, :request_hash, CAST(:limit_price AS numeric), CAST(:expires_at AS timestamptz),
            CAST(:trigger AS jsonb), CAST(:max_price AS numeric), :correlation_id, :client_id, CAST(:quote AS jsonb),
            CAST(:dynamic_slippage AS jsonb))
    ON CONFLICT (client_id, idempotency_key) DO NOTHING
    RETURNING id, status, created_at
), first_event AS (
    INSERT INTO order_events (order_id, seq, status, attempt, at, detail)
    SELECT id, 1, status, 0, created_at, CAST(:detail AS jsonb) FROM inserted
)
SELECT created_at FROM inserted
"""


# Conditional like every transition (the status and seq the caller saw; the trigger checks the pair): the order
# starts over from pending with its outcome cleared, and the event says what it was retried from.
_RETRY = """
WITH moved AS (
    UPDATE orders
       SET status = :to_status, seq = seq + 1, attempts = 0, dex = NULL, executed_price = NULL, amount_out = NULL,
           min_amount_out = NULL, tx_hash = NULL, error = NULL, completed_at = NULL, updated_at = now()
     WHERE id = CAST(:id AS uuid) AND status = :from_status AND seq = :seq
 RETURNING id, seq, updated_at
), logged AS (
    INSERT INTO order_events (order_id, seq, status, attempt, at, detail)
    SELECT id, seq, :to_status, 0, updated_at, CAST(:detail AS jsonb) FROM moved
    RETURNING order_id
)
SELECT count(*) FROM logged
"""


# One round trip for `GET /api/orders/{id}`: the order's row and its timeline as one JSON array built by PostgreSQL
# ([seq, status, attempt, at, detail] per event), which costs far less to parse than a row per event through pg8000.
_ORDER_WITH_EVENTS = f"""
SELECT {ORDER_COLUMNS},
       (SELECT json_agg(json_build_array(e.seq, e.status, e.attempt, e.at, e.detail) ORDER BY e.seq)::text
          FROM order_events e WHERE e.order_id = o.id)
  FROM orders o WHERE o.id = CAST(:id AS uuid)"""


def row_to_order(row: list[Any]) -> Order:
    (oid, status, token_in, token_out, amount_in, slippage, order_type, attempts, seq, created_at, updated_at,
     client_order_id, dex, executed_price, amount_out, min_amount_out, tx_hash, error, completed_at, limit_price,
     expires_at, max_price, correlation_id, quote, dynamic_slippage) = row
    return Order(
        id=str(oid), status=Status(status), token_in_mint=token_in, token_out_mint=token_out, amount_in=int(amount_in),
        slippage_bps=slippage, order_type=order_type, attempts=attempts, seq=seq, created_at=created_at,
        updated_at=updated_at, client_order_id=client_order_id, dex=dex,
        executed_price=None if executed_price is None else format(executed_price, "f"),
        amount_out=amount_out, min_amount_out=min_amount_out, tx_hash=tx_hash, error=error, completed_at=completed_at,
        limit_price=None if limit_price is None else format(limit_price.normalize(), "f"), expires_at=expires_at,
        max_price=None if max_price is None else format(max_price.normalize(), "f"),
        correlation_id=correlation_id,
        quote=_json(quote), dynamic_slippage=_bounds(_json(dynamic_slippage)),
    )


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _bounds(value: dict[str, int] | None) -> SlippageBounds | None:
    return None if value is None else SlippageBounds(int(value["minBps"]), int(value["maxBps"]))


def row_to_event(row: list[Any]) -> OrderEvent:
    order_id, seq, status, attempt, at, detail = row
    if isinstance(detail, str):
        detail = json.loads(detail)
    return OrderEvent(order_id=str(order_id), seq=seq, status=Status(status), attempt=attempt, at=at, detail=detail or {})


def _json_events(order_id: str, events_json: str | None) -> list[OrderEvent]:
    events = []
    for seq, status, attempt, at, detail in orjson.loads(events_json) if events_json else ():
        # JSON's timestamps are ISO 8601 with the session's offset, as the timestamptz columns are read
        events.append(OrderEvent(order_id=order_id, seq=seq, status=Status(status), attempt=attempt,
                                 at=datetime.fromisoformat(at),
                                 detail=detail or {}))
    return events


class OrderRepository:
    def __init__(self, db: Database):
        self.db = db

    def insert(self, order_id: str, request: OrderRequest, idempotency_key: str | None,
               trigger: Trigger | None = None, correlation_id: str | None = None, client_id: str = "") -> Inserted:
        """Write the order and its first event in one statement, or find the order its idempotency key made.
        With a `trigger` the order is created waiting for it (a limit or sniper order)."""
        waiting = trigger is not None and request.expires_at is not None
        limit_price = None if request.limit is None else format(request.limit.limit_price.normalize(), "f")
        max_price = None if request.sniper is None else price_text(request.sniper.max_price)
        status = Status.WAITING if waiting else Status.PENDING
        rows = self.db.run(
            _INSERT,
            status=str(status),
            limit_price=limit_price if waiting else None,
            max_price=max_price if waiting else None,
            expires_at=request.expires_at.isoformat() if waiting else None,
            trigger=json.dumps(trigger.to_json()) if waiting else None,
            id=order_id,
            order_type=request.order_type,
            token_in=request.token_in.mint,
            token_out=request.token_out.mint,
            amount_in=request.amount_in,
            slippage_bps=request.slippage_bps,
            client_order_id=request.client_order_id,
            idempotency_key=idempotency_key,
            client_id=client_id,
            request_hash=request.fingerprint(),
            correlation_id=correlation_id,
            detail=json.dumps(pending_detail(request)),
            quote=None if request.quote is None else json.dumps(request.quote.to_record()),
            dynamic_slippage=None if request.dynamic_slippage is None else json.dumps(request.dynamic_slippage.to_api()),
        )
        if rows:
            created_at = rows[0][0]
            order = Order(
                id=order_id, status=status, token_in_mint=request.token_in.mint,
                token_out_mint=request.token_out.mint, amount_in=request.amount_in, slippage_bps=request.slippage_bps,
                order_type=request.order_type, attempts=0, seq=1, created_at=created_at, updated_at=created_at,
                client_order_id=request.client_order_id, correlation_id=correlation_id,
                limit_price=limit_price if waiting else None, max_price=max_price if waiting else None,
                expires_at=request.expires_at if waiting else None, dynamic_slippage=request.dynamic_slippage,
                quote=None if request.quote is None else request.quote.to_record(),
            )
            return Inserted(order, created=True, same_request=True)
        existing = self.db.run(
            f"SELECT {ORDER_COLUMNS}, request_hash FROM orders WHERE client_id = :c AND idempotency_key = :k",
            c=client_id, k=idempotency_key,
        )
        *order_row, request_hash = existing[0]
        return Inserted(row_to_order(order_row), created=False, same_request=request_hash == request.fingerprint())

    def get(self, order_id: str, client_id: str | None = None) -> Order | None:
        """The order; with `client_id`, only when that client submitted it."""
        if client_id is None:
            rows = self.db.run(f"SELECT {ORDER_COLUMNS} FROM orders WHERE id = CAST(:id AS uuid)", id=order_id)
        else:
            rows = self.db.run(f"SELECT {ORDER_COLUMNS} FROM orders WHERE id = CAST(:id AS uuid) AND client_id = :c",
                               id=order_id, c=client_id)
        return row_to_order(rows[0]) if rows else None

    def get_with_events(self, order_id: str, client_id: str | None = None) -> tuple[Order, list[OrderEvent]] | None:
        """The order and its whole timeline in seq order, read in one statement (one snapshot); with `client_id`,
        only when that client submitted it."""
        if client_id is None:
            rows = self.db.run(_ORDER_WITH_EVENTS, id=order_id)
        else:
            rows = self.db.run(_ORDER_WITH_EVENTS + " AND o.client_id = :c", id=order_id, c=client_id)
        if not rows:
            return None
        *order_row, events_json = rows[0]
        order = row_to_order(order_row)
        return order, _json_events(order.id, events_json)

    def owner(self, order_id: str) -> str | None:
        rows = self.db.run("SELECT client_id FROM orders WHERE id = CAST(:id AS uuid)", id=order_id)
        return rows[0][0] if rows else None

    def events(self, order_id: str, after_seq: int = 0) -> list[OrderEvent]:
        rows = self.db.run(
            "SELECT order_id, seq, status, attempt, at, detail FROM order_events"
            " WHERE order_id = CAST(:id AS uuid) AND seq > :after ORDER BY seq",
            id=order_id, after=after_seq,
        )
        return [row_to_event(r) for r in rows]

    def history(
        self, limit: int, after: HistoryPosition | None = None, status: Status | None = None, mint: str | None = None,
        client_order_id: str | None = None, client_id: str | None = None,
    ) -> list[Order]:
        """Newest first; `after` continues below a position taken from the previous page's last order."""
        where, params = [], {"limit": limit}
        if after is not None:
            where.append("(created_at, id) < (:after_at, CAST(:after_id AS uuid))")
            params.update(after_at=after.created_at, after_id=after.order_id)
        if status is not None:
            where.append("status = :status")
            params["status"] = str(status)
        if mint is not None:
            where.append("(token_in = :mint OR token_out = :mint)")
            params["mint"] = mint
        if client_order_id is not None:
            where.append("client_order_id = :client_order_id")
            params["client_order_id"] = client_order_id
        if client_id is not None:
            where.append("client_id = :client_id")
            params["client_id"] = client_id
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self.db.run(
            f"SELECT {ORDER_COLUMNS} FROM orders {clause} ORDER BY created_at DESC, id DESC LIMIT :limit", **params
        )
        return [row_to_order(r) for r in rows]

    def retry(self, order: Order, to_status: Status, detail: dict[str, Any]) -> bool:
        """Move `order` (as the caller read it) to `to_status` with a new event; False when it changed meanwhile."""
        rows = self.db.run(_RETRY, id=order.id, from_status=str(order.status), seq=order.seq,
                           to_status=str(to_status), detail=json.dumps(detail))
        return bool(rows and rows[0][0])

    def ping(self) -> None:
        self.db.ping()

    def count_by_status(self, client_id: str | None = None) -> dict[str, int]:
        if client_id is None:
            rows = self.db.run("SELECT status, count(*) FROM orders GROUP BY status")
        else:
            rows = self.db.run("SELECT status, count(*) FROM orders WHERE client_id = :c GROUP BY status", c=client_id)
        return {status: count for status, count in rows}
