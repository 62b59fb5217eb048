"""The one client `bench compare` drives both engines with: `in_flight` slots, each submitting an order and
following it to its end before submitting the next (closed loop), with the same order bodies for both engines.

Two ways to follow an order:
- `poll`: GET the order every `poll_s` (50 ms), starting `poll_s` after its submit was answered, until its
  `status` is terminal;
- `ws`: one WebSocket per order (the engine's `?orderId=` URL), opened once the submit is answered, until a
  terminal status frame arrives. Whether the engine has the order over meanwhile is read from the engine's own
  database (`StatusProbe`: one `SELECT id, status FROM orders WHERE id = ANY(...)` a second for every order still
  waiting for its frame, on the client's connection, so neither engine spends CPU on the check; both engines keep
  an `orders` table with `id` and `status`), or, without a database URL, by GET after `check_s` of silence.

  The slot is free when the terminal frame arrives, or `late_s` (1 s) after the check saw the order over,
  whichever is first: a late or missing frame holds a slot at most `late_s` (+ up to `check_s` for the check)
  longer, the same for both engines, so confirmed/s does not depend on the grace below. The socket itself stays
  open (in the background) until `grace_s` (10 s) after the check saw the order over: a terminal frame that has
  not come by then is **missing**. A terminal frame that did come is **late** when it came more than `late_s`
  after the later of its server time `at` and the connection being open (a replayed frame is judged from the
  connection, a live one from its `at`).
"""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator

import aiohttp
import orjson
import pg8000.native

from local.bench.engines import Routes, connect_kwargs

TERMINAL = ("confirmed", "failed")


@dataclass
class Order:
    """One order as the client saw it."""

    sent_at: float  # time.time() the submit was sent
    submit_s: float  # the submit's latency
    status: int | str  # the submit's HTTP status, or the exception's name
    order_id: str | None = None
    terminal: str | None = None  # confirmed / failed, as the client learnt it
    done_at: float | None = None  # time.time() the client learnt it
    frame_delay_s: float | None = None  # ws: terminal frame received - max(its `at`, connection open)
    frame_missing: bool = False  # ws: the engine had it terminal, no terminal frame came
    ws_opened: bool = False  # ws: the handshake succeeded
    polls: int = 0
    watch_error: str | None = None


def epoch(at: Any) -> float | None:
    try:
        return datetime.fromisoformat(at).timestamp()
    except (TypeError, ValueError):
        return None


def frame_delay(received: float, at: float | None, connected: float) -> float:
    """How long a frame took from when the client could first have had it: its server time, or the connection's
    opening for a frame of an earlier event (a replay)."""
    return received - max(at if at is not None else received, connected)


def terminal_of(frame: dict[str, Any]) -> str | None:
    """The terminal status a WebSocket frame carries (ours: `type: status`; the peer's frames have no type)."""
    if frame.get("type", "status") != "status":
        return None
    status = frame.get("status")
    return status if status in TERMINAL else None


class StatusProbe:
    """Which orders the engine's database has over: the ids `watch` registers, read together every `every_s` on
    a connection of the client's own (in a thread: pg8000 is synchronous)."""

    def __init__(self, database_url: str, every_s: float = 1.0):
        self.database_url, self.every_s = database_url, every_s
        self.waiting: set[str] = set()
        self.ended: dict[str, tuple[str, float]] = {}  # order id -> (terminal status, when the probe saw it)
        self._conn: pg8000.native.Connection | None = None
        self._task: asyncio.Task | None = None

    def watch(self, order_id: str) -> None:
        self.waiting.add(order_id)

    def forget(self, order_id: str) -> None:
        self.waiting.discard(order_id)
        self.ended.pop(order_id, None)

    def _read(self, ids: list[str]) -> list[list[Any]]:
        if self._conn is None:
            self._conn = pg8000.native.Connection(**connect_kwargs(self.database_url))
        return self._conn.run("SELECT id::text, status FROM orders WHERE id = ANY(CAST(:ids AS uuid[])) "
                              "AND status IN ('confirmed', 'failed')", ids=ids)

    async def _every(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.every_s)
            ids = sorted(self.waiting)
            if not ids:
                continue
            try:
                rows = await loop.run_in_executor(None, self._read, ids)
            except (OSError, pg8000.native.InterfaceError, pg8000.native.DatabaseError) as exc:
                # the next tick tries again on a new connection; meanwhile watches wait for their frames
                print(f"status probe: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
                if self._conn is not None:
                    with contextlib.suppress(Exception):
                        self._conn.close()
                    self._conn = None
                continue
            seen = time.time()
            for order_id, status in rows:
                if order_id in self.waiting:
                    self.waiting.discard(order_id)
                    self.ended[order_id] = (status, seen)

    async def __aenter__(self) -> "StatusProbe":
        self._task = asyncio.ensure_future(self._every())
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class Client:
    def __init__(self, session: aiohttp.ClientSession, routes: Routes, timeout_s: float, poll_s: float = 0.05,
                 check_s: float = 1.0, grace_s: float = 10.0, late_s: float = 1.0, probe: StatusProbe | None = None):
        self.session, self.routes, self.probe = session, routes, probe
        self.timeout_s, self.poll_s, self.check_s, self.grace_s = timeout_s, poll_s, check_s, grace_s
        self.late_s = late_s
        self.lingering: set[asyncio.Task] = set()  # sockets kept open past their slot's release

    async def ended_in_engine(self, order_id: str) -> tuple[str, float] | None:
        """(terminal status, when seen) if the engine has the order over: from the probe, else by GET."""
        if self.probe is not None:
            return self.probe.ended.get(order_id)
        status = await self.status_of(order_id)
        return (status, time.time()) if status in TERMINAL else None

    async def status_of(self, order_id: str) -> str | None:
        try:
            async with self.session.get(self.routes.order_url(order_id)) as response:
                if response.status != 200:
                    return None
                return orjson.loads(await response.read()).get("status")
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return None

    async def submit(self, body: dict[str, Any]) -> Order:
        sent_at, started = time.time(), time.perf_counter()
        try:
            async with self.session.post(self.routes.submit_url, data=orjson.dumps(self.routes.body(body)),
                                         headers={"content-type": "application/json"}) as response:
                payload, status = await response.read(), response.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            return Order(sent_at, time.perf_counter() - started, type(exc).__name__)
        order = Order(sent_at, time.perf_counter() - started, status)
        if status == self.routes.accepted_status:
            order.order_id = orjson.loads(payload).get("orderId")
        return order

    async def poll(self, order: Order) -> None:
        deadline = order.sent_at + self.timeout_s
        while time.time() < deadline:
            await asyncio.sleep(self.poll_s)
            status = await self.status_of(order.order_id)
            order.polls += 1
            if status in TERMINAL:
                order.terminal, order.done_at = status, time.time()
                return

    async def watch(self, order: Order) -> None:
        """Returns when the order's slot is free (see the module's doc); its socket may stay open in
        `lingering` until its terminal frame is known to be late or missing."""
        released = asyncio.Event()
        task = asyncio.ensure_future(self._follow(order, released))
        self.lingering.add(task)
        task.add_done_callback(self.lingering.discard)
        await released.wait()

    async def _follow(self, order: Order, released: asyncio.Event) -> None:
        deadline = order.sent_at + self.timeout_s
        ended: tuple[str, float] | None = None  # the engine has it over, no terminal frame yet

        def release(at: float | None) -> None:
            if not released.is_set():
                if at is not None:
                    order.done_at = at
                released.set()

        if self.probe is not None:
            self.probe.watch(order.order_id)
        try:
            async with self.session.ws_connect(self.routes.ws_url(order.order_id), heartbeat=None) as ws:
                connected, order.ws_opened = time.time(), True
                while True:
                    now = time.time()
                    if ended is not None and now >= ended[1] + self.late_s:
                        release(now)  # the frame is late (or missing): the slot goes on, the socket waits on
                    limit = deadline if ended is None else min(deadline, ended[1] + self.grace_s)
                    if now >= limit:
                        break
                    wake = limit if ended is None or released.is_set() else min(limit, ended[1] + self.late_s)
                    try:
                        message = await ws.receive(timeout=max(0.01, min(self.check_s, wake - now)))
                    except asyncio.TimeoutError:
                        ended = ended or await self.ended_in_engine(order.order_id)
                        continue
                    if message.type is not aiohttp.WSMsgType.TEXT:
                        order.watch_error = f"closed {message.type.name}"
                        break
                    received = time.time()
                    try:
                        frame = orjson.loads(message.data)
                    except orjson.JSONDecodeError:
                        continue
                    terminal = terminal_of(frame) if isinstance(frame, dict) else None
                    if terminal is not None:
                        order.terminal = terminal
                        order.frame_delay_s = frame_delay(received, epoch(frame.get("at")), connected)
                        release(received)
                        return
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            order.watch_error = type(exc).__name__
        finally:
            if self.probe is not None:
                ended = ended or self.probe.ended.get(order.order_id)
                self.probe.forget(order.order_id)
            if order.terminal is None:
                if ended is None:  # the deadline, or the socket closed: one last look
                    status = await self.status_of(order.order_id)
                    ended = (status, time.time()) if status in TERMINAL else None
                if ended is not None:  # over in the engine, never told over the WebSocket
                    order.terminal, order.frame_missing = ended[0], True
            release(ended[1] if ended is not None else None)


async def run_orders(routes: Routes, bodies: Iterator[dict[str, Any]], count: int, in_flight: int, watch: str,
                     timeout_s: float, poll_s: float = 0.05, check_s: float = 1.0, grace_s: float = 10.0,
                     late_s: float = 1.0, database_url: str | None = None) -> tuple[list[Order], float]:
    """`count` orders from `in_flight` closed-loop slots, each followed by `watch` ("poll" or "ws"; with
    `database_url`, the engine's database, the WebSocket watch reads there whether an order is over); returns every
    order (once every socket has closed) and the wall time from the first submit to the last order the client
    learnt had ended."""
    remaining = itertools.count()
    orders: list[Order] = []
    connector = aiohttp.TCPConnector(limit=0)
    probe = StatusProbe(database_url, check_s) if database_url and watch == "ws" else None
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        async with (probe if probe is not None else contextlib.nullcontext()):
            client = Client(session, routes, timeout_s, poll_s, check_s, grace_s, late_s, probe)

            async def slot() -> None:
                while next(remaining) < count:
                    order = await client.submit(next(bodies))
                    orders.append(order)
                    if order.order_id is None:
                        continue
                    await (client.poll(order) if watch == "poll" else client.watch(order))

            started = time.time()
            await asyncio.gather(*(slot() for _ in range(min(in_flight, count))))
            while client.lingering:  # the sockets still deciding late or missing
                await asyncio.gather(*list(client.lingering))
    ended = [o.done_at for o in orders if o.done_at is not None]
    return orders, (max(ended) if ended else time.time()) - started
