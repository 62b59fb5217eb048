"""Load generator for any deployment of the API (the local stack by default): one tool, subcommands.

    python -m local.bench submit -n 5000 -c 64                 # submit throughput and latency
    python -m local.bench e2e -n 5000 -c 64                    # end to end: every order watched over WebSocket
    python -m local.bench e2e -n 10000 --in-flight 1000        # ... with at most 1,000 orders unfinished at once
    python -m local.bench ipc -n 5000                          # the local runtime's IPC overhead
    python -m local.bench post-cost                            # CPU per management-API post (boto3 vs pooled)
    python -m local.bench fanout --clients 1000                # one event to N subscribers

`submit` sends N orders (alternating the two seed request shapes) from C concurrent clients and reports accepted
orders/s, latency p50/p95/p99 and errors by status.

`e2e` submits the same way and watches every order over the WebSocket API until the client holds its whole
timeline (seq 1 up to `confirmed` or `failed`, without gaps): by default over a few long-lived connections that
`subscribe` to each order (`--watch subscribe`), or with a connection of its own per order (`--watch connect`, the
`?orderId=` URL that submit hands back). It reports confirmed orders/s (and per minute), time to confirmed
(submit sent to the `confirmed` frame received) p50/p99, event delivery delay (the event's server time `at` to
its receipt, for events that happened after the client subscribed) p50/p99, and missing, duplicate and
out-of-order events. The client runs on the same machine as the stack, so it shares its CPU.
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
from datetime import datetime
from pathlib import Path
from typing import Any, Counter, Iterator

import aiohttp
import orjson

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


TERMINAL = ("confirmed", "failed")


@dataclass
class Watched:
    """One order as its WebSocket client sees it."""

    order_id: str
    sent_at: float  # submit sent (time.time())
    subscribed_at: float = 0.0  # subscription asked for
    first_arrivals: list[int] = field(default_factory=list)  # each seq the first time it arrived
    statuses: dict[int, str] = field(default_factory=dict)
    duplicates: int = 0
    out_of_order: int = 0
    delays_ms: list[float] = field(default_factory=list)  # `at` -> receipt, events after the subscription
    confirmed_at: float | None = None  # the `confirmed` frame received
    done: asyncio.Event = field(default_factory=asyncio.Event)  # the whole timeline is held

    def receive(self, frame: dict[str, Any], received: float) -> None:
        seq = frame.get("seq")
        if not isinstance(seq, int):
            return
        if seq in self.statuses:
            self.duplicates += 1
            return
        if self.first_arrivals and seq < self.first_arrivals[-1]:
            self.out_of_order += 1
        self.first_arrivals.append(seq)
        self.statuses[seq] = frame.get("status")
        at = _epoch(frame.get("at"))
        if at is not None and at >= self.subscribed_at:
            self.delays_ms.append((received - at) * 1000)
        if frame.get("status") == "confirmed":
            self.confirmed_at = received
        if self.complete:
            self.done.set()

    @property
    def terminal(self) -> str | None:
        last = self.statuses.get(len(self.statuses))
        return last if last in TERMINAL else None

    @property
    def complete(self) -> bool:
        n = len(self.statuses)
        return n > 0 and self.statuses.get(n) in TERMINAL and max(self.statuses) == n

    @property
    def missing(self) -> int:
        return max(self.statuses) - len(self.statuses) if self.statuses else 0


def _epoch(at: Any) -> float | None:
    try:
        return datetime.fromisoformat(at).timestamp()
    except (TypeError, ValueError):
        return None


class Watchers:
    """Routes the frames of `--watch subscribe` connections to their orders."""

    def __init__(self, session: aiohttp.ClientSession, ws_url: str, count: int):
        self.session, self.ws_url, self.count = session, ws_url, count
        self.sockets: list[aiohttp.ClientWebSocketResponse] = []
        self.orders: dict[str, Watched] = {}
        self.errors: collections.Counter[str] = collections.Counter()
        self._readers: list[asyncio.Task] = []
        self._next = itertools.count()

    async def open(self) -> None:
        self.sockets = list(await asyncio.gather(*(self.session.ws_connect(self.ws_url, heartbeat=None)
                                                   for _ in range(self.count))))
        self._readers = [asyncio.ensure_future(self._read(ws)) for ws in self.sockets]

    async def watch(self, order: Watched) -> None:
        self.orders[order.order_id] = order
        order.subscribed_at = time.time()
        ws = self.sockets[next(self._next) % len(self.sockets)]
        await ws.send_str('{"action":"subscribe","orderId":"%s"}' % order.order_id)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                break
            received = time.time()
            frame = orjson.loads(message.data)
            kind = frame.get("type")
            if kind == "status":
                order = self.orders.get(frame.get("orderId"))
                if order is not None:
                    order.receive(frame, received)
            elif kind == "error" or kind is None:
                self.errors[str(frame.get("code") or frame.get("message"))] += 1

    async def close(self) -> None:
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)
        for task in self._readers:
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)


async def watch_own_connection(session: aiohttp.ClientSession, ws_url: str, order: Watched, timeout_s: float,
                               errors: collections.Counter) -> None:
    """`--watch connect`: the order's own `?orderId=` connection, closed once the timeline is complete."""
    order.subscribed_at = time.time()
    try:
        async with session.ws_connect(f"{ws_url}?orderId={order.order_id}", heartbeat=None) as ws:
            while not order.complete:
                message = await ws.receive(timeout=timeout_s)
                if message.type is not aiohttp.WSMsgType.TEXT:
                    errors[f"closed {message.type.name}"] += 1
                    return
                frame = orjson.loads(message.data)
                if frame.get("type") == "status":
                    order.receive(frame, time.time())
                elif frame.get("type") == "error":
                    errors[str(frame.get("code"))] += 1
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        errors[type(exc).__name__] += 1


async def run_e2e(url: str, ws_url: str, count: int, concurrency: int, in_flight: int, watch: str,
                  connections: int, timeout_s: float) -> tuple[list[Watched], list[Submitted], float, Counter]:
    """Submit `count` orders (at most `concurrency` requests and `in_flight` unfinished orders at once), each
    watched until complete or `timeout_s` after its submit; returns the orders, the submissions, the wall time
    (first submit to last completion) and the WebSocket errors."""
    bodies = order_bodies()
    remaining = itertools.count()
    endpoint = f"{url.rstrip('/')}/api/orders/execute"
    orders: list[Watched] = []
    submissions: list[Submitted] = []
    slots = asyncio.Semaphore(in_flight)
    pending: set[asyncio.Task] = set()
    errors: collections.Counter[str] = collections.Counter()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        watchers = Watchers(session, ws_url, connections) if watch == "subscribe" else None
        if watchers is not None:
            await watchers.open()

        async def settle(order: Watched, watcher: asyncio.Future | None) -> None:
            try:
                await asyncio.wait_for(order.done.wait(), max(0.0, order.sent_at + timeout_s - time.time()))
            except asyncio.TimeoutError:
                pass
            finally:
                if watcher is not None:
                    watcher.cancel()
                slots.release()

        async def client() -> None:
            while next(remaining) < count:
                await slots.acquire()
                sent_at, started = time.time(), time.perf_counter()
                try:
                    async with session.post(endpoint, data=orjson.dumps(next(bodies)),
                                            headers={"content-type": "application/json"}) as response:
                        payload, status = await response.read(), response.status
                except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                    submissions.append(Submitted(sent_at, time.perf_counter() - started, type(exc).__name__))
                    slots.release()
                    continue
                order_id = orjson.loads(payload).get("orderId") if status == 202 else None
                submissions.append(Submitted(sent_at, time.perf_counter() - started, status, order_id))
                if order_id is None:
                    slots.release()
                    continue
                order = Watched(order_id, sent_at)
                orders.append(order)
                watcher = None
                if watchers is not None:
                    await watchers.watch(order)
                else:
                    watcher = asyncio.ensure_future(watch_own_connection(session, ws_url, order, timeout_s, errors))
                task = asyncio.ensure_future(settle(order, watcher))
                pending.add(task)
                task.add_done_callback(pending.discard)

        started = time.time()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        while pending:
            await asyncio.gather(*list(pending))
        done_at = [o.confirmed_at or 0.0 for o in orders if o.complete]
        elapsed = (max(done_at) if done_at else time.time()) - started
        if watchers is not None:
            errors.update(watchers.errors)
            await watchers.close()
    return orders, submissions, elapsed, errors


async def run_unwatched(url: str, count: int, concurrency: int, timeout_s: float) -> tuple[Report, dict[str, Any]]:
    """`--watch none`: submit `count` orders and follow only the engine's confirmed and failed counts
    (GET /api/queue, once a second) until all of them are terminal or `timeout_s` passes after the last submit."""
    async with aiohttp.ClientSession() as session:
        async def counts() -> tuple[int, int]:
            async with session.get(f"{url.rstrip('/')}/api/queue") as response:
                stats = await response.json()
            return stats["confirmed"], stats["failed"]

        confirmed0, failed0 = await counts()
        started = time.time()
        submitter = asyncio.ensure_future(run_submits(url, count, concurrency))
        samples: list[tuple[float, int, int]] = []
        while True:
            await asyncio.sleep(1.0)
            confirmed, failed = await counts()
            samples.append((time.time() - started, confirmed - confirmed0, failed - failed0))
            if submitter.done():
                accepted = sum(1 for r in submitter.result()[0] if r.status == 202)
                if samples[-1][1] + samples[-1][2] >= accepted or time.time() - started > timeout_s:
                    break
    results, submit_elapsed = submitter.result()
    elapsed, confirmed, failed = samples[-1]
    return submit_report(results, submit_elapsed, url, concurrency), {
        "wall s": elapsed, "confirmed": confirmed, "failed": failed,
        "unfinished": sum(1 for r in results if r.status == 202) - confirmed - failed,
        "confirmed/s": confirmed / elapsed, "confirmed/min": 60 * confirmed / elapsed,
        "peak confirmed/s (1 s)": max((b[1] - a[1]) / (b[0] - a[0]) for a, b in zip(samples, samples[1:]))
        if len(samples) > 1 else 0.0,
    }


def e2e_report(orders: list[Watched], submissions: list[Submitted], elapsed: float, errors: Counter,
               args: argparse.Namespace) -> Report:
    complete = [o for o in orders if o.complete]
    confirmed = [o for o in complete if o.terminal == "confirmed"]
    report = Report(f"e2e: {len(submissions)} orders, {args.concurrency} submitting, at most {args.in_flight} "
                    f"unfinished, watched by --watch {args.watch} against {args.url} / {args.ws}")
    report.add("orders", {
        "accepted": len(orders), "submit errors": len(submissions) - len(orders), "confirmed": len(confirmed),
        "failed": len(complete) - len(confirmed), "unfinished": len(orders) - len(complete),
    })
    report.add("throughput", {
        "wall s": elapsed, "confirmed/s": len(confirmed) / elapsed if elapsed else 0.0,
        "confirmed/min": 60 * len(confirmed) / elapsed if elapsed else 0.0,
    })
    report.add("time to confirmed (submit sent -> frame received)",
               latency_figures([o.confirmed_at - o.sent_at for o in confirmed if o.confirmed_at]))
    delays = [d / 1000 for o in orders for d in o.delays_ms]
    report.add(f"event delivery delay (server `at` -> received, {len(delays)} live events)", latency_figures(delays))
    report.add("delivery", {
        "events received": sum(len(o.statuses) for o in orders),
        "missing": sum(o.missing for o in orders) + sum(1 for o in orders if not o.statuses),
        "duplicates": sum(o.duplicates for o in orders), "out of order": sum(o.out_of_order for o in orders),
    })
    report.add("submit latency", latency_figures([s.latency_s for s in submissions]))
    if errors:
        report.add("websocket errors", dict(errors.most_common()))
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default="http://127.0.0.1:3000", help="base URL of the HTTP API")
    common.add_argument("-n", "--count", type=int, default=5000)
    common.add_argument("-c", "--concurrency", type=int, default=64, help="submit requests at once")
    common.add_argument("--json", action="store_true", help="print the figures as JSON")
    p = sub.add_parser("submit", parents=[common], help="submit throughput and latency")
    p.add_argument("--warmup", type=int, default=200, help="submits sent (and not counted) first")
    e = sub.add_parser("e2e", parents=[common], help="submit and watch every order over WebSocket to the end")
    e.add_argument("--ws", default="ws://127.0.0.1:3001/local", help="the WebSocket API's URL")
    e.add_argument("--in-flight", type=int, default=1000, help="most orders submitted and not yet complete")
    e.add_argument("--watch", choices=["subscribe", "connect", "none"], default="subscribe",
                   help="subscribe over shared connections, a ?orderId= connection per order, or none (confirmed "
                        "counts from GET /api/queue only; --in-flight is then the executor's MAX_IN_FLIGHT)")
    e.add_argument("--connections", type=int, default=16, help="shared connections (--watch subscribe)")
    e.add_argument("--timeout", type=float, default=120.0, help="seconds an order may take, from its submit")
    e.add_argument("--warmup", type=int, default=100, help="orders run (and not counted) first")
    sub.add_parser("ipc", parents=[common], help="the local runtime's IPC overhead")
    pc = sub.add_parser("post-cost", help="CPU per management-API post: boto3 vs the pooled signed client")
    pc.add_argument("--posts", type=int, default=3000)
    f = sub.add_parser("fanout", help="one order's events to N subscribers through the notifier")
    f.add_argument("--clients", type=int, default=1000)
    f.add_argument("--events", type=int, default=5)
    for command in (pc, f):
        command.add_argument("--json", action="store_true", help="print the figures as JSON")
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv.insert(0, "submit")  # the default, as before subcommands
    args = parser.parse_args(argv)

    async def run() -> Report:
        if args.mode == "ipc":
            return await measure_ipc(args.count, min(args.concurrency, 4))
        if args.mode == "e2e" and args.watch == "none":
            report, figures = await run_unwatched(args.url, args.count, args.concurrency, args.timeout)
            report.title = f"e2e (unwatched, counts from /api/queue): {report.title}"
            report.add("end to end", figures)
            return report
        if args.mode == "e2e":
            if args.warmup:
                await run_e2e(args.url, args.ws, args.warmup, min(args.concurrency, args.warmup), args.in_flight,
                              args.watch, args.connections, args.timeout)
            result = await run_e2e(args.url, args.ws, args.count, args.concurrency, args.in_flight, args.watch,
                                   args.connections, args.timeout)
            return e2e_report(*result, args)
        if args.warmup:
            await run_submits(args.url, args.warmup, min(args.concurrency, args.warmup))
        results, elapsed = await run_submits(args.url, args.count, args.concurrency)
        return submit_report(results, elapsed, args.url, args.concurrency)

    if args.mode in ("post-cost", "fanout"):
        from local import bench_ws

        figures = (bench_ws.post_cost(min(args.posts, 20_000)) if args.mode == "post-cost"
                   else bench_ws.fanout(min(args.clients, 5_000), min(args.events, 50)))
        report = Report(f"{args.mode}")
        report.add("figures", figures)
    else:
        try:
            import uvloop
        except ImportError:  # optional
            uvloop = None
        report = uvloop.run(run()) if uvloop else asyncio.run(run())
    print(json.dumps(report.as_dict(), indent=2, default=str) if args.json else report.text())
    sys.stdout.flush()


if __name__ == "__main__":
    main()
