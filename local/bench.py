"""Load generator for any deployment of the API (the local stack by default).

    python -m local.bench --url http://127.0.0.1:3000 -n 5000 -c 64      # submit throughput and latency
    python -m local.bench ipc -n 5000                                     # the local runtime's IPC overhead

`submit` sends N orders (alternating the two seed request shapes) from C concurrent clients and reports accepted
orders/s, latency p50/p95/p99 and errors by status. Each submission is kept as a `Submitted` (order id, send
and accept times), so later phases (time to `confirmed` by polling or WebSocket, event delivery) build on the
same run: see `run_submits` and `Report`.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import aiohttp

PAIRS = [("SOL", "USDC"), ("USDC", "SOL"), ("SOL", "USDT"), ("USDT", "USDC")]
WHOLE_AMOUNTS = {"SOL": ["0.5", "1", "2.25"], "USDC": ["25", "100", "350.5"], "USDT": ["25", "100", "350.5"]}
BASE_UNITS = {"SOL": 10**9, "USDC": 10**6, "USDT": 10**6}


def order_bodies() -> Iterator[dict[str, Any]]:
    """Valid orders, alternating the whole-token shape and the base-unit shape, over a few pairs and sizes."""
    for i in itertools.count():
        token_in, token_out = PAIRS[i % len(PAIRS)]
        amount = WHOLE_AMOUNTS[token_in][(i // len(PAIRS)) % 3]
        if i % 2 == 0:
            yield {"tokenIn": token_in, "tokenOut": token_out, "amount": amount}
        else:
            base_units = int(float(amount) * BASE_UNITS[token_in])
            yield {"inputMint": token_in, "outputMint": token_out, "amountIn": base_units, "slippageBps": 100}


@dataclass
class Submitted:
    """One submit request: when it was sent, how it ended, and the order id when it was accepted."""

    sent_at: float  # time.time()
    latency_s: float
    status: int | str  # HTTP status, or the exception's name
    order_id: str | None = None


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


@dataclass
class Report:
    """Figures of one phase of a run; later phases add their own sections."""

    title: str
    sections: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def add(self, name: str, figures: dict[str, Any]) -> None:
        self.sections.append((name, figures))

    def as_dict(self) -> dict[str, Any]:
        return {"title": self.title, **{name: figures for name, figures in self.sections}}

    def text(self) -> str:
        lines = [self.title]
        for name, figures in self.sections:
            lines.append(f"  {name}:")
            for key, value in figures.items():
                shown = f"{value:,.1f}" if isinstance(value, float) else value
                lines.append(f"    {key:<22} {shown}")
        return "\n".join(lines)


def latency_figures(latencies_s: list[float]) -> dict[str, float]:
    ms = [x * 1000 for x in latencies_s]
    return {
        "p50 ms": percentile(ms, 50), "p95 ms": percentile(ms, 95), "p99 ms": percentile(ms, 99),
        "max ms": max(ms) if ms else float("nan"), "mean ms": statistics.fmean(ms) if ms else float("nan"),
    }


async def run_submits(url: str, count: int, concurrency: int, timeout_s: float = 30.0) -> tuple[list[Submitted], float]:
    """Submit `count` orders with `concurrency` clients; returns every submission and the wall time."""
    bodies = order_bodies()
    remaining = itertools.count()
    results: list[Submitted] = []
    endpoint = f"{url.rstrip('/')}/api/orders/execute"
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def client(session: aiohttp.ClientSession) -> None:
        while next(remaining) < count:
            body = json.dumps(next(bodies))
            sent_at, started = time.time(), time.perf_counter()
            try:
                async with session.post(endpoint, data=body, headers={"content-type": "application/json"}) as r:
                    payload = await r.read()
                    status: int | str = r.status
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                results.append(Submitted(sent_at, time.perf_counter() - started, type(exc).__name__))
                continue
            latency = time.perf_counter() - started
            order_id = None
            if status == 202:
                order_id = json.loads(payload).get("orderId")
            results.append(Submitted(sent_at, latency, status, order_id))

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return results, elapsed


def submit_report(results: list[Submitted], elapsed: float, url: str, concurrency: int) -> Report:
    accepted = [r for r in results if r.status == 202]
    report = Report(f"submit: {len(results)} orders at concurrency {concurrency} against {url}")
    report.add("throughput", {
        "accepted": len(accepted), "errors": len(results) - len(accepted), "wall s": elapsed,
        "accepted/s": len(accepted) / elapsed if elapsed else 0.0, "requests/s": len(results) / elapsed,
    })
    report.add("latency (all requests)", latency_figures([r.latency_s for r in results]))
    errors = collections.Counter(str(r.status) for r in results if r.status != 202)
    if errors:
        report.add("errors by status", dict(errors.most_common()))
    return report


async def measure_ipc(count: int, concurrency: int) -> Report:
    """Invocations of a function that does nothing, through the runtime (no HTTP), with a realistic event: the
    round trip is the IPC overhead a gateway request pays on top of the handler's own time."""
    from local.http_gateway import RouteMatch, build_event
    from local.runtime import Runtime
    from local.template import HttpRoute, load_template

    template = load_template(Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "template.yaml")
    runtime = Runtime(template, {}, pool_sizes={"CrashFunction": concurrency})
    body = json.dumps(next(order_bodies())).encode()
    event = build_event(method="POST", raw_path="/api/orders/execute", raw_query="",
                        headers=[("host", "127.0.0.1:3000"), ("content-type", "application/json"),
                                 ("user-agent", "bench"), ("accept", "*/*")],
                        body=body, match=RouteMatch(HttpRoute("POST", "/api/orders/execute", "EchoFunction"), {}),
                        source_ip="127.0.0.1", request_id="bench")
    pool = runtime.pools["CrashFunction"]  # returns {"pid": ...}: no work of its own
    report = Report(f"ipc: {count} invocations of a no-op handler, event of {len(json.dumps(event))} bytes")
    try:
        await pool.prewarm(concurrency)
        for _ in range(200):
            await pool.invoke(event)
        latencies: list[float] = []
        started = time.perf_counter()
        for _ in range(count):
            t0 = time.perf_counter()
            await pool.invoke(event)
            latencies.append(time.perf_counter() - t0)
        sequential = time.perf_counter() - started
        report.add("sequential (1 at a time)", {
            "invocations/s": count / sequential, **{k.replace("ms", "us"): v * 1000
                                                    for k, v in latency_figures(latencies).items()}})
        started = time.perf_counter()
        per_client = count // concurrency
        await asyncio.gather(*(_invoke_n(pool, event, per_client) for _ in range(concurrency)))
        parallel = time.perf_counter() - started
        report.add(f"{concurrency} workers in parallel", {"invocations/s": per_client * concurrency / parallel})
    finally:
        await runtime.close()
    return report


async def _invoke_n(pool, event, n: int) -> None:
    for _ in range(n):
        await pool.invoke(event)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", nargs="?", choices=["submit", "ipc"], default="submit")
    parser.add_argument("--url", default="http://127.0.0.1:3000", help="base URL of the HTTP API")
    parser.add_argument("-n", "--count", type=int, default=5000)
    parser.add_argument("-c", "--concurrency", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=200, help="submits sent (and not counted) first")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    async def run() -> Report:
        if args.mode == "ipc":
            return await measure_ipc(args.count, min(args.concurrency, 4))
        if args.warmup:
            await run_submits(args.url, args.warmup, min(args.concurrency, args.warmup))
        results, elapsed = await run_submits(args.url, args.count, args.concurrency)
        return submit_report(results, elapsed, args.url, args.concurrency)

    try:
        import uvloop
    except ImportError:  # optional
        uvloop = None
    report = uvloop.run(run()) if uvloop else asyncio.run(run())
    print(json.dumps(report.as_dict(), indent=2) if args.json else report.text())
    sys.stdout.flush()


if __name__ == "__main__":
    main()
