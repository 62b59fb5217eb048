"""Lambda execution emulation: a small pool of worker processes per function, invoked over Unix socket pairs.

Like Lambda, an invocation gets an execution environment of its own for its whole duration (one invocation per
process at a time), environments are created on demand up to the function's concurrency and kept warm, one that
exceeds its timeout is killed, and one that dies is replaced. A function with ReservedConcurrentExecutions never
runs more than that many at once: a synchronous invoke beyond it is throttled, an asynchronous one waits in the
function's queue until a slot frees. An asynchronous invocation that fails (an error, a crash, a timeout) is retried
twice, after the delays Lambda uses (one and two minutes by default), and an environment idle for longer than the
reaping time is stopped, as Lambda reclaims idle ones (down to the prewarmed count), so memory returns to baseline.
A worker's stdout is relayed line by line to the stack's (Lambda's goes to CloudWatch Logs), its EMF lines handed
to a metrics sink as well; its stderr is the stack's own.
"""
from __future__ import annotations

import asyncio
import collections
import logging
import os
import random
import secrets
import signal
import socket
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import orjson

from local.template import Function, Template

log = logging.getLogger("local.runtime")

_HEADER = struct.Struct(">I")
WORKER_SCRIPT = Path(__file__).with_name("worker.py")
EMF_MARK = b'{"_aws"'  # CloudWatch's embedded metric format: the lines a metrics sink gets
_STDOUT_LINE_LIMIT = 1024 * 1024  # a longer line is relayed in pieces (and not given to the sink)
_RELAY_READ_SIZE = 64 * 1024

EmfSink = Callable[[bytes], None]


class InvokeError(Exception):
    """Base of everything `Runtime.invoke` raises instead of returning the function's result."""


class FunctionNotFound(InvokeError):
    pass


class TooManyRequests(InvokeError):
    """The function's reserved concurrency is in use (Lambda's TooManyRequestsException)."""


class FunctionError(InvokeError):
    """The invocation failed: `payload` is Lambda's error document (errorMessage, errorType, stackTrace)."""

    def __init__(self, payload: dict[str, Any]):
        super().__init__(f"{payload.get('errorType')}: {payload.get('errorMessage')}")
        self.payload = payload


class FunctionTimeout(FunctionError):
    pass


class FunctionCrashed(FunctionError):
    pass


@dataclass
class FunctionStats:
    invocations: int = 0
    errors: int = 0
    timeouts: int = 0
    crashes: int = 0
    throttles: int = 0
    cold_starts: int = 0
    async_retries: int = 0  # failed asynchronous invocations queued again, as Lambda retries them
    reaped: int = 0  # idle environments reclaimed
    peak_in_flight: int = 0  # the most invocations that ever ran at once


class _Channel(asyncio.Protocol):
    """The parent's end of a worker's socket as a protocol: frames are cut from the bytes as they arrive and handed
    to the one reader waiting (a stream reader's two `readexactly` calls per frame cost more than the frame)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._frames: collections.deque[bytes | memoryview] = collections.deque()
        self._waiter: asyncio.Future | None = None
        self._ended: BaseException | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if not self._buffer and len(data) >= _HEADER.size and _HEADER.unpack_from(data)[0] == len(data) - _HEADER.size:
            self._deliver(memoryview(data)[_HEADER.size:])  # the usual case: one whole frame
            return
        buffer = self._buffer
        buffer += data
        while len(buffer) >= _HEADER.size:
            end = _HEADER.size + _HEADER.unpack_from(buffer)[0]
            if len(buffer) < end:
                break
            self._deliver(bytes(buffer[_HEADER.size:end]))
            del buffer[:end]

    def _deliver(self, frame: bytes | memoryview) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(frame)
        else:
            self._frames.append(frame)

    def eof_received(self) -> bool:
        self._end(None)
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._end(exc)

    def _end(self, exc: Exception | None) -> None:
        if self._ended is not None:
            return
        if isinstance(exc, ConnectionError):
            self._ended = exc
        else:  # EOF (the worker exited or was killed) mid-frame or between frames, as readexactly reports it
            self._ended = asyncio.IncompleteReadError(bytes(self._buffer), None)
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(self._ended)

    async def read(self) -> bytes | memoryview:
        if self._frames:
            return self._frames.popleft()
        if self._ended is not None:
            raise self._ended
        self._waiter = asyncio.get_running_loop().create_future()
        return await self._waiter

    def send(self, body: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_HEADER.pack(len(body)) + body)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class Worker:
    """One worker process and the parent's end of its socket."""

    def __init__(self, process: asyncio.subprocess.Process, channel: _Channel):
        self.process = process
        self.channel = channel
        self.pid = process.pid
        self.healthy = True
        self.idle_since = time.monotonic()

    async def call(self, message: dict[str, Any]) -> dict[str, Any]:
        self.channel.send(orjson.dumps(message))
        return await self.read()

    async def read(self) -> dict[str, Any]:
        return orjson.loads(await self.channel.read())

    def kill(self) -> None:
        self.healthy = False
        if self.process.returncode is None:
            try:
                self.process.send_signal(signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.channel.close()

    async def stop(self, grace: float = 2.0) -> None:
        """Close its socket (the worker exits when it reads EOF), then make sure."""
        self.healthy = False
        self.channel.close()
        if self.process.returncode is None:
            try:
                await asyncio.wait_for(self.process.wait(), grace)
            except asyncio.TimeoutError:
                self.kill()
                await self.process.wait()


@dataclass
class _AsyncEvent:
    event: Any
    request_id: str
    queued_at: float = field(default_factory=time.monotonic)
    attempt: int = 0  # retries already made after failures


class FunctionPool:
    """The execution environments of one function."""

    def __init__(self, function: Function, env: Mapping[str, str], size: int, *, python: str = sys.executable,
                 async_max_age: float = 6 * 3600, async_retry_delays: tuple[float, ...] = (60.0, 120.0),
                 idle_reap_s: float | None = 300.0, keep_warm: int = 0, on_emf: EmfSink | None = None):
        self.function = function
        self.on_emf = on_emf  # given every EMF line of the workers' stdout (which goes on to ours unchanged)
        self._relays: set[asyncio.Task] = set()
        self.async_retry_delays = tuple(async_retry_delays)
        self.idle_reap_s = idle_reap_s
        self.keep_warm = keep_warm  # environments the reaper leaves (the prewarmed ones)
        self._reaper: asyncio.Task | None = None
        self._retry_timers: set[asyncio.TimerHandle] = set()
        self.env = dict(env)
        self.size = size
        self.reserved = function.reserved_concurrency is not None
        self.python = python
        self.async_max_age = async_max_age
        self.stats = FunctionStats()
        self._slots = asyncio.Semaphore(size)
        self._in_flight = 0
        self._idle: collections.deque[Worker] = collections.deque()
        self._all: set[Worker] = set()
        self._busy: set[Worker] = set()
        self._async_queue: asyncio.Queue[_AsyncEvent] = asyncio.Queue()
        self._async_tasks: list[asyncio.Task] = []
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
    def worker_pids(self) -> list[int]:
        return sorted(w.pid for w in self._all)

    @property
    def busy_pids(self) -> list[int]:
        """The workers running an invocation right now."""
        return sorted(w.pid for w in self._busy)

    def _meta(self) -> dict[str, Any]:
        f = self.function
        day = time.strftime("%Y/%m/%d", time.gmtime())
        return {
            "functionName": f.function_name,
            "functionArn": f.arn,
            "memorySize": f.memory_size,
            "logGroupName": f"/aws/lambda/{f.function_name}",
            "logStreamName": f"{day}/[$LATEST]{secrets.token_hex(16)}",
        }

    async def _spawn(self) -> Worker:
        meta = self._meta()
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        env = {
            **self.env,
            "AWS_LAMBDA_FUNCTION_NAME": self.function.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.function.memory_size),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(self.function.timeout),
            "AWS_LAMBDA_LOG_GROUP_NAME": meta["logGroupName"],
            "AWS_LAMBDA_LOG_STREAM_NAME": meta["logStreamName"],
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{self.function.runtime}",
            "LAMBDA_TASK_ROOT": str(self.function.code_uri),
            "_HANDLER": self.function.handler,
        }
        try:
            process = await asyncio.create_subprocess_exec(
                self.python, str(WORKER_SCRIPT), "--fd", str(child.fileno()),
                "--code-dir", str(self.function.code_uri), "--handler", self.function.handler,
                "--meta", orjson.dumps(meta).decode(),
                pass_fds=(child.fileno(),), env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, limit=_STDOUT_LINE_LIMIT,
            )
        finally:
            child.close()
        relay = asyncio.ensure_future(relay_lines(process.stdout, self.on_emf))
        self._relays.add(relay)
        relay.add_done_callback(self._relays.discard)
        _transport, channel = await asyncio.get_running_loop().create_unix_connection(_Channel, sock=parent)
        worker = Worker(process, channel)
        try:
            await worker.read()  # {"ready": ...}: the handler is imported (or its init error is kept)
        except (asyncio.IncompleteReadError, ConnectionError):
            worker.kill()
            raise FunctionCrashed(_runtime_error("Runtime.ExitError", "Runtime exited during init"))
        self._all.add(worker)
        self.stats.cold_starts += 1
        return worker

    async def prewarm(self, count: int) -> None:
        count = min(count, self.size) - len(self._all)
        workers = await asyncio.gather(*(self._spawn() for _ in range(max(0, count))), return_exceptions=True)
        self._idle.extend(w for w in workers if isinstance(w, Worker))

    def start_reaper(self) -> None:
        if self.idle_reap_s is not None and self._reaper is None:
            self._reaper = asyncio.ensure_future(self._reap_loop())

    async def _reap_loop(self) -> None:
        period = max(0.05, min(self.idle_reap_s / 4, 5.0))
        while True:
            await asyncio.sleep(period)
            await self.reap_idle()

    async def reap_idle(self) -> int:
        """Stop environments idle longer than the reaping time, oldest first, keeping `keep_warm`."""
        cutoff = time.monotonic() - (self.idle_reap_s or 0)
        reaped = []
        while self._idle and len(self._all) > self.keep_warm and self._idle[0].idle_since < cutoff:
            worker = self._idle.popleft()  # the deque's left end holds the longest idle
            self._all.discard(worker)
            reaped.append(worker)
        self.stats.reaped += len(reaped)
        if reaped:
            log.info("%s: reclaimed %d idle environments", self.function.function_name, len(reaped))
            await asyncio.gather(*(w.stop() for w in reaped), return_exceptions=True)
        return len(reaped)

    async def invoke(self, event: Any, *, throttle: bool = True, request_id: str | None = None) -> Any:
        """Run one invocation; returns the handler's result or raises an InvokeError."""
        if self._closed:
            raise FunctionError(_runtime_error("Runtime.Unavailable", "the local stack is shutting down"))
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

    async def _run(self, event: Any, request_id: str) -> Any:
        self.stats.invocations += 1
        worker = await self._take()
        timeout = self.function.timeout
        deadline_ms = int(time.time() * 1000) + timeout * 1000
        message = {"requestId": request_id, "event": event, "deadlineMs": deadline_ms,
                   "traceId": f"Root=1-{int(time.time()):08x}-{_ids.getrandbits(96):024x}"}
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
                raise FunctionTimeout(_runtime_error(
                    "Sandbox.Timedout", f"{_utc_now()} {request_id} Task timed out after {timeout:.2f} seconds",
                    request_id)) from None
            self.stats.crashes += 1
            code = await _exit_code(worker)
            self._discard(worker)
            log.warning("%s %s: worker %s exited (%s)", self.function.function_name, request_id, worker.pid, code)
            raise FunctionCrashed(_runtime_error(
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
        """A free worker goes to the longest-waiting invocation, else back to the warm ones."""
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

    def invoke_async(self, event: Any) -> str:
        """Lambda's `Event` invocation: queued, run when a slot is free; returns the request id."""
        item = _AsyncEvent(event, new_request_id())
        self._async_queue.put_nowait(item)
        if not self._async_tasks:
            self._async_tasks = [asyncio.ensure_future(self._drain_async()) for _ in range(self.size)]
        return item.request_id

    async def _drain_async(self) -> None:
        while True:
            item = await self._async_queue.get()
            age = time.monotonic() - item.queued_at
            if age > self.async_max_age:
                log.error("%s: dropped async event %s after %.0fs in the queue (maximum event age)",
                          self.function.function_name, item.request_id, age)
                continue
            try:
                await self.invoke(item.event, throttle=False, request_id=item.request_id)
            except InvokeError as exc:
                self._retry_later(item, exc)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a drain task must survive anything one invocation does
                log.exception("%s: async invocation %s", self.function.function_name, item.request_id)

    def _retry_later(self, item: _AsyncEvent, exc: InvokeError) -> None:
        """Lambda retries a failed asynchronous invocation twice, waiting between tries, then drops it."""
        if item.attempt >= len(self.async_retry_delays) or self._closed:
            log.error("%s: async invocation %s failed after %d retries: %s", self.function.function_name,
                      item.request_id, item.attempt, exc)
            return
        delay = self.async_retry_delays[item.attempt]
        item.attempt += 1
        self.stats.async_retries += 1
        log.warning("%s: async invocation %s failed (%s); retry %d in %.0fs", self.function.function_name,
                    item.request_id, exc, item.attempt, delay)

        def requeue() -> None:
            self._retry_timers.discard(timer)
            if not self._closed:
                self._async_queue.put_nowait(item)

        timer = asyncio.get_running_loop().call_later(delay, requeue)
        self._retry_timers.add(timer)

    @property
    def queued(self) -> int:
        return self._async_queue.qsize()

    async def close(self) -> None:
        self._closed = True
        for timer in self._retry_timers:
            timer.cancel()
        if self._reaper is not None:
            self._reaper.cancel()
        for task in self._async_tasks:
            task.cancel()
        await asyncio.gather(*self._async_tasks, return_exceptions=True)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(FunctionError(_runtime_error("Runtime.Unavailable",
                                                                  "the local stack is shutting down")))
        self._waiters.clear()
        await asyncio.gather(*self._starting, return_exceptions=True)
        workers, self._all = list(self._all), set()
        self._idle.clear()
        await asyncio.gather(*(w.stop() for w in workers), return_exceptions=True)
        relays = list(self._relays)
        if relays:  # the workers are gone, so their pipes are at EOF; a grandchild holding one must not hold us
            _done, pending = await asyncio.wait(relays, timeout=2.0)
            for relay in pending:
                relay.cancel()
            await asyncio.gather(*relays, return_exceptions=True)


async def relay_lines(stream: asyncio.StreamReader, on_emf: EmfSink | None, out_fd: int | None = None) -> None:
    """Copy a worker's stdout to ours line by line (as Lambda's stdout goes to CloudWatch Logs), handing EMF lines
    to `on_emf` too (as CloudWatch makes metrics of them). Ends at EOF, i.e. when the worker exits or is killed.

    What has arrived is copied in one write up to its last newline (whole lines only, so workers' lines never
    interleave mid-line); the rest waits for its newline, unless it grows past the line limit, when it is copied
    in pieces and not given to the sink."""
    fd: int | None = 1 if out_fd is None else out_fd  # fd 1, which the workers inherited before (not sys.stdout)
    pending = b""  # the start of a line whose newline has not arrived
    broken = False  # the line being read was already copied in part (too long for the sink)
    while True:
        chunk = await stream.read(_RELAY_READ_SIZE)
        if not chunk:  # EOF: what is left has no newline
            if pending:
                fd = _relay(fd, pending)
                if not broken:
                    _hand_emf(on_emf, [pending])
            return
        data = pending + chunk if pending else chunk
        cut = data.rfind(b"\n") + 1
        if cut:
            whole, pending = data[:cut], data[cut:]
            fd = _relay(fd, whole)
            if on_emf is not None and EMF_MARK in whole:
                lines = [line + b"\n" for line in whole[:-1].split(b"\n")]
                _hand_emf(on_emf, lines[1:] if broken else lines)
            broken = False
        else:
            pending = data
        if len(pending) >= _STDOUT_LINE_LIMIT:
            fd, pending, broken = _relay(fd, pending), b"", True


def _relay(fd: int | None, data: bytes) -> int | None:
    """Write to our stdout; None once it is gone (a closed pipe), so the worker's is still drained, never blocked."""
    if fd is not None:
        try:
            _write_all(fd, data)
        except OSError:
            return None
    return fd


def _hand_emf(on_emf: EmfSink | None, lines: list[bytes]) -> None:
    if on_emf is None:
        return
    for line in lines:
        if EMF_MARK in line:
            try:
                on_emf(line)
            except Exception:  # noqa: BLE001 - a sink's bug must not stop the worker's output
                log.exception("the metrics sink failed on a line")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            time.sleep(0.001)  # a non-blocking stdout that is full: wait for its reader, as a print would


class Runtime:
    """Every function of a template, each with its pool. `await invoke(name, event)` is the whole API."""

    def __init__(self, template: Template, environments: Mapping[str, Mapping[str, str]], *,
                 pool_size: int = 4, pool_sizes: Mapping[str, int] | None = None, python: str = sys.executable,
                 async_max_age: float = 6 * 3600, async_retry_delays: tuple[float, ...] = (60.0, 120.0),
                 idle_reap_s: float | None = 300.0, on_emf: EmfSink | None = None):
        self.template = template
        self.pools: dict[str, FunctionPool] = {}
        for logical_id, function in template.functions.items():
            size = (pool_sizes or {}).get(logical_id) or function.reserved_concurrency or pool_size
            self.pools[logical_id] = FunctionPool(function, environments.get(logical_id, {}), size,
                                                  python=python, async_max_age=async_max_age,
                                                  async_retry_delays=async_retry_delays, idle_reap_s=idle_reap_s,
                                                  on_emf=on_emf)

    def pool(self, name: str) -> FunctionPool:
        function = self.template.function(name)
        if function is None:
            raise FunctionNotFound(name)
        return self.pools[function.logical_id]

    async def start(self, prewarm: int = 1) -> None:
        if prewarm > 0:
            await asyncio.gather(*(p.prewarm(prewarm) for p in self.pools.values()))
        for pool in self.pools.values():
            pool.keep_warm = min(max(0, prewarm), pool.size)
            pool.start_reaper()

    async def invoke(self, function_name: str, event: Any, *, throttle: bool = True) -> Any:
        """Invoke synchronously (RequestResponse). Raises FunctionNotFound, TooManyRequests, FunctionError."""
        return await self.pool(function_name).invoke(event, throttle=throttle)

    def invoke_async(self, function_name: str, event: Any) -> str:
        """Invoke asynchronously (Event): queued until the function has a free slot; returns the request id."""
        return self.pool(function_name).invoke_async(event)

    def stats(self) -> dict[str, Any]:
        return {
            pool.function.function_name: {
                "logicalId": logical_id, "size": pool.size, "reserved": pool.reserved,
                "inFlight": pool.in_flight, "queued": pool.queued, "starting": pool.starting,
                "workerPids": pool.worker_pids,
                "busyPids": pool.busy_pids,
                **pool.stats.__dict__,
            }
            for logical_id, pool in self.pools.items()
        }

    async def close(self) -> None:
        await asyncio.gather(*(p.close() for p in self.pools.values()))


_ids = random.Random()  # seeded from os.urandom: ids must be unique, not secret, and a syscall each costs more
_UUID4_CLEAR, _UUID4_SET = ~((0xF000 << 64) | (0xC000 << 48)), (0x4000 << 64) | (0x8000 << 48)


def new_request_id() -> str:
    """A random (version 4) UUID, as Lambda's request ids are."""
    h = f"{(_ids.getrandbits(128) & _UUID4_CLEAR) | _UUID4_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _runtime_error(error_type: str, message: str, request_id: str = "") -> dict[str, Any]:
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": []}


def _utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"


async def _exit_code(worker: Worker) -> str:
    try:
        code = await asyncio.wait_for(worker.process.wait(), 1.0)
    except asyncio.TimeoutError:
        return "exit status unknown"
    if code < 0:
        return f"signal: {signal.Signals(-code).name.lower().removeprefix('sig')}"
    return f"exit status {code}"
