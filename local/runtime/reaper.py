"""Idle reaping: Lambda reclaims an environment left idle a while; here an environment idle longer than the reaping
time is stopped, longest idle first, down to the pool's prewarmed count, so memory returns to baseline.

Idle means free since the end of its last invocation or of its init (the pool stamps `idle_since` then). Each
environment is judged on its own, as on Lambda: one can go while cold starts begun with it are still under way."""
from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from local.runtime.pool import FunctionPool

log = logging.getLogger("local.runtime")


class IdleReaper:
    """Checks one pool a few times per reaping time (at most every 5 s)."""

    def __init__(self, pool: FunctionPool, reap_after_s: float):
        self.pool = pool
        self.reap_after_s = reap_after_s
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._loop())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _loop(self) -> None:
        period = max(0.05, min(self.reap_after_s / 4, 5.0))
        while True:
            await asyncio.sleep(period)
            await self.reap()

    async def reap(self) -> int:
        """Stop the environments idle longer than the reaping time, longest idle first, keeping `keep_warm`."""
        pool = self.pool
        cutoff = time.monotonic() - self.reap_after_s
        reaped = []
        while pool.environments > pool.keep_warm:
            since = pool.longest_idle_since()
            if since is None or since >= cutoff:
                break
            reaped.append(pool.retire_longest_idle())
        pool.stats.reaped += len(reaped)
        if reaped:
            log.info("%s: reclaimed %d idle environments", pool.function.function_name, len(reaped))
            await asyncio.gather(*(w.stop() for w in reaped), return_exceptions=True)
        return len(reaped)
