"""How the local stack starts the executor: on the template's schedule, on submit's wake-up, and never more
instances at once than the template's ReservedConcurrentExecutions."""
from __future__ import annotations

import json
import time

import requests

from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.redis.connect import sync_client

EXECUTOR = "ExecutorFunction"
ORDER = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "0.1"}


def executor_pool(stack) -> dict:
    functions = requests.get(f"{stack.lambda_url}/local/functions", timeout=5).json()
    return next(pool for pool in functions.values() if pool["logicalId"] == EXECUTOR)


def live_executors(stack) -> int:
    """Executors whose heartbeat has not expired (and start slots not yet filled)."""
    beats = KeyScheme(stack.env["KEY_PREFIX"]).executor_beats
    return sync_client(stack.env["REDIS_URL"]).zcount(beats, int(time.time() * 1000), "+inf")


def submit(stack) -> str:
    response = stack.client.post(f"{stack.http_url}/api/orders/execute", json=ORDER, timeout=10)
    assert response.status_code == 202, response.text
    return response.json()["orderId"]


def status(stack, order_id: str) -> str:
    return stack.client.get(f"{stack.http_url}/api/orders/{order_id}", timeout=10).json()["status"]


def executor_triggers(stack) -> list[str]:
    """The trigger of every finished executor run, from the function's own log lines."""
    triggers = []
    for line in stack.log().splitlines():
        if '"executor run finished"' in line:
            triggers.append(json.loads(line).get("trigger"))
    return triggers


def test_an_order_submitted_to_an_idle_stack_is_started_by_the_wake_up_not_the_schedule(start_engine, wait_for):
    stack = start_engine(LOCAL_SCHEDULE_SECONDS="3600", LOCAL_SCHEDULE_ON_START="no", DEX_LATENCY_SCALE="0.05",
                         IDLE_EXIT_MS="500")
    first = submit(stack)
    wait_for(lambda: status(stack, first) == "confirmed", timeout=60)  # the schedule would not fire for an hour
    wait_for(lambda: executor_pool(stack)["inFlight"] == 0 and executor_triggers(stack), timeout=60)  # idle again
    wait_for(lambda: not live_executors(stack))
    second = submit(stack)  # no executor alive: this submit wakes one again
    wait_for(lambda: status(stack, second) == "confirmed", timeout=60)
    wait_for(lambda: len(executor_triggers(stack)) >= 2, timeout=60)
    triggers = executor_triggers(stack)  # the ones woken by submit (and any second one they started)
    assert "order-engine.submit" in triggers and "aws.events" not in triggers


def test_the_schedule_starts_executors_that_drain_orders_no_submit_woke_for(start_engine, wait_for):
    stack = start_engine(LOCAL_SCHEDULE_SECONDS="1", DEX_LATENCY_SCALE="0.05", IDLE_EXIT_MS="500")
    wait_for(lambda: "aws.events" in executor_triggers(stack), timeout=60)  # runs with nothing submitted
    # an executor counts as alive while its heartbeat is fresh, so submit does not wake another one
    sync_client(stack.env["REDIS_URL"]).zadd(KeyScheme(stack.env["KEY_PREFIX"]).executor_beats,
                                             {"test": int(time.time() * 1000) + 600_000})
    runs_before = len(executor_triggers(stack))
    order_id = submit(stack)
    wait_for(lambda: status(stack, order_id) == "confirmed", timeout=60)
    wait_for(lambda: len(executor_triggers(stack)) > runs_before, timeout=60)
    assert set(executor_triggers(stack)) == {"aws.events"}


def test_overlapping_invocations_never_exceed_the_reserved_concurrency(start_engine, wait_for):
    stack = start_engine(LOCAL_SCHEDULE_SECONDS="1", DEX_LATENCY_SCALE="0.05", IDLE_EXIT_MS="1000")
    reserved = executor_pool(stack)["size"]
    invoke = f"{stack.lambda_url}/2015-03-31/functions/order-engine-executor/invocations"
    for _ in range(3 * reserved):  # wake-ups beyond the cap wait in the function's queue, as Lambda's do
        assert requests.post(invoke, json={"source": "test"}, headers={"X-Amz-Invocation-Type": "Event"}).status_code == 202
    order_ids = [submit(stack) for _ in range(30)]
    wait_for(lambda: executor_pool(stack)["inFlight"] == reserved, timeout=60)
    throttled = requests.post(invoke, json={"source": "test"}, timeout=10)  # a synchronous one is refused
    assert throttled.status_code == 429 and throttled.headers["x-amzn-ErrorType"] == "TooManyRequestsException"
    wait_for(lambda: all(status(stack, order_id) == "confirmed" for order_id in order_ids), timeout=120)
    pool = executor_pool(stack)
    assert reserved == 3 and pool["peak_in_flight"] == reserved and pool["throttles"] >= 1
    wait_for(lambda: executor_triggers(stack).count("test") == 3 * reserved, timeout=120)  # each queued one ran, in turn
    assert executor_pool(stack)["peak_in_flight"] == reserved
