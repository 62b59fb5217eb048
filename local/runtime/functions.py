"""Every function of a template, each with its pool of execution environments: what the gateways, the Lambda
Invoke API and the schedules call."""
from __future__ import annotations

import asyncio
import sys
from typing import Any, Mapping

from local.runtime.invoke_errors import FunctionNotFound
from local.runtime.log_relay import EmfSink
from local.runtime.pool import FunctionPool
from local.template import Template


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
                "inFlight": pool.in_flight, "queued": pool.queued, "retrying": pool.retrying,
                "starting": pool.starting,
                "workerPids": pool.worker_pids,
                "busyPids": pool.busy_pids,
                **pool.stats.__dict__,
            }
            for logical_id, pool in self.pools.items()
        }

    async def close(self) -> None:
        await asyncio.gather(*(p.close() for p in self.pools.values()))
