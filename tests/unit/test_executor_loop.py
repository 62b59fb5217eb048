"""The executor's claim / lease / retry loop over fakes of its ports: what it does with the queue it is given."""
from __future__ import annotations

import asyncio
import dataclasses
import uuid

from tests.support.executor_fakes import (FakeLiveState, InMemoryOrders, InMemoryQueue, RecordingNotifier,
                                          ScriptedDex, deadline, new_order, now_ms)
from order_engine.config import Settings
from order_engine.domain.lifecycle import Status
from order_engine.domain.swaps import RpcError
from order_engine.services.executor import engine
from order_engine.services.executor.engine import Executor, RunSummary

FAST = dict(idle_exit_ms=150, executor_poll_ms=20, executor_stop_margin_ms=0, lease_ms=400, heartbeat_ttl_ms=300,
            sweep_interval_ms=30, reconcile_interval_ms=30, reconcile_grace_ms=0, backoff_base_ms=20,
            backoff_cap_ms=40, executor_concurrency=10)


def ids(n: int) -> list[str]:
    return [str(uuid.UUID(int=i + 1, version=4)) for i in range(n)]


def run(orders: InMemoryOrders, queue: InMemoryQueue, dex: ScriptedDex | None = None, **settings) -> RunSummary:
    s = dataclasses.replace(Settings.from_env({}), **{**FAST, **settings})

    async def go() -> RunSummary:
        executor = Executor(s, queue=queue, fleet=queue, reader=orders, writers=[orders], live=FakeLiveState(),
                            dex=dex or ScriptedDex(), notifier=RecordingNotifier(), remaining_ms=deadline(10))
        return await executor.run()

    return asyncio.run(go())


def ready_orders(n: int) -> tuple[InMemoryOrders, InMemoryQueue, list[str]]:
    order_ids = ids(n)
    queue = InMemoryQueue()
    queue.push(*order_ids)
    return InMemoryOrders(*(new_order(i) for i in order_ids)), queue, order_ids


def test_every_ready_order_is_confirmed_acknowledged_and_the_run_ends_when_idle():
    orders, queue, order_ids = ready_orders(25)

    summary = run(orders, queue)

    assert {orders.orders[i].status for i in order_ids} == {Status.CONFIRMED}
    assert summary.outcomes["confirmed"] == 25 and summary.stopped_because == "idle"
    assert sorted(i for i, action, _ in queue.settled if action == "ack") == sorted(order_ids)
    assert queue.leases == {} and queue.ready == [] and queue.heartbeats >= 1


def test_a_transient_failure_waits_out_its_backoff_in_the_delayed_set_and_then_confirms():
    orders, queue, [order_id] = ready_orders(1)
    dex = ScriptedDex()
    dex.fail("route", RpcError("node down"))

    summary = run(orders, queue, dex)

    assert orders.statuses(order_id) == ["routing", "routing", "building", "submitted", "confirmed"]
    assert orders.orders[order_id].attempts == 2
    assert [action for i, action, _ in queue.settled] == ["delay", "ack"]
    assert summary.outcomes == {"retry": 1, "confirmed": 1}


def test_a_retry_this_executor_delays_is_promoted_when_its_backoff_ends_not_at_the_next_idle_look(monkeypatch):
    monkeypatch.setattr(engine, "PROMOTE_IDLE_S", 60.0)  # longer than the run may last
    orders, queue, [order_id] = ready_orders(1)
    dex = ScriptedDex()
    dex.fail("route", RpcError("node down"))

    summary = run(orders, queue, dex)

    assert orders.orders[order_id].status is Status.CONFIRMED and summary.stopped_because == "idle"


def test_a_retry_another_executor_delayed_is_promoted_and_confirmed_by_this_one():
    order_id = ids(1)[0]
    orders, queue = InMemoryOrders(new_order(order_id)), InMemoryQueue()
    queue.delayed[order_id] = now_ms() + 100  # its backoff, set by an executor that has gone since

    summary = run(orders, queue)

    assert orders.orders[order_id].status is Status.CONFIRMED and summary.outcomes == {"confirmed": 1}


def test_an_order_pushed_many_times_is_swapped_once():
    orders, queue, order_ids = ready_orders(5)
    queue.push(*order_ids, *order_ids)
    dex = ScriptedDex()

    run(orders, queue, dex)

    assert sorted(s.rsplit("-", 1)[0] for s in dex.sent) == sorted(f"sig-{i[-4:]}" for i in order_ids)
    assert all(orders.statuses(i).count("confirmed") == 1 for i in order_ids)


def test_corrupt_entries_and_unknown_ids_are_dead_lettered_with_the_reason():
    orders, queue, [order_id] = ready_orders(1)
    unknown = str(uuid.uuid4())
    queue.push("not-a-uuid", unknown)

    summary = run(orders, queue)

    reasons = {d["entry"]: d["reason"] for d in queue.dead}
    assert reasons == {"not-a-uuid": "not an order id (a corrupt queue entry)",
                       unknown: "unknown order id: no such order in PostgreSQL"}
    assert summary.dead_lettered == 2 and orders.orders[order_id].status is Status.CONFIRMED


def test_no_more_orders_are_worked_at_once_than_the_concurrency_allows():
    orders, queue, order_ids = ready_orders(12)
    dex = ScriptedDex()
    original = dex.confirm

    async def slow_confirm(signature: str):
        await asyncio.sleep(0.02)
        return await original(signature)
    dex.confirm = slow_confirm  # type: ignore[method-assign]

    summary = run(orders, queue, dex, executor_concurrency=3)

    assert summary.peak_local_in_flight == 3
    assert summary.outcomes["confirmed"] == 12


def test_an_order_whose_holder_died_is_taken_back_when_its_lease_expires():
    orders, queue, [order_id] = ready_orders(1)
    queue.ready.clear()
    queue.leases[order_id] = ("a-dead-executor", 0)  # leased, and the lease ran out

    summary = run(orders, queue)

    assert orders.orders[order_id].status is Status.CONFIRMED
    assert summary.stalled_requeued == 1


def test_an_unfinished_order_the_queue_lost_is_reconciled_and_confirmed():
    orders, queue, [order_id] = ready_orders(1)
    queue.ready.clear()  # as after a Redis FLUSHALL: PostgreSQL has it, the queue does not

    summary = run(orders, queue)

    assert summary.reconciled >= 1 and orders.orders[order_id].status is Status.CONFIRMED


def test_an_outage_of_the_live_state_does_not_stop_an_order_the_database_has():
    orders, queue, [order_id] = ready_orders(1)
    s = dataclasses.replace(Settings.from_env({}), **FAST)
    live = FakeLiveState()
    live.down = True

    async def go() -> RunSummary:
        executor = Executor(s, queue=queue, fleet=queue, reader=orders, writers=[orders], live=live, dex=ScriptedDex(),
                            notifier=RecordingNotifier(), remaining_ms=deadline(10))
        return await executor.run()

    asyncio.run(go())
    assert orders.orders[order_id].status is Status.CONFIRMED and live.steps == []


class PromotedRightAfterEachEmptyClaim(InMemoryQueue):
    """A retry promoted from the delayed set to the ready list between the executor's claim and its idle check."""

    async def claim(self, n: int):
        claimed = await super().claim(n)
        if not claimed.ids and self.delayed:
            promoted = list(self.delayed)
            self.delayed.clear()
            self.push(*promoted)
        return claimed


def test_a_retry_promoted_while_the_executor_checks_for_idleness_is_not_left_behind():
    [order_id] = ids(1)
    orders, queue = InMemoryOrders(new_order(order_id)), PromotedRightAfterEachEmptyClaim()
    queue.delayed[order_id] = 0

    summary = run(orders, queue, idle_exit_ms=0)

    assert orders.orders[order_id].status is Status.CONFIRMED
    assert summary.outcomes["confirmed"] == 1


class RecordingLauncher:
    """The port that starts executors: records each start it was asked for."""

    def __init__(self) -> None:
        self.starts: list[tuple[str, str | None, str]] = []

    def wake(self, reason: str, slot: str | None = None, source: str = "order-engine.submit") -> bool:
        self.starts.append((reason, slot, source))
        return True


def run_with_launcher(orders, queue, launcher, dex=None, **settings) -> RunSummary:
    s = dataclasses.replace(Settings.from_env({}), **{**FAST, **settings})

    async def go() -> RunSummary:
        executor = Executor(s, queue=queue, fleet=queue, reader=orders, writers=[orders], live=FakeLiveState(),
                            dex=dex or ScriptedDex(), notifier=RecordingNotifier(), remaining_ms=deadline(10),
                            launcher=launcher)
        return await executor.run()

    return asyncio.run(go())


def test_a_lone_executor_with_work_starts_a_second_one_so_a_crash_leaves_a_survivor():
    orders, queue, order_ids = ready_orders(5)
    dex = ScriptedDex()
    original = dex.confirm

    async def slow_confirm(signature: str):
        await asyncio.sleep(0.2)  # orders stay in flight across a few chore ticks
        return await original(signature)
    dex.confirm = slow_confirm  # type: ignore[method-assign]
    launcher = RecordingLauncher()

    summary = run_with_launcher(orders, queue, launcher, dex, executor_max_instances=3, executor_min_instances=2,
                                executor_start_grace_ms=60_000)

    assert {orders.orders[i].status for i in order_ids} == {Status.CONFIRMED}
    # one start for the missing second executor, its slot reserved so later ticks do not start it again
    assert summary.launched == 1 and [source for _, _, source in launcher.starts] == ["order-engine.executor"]
    assert launcher.starts[0][1] in queue.live
    assert queue.owner not in queue.live  # it left the live set when it stopped


def test_no_executor_is_started_when_one_instance_is_all_the_function_may_run():
    orders, queue, _ = ready_orders(5)
    launcher = RecordingLauncher()

    summary = run_with_launcher(orders, queue, launcher, executor_max_instances=1)

    assert summary.launched == 0 and launcher.starts == []


def test_an_executor_takes_back_the_lease_of_an_order_it_works_on_when_redis_lost_it():
    orders, queue, [order_id] = ready_orders(1)
    dex = ScriptedDex()
    original = dex.build

    async def flush_while_building(*args):
        queue.leases.clear()  # FLUSHALL between claiming the order and sending its swap
        queue.flushed = True
        return await original(*args)
    dex.build = flush_while_building  # type: ignore[method-assign]

    summary = run(orders, queue, dex)

    # without taking the lease back, the lease check before sending would give the order up ("lost")
    assert orders.statuses(order_id)[-1] == "confirmed" and summary.outcomes == {"confirmed": 1}
    assert queue.leases == {} and queue.ready == []
