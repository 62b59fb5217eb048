"""The SQL the tests run themselves, in one place: each statement a named function, for a row no adapter writes or a
read no adapter offers. Everything else a test writes goes through the adapters (tests/support/factories.py) and
everything else it reads too (tests/support/reads.py). Tests of the schema's own rules (test_migrations.py, the
transition guard refusing direct SQL) keep their statements: the SQL is what they test.
"""
from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from order_engine.adapters.postgres.database import Database
from order_engine.adapters.postgres.order_repository import OrderRepository
from order_engine.domain.lifecycle import TERMINAL
from order_engine.domain.tokens import lookup
from tests.support.servers import query

SOL_MINT, USDC_MINT = lookup("SOL").mint, lookup("USDC").mint


# -- rows no adapter writes ---------------------------------------------------------------------------------------

def insert_unwatched_waiting(db: Database, *, like: str | None = None, token_in: str = SOL_MINT,
                             token_out: str = USDC_MINT, amount_in: int = 10**9, slippage_bps: int = 50,
                             client_order_id: str | None = None) -> str:
    """A limit order waiting for its price, with its first event, as the limit intake stores one but without the
    trigger (`waiting_trigger` NULL) and off the trigger books: no watcher ever rebuilds, fires or expires it, and no
    executor stays up to watch it. Shaped like order `like` (tokens, amount, slippage) when given."""
    order_id = str(uuid.uuid4())
    if like is not None:
        model = OrderRepository(db).get(like)
        token_in, token_out, amount_in, slippage_bps = (model.token_in_mint, model.token_out_mint, model.amount_in,
                                                        model.slippage_bps)
    db.run("INSERT INTO orders (id, status, order_type, token_in, token_out, amount_in, slippage_bps, client_order_id,"
           " request_hash) VALUES (CAST(:id AS uuid), 'waiting', 'limit', :a, :b, :amount, :slippage, :ref, :h)",
           id=order_id, a=token_in, b=token_out, amount=amount_in, slippage=slippage_bps, ref=client_order_id,
           h=f"waiting-{order_id}")
    db.run("INSERT INTO order_events (order_id, seq, status) VALUES (CAST(:id AS uuid), 1, 'waiting')", id=order_id)
    return order_id


def insert_filler_orders(db: Database, count: int) -> None:
    """`count` pending orders in one statement, without events: a table as large as a running engine's, fast (a
    query plan's test, not an order's)."""
    db.run("INSERT INTO orders (id, status, token_in, token_out, amount_in, slippage_bps, request_hash)"
           " SELECT gen_random_uuid(), 'pending', 'in', 'out', 1, 50, 'h' FROM generate_series(1, :n)", n=count)


def forget_landed_transaction(db: Database, signature: str) -> None:
    """The chain's ledger row of a landed swap gone, as when its batch never reached PostgreSQL."""
    db.run("DELETE FROM chain_transactions WHERE signature = :s", s=signature)


# -- reads no adapter offers --------------------------------------------------------------------------------------

def event_count(db: Database) -> int:
    """Every order event stored, of every order."""
    return db.run("SELECT count(*) FROM order_events")[0][0]


def chain_transactions(db: Database, *, order_id: str | None = None, signature: str | None = None
                       ) -> list[dict[str, Any]]:
    """The chain's durable ledger (chain_transactions), all of it or one order's or one signature's rows."""
    rows = db.run("SELECT signature, order_id, state, amount_out, landed_at_ms FROM chain_transactions"
                  " WHERE (CAST(:o AS text) IS NULL OR order_id = :o) AND (CAST(:s AS text) IS NULL OR signature = :s)"
                  " ORDER BY landed_at_ms, signature", o=order_id, s=signature)
    return [dict(zip(("signature", "order_id", "state", "amount_out", "landed_at_ms"), row)) for row in rows]


def landed_swaps_per_order(db: Database) -> Counter:
    """Successful swaps the simulated chain recorded, per order: the effect that must happen at most once."""
    rows = db.run("SELECT order_id, count(*) FROM chain_transactions WHERE state = 'confirmed' GROUP BY order_id")
    return Counter({order_id: n for order_id, n in rows})


def terminal_events_per_order(db: Database) -> Counter:
    rows = db.run("SELECT CAST(order_id AS text), count(*) FROM order_events"
                  " WHERE status = ANY(CAST(:terminal AS text[])) GROUP BY order_id", terminal=sorted(TERMINAL))
    return Counter({order_id: n for order_id, n in rows})


def stored_via(db: Database, order_id: str) -> Any:
    """The orders row's `via` column (the hops a chained write passed through, which the database must not keep)."""
    return db.run("SELECT via FROM orders WHERE id = CAST(:id AS uuid)", id=order_id)[0][0]


def stored_api_keys(db: Database, value: str) -> int:
    """API key rows whose stored hash or prefix is `value` (a key must be stored as its hash alone)."""
    return db.run("SELECT count(*) FROM api_keys WHERE key_hash = :v OR key_prefix = :v", v=value)[0][0]


# -- a running stack's whole database, by URL (one connection per read; pg8000's errors pass, as while it is down) --

def unfinished_count(database_url: str) -> int:
    """Orders not yet confirmed or failed."""
    return query(database_url, "SELECT count(*) FROM orders WHERE status NOT IN ('confirmed', 'failed')")[0][0]


def in_flight_count(database_url: str) -> int:
    """Orders between routing and their confirmation (an executor is working on them)."""
    return query(database_url, "SELECT count(*) FROM orders WHERE status IN ('routing', 'building', 'submitted')")[0][0]


def order_total(database_url: str) -> int:
    return query(database_url, "SELECT count(*) FROM orders")[0][0]


def order_rows(database_url: str) -> dict[str, tuple[str, int, str | None]]:
    """Every order: id -> (status, seq, tx_hash)."""
    return {order_id: (status, seq, tx_hash) for order_id, status, seq, tx_hash in
            query(database_url, "SELECT id::text, status, seq, tx_hash FROM orders")}


def order_timelines(database_url: str) -> dict[str, list[tuple[int, str]]]:
    """Every order's events: id -> [(seq, status), ...] in seq order."""
    timelines: dict[str, list[tuple[int, str]]] = {}
    for order_id, seq, status in query(database_url, "SELECT order_id::text, seq, status FROM order_events"
                                                     " ORDER BY order_id, seq"):
        timelines.setdefault(order_id, []).append((seq, status))
    return timelines


def confirmed_ledger(database_url: str) -> list[tuple[str, str]]:
    """(order id, signature) of every successful swap in the chain's durable ledger."""
    return [(order_id, signature) for order_id, signature in
            query(database_url, "SELECT order_id, signature FROM chain_transactions WHERE state = 'confirmed'")]


def last_terminal_epoch(database_url: str) -> float:
    """When the last order reached its terminal event (PostgreSQL's clock, epoch seconds)."""
    return float(query(database_url, "SELECT extract(epoch FROM max(at))::float8 FROM order_events"
                                     " WHERE status IN ('confirmed', 'failed')")[0][0])


def first_routed_and_last_terminal_epochs(database_url: str) -> tuple[float, float]:
    """When the first order started routing and when the last one ended (epoch seconds)."""
    [[first, last]] = query(database_url, """
        SELECT extract(epoch FROM min(at) FILTER (WHERE status = 'routing'))::float8,
               extract(epoch FROM max(at) FILTER (WHERE status IN ('confirmed', 'failed')))::float8
          FROM order_events""")
    return first, last


def last_finished_order_steps(database_url: str, since_epoch: float) -> list[tuple[str, str]]:
    """The steps of the order that finished last: (status, seconds after `since_epoch` as text)."""
    rows = query(database_url, """
        SELECT status, round((extract(epoch FROM at) - :since)::numeric, 2)::text FROM order_events
         WHERE order_id = (SELECT order_id FROM order_events WHERE status IN ('confirmed', 'failed')
                            ORDER BY at DESC LIMIT 1) ORDER BY seq""", since=since_epoch)
    return [(status, at) for status, at in rows]
