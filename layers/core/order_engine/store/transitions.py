"""The executor's PostgreSQL: group-committed status changes, batched loads, and the reconciler's query.

pg8000 is synchronous, so each `PgWorker` owns one connection and one thread; the asyncio executor hands it
whole batches. A batch of transitions is ONE statement: a conditional UPDATE of every order in it (`status`
and `seq` as the executor last saw them) whose RETURNING feeds the INSERT of their events. A transition is
durable, or known to have lost its race, when `write` returns; nothing is acknowledged before.
"""
from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

import orjson
import pg8000.native

from order_engine.domain.lifecycle import TERMINAL, Status
from order_engine.domain.orders import Order
from order_engine.domain.transition import Transition
from order_engine.store.orders import ORDER_COLUMNS, row_to_order
from order_engine.store.postgres import Database

logger = logging.getLogger(__name__)

_WRITE = """
WITH v AS (
    SELECT * FROM jsonb_to_recordset(CAST(:batch AS jsonb)) AS v(
        id uuid, from_status text, from_seq integer, to_status text, attempts integer, slippage_bps integer, dex text,
        executed_price numeric, amount_out bigint, min_amount_out bigint, tx_hash text, error text,
        at timestamptz, completed boolean, detail jsonb)
), moved AS (
    UPDATE orders o
       SET status = v.to_status, seq = o.seq + 1, attempts = v.attempts, slippage_bps = v.slippage_bps, dex = v.dex,
           executed_price = v.executed_price, amount_out = v.amount_out, min_amount_out = v.min_amount_out,
           tx_hash = v.tx_hash, error = v.error, updated_at = v.at,
           completed_at = CASE WHEN v.completed THEN v.at ELSE o.completed_at END
      FROM v
     WHERE o.id = v.id AND o.status = v.from_status AND o.seq = v.from_seq
 RETURNING o.id, o.seq, v.to_status, v.attempts, v.at, v.detail
), logged AS (
    INSERT INTO order_events (order_id, seq, status, attempt, at, detail)
    SELECT id, seq, to_status, attempts, at, detail FROM moved
    RETURNING order_id
)
SELECT CAST(order_id AS text) FROM logged
"""

_LOAD = f"""
SELECT {ORDER_COLUMNS} FROM orders
 WHERE id IN (SELECT CAST(jsonb_array_elements_text(CAST(:ids AS jsonb)) AS uuid))
"""

_TERMINAL = ", ".join(f"'{status}'" for status in sorted(TERMINAL))
_SENT = f"'{Status.BUILDING}', '{Status.SUBMITTED}'"
_UNFINISHED = f"""
SELECT CAST(id AS text) FROM orders
 WHERE completed_at IS NULL AND status NOT IN ({_TERMINAL})
   AND updated_at < now() - make_interval(secs => :grace_s)
 ORDER BY created_at LIMIT :limit
"""


def _row(t: Transition) -> dict[str, Any]:
    after = t.after()
    return {
        "id": after.id, "from_status": str(t.order.status), "from_seq": t.order.seq, "to_status": str(t.to),
        "attempts": after.attempts, "slippage_bps": after.slippage_bps, "dex": after.dex, "executed_price": after.executed_price,
        "amount_out": after.amount_out, "min_amount_out": after.min_amount_out, "tx_hash": after.tx_hash,
        "error": after.error, "at": t.at.isoformat(), "completed": t.terminal, "detail": t.detail,
    }


class PgWorker:
    """One pg8000 connection driven from one thread, awaited from asyncio."""

    def __init__(self, database_url: str, schema: str, name: str):
        self.db = Database(database_url, schema)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    async def call(self, fn, *args):  # noqa: ANN001 - any function taking the Database first
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, self.db, *args)

    def close(self) -> None:
        self._thread.shutdown(wait=True)
        self.db.close()


class PgTransitionWriter:
    """The executor's `TransitionWriter`: one connection of its own, one batch statement at a time."""

    def __init__(self, worker: PgWorker):
        self.worker = worker

    async def write(self, batch: Sequence[Transition]) -> list[bool]:
        return await self.worker.call(write_transitions, batch)

    def close(self) -> None:
        self.worker.close()


class PgOrderReader:
    """The executor's `OrderReader`: batched loads, the recovery's last sent transaction, the reconciler's query."""

    def __init__(self, worker: PgWorker):
        self.worker = worker

    async def load(self, ids: Sequence[str]) -> dict[str, Order]:
        return await self.worker.call(load_orders, ids)

    async def last_sent(self, order_id: str) -> dict[str, Any]:
        return await self.worker.call(last_sent_detail, order_id)

    async def unfinished(self, grace_ms: int) -> list[str]:
        return await self.worker.call(unfinished_order_ids, grace_ms)

    def close(self) -> None:
        self.worker.close()


def write_transitions(db: Database, batch: Sequence[Transition]) -> list[bool]:
    """Store every transition whose order is still as it was seen; True for those stored."""
    if not batch:
        return []
    try:
        rows = orjson.dumps([_row(t) for t in batch], default=str).decode()
        stored = {row[0] for row in db.run(_WRITE, batch=rows)}
    except pg8000.native.DatabaseError:
        if len(batch) == 1:
            raise
        # One bad row (a rule the database enforces) must not sink the others: isolate it.
        logger.warning("a transition batch was refused; writing its %d transitions one by one", len(batch))
        return [_write_one_or_false(db, t) for t in batch]
    return [t.order.id in stored for t in batch]


def _write_one_or_false(db: Database, t: Transition) -> bool:
    try:
        return write_transitions(db, [t])[0]
    except pg8000.native.DatabaseError:
        logger.exception("transition refused by the database", extra={"order_id": t.order.id, "to": str(t.to)})
        return False


def load_orders(db: Database, ids: Sequence[str]) -> dict[str, Order]:
    if not ids:
        return {}
    rows = db.run(_LOAD, ids=json.dumps(list(ids)))
    return {order.id: order for order in map(row_to_order, rows)}


def unfinished_order_ids(db: Database, grace_ms: int, limit: int = 10_000) -> list[str]:
    """Unfinished orders nobody has moved for `grace_ms` (so a submit still pushing its id is not counted)."""
    return [row[0] for row in db.run(_UNFINISHED, grace_s=grace_ms / 1000, limit=limit)]


def last_sent_detail(db: Database, order_id: str) -> dict[str, Any]:
    """The detail of the order's latest building event: the signed transaction it may have sent (its signature,
    blockhash and expiry, route legs, minimum output), which a recovery sends again rather than wait out."""
    rows = db.run(
        f"SELECT detail FROM order_events WHERE order_id = CAST(:id AS uuid) AND status = '{Status.BUILDING}'"
        " ORDER BY seq DESC LIMIT 1", id=order_id)
    if not rows:
        return {}
    detail = rows[0][0]
    return json.loads(detail) if isinstance(detail, str) else dict(detail or {})
