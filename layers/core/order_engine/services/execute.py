"""The execute use case: one executor run, as the scheduled (or woken) Lambda does it.

`run(settings, remaining_ms)` wires the executor (Redis, PostgreSQL, the simulated venues, the notifier), drains
the queue until shortly before `remaining_ms()` runs out or the queue stays idle, and returns the run's summary.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from order_engine.config import Settings
from order_engine.domain.swaps import Dex
from order_engine.services.executor.engine import Executor, RunSummary
from order_engine.services.notifier import Notifier
from order_engine.store.redis_client import async_client

import uvloop


def run(s: Settings, remaining_ms: Callable[[], int], **kwargs: Any) -> RunSummary:
    """Synchronous entry point for the Lambda handler."""
    return uvloop.run(run_async(s, remaining_ms, **kwargs))


async def run_async(s: Settings, remaining_ms: Callable[[], int], *, dex: Dex | None = None,
                    notifier: Notifier | None = None, owner: str | None = None,
                    on_start: Callable[[Executor], None] | None = None) -> RunSummary:
    client = async_client(s.redis_url)
    own_dex, own_notifier = dex is None, notifier is None
    dex = dex or _simulated_dex(s)
    notifier = notifier or _notifier(s)
    try:
        executor = Executor(s, dex, notifier, client, remaining_ms, owner)
        if on_start is not None:
            on_start(executor)
        return await executor.run()
    finally:
        if own_notifier:
            await notifier.close()
        if own_dex and hasattr(dex, "close"):
            await dex.close()
        await client.aclose()


def deadline_in(ms: int) -> Callable[[], int]:
    """A `remaining_ms` for runs outside Lambda: the time left until `ms` from now."""
    end = time.monotonic() + ms / 1000
    return lambda: int((end - time.monotonic()) * 1000)


def _simulated_dex(s: Settings) -> Dex:
    from order_engine.dex.simulated import create_dex

    return create_dex(s)


def _notifier(s: Settings) -> Notifier:
    from order_engine.store.ws_notifier import ManagementApiNotifier

    return ManagementApiNotifier.from_settings(s)
