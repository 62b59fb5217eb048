"""GET /api/orders/{orderId} in a loop: a few orders submitted first, then N reads of them from C concurrent
clients, reported as calls/s, latency p50/p95/p99 and errors by status (the CPU per call comes from the meter)."""
from __future__ import annotations

import asyncio
import collections
import itertools
import time

import aiohttp

from local.bench.report import Report, latency_figures
from local.bench.submit_load import run_submits


async def submitted_orders(url: str, count: int) -> list[str]:
    """`count` fresh orders to read (a GET of a missing order would skip most of the path)."""
    results, _, _ = await run_submits(url, count, min(count, 16))
    ids = [r.order_id for r in results if r.order_id]
    if not ids:
        raise RuntimeError(f"no order was accepted by {url}: is the stack up?")
    return ids


async def run_gets(url: str, order_ids: list[str], count: int, concurrency: int,
                   timeout_s: float = 30.0) -> tuple[list[tuple[float, int | str]], float]:
    """(latency s, status) of every read, and the wall time."""
    base = f"{url.rstrip('/')}/api/orders/"
    targets = itertools.cycle(order_ids)
    remaining = itertools.count()
    results: list[tuple[float, int | str]] = []

    async def client(session: aiohttp.ClientSession) -> None:
        while next(remaining) < count:
            started = time.perf_counter()
            try:
                async with session.get(base + next(targets)) as response:
                    await response.read()
                    status: int | str = response.status
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                status = type(exc).__name__
            results.append((time.perf_counter() - started, status))

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout_s)) as session:
        started = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return results, elapsed


def get_report(results: list[tuple[float, int | str]], elapsed: float, url: str, concurrency: int) -> Report:
    ok = sum(1 for _, status in results if status == 200)
    report = Report(f"get: {len(results)} reads of GET /api/orders/{{orderId}} at concurrency {concurrency} "
                    f"against {url}")
    report.add("throughput", {"ok": ok, "errors": len(results) - ok, "wall s": elapsed,
                              "calls/s": len(results) / elapsed if elapsed else 0.0})
    report.add("latency", latency_figures([latency for latency, _ in results]))
    errors = collections.Counter(str(status) for _, status in results if status != 200)
    if errors:
        report.add("errors by status", dict(errors.most_common()))
    return report
