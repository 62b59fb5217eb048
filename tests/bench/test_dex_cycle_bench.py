"""CPU cost of one quote-route-build-submit-confirm cycle on the simulated DEX at latency scale 0 (real Redis and
PostgreSQL), measured with process time: sequentially, and 50 at a time as the executor runs them.

    ./local/test tests/bench -q -s -n 0 --benchmark-enable    # prints CPU ms per cycle
"""
from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest

from order_engine.domain.swaps import SignatureState
from order_engine.bootstrap import simulated_dex
from order_engine.domain.tokens import lookup

SOL, USDC = lookup("SOL").mint, lookup("USDC").mint
CYCLES_PER_ROUND = 200


async def _cycle(dex, amount_in: int) -> None:
    route = await dex.route(SOL, USDC, amount_in)
    built = await dex.build("bench", route, 100)
    result = await dex.confirm(await dex.submit(built))
    assert result.state is SignatureState.CONFIRMED


@pytest.mark.parametrize(("concurrency", "view_max_age_ms"), [(1, 0), (50, 0), (50, 50)])
@pytest.mark.benchmark(group="dex-cycle", timer=time.process_time, disable_gc=False)
def test_cpu_per_quote_route_build_submit_confirm_cycle(benchmark, settings, concurrency, view_max_age_ms):
    loop = asyncio.new_event_loop()
    dex = simulated_dex(dataclasses.replace(settings, dex_latency_scale=0.0, dex_quote_view_max_age_ms=view_max_age_ms))

    async def batch() -> None:
        for _ in range(CYCLES_PER_ROUND // concurrency):
            await asyncio.gather(*(_cycle(dex, 10**9 + i) for i in range(concurrency)))

    try:
        loop.run_until_complete(batch())  # warm: connections, scripts, the seeded market
        benchmark.pedantic(lambda: loop.run_until_complete(batch()), rounds=5, iterations=1)
        if benchmark.disabled:  # a plain test run (--benchmark-disable): the cycles ran once and confirmed
            return
        cpu_ms = benchmark.stats.stats.min * 1000 / CYCLES_PER_ROUND
        benchmark.extra_info["cpu_ms_per_cycle_best_round"] = round(cpu_ms, 3)
        print(f"\nconcurrency {concurrency}, quote view {view_max_age_ms} ms: {cpu_ms:.3f} ms CPU per cycle "
              f"(best of 5 rounds of {CYCLES_PER_ROUND})")
    finally:
        loop.run_until_complete(dex.close())
        loop.close()
