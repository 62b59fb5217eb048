"""Routing on the simulated market (real Redis): the better venue wins, failures are routed around, large
orders split, and a price move past the slippage bound fails the attempt while a fresh quote succeeds."""
from __future__ import annotations

import asyncio

import pytest

from order_engine.domain.swaps import NoRoute, QuoteTimeout, SignatureState, SlippageExceeded, VenueUnavailable

from tests.support.simulated_dex import SOL, USDC, USDT, ManualClock, execute, simulated, trade_on


def test_the_venue_with_more_output_after_fees_wins_and_loses_when_its_price_falls(settings):
    async def scenario():
        async with simulated(settings, clock=ManualClock()) as dex:
            first = await dex.route(SOL, USDC, 10**9)
            by_venue = {q.venue: q.amount_out for q in first.quotes}
            assert set(by_venue) == {"raydium", "meteora"}
            winner = max(by_venue, key=by_venue.get)
            loser = min(by_venue, key=by_venue.get)
            assert first.dex == winner and first.amount_out == by_venue[winner]
            assert winner in first.reason and loser in first.reason
            # a large sale on the winner pushes its SOL price below the other venue's
            await trade_on(dex, winner, SOL, USDC, 20_000 * 10**9)
            second = await dex.route(SOL, USDC, 10**9)
            assert second.dex == loser
            detail = second.to_detail()
            assert detail["dex"] == loser and len(detail["quotes"]) == 2

    asyncio.run(scenario())


def test_a_failing_venue_is_routed_around_and_recorded(settings):
    async def scenario():
        async with simulated(settings, dex_fail_venue_error=0.5, dex_seed=11) as dex:
            routes = []
            for _ in range(40):
                try:
                    routes.append(await dex.route(SOL, USDC, 10**9))
                except VenueUnavailable:  # both failed this time (a quarter of the time)
                    pass
            one_failed = [r for r in routes if len(r.failures) == 1]
            assert one_failed, "with a 50% failure rate some routes must lose exactly one venue"
            for route in one_failed:
                failed_venue, reason = route.failures[0]
                assert reason == "venue_error"
                assert route.dex != failed_venue and [q.venue for q in route.quotes] == [route.dex]
                assert route.to_detail()["failedVenues"] == [{"venue": failed_venue, "reason": "venue_error"}]
                assert "only" in route.reason

    asyncio.run(scenario())


def test_when_every_venue_fails_routing_raises_a_retryable_error(settings):
    async def scenario():
        async with simulated(settings, dex_fail_venue_error=1.0) as dex:
            with pytest.raises(VenueUnavailable) as failure:
                await dex.route(SOL, USDC, 10**9)
            assert failure.value.retryable
        async with simulated(settings, dex_fail_quote_timeout=1.0, dex_latency_scale=0.001) as dex:
            with pytest.raises(QuoteTimeout):
                await dex.route(SOL, USDC, 10**9)

    asyncio.run(scenario())


def test_a_slow_venue_times_out_and_the_other_one_is_used(settings):
    async def scenario():
        # quotes take ~200 ms * 0.01 = 2 ms, the timeout is 1000 ms * 0.01 = 10 ms; a timed-out venue waits 2x that
        async with simulated(settings, dex_fail_quote_timeout=0.5, dex_latency_scale=0.01, dex_seed=3) as dex:
            routes = []
            for _ in range(20):
                try:
                    routes.append(await dex.route(SOL, USDC, 10**9))
                except QuoteTimeout:  # both timed out this time
                    pass
            timed_out = [r for r in routes if r.failures]
            assert timed_out and all(r.failures[0][1] == "quote_timeout" and len(r.legs) == 1 for r in timed_out)

    asyncio.run(scenario())


def test_a_large_order_is_split_and_gets_more_than_either_venue_alone(settings):
    async def scenario():
        async with simulated(settings, clock=ManualClock()) as dex:
            amount = 3_000_000 * 10**6  # 3M USDC against pools of $2M each
            route = await dex.route(USDC, SOL, amount)
            assert len(route.legs) == 2 and route.dex in ("raydium+meteora", "meteora+raydium")
            assert sum(leg.amount_in for leg in route.legs) == amount
            assert route.amount_out > max(q.amount_out for q in route.quotes)
            assert "split" in route.reason
            result = await execute(dex, route)
            assert result.state is SignatureState.CONFIRMED
            assert result.amount_out == route.amount_out  # nothing moved between quote and execution

    asyncio.run(scenario())


def test_a_small_order_is_not_split(settings):
    async def scenario():
        async with simulated(settings) as dex:
            route = await dex.route(SOL, USDT, 10**9)
            assert len(route.legs) == 1

    asyncio.run(scenario())


def test_a_price_move_past_the_slippage_bound_fails_and_the_retry_requotes(settings):
    async def scenario():
        clock = ManualClock()
        async with simulated(settings, clock=clock) as dex, simulated(settings, clock=clock) as someone_else:
            route = await dex.route(SOL, USDC, 100 * 10**9)
            built = await dex.build("order-1", route, 50)
            # between the quote and the execution another trader sells a lot of SOL on the same venue
            await trade_on(someone_else, route.legs[0].venue, SOL, USDC, 5_000 * 10**9)
            signature = await dex.submit(built)
            with pytest.raises(SlippageExceeded) as failure:
                await dex.confirm(signature)
            assert failure.value.retryable
            status = await dex.signature_status(signature)
            assert status.state is SignatureState.FAILED and "slippage" in status.error
            retry = await dex.route(SOL, USDC, 100 * 10**9)  # fresh quotes see the moved market
            assert retry.amount_out < route.amount_out
            result = await execute(dex, retry, order_id="order-1")
            assert result.state is SignatureState.CONFIRMED
            assert result.amount_out >= retry.amount_out * 9_950 // 10_000

    asyncio.run(scenario())


def test_an_injected_price_move_fails_the_swap_with_slippage(settings):
    async def scenario():
        async with simulated(settings, dex_fail_price_move=1.0) as dex:
            route = await dex.route(SOL, USDC, 10**9)
            with pytest.raises(SlippageExceeded):
                await execute(dex, route, slippage_bps=50)

    asyncio.run(scenario())


def test_an_unknown_pair_or_dust_has_no_route(settings):
    async def scenario():
        async with simulated(settings) as dex:
            with pytest.raises(NoRoute) as failure:
                await dex.route(USDC, USDC, 10**6)
            assert not failure.value.retryable
            with pytest.raises(NoRoute):
                await dex.route(SOL, USDC, 1)  # one lamport buys nothing

    asyncio.run(scenario())


def test_built_swap_wraps_native_sol_and_carries_min_amount_out(settings):
    async def scenario():
        async with simulated(settings) as dex:
            route = await dex.route(SOL, USDC, 10**9)
            built = await dex.build("order", route, 100)
            assert built.min_amount_out == route.amount_out * 9_900 // 10_000
            assert built.steps == ("wrap_sol", f"swap:{route.dex}")
            assert built.detail["wrapSol"] and built.priority_fee_lamports > 0
            back = await dex.build("order", await dex.route(USDC, SOL, 10**8), 100)
            assert back.steps[-1] == "unwrap_sol"

    asyncio.run(scenario())
