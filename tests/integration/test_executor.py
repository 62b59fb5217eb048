"""The executor against real Redis and PostgreSQL with the real simulated venues (latency 0)."""
from __future__ import annotations

import json

from tests.support.executor_support import assert_each_order_finished_once, executor_settings, run
from tests.support.factories import SOL_TO_USDC, submit_orders
from tests.support.reads import order_of, statuses, timeline
from tests.support.sql import insert_unwatched_waiting, landed_swaps_per_order
from order_engine.domain.retry import RetryPolicy
from order_engine import bootstrap
from order_engine.adapters.postgres.order_repository import OrderRepository
from order_engine.adapters.redis.key_scheme import KeyScheme


def test_an_order_goes_from_pending_to_confirmed_with_one_event_per_step(settings, db, redis_client):
    s = executor_settings(settings)
    [order_id] = submit_orders(s, db, 1)

    [summary] = run(s)

    steps = timeline(db, order_id)
    assert [(seq, status, attempt) for seq, status, attempt, _ in steps] == [
        (1, "pending", 0), (2, "routing", 1), (3, "building", 1), (4, "submitted", 1), (5, "confirmed", 1)]
    routing, submitted, confirmed = steps[1][3], steps[3][3], steps[4][3]
    assert routing["dex"] in ("raydium", "meteora", "raydium+meteora") and routing["quotes"]
    assert confirmed["txHash"] == submitted["txHash"] and confirmed["order"]["status"] == "confirmed"
    assert int(confirmed["amountOut"]) > 0
    stored = order_of(db, order_id)
    assert stored.status == "confirmed" and stored.tx_hash == submitted["txHash"] and stored.amount_out > 0
    assert stored.completed_at is not None
    keys = KeyScheme(s.key_prefix)
    frames = [json.loads(f) for f in redis_client.lrange(keys.order_events(order_id), 0, -1)]
    assert [f["seq"] for f in frames] == [1, 2, 3, 4, 5] and frames[-1]["status"] == "confirmed"
    assert redis_client.hget(keys.order_live(order_id), "status") == "confirmed"
    assert redis_client.ttl(keys.order_events(order_id)) > 0
    assert summary.outcomes["confirmed"] == 1 and summary.stopped_because == "idle"


def test_same_order_pushed_five_times_with_three_executors_is_swapped_once(settings, db):
    s = executor_settings(settings, dex_latency_scale=0.01)
    ids = submit_orders(s, db, 30, pushes=5)

    summaries = run(s, count=3)

    assert statuses(db) == {"confirmed": 30}
    assert_each_order_finished_once(db, ids)
    assert sum(landed_swaps_per_order(db)[i] for i in ids) == 30
    assert sum(x.outcomes["confirmed"] for x in summaries) == 30


def test_transient_failures_are_retried_with_backoff_and_then_fail_with_the_reason(settings, db):
    s = executor_settings(settings, dex_fail_rpc_error=1.0, max_attempts=3, backoff_base_ms=40,
                          backoff_factor=3.0, backoff_cap_ms=1000)
    [order_id] = submit_orders(s, db, 1)

    run(s)

    steps = timeline(db, order_id)
    retries = [(seq, attempt, d["retry"]) for seq, status, attempt, d in steps if "retry" in d]
    assert [(attempt, r["reason"], r["previousAttempt"]) for _, attempt, r in retries] == [
        (2, "rpc_error", 1), (3, "rpc_error", 2)]
    policy = RetryPolicy(3, 40, 3.0, 1000)
    for _, attempt, r in retries:
        low, high = policy.bounds_ms(attempt - 1)
        assert low <= r["delayMs"] <= high
    # each retry's fresh routing comes no sooner than its backoff allowed
    at = {event.seq: event.at for event in OrderRepository(db).events(order_id)}
    for seq, _, r in retries:
        assert steps[seq][1] == "routing" and "quotes" in steps[seq][3]
        assert (at[seq + 1] - at[seq]).total_seconds() * 1000 >= r["delayMs"]
    last_seq, last_status, last_attempt, detail = steps[-1]
    assert (last_status, last_attempt, detail["reason"]) == ("failed", 3, "rpc_error")
    stored = order_of(db, order_id)
    assert stored.error.startswith("gave up after trying 3 times: the Solana RPC node returned an error")
    assert stored.attempts == 3
    assert landed_swaps_per_order(db)[order_id] == 0


def test_a_non_retryable_error_fails_the_order_at_once(settings, db):
    s = executor_settings(settings)
    [order_id] = submit_orders(s, db, 1, body={"inputMint": "SOL", "outputMint": "USDC", "amountIn": 1})

    run(s)

    steps = timeline(db, order_id)
    assert [(status, attempt) for _, status, attempt, _ in steps] == [("pending", 0), ("failed", 1)]
    assert steps[-1][3]["reason"] == "no_route"
    assert order_of(db, order_id).error.startswith("no venue can fill")


def test_one_instance_never_holds_more_orders_than_its_concurrency(settings, db):
    s = executor_settings(settings, executor_concurrency=10, dex_latency_scale=0.02)
    ids = submit_orders(s, db, 60)

    [summary] = run(s)

    assert summary.peak_local_in_flight == 10
    assert summary.outcomes["confirmed"] == 60
    assert_each_order_finished_once(db, ids)


def test_the_global_cap_holds_across_three_instances(settings, db, redis_client):
    s = executor_settings(settings, executor_concurrency=10, max_in_flight=15, dex_latency_scale=0.02)
    ids = submit_orders(s, db, 90)

    summaries = run(s, count=3)

    assert max(x.peak_global_in_flight for x in summaries) <= 15
    assert int(redis_client.get(KeyScheme(s.key_prefix).peak_in_flight)) <= 15
    assert all(x.peak_local_in_flight <= 10 for x in summaries)
    assert sum(x.outcomes["confirmed"] for x in summaries) == 90
    assert_each_order_finished_once(db, ids)


def test_reconciler_requeues_unfinished_orders_that_redis_does_not_hold(settings, db):
    s = executor_settings(settings, reconcile_grace_ms=0, idle_exit_ms=1_500)
    ids = submit_orders(s, db, 25, push=False)  # durable, but the push never happened (e.g. Redis was down)

    [summary] = run(s)

    assert summary.reconciled == 25
    assert statuses(db) == {"confirmed": 25}
    assert_each_order_finished_once(db, ids)


def test_the_reconciler_leaves_waiting_orders_to_their_watcher_and_the_executor_drops_one_it_is_handed(
        settings, db, redis_client):
    s = executor_settings(settings, reconcile_grace_ms=0, idle_exit_ms=1_500)
    ids = submit_orders(s, db, 2, push=False)
    waiting = insert_unwatched_waiting(db, like=ids[0])
    redis_client.lpush(KeyScheme(s.key_prefix).ready, waiting)  # e.g. a stray push: the executor must not route it

    [summary] = run(s)

    assert summary.reconciled == 2 and summary.outcomes["held"] == 1
    assert statuses(db) == {"confirmed": 2, "waiting": 1}
    assert [status for _, status, _, _ in timeline(db, waiting)] == ["waiting"]
    assert waiting not in landed_swaps_per_order(db)
    assert summary.dead_lettered == 0


def test_corrupt_entries_and_unknown_orders_go_to_the_dead_letters_with_a_reason(settings, db, redis_client):
    s = executor_settings(settings)
    keys = KeyScheme(s.key_prefix)
    unknown = "00000000-0000-4000-8000-000000000000"
    redis_client.lpush(keys.ready, "not-an-order-id", unknown)

    [summary] = run(s)

    dead = [json.loads(d) for d in redis_client.lrange(keys.dead, 0, -1)]
    reasons = {d["entry"]: d["reason"] for d in dead}
    assert reasons == {"not-an-order-id": "not an order id (a corrupt queue entry)",
                       unknown: "unknown order id: no such order in PostgreSQL"}
    assert summary.dead_lettered == 2
    assert bootstrap.build(s).queries.queue_stats()["deadLettered"] == 2


def test_queue_stats_count_what_is_waiting_and_what_finished(settings, db):
    s = executor_settings(settings)
    submit_orders(s, db, 3)
    assert bootstrap.build(s).queries.queue_stats() | {"peakInFlight": 0} == {
        "ready": 3, "inFlight": 0, "delayed": 0, "deadLettered": 0, "peakInFlight": 0,
        "confirmed": 0, "failed": 0, "cancelled": 0, "expired": 0, "waiting": 0, "unfinished": 3}
    submit_orders(s, db, 1, body={**SOL_TO_USDC, "amount": "0.000000001"})

    run(s)

    stats = bootstrap.build(s).queries.queue_stats()
    assert (stats["ready"], stats["inFlight"], stats["confirmed"], stats["failed"]) == (0, 0, 3, 1)
