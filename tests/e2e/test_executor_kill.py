"""The executor's process SIGKILLed at random moments while the local stack runs 500 orders: the schedule starts new
executors, expired leases hand the orders on, and every order still ends exactly once, swapped at most once."""
from __future__ import annotations

import asyncio
import os
import random
import signal
from collections import Counter

import aiohttp
import pytest
import requests

from order_engine.domain.lifecycle import TERMINAL, can_transition
from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.redis.connect import sync_client
from tests.support.sql import confirmed_ledger, in_flight_count, order_rows, order_timelines, unfinished_count

ORDERS = 500
KILLS = 10
EXECUTOR = "ExecutorFunction"
TERMINAL_NAMES = {str(s) for s in TERMINAL}


@pytest.fixture(scope="module")
def kill_stack(start_engine):
    return start_engine(
        LEASE_MS="2000",  # a killed executor's orders go back to the queue two seconds later
        LOCAL_SCHEDULE_SECONDS="1",  # the schedule starts a fresh executor every second
        DEX_LATENCY_SCALE="0.1",  # ~0.3 s an order: kills land while swaps are in flight
        EXECUTOR_CONCURRENCY="5",
        IDLE_EXIT_MS="2000",
    )


def executor_pool(stack) -> dict:
    functions = requests.get(f"{stack.lambda_url}/local/functions", timeout=5).json()
    return next(pool for pool in functions.values() if pool["logicalId"] == EXECUTOR)


def unfinished(stack) -> int:
    return unfinished_count(stack.env["DATABASE_URL"])


async def submit_all(stack, count: int) -> list[str]:
    semaphore = asyncio.Semaphore(16)

    async def one(session: aiohttp.ClientSession) -> str:
        async with semaphore, session.post(f"{stack.http_url}/api/orders/execute",
                                           json={"tokenIn": "SOL", "tokenOut": "USDC", "amount": "0.1"}) as response:
            assert response.status == 202, await response.text()
            return (await response.json())["orderId"]

    async with stack.session() as session:
        return await asyncio.gather(*(one(session) for _ in range(count)))


def in_flight(stack) -> int:
    return in_flight_count(stack.env["DATABASE_URL"])


async def kill_executors(stack, kills: int, rng: random.Random) -> list[int]:
    """SIGKILL a busy executor worker `kills` times, at random moments while orders are in flight (between
    routing and confirmation); the pids killed."""
    killed: list[int] = []
    while len(killed) < kills:
        await asyncio.sleep(rng.uniform(0.1, 0.6))
        busy = (await asyncio.to_thread(executor_pool, stack))["busyPids"]
        if busy and await asyncio.to_thread(in_flight, stack):
            pid = rng.choice(busy)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:  # its run ended between the listing and the kill: pick again
                continue
            killed.append(pid)
    return killed


def test_executors_killed_at_random_moments_lose_no_order_and_swap_none_twice(kill_stack, wait_for):
    async def scenario():
        return await asyncio.gather(submit_all(kill_stack, ORDERS),
                                    kill_executors(kill_stack, KILLS, random.Random(20261122)))

    order_ids, killed = asyncio.run(scenario())
    assert len(set(killed)) == KILLS and unfinished(kill_stack) > 0  # the kills happened mid-run
    wait_for(lambda: unfinished(kill_stack) == 0, timeout=180, interval=0.5)

    database_url = kill_stack.env["DATABASE_URL"]
    rows = order_rows(database_url)  # id -> (status, seq, tx_hash)
    statuses = {order_id: status for order_id, (status, _, _) in rows.items()}
    assert set(statuses) == set(order_ids)  # none lost, none invented
    assert set(statuses.values()) <= TERMINAL_NAMES

    timelines = order_timelines(database_url)
    for order_id in order_ids:
        seqs, path = [s for s, _ in timelines[order_id]], [st for _, st in timelines[order_id]]
        assert seqs == list(range(1, len(seqs) + 1)), (order_id, timelines[order_id])
        assert path[0] == "pending" and path[-1] == statuses[order_id], (order_id, path)
        assert sum(st in TERMINAL_NAMES for st in path) == 1, (order_id, path)  # exactly one terminal state
        assert all(can_transition(a, b) for a, b in zip(path, path[1:])), (order_id, path)

    confirmed = {order_id for order_id, status in statuses.items() if status == "confirmed"}
    tx_hashes = {order_id: tx for order_id, (status, _, tx) in rows.items() if status == "confirmed"}
    live_chain = chain_landings(kill_stack)  # what the simulated chain itself holds (Redis)
    assert max(Counter(live_chain.values()).values()) == 1  # no order swapped twice
    assert {order_id: sig for sig, order_id in live_chain.items()} == tx_hashes  # each confirmed order swapped once
    ledger = confirmed_ledger(database_url)
    assert max(Counter(order_id for order_id, _ in ledger).values()) == 1
    assert dict(ledger) == tx_hashes, "a landed transaction is missing from the chain's durable ledger"
    assert set(tx_hashes) == confirmed
    assert executor_pool(kill_stack)["crashes"] >= KILLS


def chain_landings(stack) -> dict[str, str]:
    """signature -> order id of every transaction that landed and succeeded on the simulated chain."""
    redis = sync_client(stack.env["REDIS_URL"])
    pattern = KeyScheme(stack.env["KEY_PREFIX"]).dex_transaction("*")
    landed = {}
    for key in redis.scan_iter(match=pattern, count=1000):
        state, order_id = redis.hmget(key, "state", "order_id")
        if state == "confirmed":
            landed[key.rsplit(":", 1)[1]] = order_id
    return landed
