"""The peer engine `bench compare` measures ours against: AkshajIITD/OrderExecutionEngine (Fastify + BullMQ +
PostgreSQL, Node.js), run from a prepared folder outside this repository (`--peer-dir`). None of its code is in
this repository; docs/benchmarks-compare.md says how to prepare the folder (the snapshot, `npm ci`, three edits
to that copy: the mock DEX's sleeps scaled by MOCK_LATENCY_SCALE, the worker at WORKER_CONCURRENCY 100 without
its limiter, the server on loopback; `npx tsc`).

Its API as the client uses it: `POST /api/orders/execute` with `{type: "MARKET", tokenIn, tokenOut, amountIn
(whole tokens, a number), slippageBps}` answers 200 `{orderId}`; `GET /api/orders/:id` the order's row (`status` at
the top level); `GET /api/orders/execute?orderId=` a WebSocket that replays the order's events from PostgreSQL,
then subscribes to its Redis channel, frames `{orderId, status, at, data}`.

The harness starts its API server (`node dist/src/server.js`) and its worker (`node dist/src/worker.js`) with
their own database (schema from the folder's db/schema.sql) and Redis. CPU groups: each node process, the
PostgreSQL backends of their connections, its Redis server.
"""
from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from local.bench.cpu import CpuMeter
from local.bench.engines import (HOST, Processes, Routes, drop_database, fresh_database, redis_argv, require_free,
                                 wait_healthy, wait_redis)
from local.bench.submit_load import BASE_UNITS

WORKER_CONCURRENCY = 100


def peer_body(body: dict[str, Any]) -> dict[str, Any]:
    """One of our order bodies (whole-token `tokenIn/tokenOut/amount`, or base-unit `inputMint/outputMint/amountIn`)
    as the peer's: the same pair and size, amountIn in whole tokens, the same slippage (100 bps when ours sends
    dynamic slippage, which the peer does not have)."""
    if "tokenIn" in body:
        token_in, token_out, amount = body["tokenIn"], body["tokenOut"], float(body["amount"])
    else:
        token_in, token_out = body["inputMint"], body["outputMint"]
        amount = body["amountIn"] / BASE_UNITS[token_in]
    return {"type": "MARKET", "tokenIn": token_in, "tokenOut": token_out, "amountIn": amount,
            "slippageBps": int(body.get("slippageBps", 100))}


@dataclass
class PeerCpuMeter(CpuMeter):
    """CpuMeter over the peer's node processes (each its own group, by `labels`) instead of one stack's tree."""

    labels: dict[int, str] = field(default_factory=dict)

    def _roots(self) -> list[int]:
        return list(self.labels)

    def _function_of(self, pid: int) -> str:
        return self.labels.get(pid, "node other")


def check_prepared(peer_dir: Path) -> None:
    """Refuse a folder that is not built or lacks the comparability edits (latency 0 would still sleep ~2.6 s)."""
    missing = [p for p in ("dist/src/server.js", "dist/src/worker.js", "db/schema.sql", "node_modules/bullmq")
               if not (peer_dir / p).exists()]
    if missing:
        raise RuntimeError(f"{peer_dir} is not a prepared peer (missing {', '.join(missing)}): see "
                           "docs/benchmarks-compare.md")
    router = (peer_dir / "dist/src/mockDexRouter.js").read_text()
    worker = (peer_dir / "dist/src/worker.js").read_text()
    server = (peer_dir / "dist/src/server.js").read_text()
    problems = []
    if "MOCK_LATENCY_SCALE" not in router:
        problems.append("its mock DEX does not scale its sleeps by MOCK_LATENCY_SCALE")
    if "limiter" in worker or "WORKER_CONCURRENCY" not in worker:
        problems.append("its worker still has the limiter or a fixed concurrency")
    if "0.0.0.0" in server:
        problems.append("its server listens on 0.0.0.0, not loopback")
    if problems:
        raise RuntimeError(f"{peer_dir} lacks the comparability edits: {'; '.join(problems)} "
                           "(docs/benchmarks-compare.md; rebuild with npx tsc)")


@dataclass
class PeerEngine:
    peer_dir: Path
    admin_url: str = "postgresql://postgres@127.0.0.1:5432"
    database: str = "peer_compare"
    http_port: int = 3295
    redis_port: int = 6391
    name: str = "peer"
    processes: Processes | None = None
    database_url: str = ""  # the fresh database of the running engine
    labels: dict[int, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    def routes(self) -> Routes:
        ws = f"ws://{HOST}:{self.http_port}/api/orders/execute"
        return Routes(f"{self.url}/api/orders/execute", lambda oid: f"{self.url}/api/orders/{oid}",
                      lambda oid: f"{ws}?orderId={oid}", 200, peer_body)

    async def start(self, latency_scale: float, log_dir: Path) -> None:
        check_prepared(self.peer_dir)
        require_free(self.http_port, self.redis_port)
        schema = (self.peer_dir / "db" / "schema.sql").read_text()
        self.database_url = database_url = fresh_database(self.admin_url, self.database, schema)
        self.processes = Processes(log_dir)
        try:
            self.processes.start("peer-redis", redis_argv(self.redis_port), dict(os.environ), self.peer_dir)
            await wait_redis(self.redis_port, self.processes)
            env = {k: v for k, v in os.environ.items() if k not in ("PORT", "NODE_OPTIONS")}
            env.update({
                "DATABASE_URL": database_url, "REDIS_URL": f"redis://{HOST}:{self.redis_port}",
                "PORT": str(self.http_port), "HOST": HOST, "MOCK_LATENCY_SCALE": f"{latency_scale:g}",
                "WORKER_CONCURRENCY": str(WORKER_CONCURRENCY), "NODE_ENV": "production",
            })
            server = self.processes.start("peer-server", ["node", "dist/src/server.js"], env, self.peer_dir)
            worker = self.processes.start("peer-worker", ["node", "dist/src/worker.js"], env, self.peer_dir)
            self.labels = {server.pid: "node server", worker.pid: "node worker"}
            await wait_healthy(f"{self.url}/health", self.processes)
        except BaseException:
            await self.stop()
            raise

    def meter(self) -> CpuMeter:
        server = next(iter(self.labels))
        return PeerCpuMeter(server, urlparse(self.admin_url).port or 5432, self.redis_port, labels=dict(self.labels))

    async def stop(self) -> None:
        if self.processes is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.processes.stop)
            self.processes = None
        drop_database(self.admin_url, self.database)
