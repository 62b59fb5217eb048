"""Faults during a run, on the local stack at realistic venue latency, each on PostgreSQL and Redis of its own:
an executor SIGKILLed, Redis flushed, Redis killed and restarted, PostgreSQL restarted, the submit function's
workers crashing. Each run must lose no order, double none (one terminal event, at most one landed swap per
order), leave no seq gap and nothing half-written, and finish every order soon after the fault (RECOVERY_S, OUTAGE_RECOVERY_S)."""
from __future__ import annotations

import asyncio
import os
import signal
import time

import requests

from tests.support.sql import in_flight_count, last_finished_order_steps
from tests.support.fault_harness import Client, audit, check_refusals, record, submit_orders, wait_all_terminal

ORDERS = 150  # at most 100 in flight (MAX_IN_FLIGHT): the fault strikes with a queue behind them
RECOVERY_S = 15.0  # from the fault to the last order terminal: the target for an executor SIGKILL and FLUSHALL
OUTAGE_RECOVERY_S = 20.0  # from the end of an outage (or the last crash) to the last order terminal


def pool(stack, logical_id: str) -> dict:
    functions = requests.get(f"{stack.lambda_url}/local/functions", timeout=5).json()
    return next(p for p in functions.values() if p["logicalId"] == logical_id)


def in_flight(database_url: str) -> int:
    try:
        return in_flight_count(database_url)
    except Exception:  # noqa: BLE001 - not yet migrated, or down
        return 0


async def until(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(predicate):
        assert time.monotonic() < deadline, "the run never reached the moment of the fault"
        await asyncio.sleep(0.1)


def report(name: str, result, fault_epoch: float, client: Client, database_url: str = "") -> float:
    after = result.seconds_after(fault_epoch)
    if database_url:  # the last order to finish, step by step (seconds after the fault)
        steps = last_finished_order_steps(database_url, fault_epoch)
        record("[fault] last order: " + " ".join(f"{st}@{t}" for st, t in steps))
    record(f"[fault] {name}: {result.orders} orders ({result.confirmed} confirmed, {result.failed} failed), "
          f"0 lost, 0 doubled, last terminal {after:.1f} s after the fault; client saw {len(client.refusals)} "
          f"5xx and {client.dropped} dropped connections")
    return after


def run_with_fault(stack, servers, fault, *, submit_first: bool = False) -> tuple[Client, float]:
    """Submit ORDERS (all before the fault, or while it strikes) and strike with `fault(stack)` once orders are in
    flight; returns the client and the epoch the fault ended (the moment recovery is measured from)."""
    client = Client()

    async def scenario() -> float:
        submitting = asyncio.create_task(submit_orders(stack.http_url, ORDERS, client, api_key=stack.api_key))
        if submit_first:
            await submitting
        await until(lambda: in_flight(servers.database_url) >= 20, timeout=120)
        fault_end = await fault(stack)
        await submitting
        return fault_end

    fault_end = asyncio.run(scenario())
    wait_all_terminal(servers.database_url, ORDERS, timeout=120)
    return client, fault_end


def test_executors_sigkilled_mid_run(servers, engine):
    stack = engine()

    async def kill_two_executors(stack) -> float:
        killed = []
        while len(killed) < 2:
            busy = [pid for pid in (await asyncio.to_thread(pool, stack, "ExecutorFunction"))["busyPids"]
                    if pid not in killed]
            if busy:
                os.kill(busy[0], signal.SIGKILL)
                killed.append(busy[0])
                at = time.time()
                await asyncio.sleep(1.5)
            else:
                await asyncio.sleep(0.05)
        return at

    client, fault = run_with_fault(stack, servers, kill_two_executors, submit_first=True)

    result = audit(servers.database_url, client)
    assert report("executor SIGKILL x2", result, fault, client, servers.database_url) < RECOVERY_S
    assert pool(stack, "ExecutorFunction")["crashes"] >= 2 and not client.refusals


def test_redis_flushall_mid_run(servers, engine):
    stack = engine()

    async def flush(stack) -> float:
        await asyncio.to_thread(servers.flush_redis)
        return time.time()

    client, fault = run_with_fault(stack, servers, flush)

    result = audit(servers.database_url, client)
    assert report("Redis FLUSHALL", result, fault, client, servers.database_url) < RECOVERY_S
    assert not client.refusals


def test_redis_killed_and_restarted_mid_run(servers, engine):
    stack = engine()

    async def restart(stack) -> float:
        await asyncio.to_thread(servers.kill_redis)
        await asyncio.sleep(2)
        await asyncio.to_thread(servers.start, "redis")
        return time.time()

    client, fault = run_with_fault(stack, servers, restart)

    result = audit(servers.database_url, client)
    assert report("Redis SIGKILL + restart (2 s down)", result, fault, client, servers.database_url) < OUTAGE_RECOVERY_S
    # submit keeps taking orders while Redis is down (durable in PostgreSQL, queued by the reconciler)
    check_refusals(client, lambda status, body: status == 503 and body["error"]["code"] == "redis_unavailable")


def test_postgres_restarted_mid_run(servers, engine):
    stack = engine()
    health: list[tuple[int, dict]] = []

    async def restart(stack) -> float:
        await asyncio.to_thread(servers.stop_postgres)
        for _ in range(3):
            response = await asyncio.to_thread(requests.get, f"{stack.http_url}/api/health", timeout=5)
            health.append((response.status_code, response.json()))
            await asyncio.sleep(1)
        await asyncio.to_thread(servers.start, "postgres")
        return time.time()

    client, fault = run_with_fault(stack, servers, restart)

    result = audit(servers.database_url, client)
    assert report("PostgreSQL restart (3 s down)", result, fault, client, servers.database_url) < OUTAGE_RECOVERY_S
    assert client.refusals, "no submit arrived during the outage"
    check_refusals(client, lambda status, body: status == 503 and body["error"]["code"] == "database_unavailable"
                   and body["error"]["message"])
    assert all(status == 503 for status, _ in health), health
    assert requests.get(f"{stack.http_url}/api/health", timeout=5).status_code == 200  # recovered by itself


def test_submit_workers_crash_mid_run(servers, engine):
    stack = engine()

    async def crash_submit_workers(stack) -> float:
        killed: list[int] = []
        while len(killed) < 3:
            busy = [pid for pid in (await asyncio.to_thread(pool, stack, "SubmitFunction"))["busyPids"]
                    if pid not in killed]
            if busy:
                try:
                    os.kill(busy[0], signal.SIGKILL)
                    killed.append(busy[0])
                    at = time.time()
                except ProcessLookupError:
                    pass
                await asyncio.sleep(0.2)
            else:
                await asyncio.sleep(0.01)
        return at

    client, fault = run_with_fault(stack, servers, crash_submit_workers)

    result = audit(servers.database_url, client)
    assert report("submit worker SIGKILL x3", result, fault, client, servers.database_url) < OUTAGE_RECOVERY_S
    # what API Gateway answers for a Lambda that died; the client sent the same request (same key) again
    check_refusals(client, lambda status, body: status in (500, 502) and body == {"message": "Internal Server Error"})
    assert pool(stack, "SubmitFunction")["crashes"] >= 3
