"""The keep-alive chores' schedules, tick by tick over fakes of the queue and the order reader, on a clock the test
moves: which chore runs in which tick."""
from __future__ import annotations

import asyncio
import dataclasses
from typing import Callable, Iterator

import pytest

from tests.support.executor_fakes import InMemoryOrders, InMemoryQueue, new_order, now_ms
from order_engine.config import Settings
from order_engine.errors import DependencyUnavailable
from order_engine.ports import NO_METRICS
from order_engine.services.executor.chores import (CrashRecovery, DataLossCheck, Heartbeat, KeepAlive, LeaseRenewal,
                                                   Reconcile, tick_s)
from order_engine.services.executor.run_summary import RunSummary

SETTINGS = dataclasses.replace(Settings.from_env({}), reconcile_grace_ms=2_000)
TICK_S = 1.0
LOST = "00000000-0000-4000-8000-00000000000a"  # a queued order PostgreSQL has and the queue does not


class FleetQueue(InMemoryQueue):
    """The queue, with the fleet's turns granted only when the test says so, and a store that can fail."""

    def __init__(self) -> None:
        super().__init__()
        self.turns: set[str] = set()
        self.turns_asked: list[str] = []
        self.fail_beats = 0
        self.renewals = 0

    async def take_turn(self, chore: str, interval_ms: int) -> bool:
        self.turns_asked.append(chore)
        return chore in self.turns

    async def beat(self, ttl_ms: int, slot: str | None = None) -> None:
        if self.fail_beats:
            self.fail_beats -= 1
            raise DependencyUnavailable("redis")
        await super().beat(ttl_ms, slot)

    async def renew(self, ids):
        self.renewals += 1
        return await super().renew(ids)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class FakeWatcher:
    def __init__(self, restores: int = 0, fails: bool = False) -> None:
        self.in_hand = False
        self.restores, self.fails = restores, fails
        self.checks = 0

    async def restore_if_lost(self, grace_ms: int) -> int:
        self.checks += 1
        if self.fails:
            raise DependencyUnavailable("postgresql")
        return self.restores


@dataclasses.dataclass
class Fleet:
    """One executor's keep-alive chores, as the engine wires them."""

    queue: FleetQueue
    orders: InMemoryOrders
    summary: RunSummary
    clock: Clock
    reconcile: Reconcile
    keep_alive: KeepAlive
    leased: set[str]
    launches: list[int]
    runner: asyncio.Runner  # one event loop for the whole test: a books rebuild started in a tick outlives it

    def tick(self) -> None:
        self.runner.run(self.keep_alive.tick())

    def finish_books_restore(self) -> None:
        if self.reconcile.books_restore is not None:
            self.runner.run(asyncio.wait_for(self.reconcile.books_restore, 5))

    def lose_from_the_queue(self) -> None:
        self.queue.ready = [i for i in self.queue.ready if i != LOST]

    def reconciled_now(self) -> bool:
        """Whether the last tick re-enqueued the lost order (and so ran the reconcile); forgets it again."""
        found = LOST in self.queue.ready
        self.lose_from_the_queue()
        return found


def build_fleet(watcher: FakeWatcher | None = None) -> Fleet:
    queue, orders, summary, clock = FleetQueue(), InMemoryOrders(new_order(LOST)), RunSummary("executor-test"), Clock()
    leased: set[str] = set()
    launches: list[int] = []

    async def launch_missing() -> None:
        launches.append(1)

    reconcile = Reconcile(SETTINGS, queue, queue, orders, {}, summary, tick_s=TICK_S, watcher=watcher,  # type: ignore[arg-type]
                          closing=asyncio.Event(), clock=clock)
    keep_alive = KeepAlive([
        Heartbeat(queue, SETTINGS.heartbeat_ttl_ms, None),
        LeaseRenewal(queue, leased),
        DataLossCheck(queue, reconcile),
        CrashRecovery(queue, queue, SETTINGS.sweep_interval_ms, summary, NO_METRICS, launch_missing),
        reconcile,
    ], tick_s=TICK_S, on_store_failure=reconcile.at_once)
    return Fleet(queue, orders, summary, clock, reconcile, keep_alive, leased, launches, asyncio.Runner())


@pytest.fixture
def fleet() -> Iterator[Callable[..., Fleet]]:
    built: list[Fleet] = []

    def build(watcher: FakeWatcher | None = None) -> Fleet:
        built.append(build_fleet(watcher))
        return built[-1]

    yield build
    for f in built:
        f.runner.close()


def settled_in(f: Fleet) -> Fleet:
    """Past the start-up reconcile and the one after it: from here on a reconcile needs a reason."""
    f.tick()
    f.clock.now += SETTINGS.reconcile_grace_ms / 1000 + TICK_S
    f.tick()
    f.lose_from_the_queue()
    return f


def test_a_tick_is_short_enough_for_three_heartbeats_per_ttl_and_three_renewals_per_lease():
    s = dataclasses.replace(SETTINGS, heartbeat_ttl_ms=3_000, lease_ms=6_000, sweep_interval_ms=5_000)
    assert tick_s(s) == 1.0
    assert tick_s(dataclasses.replace(s, lease_ms=1_500)) == 0.5
    assert tick_s(dataclasses.replace(s, sweep_interval_ms=200)) == 0.2  # the sweep turn is asked for each interval


def test_every_tick_beats_and_renews_the_leases_of_the_orders_in_hand_not_being_settled(fleet):
    f = fleet()
    f.queue.leases = {"in-hand": (f.queue.owner, 0), "being-settled": (f.queue.owner, 0)}
    f.leased.add("in-hand")

    f.tick()
    f.tick()

    assert f.queue.heartbeats == 2 and f.queue.renewals == 2
    assert f.queue.leases["in-hand"][1] > now_ms() and f.queue.leases["being-settled"][1] == 0


def test_a_reconcile_runs_at_start_up_without_waiting_for_the_fleets_turn(fleet):
    f = fleet()

    f.tick()

    assert f.reconciled_now() and f.summary.reconciled == 1 and "reconcile" not in f.queue.turns_asked


def test_after_the_start_up_reconcile_one_more_runs_once_the_orders_accepted_just_before_are_past_the_grace(fleet):
    f = fleet()
    f.tick()
    f.lose_from_the_queue()

    f.clock.now += SETTINGS.reconcile_grace_ms / 1000  # the grace has passed, the tick after it not yet
    f.tick()
    assert not f.reconciled_now()

    f.clock.now += TICK_S
    f.tick()
    assert f.reconciled_now()

    f.clock.now += 60
    f.tick()
    assert not f.reconciled_now()  # and then only in the fleet's turn


def test_a_reconcile_runs_in_this_executors_reconcile_turn_and_not_in_another_executors(fleet):
    f = settled_in(fleet())

    f.tick()
    assert not f.reconciled_now() and f.queue.turns_asked.count("reconcile") == 1

    f.queue.turns.add("reconcile")
    f.tick()
    assert f.reconciled_now()


def test_a_reconcile_runs_at_once_when_redis_lost_its_data(fleet):
    f = settled_in(fleet())
    f.queue.flushed = True

    f.tick()

    assert f.reconciled_now()


def test_a_failing_store_ends_the_tick_and_the_next_tick_reconciles_at_once(fleet):
    f = settled_in(fleet())
    renewals = f.queue.renewals
    f.queue.fail_beats = 1

    f.tick()
    assert f.queue.renewals == renewals and not f.reconciled_now()  # nothing after the failed heartbeat ran

    f.tick()
    assert f.queue.renewals == renewals + 1 and f.reconciled_now()


def test_crash_recovery_and_launching_run_only_in_this_executors_sweep_turn(fleet):
    f = fleet()
    f.queue.leases["held-by-a-dead-executor"] = ("another-executor", 0)

    f.tick()
    assert f.summary.stalled_requeued == 0 and f.launches == []

    f.queue.turns.add("sweep")
    f.tick()
    assert f.summary.stalled_requeued == 1 and "held-by-a-dead-executor" in f.queue.ready and f.launches == [1]


def test_a_reconcile_in_the_watchers_turn_rebuilds_the_waiting_books_redis_lost(fleet):
    watcher = FakeWatcher(restores=3)
    f = fleet(watcher)

    f.tick()  # another executor holds the watch turn: left to the next reconcile
    assert watcher.checks == 0

    f.queue.turns.add("watch")
    f.reconcile.at_once()
    f.tick()
    f.finish_books_restore()
    assert watcher.checks == 1 and f.summary.waiting_restored == 3


def test_the_waiting_books_are_not_checked_while_the_watcher_has_orders_out_of_them(fleet):
    watcher = FakeWatcher(restores=3)
    watcher.in_hand = True
    f = fleet(watcher)
    f.queue.turns.add("watch")

    f.tick()

    assert f.reconcile.books_restore is None and watcher.checks == 0


def test_a_failed_check_of_the_waiting_books_makes_the_next_tick_reconcile(fleet):
    f = settled_in(fleet(FakeWatcher(fails=True)))
    f.queue.turns.add("watch")
    f.reconcile.at_once()
    f.tick()
    f.lose_from_the_queue()
    f.finish_books_restore()

    f.clock.now += 0.001  # before the grace: only the failed check can make this tick reconcile
    f.tick()

    assert f.reconciled_now()
