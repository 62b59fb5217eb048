"""The fakes the unit tests run the use cases on (tests/support/executor_fakes.py, ws_fakes.py) hold to their real
adapters: each contract below runs against the fake and against the adapter on real Redis and PostgreSQL, and
asserts what the services rely on.

- the work queue and the submit intake (WorkQueue, Intake.enqueue): InMemoryQueue / RedisWorkQueue + RedisOrderIntake
- the connection registry and the live state's subscriber read (Registry, LiveState.record):
  FakeRegistry / RedisConnectionRegistry + RedisLiveState
- the live event log (LiveState.record feeding EventLog.frames): FakeLog / RedisLiveState + RedisEventLog
- the order store, the executor's reader and its transition writer (OrderStore, OrderReader, TransitionWriter):
  InMemoryOrders / OrderRepository + PgOrderReader + PgTransitionWriter

Where a fake is simpler on purpose it is not held here: InMemoryQueue gives its one executor every chore turn
(take_turn) and never sees Redis lose its data unless told (state_lost); InMemoryOrders ignores the reconciler's
grace and gives all its orders one creation time.
"""
from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

import pytest

from order_engine.adapters.postgres.order_repository import OrderRepository
from order_engine.adapters.postgres.transition_writes import PgOrderReader, PgTransitionWriter, PgWorker
from order_engine.adapters.redis.connect import async_client, sync_client
from order_engine.adapters.redis.executor_fleet import RedisExecutorFleet
from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.redis.live_state import RedisEventLog, RedisLiveState
from order_engine.adapters.redis.order_intake import RedisOrderIntake
from order_engine.adapters.redis.work_queue import RedisWorkQueue, now_ms
from order_engine.adapters.redis.ws_registry import Limits, RedisConnectionRegistry
from order_engine.domain.lifecycle import Status
from order_engine.domain.order import OrderEvent
from order_engine.domain.transition import Transition
from tests.support.servers import TEST_REDIS_URL, delete_keys
from tests.support.executor_fakes import InMemoryOrders, InMemoryQueue, new_order
from tests.support.factories import order_request
from tests.support.ws_fakes import FakeLog, FakeRegistry

OWNER = "contract-executor"
SIDES = ["fake", "real"]


@pytest.fixture
def key_prefix() -> str:
    """A Redis key prefix of this test's own, its keys deleted afterwards (the real side needs no PostgreSQL)."""
    prefix = f"c{uuid.uuid4().hex[:12]}:"
    yield prefix
    delete_keys(prefix)


def ids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


# -- the work queue and the submit intake -------------------------------------------------------------------------

@dataclass
class Queue:
    queue: Any  # WorkQueue
    enqueue: Callable[..., None]  # what submit does: Intake.enqueue of each id (the fake: push)
    fleet: Any = None  # ExecutorFleet (the fake queue is its own fleet)


@pytest.fixture(params=SIDES)
def make_queue(request) -> Callable[..., Queue]:
    """`make_queue(lease_ms=5000, max_in_flight=1000)`, called inside the test's event loop."""
    if request.param == "fake":
        def fake(lease_ms: int = 5_000, max_in_flight: int = 1_000) -> Queue:
            queue = InMemoryQueue(OWNER, lease_ms=lease_ms, max_in_flight=max_in_flight)
            return Queue(queue, queue.push, queue)
        return fake

    keys = KeyScheme(request.getfixturevalue("key_prefix"))
    intake = RedisOrderIntake(sync_client(TEST_REDIS_URL), keys)

    def enqueue(*order_ids: str) -> None:
        for order_id in order_ids:
            intake.enqueue(order_id, {"type": "status", "orderId": order_id, "seq": 1, "status": "pending"})

    def real(lease_ms: int = 5_000, max_in_flight: int = 1_000) -> Queue:
        client = async_client(TEST_REDIS_URL)
        return Queue(RedisWorkQueue(client, keys, OWNER, lease_ms=lease_ms, max_in_flight=max_in_flight,
                                    max_stalls=3), enqueue, RedisExecutorFleet(client, keys, OWNER))
    return real


def run_queue(make_queue, scenario, *, with_fleet: bool = False, **knobs) -> Any:
    async def main():
        q = make_queue(**knobs)
        try:
            return await (scenario(q.fleet, q.enqueue) if with_fleet else scenario(q.queue, q.enqueue))
        finally:
            if hasattr(q.queue, "redis"):
                await q.queue.redis.aclose()
    return asyncio.run(main())


def test_submitted_orders_are_claimed_in_arrival_order_each_by_one_claim(make_queue):
    a, b, c = ids(3)

    async def scenario(queue, enqueue):
        enqueue(a, b, c)
        first, rest, none = await queue.claim(2), await queue.claim(10), await queue.claim(10)
        return first.ids, rest.ids, none.ids, rest.in_flight

    assert run_queue(make_queue, scenario) == ([a, b], [c], [], 3)


def test_a_duplicate_of_an_order_in_flight_is_dropped_not_claimed_twice(make_queue):
    [a] = ids(1)

    async def scenario(queue, enqueue):
        enqueue(a, a)
        claimed = await queue.claim(10)
        enqueue(a)  # a stray push while it is in flight
        again = await queue.claim(10)
        return claimed.ids, claimed.duplicates_dropped, again.ids, again.duplicates_dropped

    assert run_queue(make_queue, scenario) == ([a], 1, [], 1)


def test_claims_stop_at_the_global_cap_of_orders_in_flight(make_queue):
    a, b, c = ids(3)

    async def scenario(queue, enqueue):
        enqueue(a, b, c)
        capped = await queue.claim(10)
        blocked = await queue.claim(10)
        await queue.settle([(a, "ack", 0)])
        freed = await queue.claim(10)
        return capped.ids, capped.in_flight, blocked.ids, freed.ids

    assert run_queue(make_queue, scenario, max_in_flight=2) == ([a, b], 2, [], [c])


def test_an_acknowledged_order_leaves_the_queue(make_queue):
    [a] = ids(1)

    async def scenario(queue, enqueue):
        enqueue(a)
        await queue.claim(1)
        waiting_while_held = await queue.has_waiting()
        await queue.settle([(a, "ack", 0)])
        snapshot = await queue.snapshot()
        return waiting_while_held, await queue.has_waiting(), snapshot.held, (await queue.claim(10)).ids

    assert run_queue(make_queue, scenario) == (True, False, set(), [])


def test_a_released_order_is_claimed_again_before_the_ones_already_waiting(make_queue):
    a, b = ids(2)

    async def scenario(queue, enqueue):
        enqueue(a)
        await queue.claim(1)
        enqueue(b)
        await queue.settle([(a, "release", 0)])
        return (await queue.claim(1)).ids

    assert run_queue(make_queue, scenario) == [a]


def test_a_delayed_order_waits_out_its_backoff_then_is_claimed_first(make_queue):
    a, b = ids(2)

    async def scenario(queue, enqueue):
        enqueue(a)
        await queue.claim(1)
        due = now_ms() + 300
        await queue.settle([(a, "delay", due)])
        enqueue(b, a)  # an order behind it, and a stray push of the delayed one
        early = await queue.claim(10)
        not_yet = await queue.promote_due()
        held = (await queue.snapshot()).held
        await queue.settle([(b, "ack", 0)])
        await asyncio.sleep(0.4)
        enqueue(b)
        promoted = await queue.promote_due()
        return early.ids, early.duplicates_dropped, not_yet, a in held, promoted, (await queue.claim(1)).ids, due

    early, dropped, not_yet, held, promoted, after, due = run_queue(make_queue, scenario)
    assert (early, dropped) == ([b], 1)  # not claimable during its backoff, a push of it dropped as a duplicate
    assert (not_yet.promoted, not_yet.next_due_ms) == (0, due) and held
    assert (promoted.promoted, promoted.next_due_ms) == (1, None)
    assert after == [a]


def test_the_holder_keeps_its_lease_and_an_expired_one_is_recovered_and_claimed_again(make_queue):
    a, b = ids(2)

    async def scenario(queue, enqueue):
        enqueue(a, b)
        await queue.claim(2)
        held = await queue.holds([a, b])
        renewed = await queue.renew([a])
        await asyncio.sleep(0.5)  # b's lease expires (a's was renewed 0.5 s ago, so it expires too by now)
        recovered = await queue.recover_expired()
        return held, renewed, recovered.requeued, sorted((await queue.claim(10)).ids)

    held, renewed, requeued, again = run_queue(make_queue, scenario, lease_ms=300)
    assert held == [True, True] and renewed == []
    assert requeued == 2 and again == sorted([a, b])


def test_settling_an_order_this_executor_does_not_hold_changes_nothing(make_queue):
    [a] = ids(1)

    async def scenario(queue, enqueue):
        await queue.settle([(a, "release", 0)])
        return (await queue.claim(10)).ids, await queue.has_waiting()

    assert run_queue(make_queue, scenario) == ([], False)


def test_a_dead_lettered_order_leaves_the_leases_for_the_dead_letters(make_queue):
    a, b = ids(2)

    async def scenario(queue, enqueue):
        enqueue(a, b)
        await queue.claim(1)
        await queue.dead_letter(a, "its detail would not parse", a)
        snapshot = await queue.snapshot()
        return snapshot.held, snapshot.dead, [i for i in (await queue.claim(10)).ids]

    held, dead, claimable = run_queue(make_queue, scenario)
    assert held == {b} and a in dead and claimable == [b]


def test_wait_claim_hands_over_an_order_that_arrives_and_times_out_on_none(make_queue):
    [a] = ids(1)

    async def scenario(queue, enqueue):
        nothing = await queue.wait_claim(0.2)
        asyncio.get_running_loop().call_later(0.1, enqueue, a)
        arrived = await queue.wait_claim(2)
        return nothing.ids, arrived.ids

    assert run_queue(make_queue, scenario) == ([], [a])


def test_the_fleet_asks_for_an_executor_when_work_waits_and_none_is_live_once_per_start(make_queue):
    [a] = ids(1)

    async def scenario(fleet, enqueue):
        idle = await fleet.missing_executors(10, 3, 1, 5_000)
        enqueue(a)
        first = await fleet.missing_executors(10, 3, 1, 5_000)
        second = await fleet.missing_executors(10, 3, 1, 5_000)  # the first start's slot counts as live
        await fleet.beat(5_000, first[0] if first else None)  # the started executor beats in its slot
        third = await fleet.missing_executors(10, 3, 1, 5_000)
        return idle, len(first), second, third

    assert run_queue(make_queue, scenario, with_fleet=True) == ([], 1, [], [])


# -- the connection registry and the live state's subscriber read --------------------------------------------------

@dataclass
class Registry:
    registry: Any  # Registry
    record: Callable[[str, dict], set[str]]  # a step stored for the order -> the subscribers to post it to


def _step(order_id: str, seq: int) -> tuple[Any, OrderEvent]:
    statuses = (Status.PENDING, Status.ROUTING, Status.BUILDING, Status.SUBMITTED, Status.CONFIRMED)
    order = new_order(order_id, status=statuses[seq - 1], seq=seq)
    return order, OrderEvent(order_id, seq, statuses[seq - 1], 0, datetime(2026, 12, 1, tzinfo=timezone.utc), {})


@pytest.fixture(params=SIDES)
def registry(request) -> Registry:
    if request.param == "fake":
        fake = FakeRegistry()
        return Registry(fake, fake.record)
    keys = KeyScheme(request.getfixturevalue("key_prefix"))
    real = RedisConnectionRegistry(sync_client(TEST_REDIS_URL), keys, Limits(7_200_000, 600_000))

    def record(order_id: str, frame: dict) -> set[str]:
        async def write() -> set[str]:
            client = async_client(TEST_REDIS_URL)
            try:
                found = await RedisLiveState(client, keys, 60).record([_step(order_id, frame["seq"])])
            finally:
                await client.aclose()
            return found[order_id]
        return asyncio.run(write())
    return Registry(real, record)


def frame(order_id: str, seq: int) -> dict:
    return _step(order_id, seq)[1].to_message()


def test_a_registered_connection_is_not_open_until_seen_or_posted_to_and_keeps_its_reader(registry):
    r = registry.registry
    r.register("c1", 1_000, 1_000, "client-a")
    r.register("c2", 1_000, 1_000, "client-b")
    fresh = r.state("c1")
    r.seen("c1", 1_000, 2_000)
    r.mark_open("c2")
    assert (fresh.connected_at_ms, fresh.open, fresh.reader) == (1_000, False, "client-a")
    assert (r.state("c1").open, r.state("c1").reader) == (True, "client-a")
    assert (r.state("c2").open, r.state("c2").reader) == (True, "client-b")
    assert r.state("unknown") is None


def test_a_message_after_the_disconnect_does_not_bring_the_connection_back(registry):
    r = registry.registry
    r.register("c1", 1_000, 1_000)
    r.remove("c1")
    r.seen("c1", 1_000, 2_000)
    assert r.state("c1") is None


def test_a_subscriber_gets_no_live_frame_until_its_replay_released_what_was_held(registry):
    r, order_id = registry.registry, str(uuid.uuid4())
    r.register("c1", 0, 0)
    r.subscribe("c1", order_id, 0, 0)
    posted_while_replaying = registry.record(order_id, frame(order_id, 2))
    held = r.release_held("c1", order_id)
    registry_empty = r.release_held("c1", order_id)  # none held: the subscription goes live
    posted_live = registry.record(order_id, frame(order_id, 3))
    assert posted_while_replaying == set()
    assert [f["seq"] for f in held] == [2] and registry_empty == []
    assert posted_live == {"c1"}
    assert r.release_held("c1", order_id) == []  # a live subscription holds nothing


def test_frames_held_during_a_replay_come_out_in_the_order_they_were_stored(registry):
    r, order_id = registry.registry, str(uuid.uuid4())
    r.register("c1", 0, 0)
    r.subscribe("c1", order_id, 0, 0)
    for seq in (2, 3, 4):
        registry.record(order_id, frame(order_id, seq))
    assert [f["seq"] for f in r.release_held("c1", order_id)] == [2, 3, 4]


def test_subscribing_again_replays_again(registry):
    r, order_id = registry.registry, str(uuid.uuid4())
    r.register("c1", 0, 0)
    r.subscribe("c1", order_id, 0, 0)
    r.release_held("c1", order_id)
    r.subscribe("c1", order_id, 0, 0)
    assert registry.record(order_id, frame(order_id, 2)) == set()
    assert [f["seq"] for f in r.release_held("c1", order_id)] == [2]


def test_an_unsubscribed_or_removed_connection_is_posted_nothing(registry):
    r, order_id = registry.registry, str(uuid.uuid4())
    for connection_id in ("c1", "c2", "c3"):
        r.register(connection_id, 0, 0)
        r.subscribe(connection_id, order_id, 0, 0)
        r.release_held(connection_id, order_id)
    assert r.unsubscribe("c1", order_id) is True
    assert r.unsubscribe("c1", order_id) is False
    r.remove("c2")
    assert registry.record(order_id, frame(order_id, 2)) == {"c3"}
    assert r.subscribers(order_id) == {"c3"} and r.state("c2") is None


# -- the live event log -------------------------------------------------------------------------------------------

@dataclass
class Log:
    log: Any  # EventLog
    record: Callable[[list[tuple[Any, OrderEvent]]], None]  # the executor's live-state write of stored steps


@pytest.fixture(params=SIDES)
def event_log(request) -> Log:
    if request.param == "fake":
        fake = FakeLog()

        def record_fake(steps):
            for _, event in steps:
                fake.by_order.setdefault(event.order_id, []).append(event.to_message())
        return Log(fake, record_fake)
    keys = KeyScheme(request.getfixturevalue("key_prefix"))

    def record_real(steps):
        async def write() -> None:
            client = async_client(TEST_REDIS_URL)
            try:
                await RedisLiveState(client, keys, 60).record(steps)
            finally:
                await client.aclose()
        asyncio.run(write())
    return Log(RedisEventLog(sync_client(TEST_REDIS_URL), keys), record_real)


def test_the_log_holds_each_orders_frames_in_the_order_they_were_recorded(event_log):
    a, b = ids(2)
    event_log.record([_step(a, 1), _step(b, 1), _step(a, 2)])
    event_log.record([_step(a, 3)])
    assert event_log.log.frames(a) == [frame(a, 1), frame(a, 2), frame(a, 3)]
    assert event_log.log.frames(b) == [frame(b, 1)]
    assert event_log.log.frames(str(uuid.uuid4())) == []


def test_a_read_of_the_log_is_a_copy(event_log):
    [a] = ids(1)
    event_log.record([_step(a, 1)])
    event_log.log.frames(a).append({"seq": 99})
    assert event_log.log.frames(a) == [frame(a, 1)]


# -- the order store, the executor's reader and its transition writer -----------------------------------------------

@dataclass
class Orders:
    store: Any  # OrderStore
    reader: Any  # OrderReader
    writer: Any  # TransitionWriter


@pytest.fixture(params=SIDES)
def orders(request) -> Orders:
    if request.param == "fake":
        fake = InMemoryOrders()
        yield Orders(fake, fake, fake)
        return
    settings, db = request.getfixturevalue("settings"), request.getfixturevalue("db")
    worker = PgWorker(settings.database_url, settings.database_schema, "contract")
    yield Orders(OrderRepository(db), PgOrderReader(worker), PgTransitionWriter(worker))
    worker.close()


BODY = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1.5", "slippageBps": 80}


def test_an_inserted_order_is_read_back_pending_with_its_first_event(orders):
    [order_id] = ids(1)
    inserted = orders.store.insert(order_id, order_request(BODY), None)
    order = orders.store.get(order_id)
    [event] = orders.store.events(order_id)
    assert inserted.created and inserted.same_request
    assert (order.id, order.status, order.seq, order.attempts) == (order_id, Status.PENDING, 1, 0)
    assert (order.amount_in, order.slippage_bps) == (1_500_000_000, 80)
    assert (event.seq, event.status, event.detail["amountIn"]) == (1, Status.PENDING, "1500000000")
    assert orders.store.get(str(uuid.uuid4())) is None


def test_an_idempotency_key_names_one_order_per_client(orders):
    first_id, again_id, other_id, theirs_id = ids(4)
    request = order_request(BODY)
    first = orders.store.insert(first_id, request, "key-1", client_id="acme")
    again = orders.store.insert(again_id, request, "key-1", client_id="acme")
    other = orders.store.insert(other_id, order_request({**BODY, "amount": "2"}), "key-1", client_id="acme")
    theirs = orders.store.insert(theirs_id, request, "key-1", client_id="globex")
    assert (again.created, again.same_request, again.order.id) == (False, True, first.order.id)
    assert (other.created, other.same_request, other.order.id) == (False, False, first.order.id)
    assert theirs.created and theirs.order.id == theirs_id
    assert orders.store.get(first_id, client_id="globex") is None
    assert orders.store.get(first_id, client_id="acme").id == first_id
    assert orders.store.count_by_status() == {"pending": 2}
    assert orders.store.count_by_status(client_id="globex") == {"pending": 1}


def test_a_transition_is_stored_only_from_the_state_it_was_seen_in(orders):
    [order_id] = ids(1)
    orders.store.insert(order_id, order_request(BODY), None)

    async def scenario():
        [seen] = (await orders.reader.load([order_id, str(uuid.uuid4())])).values()
        stored = await orders.writer.write([Transition(seen, Status.ROUTING, detail={"quotes": []},
                                                       changes={"attempts": 1})])
        stale = await orders.writer.write([Transition(seen, Status.FAILED, detail={"error": "late"})])
        return stored, stale, (await orders.reader.load([order_id]))[order_id]

    stored, stale, after = asyncio.run(scenario())
    assert (stored, stale) == ([True], [False])
    assert (after.status, after.seq, after.attempts) == (Status.ROUTING, 2, 1)
    assert [(e.seq, e.status, e.attempt, e.detail) for e in orders.store.events(order_id)][1:] == [
        (2, Status.ROUTING, 1, {"quotes": []})]


def test_the_executor_reads_the_built_transaction_and_the_unfinished_orders(orders):
    sent_id, done_id = ids(2)
    for order_id in (sent_id, done_id):
        orders.store.insert(order_id, order_request(BODY), None)

    async def scenario():
        loaded = await orders.reader.load([sent_id, done_id])
        for status, detail in ((Status.ROUTING, {}), (Status.BUILDING, {"signature": "sig-1"}),
                               (Status.SUBMITTED, {"signature": "sig-2"})):
            [ok] = await orders.writer.write([Transition(loaded[sent_id], status, detail=detail)])
            assert ok
            loaded = await orders.reader.load([sent_id, done_id])
        assert await orders.writer.write([Transition(loaded[done_id], Status.CANCELLED)]) == [True]
        await asyncio.sleep(0.01)
        return await orders.reader.last_sent(sent_id), await orders.reader.unfinished(0)

    last_sent, unfinished = asyncio.run(scenario())
    assert last_sent == {"signature": "sig-1"}  # the building event's: the signed transaction a recovery resends
    assert unfinished == [sent_id]
