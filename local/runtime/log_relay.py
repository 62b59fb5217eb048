"""A worker's stdout, relayed line by line to the stack's (Lambda's goes to CloudWatch Logs), its EMF lines handed to
a metrics sink as well (as CloudWatch makes metrics of them)."""
from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Callable

log = logging.getLogger("local.runtime")

EMF_MARK = b'{"_aws"'  # CloudWatch's embedded metric format: the lines a metrics sink gets
STDOUT_LINE_LIMIT = 1024 * 1024  # a longer line is relayed in pieces (and not given to the sink)
_RELAY_READ_SIZE = 64 * 1024

EmfSink = Callable[[bytes], None]


class LogRelays:
    """The relays of one pool's workers: one starts with each worker and ends at its stdout's EOF."""

    def __init__(self, on_emf: EmfSink | None):
        self.on_emf = on_emf
        self._tasks: set[asyncio.Task] = set()

    @property
    def running(self) -> int:
        return len(self._tasks)

    def start(self, stdout: asyncio.StreamReader) -> None:
        relay = asyncio.ensure_future(relay_lines(stdout, self.on_emf))
        self._tasks.add(relay)
        relay.add_done_callback(self._tasks.discard)

    async def close(self, grace: float = 2.0) -> None:
        """Once the workers are gone their pipes are at EOF; a grandchild holding one must not hold us."""
        relays = list(self._tasks)
        if relays:
            _done, pending = await asyncio.wait(relays, timeout=grace)
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
        if len(pending) >= STDOUT_LINE_LIMIT:
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
