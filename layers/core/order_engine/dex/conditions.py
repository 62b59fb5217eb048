"""The simulated dex's operating conditions, shared by its venues and its chain: the clock, latencies scaled by
`dex_latency_scale` (0: nothing waits), and one random source seeded by `dex_seed` for every latency, jitter and
injected failure (one, so a seed replays the same run)."""
from __future__ import annotations

import asyncio
import random
import time
from typing import Callable


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class Conditions:
    def __init__(self, clock: Callable[[], int], latency_scale: float, seed: int):
        self.clock = clock
        self.scale = latency_scale
        self.rng = random.Random(seed)

    def chance(self, probability: float) -> bool:
        return probability > 0 and self.rng.random() < probability

    async def pause(self, ms: float) -> None:
        if self.scale > 0 and ms > 0:
            await asyncio.sleep(ms * self.scale / 1000)

    async def pause_until(self, at_ms: int) -> None:
        wait = at_ms - self.clock()
        if wait > 0 and self.scale > 0:
            await asyncio.sleep(wait / 1000)
