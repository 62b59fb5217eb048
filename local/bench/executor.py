"""CPU per order in the executor: one in-process executor drains N queued orders on the real simulated DEX at
venue latency scale 0, against the real PostgreSQL and Redis, and reports where the CPU went.

    .venv/bin/python -m local.bench.executor -n 5000 -c 1000
    .venv/bin/py-spy record -r 250 -f raw -o /tmp/executor.txt -- .venv/bin/python -m local.bench.executor -n 5000

Reported: confirmed orders/s over the processing window (first step to last terminal step, from PostgreSQL), CPU
of this process (total and per thread: the event loop, each PostgreSQL writer thread), CPU of the PostgreSQL and
Redis server processes over the run (all their clients: other work on the machine shows up there too), and the
Redis commands per order (INFO commandstats, also server-wide). The orders live in a schema and key prefix of
their own, dropped afterwards.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from order_engine.config import Settings
from order_engine.domain.order import OrderEvent, parse_order_request
from order_engine.bootstrap import deadline_in, run_executor_async as run_async
from order_engine.adapters import scratch_data
from order_engine.adapters.aws.ws_fanout import LoggingNotifier
from order_engine.adapters.redis.order_intake import RedisOrderIntake
from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.postgres.migrations import ensure_database, migrate
from order_engine.domain.order import pending_detail
from order_engine.adapters.postgres.order_repository import OrderRepository
from order_engine.adapters.postgres.database import Database
from order_engine.adapters.redis.connect import sync_client

BENCH_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/order_engine_test"
_TICKS = os.sysconf("SC_CLK_TCK")
# Both directions of every pair, so the run does not walk the pools' prices away (which fails orders on slippage
# and measures retries instead of orders).
BODIES = [{"tokenIn": "SOL", "tokenOut": "USDC", "amount": "0.5"}, {"tokenIn": "USDC", "tokenOut": "SOL", "amount": "75"},
          {"tokenIn": "SOL", "tokenOut": "USDT", "amount": "0.5"}, {"tokenIn": "USDT", "tokenOut": "SOL", "amount": "75"},
          {"tokenIn": "USDC", "tokenOut": "USDT", "amount": "50"}, {"tokenIn": "USDT", "tokenOut": "USDC", "amount": "50"}]


def _cpu_s(stat_path: Path) -> float:
    """utime + stime of a process or thread, from /proc (0 if it is gone)."""
    try:
        fields = stat_path.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _server_cpu_s(command: str) -> dict[int, float]:
    """CPU of each process named `command`, by pid (backends come and go, so runs compare pid by pid)."""
    cpu: dict[int, float] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "comm").read_text().strip() == command:
                    cpu[int(proc.name)] = _cpu_s(proc / "stat")
            except OSError:
                continue
    return cpu


def _servers() -> dict[str, dict[int, float]]:
    return {"postgres": _server_cpu_s("postgres"), "redis": _server_cpu_s("redis-server")}


def _servers_delta(after: dict[str, dict[int, float]], before: dict[str, dict[int, float]],
                   our_backends: set[int]) -> dict[str, float]:
    """Redis: the whole server. PostgreSQL: the backends of this executor's own connections (other clients of the
    shared server do not count), plus the server's background processes (WAL writer etc.) reported apart."""
    def delta(name: str, pids) -> float:  # noqa: ANN001
        return sum(after[name][pid] - before[name].get(pid, 0.0) for pid in pids if pid in after[name])

    background = {pid for pid in after["postgres"] if not _is_backend(pid)}
    return {"redis": delta("redis", after["redis"]), "postgres": delta("postgres", our_backends),
            "postgres_background": delta("postgres", background)}


def _is_backend(pid: int) -> bool:
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return True
    return "(" in title or title.startswith("postgres: postgres ")  # "user db host(port) state"


def _thread_cpu_s() -> dict[str, float]:
    names = {t.native_id: t.name for t in threading.enumerate()}
    cpu: dict[str, float] = {}
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        name = names.get(int(task.name), "other")
        name = "event loop" if name == "MainThread" else name.rsplit("_", 1)[0]
        cpu[name] = cpu.get(name, 0.0) + _cpu_s(task / "stat")
    return cpu


def _redis_calls(client) -> dict[str, int]:  # noqa: ANN001 - a sync redis client
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in client.info("commandstats").items()}


def _delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: after[k] - before.get(k, 0) for k in after if after[k] - before.get(k, 0) > 0}


def enqueue_orders(s: Settings, n: int) -> None:
    intake = RedisOrderIntake(sync_client(s.redis_url), KeyScheme(s.key_prefix))
    db = Database(s.database_url, s.database_schema)
    repo = OrderRepository(db)
    requests = [parse_order_request(body, default_slippage_bps=100, max_slippage_bps=s.max_slippage_bps)
                for body in BODIES]
    for i in range(n):
        request = requests[i % len(requests)]
        order = repo.insert(str(uuid.uuid4()), request, None).order
        intake.enqueue(order.id, OrderEvent(order.id, 1, order.status, 0, order.created_at,
                                            pending_detail(request)).to_message())
    db.close()


def outcome(s: Settings) -> dict[str, Any]:
    db = Database(s.database_url, s.database_schema)
    try:
        counts = dict(db.run("SELECT status, count(*) FROM orders GROUP BY status"))
        [[first, last]] = db.run("SELECT (SELECT min(at) FROM order_events WHERE seq = 2), max(completed_at) FROM orders")
        events = db.run("SELECT count(*) FROM order_events")[0][0]
        failures = dict(db.run("SELECT left(error, 60), count(*) FROM orders WHERE status = 'failed' GROUP BY 1"))
    finally:
        db.close()
    window = (last - first).total_seconds() if first and last else float("nan")
    return {"counts": counts, "window_s": window, "events": events, "failures": failures}


def bench(n: int, concurrency: int, writers: int, database_url: str, notifier_name: str,
          redis_url: str = Settings.redis_url) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:10]
    s = dataclasses.replace(
        Settings.from_env({}), database_url=database_url, redis_url=redis_url, database_schema=f"bench_{tag}", key_prefix=f"bench{tag}:",
        dex_latency_scale=0.0, executor_concurrency=concurrency, max_in_flight=concurrency, idle_exit_ms=300,
        executor_poll_ms=100, executor_pg_writers=writers)
    ensure_database(s.database_url)
    migrate(s.database_url, s.database_schema)
    try:
        enqueue_orders(s, n)
        client = sync_client(s.redis_url)
        calls0, cpu0, threads0 = _redis_calls(client), time.process_time(), _thread_cpu_s()
        servers0, wall0 = _servers(), time.monotonic()
        threads_at_end: dict[str, float] = {}
        servers_at_end: dict[str, dict[int, float]] = {}
        our_backends: set[int] = set()

        async def run() -> Any:
            def keep_thread_figures(executor) -> None:  # noqa: ANN001
                # the writer threads and their backends end with the run: read their CPU just before
                original = executor.recorder.close

                async def close() -> None:
                    await original()
                    threads_at_end.update(_thread_cpu_s())
                    servers_at_end.update(_servers())
                    databases = [w.worker.db for w in executor.recorder.writers] + [executor.reader.worker.db,
                                                                                   executor.dex.chain.ledger._db]
                    our_backends.update(db.run("SELECT pg_backend_pid()")[0][0] for db in databases)
                executor.recorder.close = close
            # The notifier the executor wires in production (it looks up each event's subscribers: none here),
            # or one that only logs.
            notifier = LoggingNotifier() if notifier_name == "logging" else None
            return await run_async(s, deadline_in(600_000), notifier=notifier, owner="bench",
                                   on_start=keep_thread_figures)

        import uvloop
        summary = uvloop.run(run())
        wall = time.monotonic() - wall0
        cpu = time.process_time() - cpu0
        servers = _servers_delta(servers_at_end, servers0, our_backends)
        pg, redis_cpu = servers["postgres"], servers["redis"]
        calls = _delta(_redis_calls(client), calls0)
        result = outcome(s)
    finally:
        scratch_data.drop(s)
    confirmed = result["counts"].get("confirmed", 0)
    per_order_ms = lambda seconds: round(seconds * 1000 / max(confirmed, 1), 3)  # noqa: E731
    threads = _delta(threads_at_end or _thread_cpu_s(), threads0)
    return {
        "orders": n, "concurrency": concurrency, "pg_writers": writers, "notifier": notifier_name, "statuses": result["counts"],
        "failures": result["failures"],
        "confirmed_per_s": round(confirmed / result["window_s"], 1), "window_s": round(result["window_s"], 3),
        "wall_s": round(wall, 3), "write_batches": summary.write_batches, "steps_written": summary.steps_written,
        "executor_cpu_s": round(cpu, 3), "executor_cpu_ms_per_order": per_order_ms(cpu),
        "executor_threads_cpu_s": {k: round(v, 3) for k, v in sorted(threads.items(), key=lambda kv: -kv[1])},
        "postgres_cpu_s": round(pg, 3), "postgres_cpu_ms_per_order": per_order_ms(pg),
        "postgres_background_cpu_s": round(servers["postgres_background"], 3),
        "redis_cpu_s": round(redis_cpu, 3), "redis_cpu_ms_per_order": per_order_ms(redis_cpu),
        "redis_commands_per_order": round(sum(calls.values()) / max(confirmed, 1), 2),
        "redis_commands": dict(sorted(calls.items(), key=lambda kv: -kv[1])[:12]),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local.bench.executor", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--orders", type=int, default=5000)
    parser.add_argument("-c", "--concurrency", type=int, default=1000)
    parser.add_argument("-w", "--pg-writers", type=int, default=Settings().executor_pg_writers)
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL", BENCH_DATABASE_URL))
    parser.add_argument("--redis-url", default=Settings.redis_url,
                        help="a Redis of the run's own makes the command counts this run's alone")
    parser.add_argument("--notifier", choices=("management", "logging"), default="management")
    args = parser.parse_args(argv)
    print(json.dumps(bench(args.orders, args.concurrency, args.pg_writers, args.database_url, args.notifier,
                           args.redis_url),
                     indent=2))


if __name__ == "__main__":
    main()
