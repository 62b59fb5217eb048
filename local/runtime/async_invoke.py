"""Lambda's asynchronous (Event) invocations of one function: queued, run as slots free up, and retried twice after
a failure (an error, a crash, a timeout), after the delays Lambda waits (one and two minutes by default)."""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from local.runtime.function_stats import FunctionStats
from local.runtime.invoke_errors import InvokeError
from local.runtime.request_ids import new_request_id

log = logging.getLogger("local.runtime")

Invoke = Callable[[Any, str], Awaitable[Any]]  # (event, request id) -> the function's result, or an InvokeError


@dataclass
class QueuedEvent:
    event: Any
    request_id: str
    queued_at: float = field(default_factory=time.monotonic)
    attempt: int = 0  # retries already made after failures


class AsyncInvokeQueue:
    """The event queue of one function, drained by as many tasks as the function may run at once."""

    def __init__(self, function_name: str, invoke: Invoke, stats: FunctionStats, *, drains: int,
                 max_age: float = 6 * 3600, retry_delays: tuple[float, ...] = (60.0, 120.0)):
        self.function_name = function_name
        self._invoke = invoke
        self.stats = stats
        self.drains = drains
        self.max_age = max_age
        self.retry_delays = tuple(retry_delays)
        self._queue: asyncio.Queue[QueuedEvent] = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []
        self._retry_timers: set[asyncio.TimerHandle] = set()
        self._closed = False

    @property
    def queued(self) -> int:
        """Events waiting for a free slot."""
        return self._queue.qsize()

    @property
    def retrying(self) -> int:
        """Failed events waiting out their delay before the next try."""
        return len(self._retry_timers)

    def put(self, event: Any) -> str:
        """Queue one event; returns its request id."""
        item = QueuedEvent(event, new_request_id())
        self._queue.put_nowait(item)
        if not self._tasks:
            self._tasks = [asyncio.ensure_future(self._drain()) for _ in range(self.drains)]
        return item.request_id

    async def _drain(self) -> None:
        while True:
            item = await self._queue.get()
            age = time.monotonic() - item.queued_at
            if age > self.max_age:
                log.error("%s: dropped async event %s after %.0fs in the queue (maximum event age)",
                          self.function_name, item.request_id, age)
                continue
            try:
                await self._invoke(item.event, item.request_id)
            except InvokeError as exc:
                self._retry_later(item, exc)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a drain task must survive anything one invocation does
                log.exception("%s: async invocation %s", self.function_name, item.request_id)

    def _retry_later(self, item: QueuedEvent, exc: InvokeError) -> None:
        """Lambda retries a failed asynchronous invocation twice, waiting between tries, then drops it."""
        if item.attempt >= len(self.retry_delays) or self._closed:
            log.error("%s: async invocation %s failed after %d retries: %s", self.function_name,
                      item.request_id, item.attempt, exc)
            return
        delay = self.retry_delays[item.attempt]
        item.attempt += 1
        self.stats.async_retries += 1
        log.warning("%s: async invocation %s failed (%s); retry %d in %.0fs", self.function_name,
                    item.request_id, exc, item.attempt, delay)

        def requeue() -> None:
            self._retry_timers.discard(timer)
            if not self._closed:
                self._queue.put_nowait(item)

        timer = asyncio.get_running_loop().call_later(delay, requeue)
        self._retry_timers.add(timer)

    async def close(self) -> None:
        self._closed = True
        for timer in self._retry_timers:
            timer.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
