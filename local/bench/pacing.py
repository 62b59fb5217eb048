"""Open-loop sending (`--rate R`): request i is due at start + i/R whatever the answers, and its latency counts from
that due time, so a generator that falls behind its schedule shows as latency (no coordinated omission)."""
from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from local.bench.report import latency_figures


@dataclass(frozen=True)
class Due:
    """When one request was due: on the perf_counter clock (for latency and lag) and the wall clock (sent_at)."""

    index: int
    at: float  # time.perf_counter()
    wall: float  # time.time()


@dataclass(frozen=True)
class Schedule:
    rate: float  # requests per second
    start: float  # time.perf_counter() of request 0
    wall_start: float  # time.time() at `start`

    def due(self, index: int) -> Due:
        offset = index / self.rate
        return Due(index, self.start + offset, self.wall_start + offset)


def start_times(due: Due | None) -> tuple[float, float]:
    """(wall time, perf_counter) a request's latency counts from: its due time when paced, else now. Counting from
    the due time is what makes a late send show as latency."""
    if due is None:
        return time.time(), time.perf_counter()
    return due.wall, due.at


def open_loop_label(pacing: Pacing, cap: int) -> str:
    """How a report's title names an open-loop run."""
    return f"{pacing.rate:g}/s open loop (at most {cap} unanswered)"


@dataclass
class Pacing:
    """How the generator kept to its schedule: each request's lag and how often a safety bound held it back."""

    rate: float
    lags_s: list[float] = field(default_factory=list)
    bound_hits: collections.Counter[str] = field(default_factory=collections.Counter)
    first_due: float = 0.0
    last_sent: float = 0.0

    def sent(self, due: Due, sent_at: float) -> None:
        self.lags_s.append(max(0.0, sent_at - due.at))
        self.last_sent = max(self.last_sent, sent_at)


def pacing_figures(pacing: Pacing) -> dict[str, float | int]:
    span = pacing.last_sent - pacing.first_due
    sent = len(pacing.lags_s)
    lag = latency_figures(pacing.lags_s)
    figures: dict[str, float | int] = {
        "target/s": pacing.rate, "sent": sent,
        # the first request goes at 0 s, the n-th at (n-1)/rate: that span is n-1 intervals
        "achieved/s": (sent - 1) / span if sent > 1 and span > 0 else float("nan"),
        "lag p50 ms": lag["p50 ms"], "lag p99 ms": lag["p99 ms"], "lag max ms": lag["max ms"],
    }
    figures.update({f"held by {bound}": hits for bound, hits in sorted(pacing.bound_hits.items())})
    return figures


async def run_paced(count: int, cap: int, send: Callable[[Due], Awaitable[None]], pacing: Pacing) -> Pacing:
    """Start `send(due)` for each of `count` requests at its due time (at `pacing.rate`), at most `cap` unanswered
    (a safety bound, counted in bound_hits["-c"] each time it holds a request back); the sends record into
    `pacing` (`Pacing.sent`). Returns `pacing` once every send has finished."""
    now = time.perf_counter()
    schedule = Schedule(pacing.rate, now, time.time())
    pacing.first_due = now
    gate = asyncio.Semaphore(cap)
    tasks: set[asyncio.Task] = set()

    async def one(due: Due) -> None:
        try:
            await send(due)
        finally:
            gate.release()

    for index in range(count):
        due = schedule.due(index)
        delay = due.at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if gate.locked():
            pacing.bound_hits["-c"] += 1
        await gate.acquire()
        task = asyncio.ensure_future(one(due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    while tasks:
        await asyncio.gather(*list(tasks))
    return pacing
