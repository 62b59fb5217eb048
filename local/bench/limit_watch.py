"""What waiting limit orders cost the market and the executor: with 0, 10,000 and 100,000 orders waiting (at
prices the market does not reach), the CPU of one watcher tick, the executor's CPU per market order while the
watcher runs beside it, the reconciler's check of the waiting books, and their rebuild from PostgreSQL.

    .venv/bin/python -m local.bench.limit_watch --waiting 0,10000,100000 --ticks 300 --orders 2000

A tick reads each pair's venue prices once and asks each price book for the range the market reached, so its
cost should not grow with the orders that wait. CPU is utime + stime from /proc: this process (the watcher, or
the executor) and the Redis server (whole server: other work on the machine shows up there too). Each waiting
count runs in a schema and key prefix of its own, dropped afterwards.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import time
import uuid
from typing import Any

from local.bench.executor import BENCH_DATABASE_URL, _server_cpu_s, enqueue_orders, outcome
from order_engine.bootstrap import deadline_in, run_executor_async, simulated_dex
from order_engine.config import Settings
from order_engine.domain.triggers import price_trigger
from order_engine.domain.tokens import lookup
from order_engine.services.executor.recorder import StepRecorder
from order_engine.services.executor.watcher import Watcher, trigger_sources
from order_engine.adapters import scratch_data
from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.redis.live_state import RedisLiveState
from order_engine.adapters.postgres.migrations import ensure_database, migrate
from order_engine.adapters.postgres.database import Database
from order_engine.adapters.redis.work_queue import RedisWorkQueue
from order_engine.adapters.redis.connect import async_client
from order_engine.adapters.postgres.transition_writes import PgOrderReader, PgTransitionWriter, PgWorker
from order_engine.adapters.redis.waiting_book import RedisWaitingBook
from order_engine.adapters.postgres.waiting_order_rows import PgWaitingOrders
from order_engine.adapters.aws.ws_fanout import LoggingNotifier

SOL, USDC = lookup("SOL"), lookup("USDC")
# Far above the market (150 USDC per SOL), selling SOL: they wait the whole run. Spread over a range of prices
# so the book is a real sorted set, not one score.
_INSERT_WAITING = """
INSERT INTO orders (id, status, order_type, token_in, token_out, amount_in, slippage_bps, request_hash,
                    limit_price, expires_at, waiting_trigger)
SELECT gen_random_uuid(), 'waiting', 'limit', CAST(:sol AS text), CAST(:usdc AS text), 100000000, 0, 'bench',
       400 + g % 1000 * 0.01, now() + interval '6 days',
       jsonb_build_object('kind', 'price', 'key', CAST(:book AS text), 'score', 400 + g % 1000 * 0.01)
  FROM generate_series(1, CAST(:n AS integer)) AS g
"""


def redis_cpu_s() -> float:
    return sum(_server_cpu_s("redis-server").values())


def process_cpu_s() -> float:
    return time.process_time()


def seed_waiting(s: Settings, n: int) -> None:
    if not n:
        return
    db = Database(s.database_url, s.database_schema)
    try:
        book = price_trigger(SOL.mint, USDC.mint, 1.0).key
        for start in range(0, n, 5_000):  # each statement well inside the connection's 5 s timeout
            db.run(_INSERT_WAITING, sol=SOL.mint, usdc=USDC.mint, book=book, n=min(5_000, n - start))
        db.run("ANALYZE orders")
    finally:
        db.close()


async def watcher_figures(s: Settings, ticks: int) -> dict[str, Any]:
    """Rebuild the books from PostgreSQL (as the reconciler after a Redis loss), then time `ticks` ticks."""
    client, keys = async_client(s.redis_url), KeyScheme(s.key_prefix)
    dex = simulated_dex(s)
    reader = PgOrderReader(PgWorker(s.database_url, s.database_schema, "pg-reader"))
    writer = PgTransitionWriter(PgWorker(s.database_url, s.database_schema, "pg-writer"))
    waiting = PgWaitingOrders(PgWorker(s.database_url, s.database_schema, "pg-waiting"))
    recorder = StepRecorder([writer], RedisLiveState(client, keys, s.terminal_ttl_s), LoggingNotifier())
    queue = RedisWorkQueue(client, keys, "bench-watcher", lease_ms=s.lease_ms, max_in_flight=s.max_in_flight,
                      max_stalls=s.max_stalls)
    book = RedisWaitingBook(client, keys)
    watcher = Watcher(book, waiting, reader, recorder, queue, trigger_sources(dex),
                      margin_bps=s.limit_trigger_margin_bps, fire_max=s.watch_fire_max)
    try:
        t0 = time.monotonic()
        restored = await watcher.restore_if_lost(0, certain=True)
        rebuild_s = time.monotonic() - t0
        t0 = time.monotonic()
        await watcher.restore_if_lost(0)  # the reconciler's periodic check: counts only, nothing rebuilt
        check_ms = (time.monotonic() - t0) * 1000
        held = await book.count()
        for _ in range(20):  # warm-up: the pairs seeded, scripts loaded
            await watcher.tick()
        cpu0, redis0, wall0 = process_cpu_s(), redis_cpu_s(), time.monotonic()
        fired = 0
        for _ in range(ticks):
            fired += (await watcher.tick()).fired
            await asyncio.sleep(0)
        cpu, redis_cpu, wall = process_cpu_s() - cpu0, redis_cpu_s() - redis0, time.monotonic() - wall0
    finally:
        await recorder.close()
        await dex.close()
        for part in (reader, writer, waiting):
            part.close()
        await client.aclose()
    per_tick = lambda seconds: round(seconds * 1000 / ticks, 3)  # noqa: E731
    return {"held_in_redis": held, "rebuilt": restored, "rebuild_s": round(rebuild_s, 3),
            "reconcile_check_ms": round(check_ms, 2), "ticks": ticks, "fired": fired,
            "tick_cpu_ms": per_tick(cpu), "tick_redis_cpu_ms": per_tick(redis_cpu), "tick_wall_ms": per_tick(wall)}


def bench(waiting: int, ticks: int, orders: int, database_url: str) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:10]
    s = dataclasses.replace(
        Settings.from_env({}), database_url=database_url, database_schema=f"bench_{tag}", key_prefix=f"bench{tag}:",
        dex_latency_scale=0.0, executor_concurrency=200, max_in_flight=200, idle_exit_ms=300, executor_poll_ms=100)
    ensure_database(s.database_url)
    migrate(s.database_url, s.database_schema)
    try:
        seed_waiting(s, waiting)
        import uvloop
        watch = uvloop.run(watcher_figures(s, ticks))
        # The executor exits once nothing is ready, delayed or in flight, but waiting orders keep it watching:
        # stop it when the market orders are done.
        execute = uvloop.run(_executor_until_done(s, orders)) if orders else {}
    finally:
        scratch_data.drop(s)
    return {"waiting": waiting, **watch, **execute}


async def _executor_until_done(s: Settings, orders: int) -> dict[str, Any]:
    holder: dict[str, Any] = {}

    async def stop_when_done() -> None:
        db = Database(s.database_url, s.database_schema)
        try:
            while True:
                await asyncio.sleep(0.1)
                done = db.run("SELECT count(*) FROM orders WHERE order_type = 'market' AND completed_at IS NOT NULL")
                if done[0][0] >= orders and "executor" in holder:
                    holder["executor"].stop()
                    return
        finally:
            db.close()

    enqueue_orders(s, orders)
    cpu0, redis0 = process_cpu_s(), redis_cpu_s()
    stopper = asyncio.create_task(stop_when_done())
    summary = await run_executor_async(s, deadline_in(600_000), notifier=LoggingNotifier(), owner="bench",
                                       on_start=lambda executor: holder.setdefault("executor", executor))
    await stopper
    cpu, redis_cpu = process_cpu_s() - cpu0, redis_cpu_s() - redis0
    result = outcome(s)
    confirmed = result["counts"].get("confirmed", 0)
    per_order = lambda seconds: round(seconds * 1000 / max(confirmed, 1), 3)  # noqa: E731
    return {"market_orders": orders, "confirmed": confirmed,
            "confirmed_per_s": round(confirmed / result["window_s"], 1),
            "executor_cpu_ms_per_order": per_order(cpu), "redis_cpu_ms_per_order": per_order(redis_cpu),
            "limit_orders_fired": summary.waiting_fired}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--waiting", default="0,10000,100000", help="waiting limit order counts, comma-separated")
    parser.add_argument("--ticks", type=int, default=300)
    parser.add_argument("--orders", type=int, default=2000, help="market orders the executor drains (0: skip)")
    parser.add_argument("--database-url", default=BENCH_DATABASE_URL)
    args = parser.parse_args()
    for n in (int(part) for part in args.waiting.split(",")):
        print(json.dumps(bench(n, args.ticks, args.orders, args.database_url)), flush=True)


if __name__ == "__main__":
    main()
