"""The simulated chain's durable ledger of landed transactions, in PostgreSQL (table chain_transactions).

Landed transactions are buffered and written in batches by one background task (group commit: while a batch is
being written, the next one gathers). `wait_durable` lets confirmation report a transaction only once its record
would survive a Redis flush; `get` answers from the buffer first, so a status query is right before the flush too.
This module is the only code that speaks SQL for the chain.
"""
from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass

import orjson

from order_engine.adapters.postgres.database import Database

logger = logging.getLogger(__name__)

_INSERT = """
INSERT INTO chain_transactions (signature, order_id, state, input_mint, output_mint, amount_in, min_amount_out,
                                amount_out, executed_price, error, legs, landed_at_ms, confirmed_at_ms)
SELECT signature, order_id, state, input_mint, output_mint, amount_in, min_amount_out, amount_out, executed_price,
       error, CAST(legs AS jsonb), landed_at_ms, confirmed_at_ms
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS t(
    signature text, order_id text, state text, input_mint text, output_mint text, amount_in bigint,
    min_amount_out bigint, amount_out bigint, executed_price text, error text, legs text, landed_at_ms bigint,
    confirmed_at_ms bigint)
ON CONFLICT (signature) DO NOTHING
"""
_COLUMNS = ("signature", "order_id", "state", "input_mint", "output_mint", "amount_in", "min_amount_out",
            "amount_out", "executed_price", "error", "legs", "landed_at_ms", "confirmed_at_ms")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM chain_transactions WHERE signature = :s"
_RETRY_DELAY_S = 0.5


@dataclass(frozen=True, slots=True)
class LandedTransaction:
    signature: str
    order_id: str
    state: str  # 'confirmed' | 'failed'
    input_mint: str
    output_mint: str
    amount_in: int
    min_amount_out: int
    amount_out: int | None
    executed_price: str | None
    error: str | None
    legs: str  # JSON
    landed_at_ms: int
    confirmed_at_ms: int


class ChainStore:
    """Batched, durable record of landed transactions. Use from one event loop; `close()` flushes."""

    def __init__(self, database: Database, batch_max: int = 500, gather_ms: int = 0):
        self._db = database
        self._batch_max = batch_max
        self._gather_s = gather_ms / 1000
        self._buffer: dict[str, LandedTransaction] = {}
        self._durable: dict[str, asyncio.Future[None]] = {}
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._writing: asyncio.Lock | None = None

    def record(self, tx: LandedTransaction) -> None:
        self._buffer[tx.signature] = tx
        self._durable.setdefault(tx.signature, asyncio.get_running_loop().create_future())
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = asyncio.create_task(self._flush_forever(), name="chain-store-flush")
        self._wake.set()

    async def wait_durable(self, signature: str) -> None:
        future = self._durable.get(signature)
        if future is not None:
            await asyncio.shield(future)

    async def get(self, signature: str) -> LandedTransaction | None:
        buffered = self._buffer.get(signature)
        if buffered is not None:
            return buffered
        rows = await asyncio.to_thread(self._db.run, _SELECT, s=signature)
        if not rows:
            return None
        row = dict(zip(_COLUMNS, rows[0]))
        legs = row["legs"]
        row["legs"] = legs if isinstance(legs, str) else json.dumps(legs)
        return LandedTransaction(**row)

    async def flush(self) -> None:
        """Write everything buffered now (also what the background task would write next)."""
        while self._buffer:
            await self._write_batch()

    async def close(self) -> None:
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _flush_forever(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._gather_s and len(self._buffer) < self._batch_max:
                await asyncio.sleep(self._gather_s)  # group commit: let concurrent landings join the batch
            while self._buffer:
                try:
                    await self._write_batch()
                except Exception:  # noqa: BLE001 - PostgreSQL is down: keep the records and try again
                    logger.warning("chain ledger write failed; retrying", exc_info=True)
                    await asyncio.sleep(_RETRY_DELAY_S)

    async def _write_batch(self) -> None:
        if self._writing is None:
            self._writing = asyncio.Lock()
        async with self._writing:  # flush() and the background task never write the same batch twice
            await self._write_next()

    async def _write_next(self) -> None:
        batch = list(self._buffer.values())[: self._batch_max]
        if not batch:
            return
        rows = orjson.dumps([{name: getattr(tx, name) for name in _COLUMNS} for tx in batch]).decode()
        await asyncio.to_thread(self._db.run, _INSERT, rows=rows)
        for tx in batch:
            if self._buffer.get(tx.signature) is tx:
                del self._buffer[tx.signature]
            future = self._durable.pop(tx.signature, None)
            if future is not None and not future.done():
                future.set_result(None)
