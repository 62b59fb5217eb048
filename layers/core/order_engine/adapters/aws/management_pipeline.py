"""HTTP/1.1 pipelining to the management API for asyncio callers (the executor's fan-out).

Each request is still one signed `POST @connections/{id}` (management_api.py builds it); what pipelining saves is
the per-request cost of a general HTTP client and of a syscall per request: the requests a fan-out issues in one
turn of the event loop go out in one write per connection, and the answers, read in order, resolve them.

A subscriber's frames always take the same connection (chosen by its connection id), so they arrive in the order
they were sent; different subscribers spread over up to `size` connections, so a slow answer holds up only the
subscribers that share its connection. A try that times out on a connection that has answered nothing for that
long closes it (a stalled connection would hold up every later request; its other callers retry on a new one);
one that timed out behind answers still coming leaves it open, so a slow endpoint is not also made to reconnect.
"""
from __future__ import annotations

import asyncio
import ssl
from collections import deque
from typing import cast
from urllib.parse import urlsplit


class PipeClosed(ConnectionError):
    """The connection closed before answering the request."""


class _Pipe(asyncio.Protocol):
    """One kept-alive connection: requests queued in order, written once per loop turn, answered in order."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._waiting: deque[asyncio.Future[int]] = deque()
        self._out: list[bytes] = []
        self._buffer = bytearray()
        self.progress_at = loop.time()  # the last answer, or the first request since the connection was idle

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        try:
            self._read_answers()
        except ValueError:  # not HTTP/1.1 as we know it: nothing more on this connection can be trusted
            self.close(PipeClosed("unreadable answer"))

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(PipeClosed(str(exc) if exc else "closed"))

    # the caller's side
    def send(self, request: bytes) -> asyncio.Future[int]:
        """The answer's status, once it comes."""
        if self.closed:
            raise PipeClosed("closed")
        future = self.loop.create_future()
        if not self._waiting:
            self.progress_at = self.loop.time()
        self._waiting.append(future)
        if not self._out:
            self.loop.call_soon(self._write)
        self._out.append(request)
        return future

    def close(self, why: Exception | None = None) -> None:
        self._fail(why or PipeClosed("closed"))
        if self.transport is not None:
            self.transport.abort()

    def _write(self) -> None:
        if self._out and not self.closed and self.transport is not None:
            self.transport.write(b"".join(self._out))
        self._out.clear()

    def _fail(self, exc: Exception) -> None:
        self.closed = True
        self._out.clear()
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_exception(exc)

    def _read_answers(self) -> None:
        buffer = self._buffer
        while self._waiting:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
            version, _, rest = lines[0].partition(" ")
            status = int(rest[:3])
            length, chunked, close = 0, False, version == "HTTP/1.0"
            for line in lines[1:]:
                name, _, value = line.partition(":")
                name, value = name.strip().lower(), value.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "transfer-encoding":
                    chunked = "chunked" in value
                elif name == "connection":
                    close = value == "close"
            body_end = _chunked_end(buffer, end + 4) if chunked else end + 4 + length
            if body_end is None or len(buffer) < body_end:
                return
            del buffer[:body_end]
            self.progress_at = self.loop.time()
            future = self._waiting.popleft()
            if not future.done():  # a caller that timed out no longer waits
                future.set_result(status)
            if close:
                self.close(PipeClosed("closed by the server"))
                return


def _chunked_end(buffer: bytearray, start: int) -> int | None:
    """Where a chunked body that starts at `start` ends; None while it is incomplete."""
    position = start
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None
        size = int(bytes(buffer[position:line_end]).split(b";")[0], 16)
        if size == 0:
            trailer_end = buffer.find(b"\r\n\r\n", line_end)
            return None if trailer_end < 0 else trailer_end + 4
        position = line_end + 2 + size + 2
        if len(buffer) < position:
            return None


class PipelinedClient:
    """Up to `size` pipelined connections to one endpoint, opened on first use, one per loop (bind a new client to
    a new loop)."""

    def __init__(self, endpoint_url: str, size: int, connect_timeout_s: float):
        parts = urlsplit(endpoint_url)
        self._secure = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._secure else 80)
        self._size = max(1, size)
        self._connect_timeout_s = connect_timeout_s
        self._pipes: dict[int, _Pipe] = {}
        self._opening: dict[int, asyncio.Future[_Pipe]] = {}

    async def post(self, key: str, request: bytes, timeout_s: float) -> int:
        """Send `request` on the connection for `key`; its answer's status. Raises OSError (PipeClosed included)
        when the connection failed, TimeoutError after `timeout_s`."""
        slot = hash(key) % self._size
        pipe = self._pipes.get(slot)
        if pipe is None or pipe.closed:
            pipe = await self._open(slot)
        answer = pipe.send(request)
        try:
            async with asyncio.timeout(timeout_s):
                return await answer
        except TimeoutError:
            if pipe.loop.time() - pipe.progress_at >= timeout_s:
                pipe.close(PipeClosed("no answer for a try's time"))
            raise

    async def _open(self, slot: int) -> _Pipe:
        opening = self._opening.get(slot)
        if opening is not None:
            return await asyncio.shield(opening)
        loop = asyncio.get_running_loop()
        opening = self._opening[slot] = loop.create_future()
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                _, pipe = await loop.create_connection(
                    lambda: _Pipe(loop), self._host, self._port,
                    ssl=ssl.create_default_context() if self._secure else None)
            self._pipes[slot] = pipe
            opening.set_result(pipe)
            return pipe
        except BaseException as exc:
            opening.set_exception(exc if isinstance(exc, Exception) else PipeClosed("cancelled"))
            opening.exception()  # retrieved: callers that shared it have seen it, or none did
            raise
        finally:
            del self._opening[slot]

    def close(self) -> None:
        for pipe in self._pipes.values():
            pipe.close()
        self._pipes.clear()
