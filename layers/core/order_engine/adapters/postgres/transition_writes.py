"""The executor's PostgreSQL: group-committed status changes, batched loads, and the reconciler's query.

pg8000 is synchronous, so each `PgWorker` owns one connection and one thread; the asyncio executor hands it
whole batches. A batch of transitions is ONE statement: a conditional UPDATE of every order in it (`status`
and `seq` as the executor last saw them) whose RETURNING feeds the INSERT of their events. Consecutive
transitions of one order in a batch (a step that rode with the next one, e.g. routing with building) are one
row: the UPDATE moves the order to the last status through the others (`via`, which the database's transition
guard checks hop by hop and never stores) and the INSERT writes one event per step, so the chain is stored
whole or not at all. A transition is durable, or known to have lost its race, when `write` returns; nothing is
acknowledged before.
"""
from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

import orjson
import pg8000.native

from order_engine.domain.lifecycle import QUEUED, Status
from order_engine.domain.order import Order
from order_engine.domain.transition import Transition
from order_engine.adapters.postgres.order_repository import ORDER_COLUMNS, row_to_order
from order_engine.adapters.postgres.database import Database

logger = logging.getLogger(__name__)

# The batch's ids as a uuid[] (`= ANY`) so the orders are found through the primary key: joined only with
# jsonb_to_recordset (which the planner assumes returns 100 rows) or IN (jsonb_array_elements ...), the plan was a
# hash join over a sequential scan of the whole orders table, at every batch, costing more as the table grows.
_WRITE = """
WITH v AS (
    SELECT * FROM jsonb_to_recordset(CAST(:batch AS jsonb)) AS v(
        id uuid, from_status text, from_seq integer, to_status text, via text[], attempts integer, slippage_bps integer, dex text,
        executed_price numeric, amount_out bigint, min_amount_out bigint, tx_hash text, error text,
        at timestamptz, completed boolean, events jsonb)
), moved AS (
    UPDATE orders o
       SET status = v.to_status, via = v.via, seq = o.seq + jsonb_array_length(v.events), attempts = v.attempts,
           slippage_bps = v.slippage_bps, dex = v.dex, executed_price = v.executed_price, amount_out = v.amount_out,
           min_amount_out = v.min_amount_out, tx_hash = v.tx_hash, error = v.error, updated_at = v.at,
           waiting_trigger = NULL,
           completed_at = CASE WHEN v.completed THEN v.at ELSE o.completed_at END
      FROM v
     WHERE o.id = ANY(CAST(:ids AS uuid[])) AND o.id = v.id AND o.status = v.from_status AND o.seq = v.from_seq
 RETURNING o.id, v.events
), logged AS (
    INSERT INTO order_events (order_id, seq, status, attempt, at, detail)
    SELECT m.id, e.seq, e.status, e.attempt, e.at, e.detail
      FROM moved m, jsonb_to_recordset(m.events) AS e(seq integer, status text, attempt integer, at timestamptz,
                                                      detail jsonb)
    RETURNING order_id
)
SELECT DISTINCT CAST(order_id AS text) FROM logged
"""

_LOAD = f"""
SELECT {ORDER_COLUMNS} FROM orders
 WHERE id = ANY(CAST(:ids AS uuid[]))
"""

_QUEUED = ", ".join(f"'{status}'" for status in sorted(QUEUED))
_SENT = f"'{Status.BUILDING}', '{Status.SUBMITTED}'"
_UNFINISHED = f"""
SELECT CAST(id AS text) FROM orders
 WHERE completed_at IS NULL AND waiting_trigger IS NULL AND status IN ({_QUEUED})
   AND updated_at < now() - make_interval(secs => :grace_s)
 ORDER BY created_at LIMIT :limit
"""


def chains(batch: Sequence[Transition]) -> list[list[Transition]]:
    """Consecutive transitions of one order, each starting where the one before ends, as one chain."""
    grouped: list[list[Transition]] = []
    for t in batch:
        last = grouped[-1][-1] if grouped else None
        continues = last is not None and t.order.id == last.order.id and (t.order.status, t.order.seq) == (
            last.to, last.order.seq + 1)
        if continues:
            grouped[-1].append(t)
        else:
            grouped.append([t])
    return grouped


def _row(chain: Sequence[Transition]) -> dict[str, Any]:
    first, last = chain[0], chain[-1]
    after = last.after()
    return {
        "id": after.id, "from_status": str(first.order.status), "from_seq": first.order.seq,
        "to_status": str(last.to), "via": [str(t.to) for t in chain[:-1]] or None,
        "attempts": after.attempts, "slippage_bps": after.slippage_bps, "dex": after.dex,
        "executed_price": after.executed_price,
        "amount_out": after.amount_out, "min_amount_out": after.min_amount_out, "tx_hash": after.tx_hash,
        "error": after.error, "at": last.at.isoformat(), "completed": last.terminal,
        "events": [{"seq": t.order.seq + 1, "status": str(t.to), "attempt": t.after().attempts,
                    "at": t.at.isoformat(), "detail": t.detail} for t in chain],
    }


class PgWorker:
    """One pg8000 connection driven from one thread, awaited from asyncio."""

    def __init__(self, database_url: str, schema: str, name: str):
        self.db = Database(database_url, schema, generic_plans=True)
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
    """Store every transition whose order is still as it was seen; True for those stored. Consecutive
    transitions of one order are stored together or not at all (see `chains`)."""
    if not batch:
        return []
    grouped = chains(batch)
    try:
        stored = _write_chains(db, grouped)
    except pg8000.native.DatabaseError:
        if len(grouped) == 1:
            raise
        # One bad row (a rule the database enforces) must not sink the others: isolate it.
        logger.warning("a transition batch was refused; writing its %d chains one by one", len(grouped))
        stored = [_write_one_or_false(db, chain) for chain in grouped]
    return [ok for chain, ok in zip(grouped, stored) for _ in chain]


def _write_chains(db: Database, grouped: list[list[Transition]]) -> list[bool]:
    rows = orjson.dumps([_row(chain) for chain in grouped], default=str).decode()
    stored = {row[0] for row in db.run(_WRITE, batch=rows, ids=[chain[0].order.id for chain in grouped])}
    return [chain[0].order.id in stored for chain in grouped]


def _write_one_or_false(db: Database, chain: list[Transition]) -> bool:
    try:
        return _write_chains(db, [chain])[0]
    except pg8000.native.DatabaseError:
        logger.exception("transition refused by the database",
                         extra={"order_id": chain[0].order.id, "to": [str(t.to) for t in chain]})
        return False


def load_orders(db: Database, ids: Sequence[str]) -> dict[str, Order]:
    if not ids:
        return {}
    rows = db.run(_LOAD, ids=list(ids))
    return {order.id: order for order in map(row_to_order, rows)}


def unfinished_order_ids(db: Database, grace_ms: int, limit: int = 10_000) -> list[str]:
    """Queued orders (unfinished, not held by a trigger's watcher) nobody has moved for `grace_ms` (so a submit
    still pushing its id is not counted)."""
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
