"""Concurrent swaps on one pool from many threads (each its own event loop, Redis connection and dex, as
separate executors are) leave the pool consistent: no swap is lost and the reserves add up."""
from __future__ import annotations

import asyncio
import dataclasses
import threading
import uuid

from hypothesis import HealthCheck, given, settings as hypothesis_settings
from hypothesis import strategies as st

from order_engine.dex.live_market import decode
from order_engine.domain.swaps import SignatureState
from order_engine.dex.model.market_model import PAIRS, MarketParams, initial_state
from order_engine.adapters.redis.connect import sync_client

from tests.support.simulated_dex import SOL, USDC, ManualClock, pair_key, simulated, trade_on

SOL_USDC = PAIRS[0]
trades = st.lists(st.tuples(st.booleans(), st.sampled_from(["raydium", "meteora"]), st.integers(10**6, 10**12)),
                  min_size=1, max_size=12)


@hypothesis_settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(per_thread=st.lists(trades, min_size=2, max_size=4))
def test_concurrent_swaps_on_one_pool_leave_it_consistent(settings, per_thread):
    s = dataclasses.replace(settings, key_prefix=f"{settings.key_prefix}{uuid.uuid4().hex[:6]}:")
    clock = ManualClock()  # one tick for all: only the swaps change the pools
    results: list[list[tuple[bool, str, int, int]]] = [[] for _ in per_thread]
    errors: list[BaseException] = []
    start = threading.Barrier(len(per_thread))

    def trader(index: int) -> None:
        async def run() -> None:
            async with simulated(s, clock=clock) as dex:
                start.wait()
                for sell_sol, venue, amount in per_thread[index]:
                    amount_in = amount if sell_sol else amount // 1_000
                    pair = (SOL, USDC) if sell_sol else (USDC, SOL)
                    result = await trade_on(dex, venue, *pair, amount_in)
                    assert result.state is SignatureState.CONFIRMED
                    results[index].append((sell_sol, venue, amount_in, result.amount_out))

        try:
            asyncio.run(run())
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=trader, args=(i,)) for i in range(len(per_thread))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors

    stored = sync_client(s.redis_url).hgetall(pair_key(s))
    done = [r for thread_results in results for r in thread_results]
    assert int(stored["v"]) == len(done)  # every swap was one successful compare-and-set, none lost
    params = MarketParams.from_knobs(s.dex_seed, s.dex_slot_ms, s.dex_volatility_bps, s.dex_venue_spread_bps,
                                     s.dex_venue_drift_half_life_s, s.dex_arbitrage_half_life_s)
    genesis = initial_state(SOL_USDC, params, s.dex_initial_liquidity_usd, clock() // s.dex_slot_ms)
    sol, usdc = genesis.raydium
    for sell_sol, venue, amount_in, amount_out in done:
        if venue == "raydium":
            sol, usdc = (sol + amount_in, usdc - amount_out) if sell_sol else (sol - amount_out, usdc + amount_in)
    final = decode(stored["s"])
    assert final.raydium == (sol, usdc)
    assert final.raydium[0] * final.raydium[1] >= genesis.raydium[0] * genesis.raydium[1]
