"""The local runtime's IPC overhead: invocations of a no-op function through the runtime, without HTTP."""
from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

from local.bench.report import Report, latency_figures
from local.bench.submit_load import order_bodies


async def measure_ipc(count: int, concurrency: int) -> Report:
    """Invocations of a function that does nothing, through the runtime (no HTTP), with a realistic event: the
    round trip is the IPC overhead a gateway request pays on top of the handler's own time."""
    from local.http_gateway import RouteMatch, build_event
    from local.runtime import Runtime
    from local.template import HttpRoute, load_template

    template = load_template(Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "template.yaml")
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
        parent0, workers0 = time.process_time(), _cpu(pool.worker_pids)
        started = time.perf_counter()
        for _ in range(count):
            t0 = time.perf_counter()
            await pool.invoke(event)
            latencies.append(time.perf_counter() - t0)
        sequential = time.perf_counter() - started
        parent, workers = time.process_time() - parent0, _cpu(pool.worker_pids) - workers0
        report.add("sequential (1 at a time)", {
            "invocations/s": count / sequential, **{k.replace("ms", "us"): v * 1000
                                                    for k, v in latency_figures(latencies).items()},
            "runtime CPU us per call": parent / count * 1e6, "worker CPU us per call": workers / count * 1e6})
        started = time.perf_counter()
        per_client = count // concurrency
        await asyncio.gather(*(_invoke_n(pool, event, per_client) for _ in range(concurrency)))
        parallel = time.perf_counter() - started
        report.add(f"{concurrency} workers in parallel", {"invocations/s": per_client * concurrency / parallel})
    finally:
        await runtime.close()
    return report


def _cpu(pids: list[int]) -> float:
    """utime + stime of the worker processes, seconds."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


async def _invoke_n(pool, event, n: int) -> None:
    for _ in range(n):
        await pool.invoke(event)
