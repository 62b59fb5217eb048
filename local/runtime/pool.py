"""The execution environments of one function: invocations take one each for their whole duration.

Like Lambda, environments are created on demand up to the function's concurrency and kept warm, one that exceeds
its timeout is killed, and one that dies is replaced. A function with ReservedConcurrentExecutions never runs more
than that many at once: a synchronous invoke beyond it is throttled, an asynchronous one waits in the function's
queue until a slot frees.
"""
from __future__ import annotations

import asyncio
import collections
import logging
import sys
import time
from typing import Any, Mapping

from local.runtime.async_invoke import AsyncInvokeQueue
from local.runtime.environment import Worker, start_worker
from local.runtime.function_stats import FunctionStats
from local.runtime.invoke_errors import (FunctionCrashed, FunctionError, FunctionTimeout, TooManyRequests,
                                         runtime_error, shutting_down, utc_timestamp)
from local.runtime.log_relay import EmfSink, LogRelays
from local.runtime.reaper import IdleReaper
from local.runtime.request_ids import new_request_id, new_trace_id
from local.template import Function

log = logging.getLogger("local.runtime")


class FunctionPool:
    """The execution environments of one function."""

    def __init__(self, function: Function, env: Mapping[str, str], size: int, *, python: str = sys.executable,
                 async_max_age: float = 6 * 3600, async_retry_delays: tuple[float, ...] = (60.0, 120.0),
                 idle_reap_s: float | None = 300.0, keep_warm: int = 0, on_emf: EmfSink | None = None):
        self.function = function
        self.relays = LogRelays(on_emf)  # every EMF line of the workers' stdout (which goes on to ours unchanged)
        self.keep_warm = keep_warm  # environments the reaper leaves (the prewarmed ones)
        self.reaper = IdleReaper(self, idle_reap_s) if idle_reap_s is not None else None
        self.env = dict(env)
        self.size = size
        self.reserved = function.reserved_concurrency is not None
        self.python = python
        self.stats = FunctionStats()
        self.async_queue = AsyncInvokeQueue(
            function.function_name, lambda event, request_id: self.invoke(event, throttle=False,
                                                                          request_id=request_id),
            self.stats, drains=size, max_age=async_max_age, retry_delays=async_retry_delays)
        self._slots = asyncio.Semaphore(size)
        self._in_flight = 0
        self._idle: collections.deque[Worker] = collections.deque()  # the longest idle at the left
        self._all: set[Worker] = set()
        self._busy: set[Worker] = set()
        self._waiters: collections.deque[asyncio.Future[Worker]] = collections.deque()  # invocations with no worker
        self._starting: set[asyncio.Task] = set()  # cold starts under way
        self._starting_for_waiters = 0  # of those, the ones begun because an invocation found no worker
        self._closed = False

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def starting(self) -> int:
        """Cold starts under way."""
        return len(self._starting)

    @property
    def environments(self) -> int:
        """The environments started and not yet stopped, idle or busy."""
        return len(self._all)

    @property
    def worker_pids(self) -> list[int]:
        return sorted(w.pid for w in self._all)

    @property
    def busy_pids(self) -> list[int]:
        """The workers running an invocation right now."""
        return sorted(w.pid for w in self._busy)

    @property
    def queued(self) -> int:
        return self.async_queue.queued

    @property
    def retrying(self) -> int:
        return self.async_queue.retrying

    async def _spawn(self) -> Worker:
        worker = await start_worker(self.function, self.env, self.relays, python=self.python)
        self._all.add(worker)
        self.stats.cold_starts += 1
        return worker

    async def prewarm(self, count: int) -> None:
        count = min(count, self.size) - len(self._all)
        workers = await asyncio.gather(*(self._spawn() for _ in range(max(0, count))), return_exceptions=True)
        for worker in workers:
            if isinstance(worker, Worker):
                self._release(worker)  # idle from now: its init was no idle time

    def start_reaper(self) -> None:
        if self.reaper is not None:
            self.reaper.start()

    def longest_idle_since(self) -> float | None:
        return self._idle[0].idle_since if self._idle else None

    def retire_longest_idle(self) -> Worker:
        """Take the longest-idle environment out of the pool, for the reaper to stop."""
        worker = self._idle.popleft()
        self._all.discard(worker)
        return worker

    async def invoke(self, event: Any, *, throttle: bool = True, request_id: str | None = None) -> Any:
        """Run one invocation; returns the handler's result or raises an InvokeError."""
        if self._closed:
            raise shutting_down()
        if throttle and self.reserved and self._slots.locked():
            self.stats.throttles += 1
            raise TooManyRequests(f"Rate Exceeded for {self.function.function_name}")
        async with self._slots:
            self._in_flight += 1
            self.stats.peak_in_flight = max(self.stats.peak_in_flight, self._in_flight)
            try:
                return await self._run(event, request_id or new_request_id())
            finally:
                self._in_flight -= 1

    def invoke_async(self, event: Any) -> str:
        """Lambda's `Event` invocation: queued, run when a slot is free; returns the request id."""
        return self.async_queue.put(event)

    async def _run(self, event: Any, request_id: str) -> Any:
        self.stats.invocations += 1
        worker = await self._take()
        timeout = self.function.timeout
        deadline_ms = int(time.time() * 1000) + timeout * 1000
        message = {"requestId": request_id, "event": event, "deadlineMs": deadline_ms, "traceId": new_trace_id()}
        timed_out = False

        def on_timeout() -> None:  # cheaper than a wait_for task per invocation, on the hot path
            nonlocal timed_out
            timed_out = True
            worker.kill()

        timer = asyncio.get_running_loop().call_later(timeout, on_timeout)
        self._busy.add(worker)
        try:
            reply = await worker.call(message)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            if timed_out:
                self.stats.timeouts += 1
                self._discard(worker)
                log.warning("%s %s timed out after %ss; worker %s killed", self.function.function_name,
                            request_id, timeout, worker.pid)
                raise FunctionTimeout(runtime_error(
                    "Sandbox.Timedout", f"{utc_timestamp()} {request_id} Task timed out after {timeout:.2f} seconds",
                    request_id)) from None
            self.stats.crashes += 1
            code = await worker.exit_status()
            self._discard(worker)
            log.warning("%s %s: worker %s exited (%s)", self.function.function_name, request_id, worker.pid, code)
            raise FunctionCrashed(runtime_error(
                "Runtime.ExitError", f"RequestId: {request_id} Error: Runtime exited with error: {code}",
                request_id)) from exc
        except BaseException:  # cancelled by the caller: the environment's state is unknown, so it goes
            self._discard(worker)
            raise
        finally:
            timer.cancel()
            self._busy.discard(worker)
        self._release(worker)
        if not reply.get("ok"):
            self.stats.errors += 1
            raise FunctionError(reply["error"])
        return reply.get("result")

    async def _take(self) -> Worker:
        """A warm worker, else the first one ready: a worker another invocation hands back, or a cold start.

        As on Lambda, an invocation that finds every environment busy starts a new one (the pool grows to the
        concurrency asked of it), but it takes whichever environment is free first: here every cold start competes
        for the same few cores, so waiting for its own could take seconds while warm workers free up in
        milliseconds (a burst of submits on a cold stack timed out that way)."""
        if self._idle:
            return self._idle.pop()
        waiter: asyncio.Future[Worker] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._grow()
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._release(waiter.result())  # handed over as the caller gave up: the next one takes it
            raise

    def _release(self, worker: Worker) -> None:
        """A free worker goes to the longest-waiting invocation, else back to the warm ones, idle from now (the
        reaper counts an environment's idle time from here only: not while it starts, nor while it runs)."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(worker)
                return
        worker.idle_since = time.monotonic()
        self._idle.append(worker)

    def _grow(self) -> None:
        """A cold start for each waiting invocation that none under way will serve."""
        self._waiters = collections.deque(w for w in self._waiters if not w.done())
        while self._starting_for_waiters < len(self._waiters) and not self._closed:
            self._starting_for_waiters += 1
            self._start(for_waiter=True)

    def _start(self, *, for_waiter: bool) -> None:
        task = asyncio.ensure_future(self._spawn())
        self._starting.add(task)
        task.add_done_callback(lambda done: self._started(done, for_waiter))

    def _started(self, task: asyncio.Task, for_waiter: bool) -> None:
        self._starting.discard(task)
        if for_waiter:
            self._starting_for_waiters -= 1
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            if not self._closed:  # else close() stops it with the others
                self._release(task.result())
            return
        if for_waiter:  # an init that failed fails the longest-waiting invocation, as it would have failed its own
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_exception(exc)
                    break
        self._grow()

    def _discard(self, worker: Worker) -> None:
        """Kill a worker and start its replacement, as Lambda starts a fresh environment after a failure."""
        worker.kill()
        self._all.discard(worker)
        if not self._closed:
            self._start(for_waiter=False)

    async def close(self) -> None:
        self._closed = True
        if self.reaper is not None:
            self.reaper.stop()
        await self.async_queue.close()
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(shutting_down())
        self._waiters.clear()
        await asyncio.gather(*self._starting, return_exceptions=True)
        workers, self._all = list(self._all), set()
        self._idle.clear()
        await asyncio.gather(*(w.stop() for w in workers), return_exceptions=True)
        await self.relays.close()  # the workers are gone, so their pipes are at EOF
