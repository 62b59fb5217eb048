"""The parent's end of a worker's socket: frames of a 4-byte big-endian length followed by the body (JSON), the
format local/worker.py reads and writes on its end."""
from __future__ import annotations

import asyncio
import collections
import struct

HEADER = struct.Struct(">I")


class FrameChannel(asyncio.Protocol):
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
        if not self._buffer and len(data) >= HEADER.size and HEADER.unpack_from(data)[0] == len(data) - HEADER.size:
            self._deliver(memoryview(data)[HEADER.size:])  # the usual case: one whole frame
            return
        buffer = self._buffer
        buffer += data
        while len(buffer) >= HEADER.size:
            end = HEADER.size + HEADER.unpack_from(buffer)[0]
            if len(buffer) < end:
                break
            self._deliver(bytes(buffer[HEADER.size:end]))
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
            self.transport.write(HEADER.pack(len(body)) + body)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
