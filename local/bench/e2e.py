"""End to end: orders submitted and watched over the WebSocket API until the client holds each one's whole
timeline (or, unwatched, followed through GET /api/queue's confirmed and failed counts)."""
from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Counter

import aiohttp
import orjson

from local.bench import auth
from local.bench.pacing import Due, Pacing, open_loop_label, pacing_figures, run_paced, start_times
from local.bench.report import Report, latency_figures
from local.bench.submit_load import OrderMix, Submitted, order_bodies, run_submits, submit_report

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
                  connections: int, timeout_s: float, mix: OrderMix = OrderMix(), pacing: Pacing | None = None
                  ) -> tuple[list[Watched], list[Submitted], float, Counter]:
    """Submit `count` orders (at most `concurrency` requests and `in_flight` unfinished orders at once), each
    watched until complete or `timeout_s` after its submit; returns the orders, the submissions, the wall time
    (first submit to last completion) and the WebSocket errors. With `pacing`, open loop at its rate: each submit
    is due on a fixed schedule and its latencies count from then (`--in-flight` holding one back shows as lag)."""
    bodies = order_bodies(mix)
    remaining = itertools.count()
    endpoint = f"{url.rstrip('/')}/api/orders/execute"
    orders: list[Watched] = []
    submissions: list[Submitted] = []
    slots = asyncio.Semaphore(in_flight)
    pending: set[asyncio.Task] = set()
    errors: collections.Counter[str] = collections.Counter()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30), headers=auth.headers()) as session:
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

        async def submit(due: Due | None) -> None:
            if due is not None and slots.locked():
                pacing.bound_hits["--in-flight"] += 1
            await slots.acquire()
            sent_at, started = start_times(due)
            if due is not None:
                pacing.sent(due, time.perf_counter())
            try:
                async with session.post(endpoint, data=orjson.dumps(next(bodies)),
                                        headers={"content-type": "application/json"}) as response:
                    payload, status = await response.read(), response.status
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                submissions.append(Submitted(sent_at, time.perf_counter() - started, type(exc).__name__))
                slots.release()
                return
            order_id = orjson.loads(payload).get("orderId") if status == 202 else None
            submissions.append(Submitted(sent_at, time.perf_counter() - started, status, order_id))
            if order_id is None:
                slots.release()
                return
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

        async def client() -> None:
            while next(remaining) < count:
                await submit(None)

        started = time.time()
        if pacing is None:
            await asyncio.gather(*(client() for _ in range(concurrency)))
        else:
            await run_paced(count, concurrency, submit, pacing)
        while pending:
            await asyncio.gather(*list(pending))
        done_at = [o.confirmed_at or 0.0 for o in orders if o.complete]
        elapsed = (max(done_at) if done_at else time.time()) - started
        if watchers is not None:
            errors.update(watchers.errors)
            await watchers.close()
    return orders, submissions, elapsed, errors


async def run_unwatched(url: str, count: int, concurrency: int, timeout_s: float,
                        mix: OrderMix = OrderMix(), rate: float | None = None) -> tuple[Report, dict[str, Any]]:
    """`--watch none`: submit `count` orders and follow only the engine's confirmed and failed counts
    (GET /api/queue, once a second) until all of them are terminal or `timeout_s` passes after the last submit."""
    async with aiohttp.ClientSession(headers=auth.headers()) as session:
        async def counts() -> tuple[int, int]:
            async with session.get(f"{url.rstrip('/')}/api/queue") as response:
                stats = await response.json()
            return stats["confirmed"], stats["failed"]

        confirmed0, failed0 = await counts()
        started = time.time()
        submitter = asyncio.ensure_future(run_submits(url, count, concurrency, mix=mix, rate=rate))
        samples: list[tuple[float, int, int]] = []
        while True:
            await asyncio.sleep(1.0)
            confirmed, failed = await counts()
            samples.append((time.time() - started, confirmed - confirmed0, failed - failed0))
            if submitter.done():
                accepted = sum(1 for r in submitter.result()[0] if r.status == 202)
                if samples[-1][1] + samples[-1][2] >= accepted or time.time() - started > timeout_s:
                    break
    results, submit_elapsed, pacing = submitter.result()
    elapsed, confirmed, failed = samples[-1]
    return submit_report(results, submit_elapsed, url, concurrency, pacing), {
        "wall s": elapsed, "confirmed": confirmed, "failed": failed,
        "unfinished": sum(1 for r in results if r.status == 202) - confirmed - failed,
        "confirmed/s": confirmed / elapsed, "confirmed/min": 60 * confirmed / elapsed,
        "peak confirmed/s (1 s)": max((b[1] - a[1]) / (b[0] - a[0]) for a, b in zip(samples, samples[1:]))
        if len(samples) > 1 else 0.0,
    }


def e2e_report(orders: list[Watched], submissions: list[Submitted], elapsed: float, errors: Counter,
               args: argparse.Namespace, pacing: Pacing | None = None) -> Report:
    complete = [o for o in orders if o.complete]
    confirmed = [o for o in complete if o.terminal == "confirmed"]
    dynamic = f", dynamic slippage {args.dynamic_slippage}" if args.dynamic_slippage else ""
    load = f"{args.concurrency} submitting" if pacing is None else open_loop_label(pacing, args.concurrency)
    report = Report(f"e2e: {len(submissions)} orders ({args.mix} sizes{dynamic}), {load}, "
                    f"at most {args.in_flight} unfinished, watched by --watch {args.watch} against {args.url} / "
                    f"{args.ws}")
    if pacing is not None:
        report.add("schedule (lag: due -> sent)", pacing_figures(pacing))
    report.add("orders", {
        "accepted": len(orders), "submit errors": len(submissions) - len(orders), "confirmed": len(confirmed),
        "failed": len(complete) - len(confirmed), "unfinished": len(orders) - len(complete),
    })
    report.add("throughput", {
        "wall s": elapsed, "confirmed/s": len(confirmed) / elapsed if elapsed else 0.0,
        "confirmed/min": 60 * len(confirmed) / elapsed if elapsed else 0.0,
    })
    report.add("time to confirmed (submit sent -> frame received)" if pacing is None
               else "time to confirmed (submit due -> frame received)",
               latency_figures([o.confirmed_at - o.sent_at for o in confirmed if o.confirmed_at]))
    delays = [d / 1000 for o in orders for d in o.delays_ms]
    report.add(f"event delivery delay (server `at` -> received, {len(delays)} live events)", latency_figures(delays))
    report.add("delivery", {
        "events received": sum(len(o.statuses) for o in orders),
        "missing": sum(o.missing for o in orders) + sum(1 for o in orders if not o.statuses),
        "duplicates": sum(o.duplicates for o in orders), "out of order": sum(o.out_of_order for o in orders),
    })
    report.add("submit latency" if pacing is None else "submit latency (from when each was due)",
               latency_figures([s.latency_s for s in submissions]))
    if errors:
        report.add("websocket errors", dict(errors.most_common()))
    return report
