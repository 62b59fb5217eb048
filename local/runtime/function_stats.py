"""The counters of one function's pool, as `Runtime.stats()` and GET /local/functions report them."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FunctionStats:
    invocations: int = 0
    errors: int = 0
    timeouts: int = 0
    crashes: int = 0
    throttles: int = 0
    cold_starts: int = 0  # every environment the pool started, prewarmed ones and replacements included
    async_retries: int = 0  # failed asynchronous invocations queued again, as Lambda retries them
    reaped: int = 0  # idle environments reclaimed
    peak_in_flight: int = 0  # the most invocations that ever ran at once
