"""The simulated chain (real Redis + PostgreSQL): Solana-shaped signatures, execution at landing time,
confirmation, expiry, and a record of landed transactions that survives losing Redis."""
from __future__ import annotations

import asyncio
import re

import pytest

from order_engine.domain.swaps import BlockhashExpired, RpcError, SignatureState, TransactionDropped

from tests.support.simulated_dex import SOL, USDC, execute, lose_redis, pair_key, simulated
from tests.support.sql import chain_transactions, forget_landed_transaction

BASE58_SIGNATURE = re.compile(r"^[1-9A-HJ-NP-Za-km-z]{87,88}$")


def test_signatures_look_like_solana_signatures_and_are_unique(settings):
    async def scenario():
        async with simulated(settings) as dex:
            route = await dex.route(SOL, USDC, 10**9)
            signatures = [await dex.submit(await dex.build(f"o{i}", route, 5_000)) for i in range(20)]
            assert all(BASE58_SIGNATURE.match(s) for s in signatures)
            assert len(set(signatures)) == 20

    asyncio.run(scenario())


def test_the_signature_is_fixed_when_the_transaction_is_built_and_sending_it_again_swaps_once(settings, db):
    async def scenario():
        async with simulated(settings) as dex:
            built = await dex.build("order", await dex.route(SOL, USDC, 10**9), 50)
            assert BASE58_SIGNATURE.match(built.signature)
            assert await dex.submit(built) == built.signature
            assert await dex.submit(built) == built.signature
            return await dex.confirm(built.signature)

    result = asyncio.run(scenario())
    assert result.state is SignatureState.CONFIRMED
    assert len(chain_transactions(db, order_id="order")) == 1


def test_status_is_pending_until_confirmed_then_confirmed(settings):
    async def scenario():
        # latency scale 0.01: it lands after ~4-8 ms and is confirmed after ~20-30 ms
        async with simulated(settings, dex_latency_scale=0.01) as dex:
            route = await dex.route(SOL, USDC, 10**9)
            signature = await dex.submit(await dex.build("order", route, 50))
            assert (await dex.signature_status(signature)).state is SignatureState.PENDING
            result = await dex.confirm(signature)
            assert result.state is SignatureState.CONFIRMED and result.amount_out >= route.amount_out * 9_950 // 10_000
            assert float(result.executed_price) == pytest.approx(result.amount_out / 10**6, rel=1e-9)
            assert await dex.signature_status(signature) == result

    asyncio.run(scenario())


def test_a_landed_transaction_is_still_known_after_redis_loses_everything(settings, db):
    async def scenario():
        async with simulated(settings) as dex:
            result = await execute(dex, await dex.route(SOL, USDC, 10**9), order_id="order-7")
            lose_redis(settings)
            assert await dex.signature_status(result.signature) == result
        async with simulated(settings) as recovering:  # another process, after the restart
            assert await recovering.signature_status(result.signature) == result
            assert await recovering.confirm(result.signature) == result
        return result

    result = asyncio.run(scenario())
    [tx] = chain_transactions(db, signature=result.signature)
    assert (tx["order_id"], tx["state"], tx["amount_out"]) == ("order-7", "confirmed", result.amount_out)


def test_status_right_after_landing_is_reported_once_the_ledger_holds_it(settings, db):
    async def scenario():
        async with simulated(settings) as dex:
            route = await dex.route(SOL, USDC, 10**9)
            signature = await dex.submit(await dex.build("order", route, 50))
            assert (await dex.signature_status(signature)).state is SignatureState.CONFIRMED
            assert [tx["state"] for tx in chain_transactions(db, signature=signature)] == ["confirmed"]
            lose_redis(settings)
            assert (await dex.signature_status(signature)).state is SignatureState.CONFIRMED

    asyncio.run(scenario())


def test_a_transaction_whose_blockhash_expires_before_landing_never_lands(settings):
    async def scenario():
        async with simulated(settings, dex_fail_blockhash_expired=1.0) as dex:
            before = await dex.route(SOL, USDC, 10**9)
            signature = await dex.submit(await dex.build("order", before, 50))
            with pytest.raises(BlockhashExpired) as failure:
                await dex.confirm(signature)
            assert failure.value.retryable
            assert (await dex.signature_status(signature)).state is SignatureState.EXPIRED
            after = await dex.route(SOL, USDC, 10**9)
            assert after.amount_out == before.amount_out  # the pool did not move: nothing was swapped

    asyncio.run(scenario())


def test_a_transaction_sent_with_a_blockhash_that_lapses_while_in_flight_expires(settings):
    async def scenario():
        # lands after 400-800 ms * 0.05 = 20-40 ms; the blockhash lives 10 ms
        async with simulated(settings, dex_latency_scale=0.05, dex_blockhash_lifetime_ms=10) as dex:
            built = await dex.build("order", await dex.route(SOL, USDC, 10**9), 50)
            signature = await dex.submit(built)
            with pytest.raises(BlockhashExpired):
                await dex.confirm(signature)

    asyncio.run(scenario())


def test_an_rpc_error_at_submit_sends_nothing(settings):
    async def scenario():
        async with simulated(settings, dex_fail_rpc_error=1.0) as dex:
            built = await dex.build("order", await dex.route(SOL, USDC, 10**9), 50)
            with pytest.raises(RpcError) as failure:
                await dex.submit(built)
            assert failure.value.retryable

    asyncio.run(scenario())


def test_the_chain_has_never_seen_an_unknown_signature(settings):
    async def scenario():
        async with simulated(settings) as dex:
            unknown = "5" * 88
            assert (await dex.signature_status(unknown)).state is SignatureState.UNKNOWN
            with pytest.raises(TransactionDropped):
                await dex.confirm(unknown)

    asyncio.run(scenario())


def test_a_transaction_still_in_flight_when_redis_is_lost_is_dropped(settings):
    async def scenario():
        async with simulated(settings, dex_latency_scale=0.05) as dex:
            signature = await dex.submit(await dex.build("order", await dex.route(SOL, USDC, 10**9), 50))
            lose_redis(settings)  # before it lands (20-40 ms)
            with pytest.raises(TransactionDropped):
                await dex.confirm(signature)
            assert (await dex.signature_status(signature)).state is SignatureState.UNKNOWN

    asyncio.run(scenario())


def test_the_market_reseeds_itself_when_redis_loses_it(settings, redis_client):
    async def scenario():
        async with simulated(settings) as dex:
            await execute(dex, await dex.route(SOL, USDC, 10**9))
            assert redis_client.exists(pair_key(settings))
            lose_redis(settings)
            result = await execute(dex, await dex.route(SOL, USDC, 10**9))
            assert result.state is SignatureState.CONFIRMED
            assert redis_client.exists(pair_key(settings))

    asyncio.run(scenario())


def test_a_landing_whose_ledger_write_was_lost_is_made_durable_before_it_is_reported(settings, db):
    """The process that landed a swap died before its ledger batch reached PostgreSQL: a recovering executor
    that finds the landing in Redis gets it confirmed only once the ledger holds it, so a later Redis loss cannot
    turn it into 'never landed' (and a second swap)."""
    async def land():
        async with simulated(settings) as dex:
            return await execute(dex, await dex.route(SOL, USDC, 10**9), order_id="order-lost-ledger")

    landed = asyncio.run(land())
    forget_landed_transaction(db, landed.signature)  # the batch that never made it

    async def recover():
        async with simulated(settings) as dex:
            return await dex.signature_status(landed.signature)

    assert asyncio.run(recover()) == landed
    [tx] = chain_transactions(db, signature=landed.signature)
    assert (tx["order_id"], tx["state"], tx["amount_out"]) == ("order-lost-ledger", "confirmed", landed.amount_out)
    lose_redis(settings)

    async def after_flush():
        async with simulated(settings) as dex:
            return await dex.signature_status(landed.signature)

    assert asyncio.run(after_flush()) == landed
