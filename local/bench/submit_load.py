"""Submit throughput and latency: N orders (alternating the two seed request shapes) from C concurrent clients,
reported as accepted orders/s, latency p50/p95/p99 and errors by status."""
from __future__ import annotations

import asyncio
import collections
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any, Iterator

import aiohttp

from local.bench import auth
from local.bench.pacing import Due, Pacing, open_loop_label, pacing_figures, run_paced, start_times
from local.bench.report import Report, latency_figures

PAIRS = [("SOL", "USDC"), ("USDC", "SOL"), ("SOL", "USDT"), ("USDT", "USDC")]
_WIDE_USD = ["75", "300", "1500", "7500", "37500", "150000", "375000"]
# Order sizes by mix: "default" small orders; "wide" 0.5 to 2,500 SOL (the same in dollars of USDC/USDT),
# log-spaced, the sizes of the run issue 13 describes
MIXES = {
    "default": {"SOL": ["0.5", "1", "2.25"], "USDC": ["25", "100", "350.5"], "USDT": ["25", "100", "350.5"]},
    "wide": {"SOL": ["0.5", "2", "10", "50", "250", "1000", "2500"], "USDC": _WIDE_USD, "USDT": _WIDE_USD},
}
BASE_UNITS = {"SOL": 10**9, "USDC": 10**6, "USDT": 10**6}


@dataclass(frozen=True)
class OrderMix:
    sizes: str = "default"  # a key of MIXES
    dynamic_slippage: tuple[int, int] | None = None  # (minBps, maxBps) on every order instead of a slippageBps


def order_bodies(mix: OrderMix = OrderMix()) -> Iterator[dict[str, Any]]:
    """Valid orders, alternating the whole-token shape and the base-unit shape, over a few pairs and sizes."""
    amounts = MIXES[mix.sizes]
    slippage: dict[str, Any] = {"slippageBps": 100}
    if mix.dynamic_slippage is not None:
        slippage = {"dynamicSlippage": dict(zip(("minBps", "maxBps"), mix.dynamic_slippage))}
    for i in itertools.count():
        token_in, token_out = PAIRS[i % len(PAIRS)]
        sizes = amounts[token_in]
        amount = sizes[(i // len(PAIRS)) % len(sizes)]
        if i % 2 == 0:
            yield {"tokenIn": token_in, "tokenOut": token_out, "amount": amount,
                   **(slippage if mix.dynamic_slippage else {})}
        else:
            base_units = int(float(amount) * BASE_UNITS[token_in])
            yield {"inputMint": token_in, "outputMint": token_out, "amountIn": base_units, **slippage}


@dataclass
class Submitted:
    """One submit request: when it was sent, how it ended, and the order id when it was accepted."""

    sent_at: float  # time.time(); with --rate, when it was due
    latency_s: float  # with --rate, from when it was due
    status: int | str  # HTTP status, or the exception's name
    order_id: str | None = None


async def run_submits(url: str, count: int, concurrency: int, timeout_s: float = 30.0,
                      mix: OrderMix = OrderMix(), rate: float | None = None
                      ) -> tuple[list[Submitted], float, Pacing | None]:
    """Submit `count` orders with `concurrency` clients, or with `rate` at `rate` a second (open loop, at most
    `concurrency` unanswered); returns every submission, the wall time and, open loop, how the schedule was kept."""
    bodies = order_bodies(mix)
    remaining = itertools.count()
    results: list[Submitted] = []
    endpoint = f"{url.rstrip('/')}/api/orders/execute"
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    pacing = Pacing(rate) if rate is not None else None

    async def submit(session: aiohttp.ClientSession, due: Due | None) -> None:
        body = json.dumps(next(bodies))
        sent_at, started = start_times(due)
        if due is not None:
            pacing.sent(due, time.perf_counter())
        try:
            async with session.post(endpoint, data=body, headers={"content-type": "application/json"}) as r:
                payload, status = await r.read(), r.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            results.append(Submitted(sent_at, time.perf_counter() - started, type(exc).__name__))
            return
        order_id = json.loads(payload).get("orderId") if status == 202 else None
        results.append(Submitted(sent_at, time.perf_counter() - started, status, order_id))

    async def client(session: aiohttp.ClientSession) -> None:
        while next(remaining) < count:
            await submit(session, None)

    async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=auth.headers()) as session:
        started = time.perf_counter()
        if pacing is None:
            await asyncio.gather(*(client(session) for _ in range(concurrency)))
        else:
            await run_paced(count, concurrency, lambda due: submit(session, due), pacing)
        elapsed = time.perf_counter() - started
    return results, elapsed, pacing


def submit_report(results: list[Submitted], elapsed: float, url: str, concurrency: int,
                  pacing: Pacing | None = None) -> Report:
    accepted = [r for r in results if r.status == 202]
    load = f"concurrency {concurrency}" if pacing is None else open_loop_label(pacing, concurrency)
    report = Report(f"submit: {len(results)} orders at {load} against {url}")
    report.add("throughput", {
        "accepted": len(accepted), "errors": len(results) - len(accepted), "wall s": elapsed,
        "accepted/s": len(accepted) / elapsed if elapsed else 0.0, "requests/s": len(results) / elapsed,
    })
    if pacing is not None:
        report.add("schedule (lag: due -> sent)", pacing_figures(pacing))
    report.add("latency (all requests)" if pacing is None else "latency (all requests, from when each was due)",
               latency_figures([r.latency_s for r in results]))
    errors = collections.Counter(str(r.status) for r in results if r.status != 202)
    if errors:
        report.add("errors by status", dict(errors.most_common()))
    return report
