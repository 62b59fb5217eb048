"""Crash recovery: expired leases, orders found mid-attempt, and a Redis that loses everything mid-run."""
from __future__ import annotations

import asyncio
import dataclasses
import socket
import subprocess
import time

import pytest

from tests.support.executor_support import assert_each_order_finished_once, executor_settings, run, run_executors
from tests.support.factories import submit_orders
from tests.support.reads import statuses, timeline
from tests.support.sql import chain_transactions, landed_swaps_per_order
from order_engine.bootstrap import simulated_dex
from order_engine.domain.lifecycle import Status
from order_engine.domain.transition import Transition
from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.postgres.order_repository import OrderRepository
from order_engine.adapters.redis.work_queue import RedisWorkQueue
from order_engine.adapters.redis.connect import async_client, sync_client
from order_engine.adapters.postgres.transition_writes import write_transitions


def test_an_order_whose_executor_died_comes_back_when_its_lease_expires(settings, db):
    s = executor_settings(settings, lease_ms=300)
    [order_id] = submit_orders(s, db, 1)

    async def crashed_executor_claims():
        client = async_client(s.redis_url)
        queue = RedisWorkQueue(client, KeyScheme(s.key_prefix), "crashed", lease_ms=300, max_in_flight=100, max_stalls=3)
        claimed = await queue.claim(1)
        await client.aclose()
        return claimed.ids

    assert asyncio.run(crashed_executor_claims()) == [order_id]

    [summary] = run(s)

    assert summary.stalled_requeued == 1 and summary.outcomes["confirmed"] == 1
    assert_each_order_finished_once(db, [order_id])


def _advance(db, order, *steps):
    """Write the given steps as an executor would have before it died; returns the order as stored."""
    for to, detail, changes in steps:
        t = Transition(order, to, detail=detail, changes=changes)
        assert write_transitions(db, [t]) == [True]
        order = t.after()
    return order


def test_an_order_found_submitted_asks_the_chain_and_is_not_swapped_again(settings, db, redis_client):
    s = executor_settings(settings)
    [order_id] = submit_orders(s, db, 1, push=False)
    order = OrderRepository(db).get(order_id)

    async def swap_then_die():
        dex = simulated_dex(s)
        try:
            route = await dex.route(order.token_in_mint, order.token_out_mint, order.amount_in)
            built = await dex.build(order.id, route, order.slippage_bps)
            return route, built, await dex.submit(built)
        finally:
            await dex.close()

    route, built, signature = asyncio.run(swap_then_die())
    _advance(db, order,
             (Status.ROUTING, {"dex": route.dex}, {"attempts": 1, "dex": route.dex}),
             (Status.BUILDING, {"blockhashExpiresAt": built.blockhash_expires_at_ms}, {}),
             (Status.SUBMITTED, {"txHash": signature, "blockhashExpiresAt": built.blockhash_expires_at_ms},
              {"tx_hash": signature}))
    redis_client.lpush(KeyScheme(s.key_prefix).ready, order_id)

    run(s)

    steps = timeline(db, order_id)
    assert [status for _, status, _, _ in steps] == ["pending", "routing", "building", "submitted", "confirmed"]
    assert steps[-1][3]["txHash"] == signature and steps[-1][2] == 1
    assert landed_swaps_per_order(db)[order_id] == 1


def test_an_order_whose_transaction_was_sent_before_submitted_was_recorded_is_confirmed_not_swapped_again(
        settings, db, redis_client):
    # The crash window the build-time signature closes: the executor recorded `building` (with the signature the
    # transaction was signed with), sent it, and died before writing `submitted`.
    s = executor_settings(settings)
    [order_id] = submit_orders(s, db, 1, push=False)
    order = OrderRepository(db).get(order_id)

    async def build_record_send_die():
        dex = simulated_dex(s)
        try:
            route = await dex.route(order.token_in_mint, order.token_out_mint, order.amount_in)
            built = await dex.build(order.id, route, order.slippage_bps)
            _advance(db, order,
                     (Status.ROUTING, {"dex": route.dex}, {"attempts": 1, "dex": route.dex}),
                     (Status.BUILDING, {"txHash": built.signature, "blockhashExpiresAt": built.blockhash_expires_at_ms},
                      {"tx_hash": built.signature, "min_amount_out": built.min_amount_out}))
            assert await dex.submit(built) == built.signature
            return built.signature
        finally:
            await dex.close()

    signature = asyncio.run(build_record_send_die())
    redis_client.lpush(KeyScheme(s.key_prefix).ready, order_id)

    run(s)

    steps = timeline(db, order_id)
    assert [status for _, status, _, _ in steps] == ["pending", "routing", "building", "submitted", "confirmed"]
    assert steps[3][3]["recovered"] is True
    assert steps[-1][3]["txHash"] == signature and steps[-1][2] == 1
    assert len(chain_transactions(db, order_id=order_id)) == 1
    assert landed_swaps_per_order(db)[order_id] == 1


def test_an_order_found_building_whose_transaction_never_reached_the_chain_is_retried_after_its_blockhash_expires(
        settings, db, redis_client):
    s = executor_settings(settings)
    [order_id] = submit_orders(s, db, 1, push=False)
    order = OrderRepository(db).get(order_id)
    never_sent = "2" * 88
    expired = int(time.time() * 1000) - 60_000
    _advance(db, order,
             (Status.ROUTING, {}, {"attempts": 1}),
             (Status.BUILDING, {"txHash": never_sent, "blockhashExpiresAt": expired}, {"tx_hash": never_sent}))
    redis_client.lpush(KeyScheme(s.key_prefix).ready, order_id)

    run(s)

    steps = timeline(db, order_id)
    assert [(status, attempt) for _, status, attempt, _ in steps][3:] == [
        ("routing", 2), ("routing", 2), ("building", 2), ("submitted", 2), ("confirmed", 2)]
    assert steps[3][3]["retry"]["reason"] == "interrupted"
    assert steps[-1][3]["txHash"] != never_sent
    assert landed_swaps_per_order(db)[order_id] == 1


def test_an_order_found_submitted_whose_transaction_can_no_longer_land_is_retried(settings, db, redis_client):
    s = executor_settings(settings)
    [order_id] = submit_orders(s, db, 1, push=False)
    order = OrderRepository(db).get(order_id)
    never_sent = "1" * 88
    expired = int(time.time() * 1000) - 60_000
    _advance(db, order,
             (Status.ROUTING, {}, {"attempts": 1}),
             (Status.BUILDING, {"blockhashExpiresAt": expired}, {}),
             (Status.SUBMITTED, {"txHash": never_sent, "blockhashExpiresAt": expired}, {"tx_hash": never_sent}))
    redis_client.lpush(KeyScheme(s.key_prefix).ready, order_id)

    run(s)

    steps = timeline(db, order_id)
    assert [(status, attempt) for _, status, attempt, _ in steps][4:] == [
        ("routing", 2), ("routing", 2), ("building", 2), ("submitted", 2), ("confirmed", 2)]
    assert steps[4][3]["retry"]["reason"] == "interrupted"
    assert steps[-1][3]["txHash"] != never_sent
    assert landed_swaps_per_order(db)[order_id] == 1


@pytest.fixture
def private_redis():
    """A Redis server of this test's own, so FLUSHALL touches nobody else's data."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
                               "--bind", "127.0.0.1"], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        try:
            sync_client(url).ping()
            break
        except Exception:  # noqa: BLE001 - not listening yet
            time.sleep(0.05)
    yield url
    server.terminate()
    server.wait(timeout=10)


def test_flushall_in_the_middle_of_200_orders_loses_none_and_finishes_none_twice(settings, db, private_redis):
    s = executor_settings(dataclasses.replace(settings, redis_url=private_redis), executor_concurrency=20,
                          dex_latency_scale=0.01, idle_exit_ms=2_000)
    ids = submit_orders(s, db, 200)

    async def flush_midway():
        client = async_client(s.redis_url)
        try:
            while statuses(db)["confirmed"] < 60:
                await asyncio.sleep(0.02)
            await client.flushall()
        finally:
            await client.aclose()

    async def main():
        flusher = asyncio.create_task(flush_midway())
        summaries = await run_executors(s, count=2)
        await flusher
        return summaries

    summaries = asyncio.run(main())

    finished = statuses(db)
    assert finished["confirmed"] + finished["failed"] == 200
    assert sum(x.reconciled for x in summaries) > 0
    assert_each_order_finished_once(db, ids)
