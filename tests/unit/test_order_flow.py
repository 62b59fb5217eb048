"""OrderFlow over fakes of its ports: every way an order can go from whatever state the executor finds it in."""
from __future__ import annotations

import asyncio
import contextlib
import random
from typing import AsyncIterator

import pytest

from tests.support.executor_fakes import (FakeLiveState, InMemoryOrders, RecordingNotifier, ScriptedDex, new_order,
                                          now_ms)
from order_engine.domain.lifecycle import Status
from order_engine.domain.order import Order
from order_engine.domain.retry import RetryPolicy
from order_engine.domain.swaps import (BlockhashExpired, DexError, NoRoute, QuoteTimeout, RpcError, SignatureState,
                                       SlippageExceeded, SwapResult, TransactionDropped, VenueUnavailable)
from order_engine.services.executor.flow import SETTLE_MARGIN_MS, LeaseLost, OrderFlow, Outcome
from order_engine.services.executor.recorder import StepRecorder

POLICY = RetryPolicy(max_attempts=3, base_ms=100, factor=2.0, cap_ms=1_000)


class Harness:
    def __init__(self, order: Order, dex: ScriptedDex, holds_lease: bool):
        self.order, self.dex = order, dex
        self.orders = InMemoryOrders(order)
        self.live, self.notifier = FakeLiveState(), RecordingNotifier()
        self.recorder = StepRecorder([self.orders], self.live, self.notifier)
        self.lease_checks: list[str] = []

        async def holds(order_id: str) -> bool:
            self.lease_checks.append(order_id)
            return holds_lease

        self.flow = OrderFlow(dex, self.recorder, POLICY, last_sent=self.orders.last_sent, holds_lease=holds,
                              rng=random.Random(7))

    async def drive(self) -> Outcome:
        return await self.flow.drive(self.orders.orders[self.order.id])

    @property
    def stored(self) -> Order:
        return self.orders.orders[self.order.id]

    def statuses(self) -> list[str]:
        return [str(e.status) for e in self.orders.timeline[self.order.id]]

    def last_detail(self) -> dict:
        return self.orders.timeline[self.order.id][-1].detail


@contextlib.asynccontextmanager
async def harness(order: Order | None = None, dex: ScriptedDex | None = None,
                  holds_lease: bool = True) -> AsyncIterator[Harness]:
    h = Harness(order or new_order(), dex or ScriptedDex(), holds_lease)
    try:
        yield h
    finally:
        await h.recorder.close()


def drive(order: Order | None = None, dex: ScriptedDex | None = None, holds_lease: bool = True,
          before=None) -> tuple[Outcome, Harness]:
    async def go():
        async with harness(order, dex, holds_lease) as h:
            if before:
                before(h)
            return await h.drive(), h
    return asyncio.run(go())


def test_a_pending_order_is_routed_built_sent_and_confirmed_with_every_step_stored_and_published():
    outcome, h = drive()

    assert outcome == Outcome.ack("confirmed")
    assert h.statuses() == ["routing", "building", "submitted", "confirmed"]
    assert h.stored.status is Status.CONFIRMED and h.stored.attempts == 1
    assert h.stored.dex == "raydium" and h.stored.amount_out == 150_000_000 and h.stored.executed_price == "150.0"
    assert [f["seq"] for f in h.notifier.frames] == [2, 3, 4, 5]
    assert h.notifier.frames[-1]["order"]["status"] == "confirmed"
    assert len(h.live.steps) == 4


def test_the_signature_is_stored_at_building_before_the_swap_is_sent():
    outcome, h = drive()
    building = next(e for e in h.orders.timeline[h.order.id] if e.status is Status.BUILDING)
    assert building.detail["txHash"] == h.dex.sent[0] == h.stored.tx_hash
    assert building.detail["minAmountOut"] == str(h.stored.min_amount_out)
    assert h.lease_checks == [h.order.id]  # the lease is checked right before sending


@pytest.mark.parametrize(("step", "error"), [
    ("route", QuoteTimeout("no quote in 1 s")),
    ("route", VenueUnavailable("raydium 503")),
    ("build", RpcError("getLatestBlockhash failed")),
    ("submit", RpcError("sendTransaction failed")),
    ("confirm", SlippageExceeded("out below minimum")),
    ("confirm", BlockhashExpired("expired")),
    ("confirm", TransactionDropped("never landed")),
])
def test_a_retryable_failure_goes_back_to_routing_with_the_next_attempt_after_a_backoff(step, error):
    dex = ScriptedDex()
    dex.fail(step, error)
    before = now_ms()

    outcome, h = drive(dex=dex)

    assert outcome.action == "delay" and outcome.result == "retry"
    low, high = POLICY.bounds_ms(1)
    assert before + low <= outcome.due_ms <= now_ms() + high
    assert h.statuses()[-1] == "routing" and h.stored.attempts == 2
    retry = h.last_detail()["retry"]
    assert retry["reason"] == error.reason and retry["previousAttempt"] == 1
    assert h.stored.tx_hash is None  # the next attempt builds a new transaction


def test_the_last_attempt_failing_ends_the_order_failed_with_a_reason_a_person_can_read():
    outcome, h = drive(order=new_order(status=Status.ROUTING, attempts=3, seq=7), dex=_failing("route", RpcError("down")))

    assert outcome == Outcome.ack("failed")
    assert h.stored.status is Status.FAILED and h.stored.attempts == 3
    assert h.stored.error == "gave up after trying 3 times: the Solana RPC node returned an error (down)"


def test_a_non_retryable_failure_fails_at_once():
    outcome, h = drive(dex=_failing("route", NoRoute("too little to buy anything")))

    assert outcome == Outcome.ack("failed")
    assert h.statuses() == ["failed"]
    assert h.last_detail()["reason"] == "no_route" and "too little" in h.stored.error


def test_a_swap_that_landed_but_failed_on_slippage_is_retried_with_fresh_quotes():
    dex = ScriptedDex()

    async def landed_failed(signature: str) -> SwapResult:
        return SwapResult(signature, SignatureState.FAILED, error="price moved")
    dex.confirm = landed_failed  # type: ignore[method-assign]

    outcome, h = drive(dex=dex)

    assert outcome.result == "retry"
    assert h.last_detail()["retry"]["reason"] == "slippage_exceeded"


def test_an_unanswered_confirmation_is_asked_again_later_and_never_sent_again():
    outcome, h = drive(dex=_failing("confirm", DexError("RPC timeout while confirming")))

    assert outcome.action == "delay" and outcome.result == "wait"
    assert h.statuses() == ["routing", "building", "submitted"]  # no retry: it may still land
    assert len(h.dex.sent) == 1


def test_an_order_found_building_whose_transaction_the_chain_has_seen_is_marked_submitted_and_confirmed():
    order = new_order(status=Status.BUILDING, attempts=1, seq=3, tx_hash="sig-seen")
    dex = ScriptedDex()
    dex.chain["sig-seen"] = SwapResult("sig-seen", SignatureState.PENDING)

    outcome, h = drive(order=order, dex=dex)

    assert outcome == Outcome.ack("confirmed")
    assert h.statuses() == ["submitted", "confirmed"]
    assert h.orders.timeline[order.id][0].detail["recovered"] is True
    assert dex.sent == [] and "route" not in dex.calls  # asked the chain; sent nothing


def test_an_order_found_submitted_whose_swap_already_landed_is_confirmed_without_sending():
    order = new_order(status=Status.SUBMITTED, attempts=1, seq=4, tx_hash="sig-landed")
    dex = ScriptedDex()
    dex.chain["sig-landed"] = SwapResult("sig-landed", SignatureState.CONFIRMED, 149_000_000, "149.0")

    outcome, h = drive(order=order, dex=dex)

    assert outcome == Outcome.ack("confirmed")
    assert h.stored.amount_out == 149_000_000 and dex.sent == []


def _with_sent_event(order: Order, expires_at_ms: int):
    """The building event (what last_sent reads: the signed transaction's blockhash expiry), then the order's own."""
    def add(h: Harness) -> None:
        from order_engine.domain.order import OrderEvent
        sent = {"blockhashExpiresAt": expires_at_ms}
        h.orders.timeline[order.id] += [OrderEvent(order.id, order.seq - 1, Status.BUILDING, 1, order.created_at, sent),
                                        OrderEvent(order.id, order.seq, order.status, 1, order.created_at, sent)]
    return add


def test_an_unseen_transaction_whose_blockhash_may_still_land_is_waited_for():
    order = new_order(status=Status.SUBMITTED, attempts=1, seq=4, tx_hash="sig-unseen")
    expires = now_ms() + 30_000

    outcome, h = drive(order=order, before=_with_sent_event(order, expires))

    assert outcome == Outcome("delay", expires + SETTLE_MARGIN_MS, "wait")
    assert h.dex.sent == [] and h.statuses() == ["building", "submitted"]  # nothing written


def test_an_unseen_transaction_past_its_blockhash_is_retried_as_interrupted():
    order = new_order(status=Status.SUBMITTED, attempts=1, seq=4, tx_hash="sig-unseen")

    outcome, h = drive(order=order, before=_with_sent_event(order, now_ms() - 60_000))

    assert outcome.result == "retry"
    assert h.last_detail()["retry"]["reason"] == "interrupted" and h.stored.attempts == 2


def test_losing_the_race_to_another_executor_lets_the_order_go():
    outcome, h = drive(before=lambda h: setattr(h.orders, "refuse_writes", True))

    assert outcome == Outcome.ack("lost")
    # routing rides with building, so the first write comes after the (local) build: nothing is sent or published
    assert h.dex.calls == ["route", "build"] and h.dex.sent == [] and h.notifier.frames == []


def test_an_executor_that_lost_its_lease_does_not_send_the_swap():
    with pytest.raises(LeaseLost):
        drive(holds_lease=False)


def test_a_finished_order_is_acknowledged_untouched():
    outcome, h = drive(order=new_order(status=Status.CONFIRMED, seq=5))
    assert outcome == Outcome.ack("done") and h.dex.calls == []


def _failing(step: str, error: BaseException) -> ScriptedDex:
    dex = ScriptedDex()
    dex.fail(step, error)
    return dex


class _CountingOrders(InMemoryOrders):
    """Counts the durable writes (one per batch handed to the writer) and what each carried."""

    def __init__(self, order: Order) -> None:
        super().__init__(order)
        self.writes: list[list[str]] = []

    async def write(self, batch):
        self.writes.append([str(t.to) for t in batch])
        return await super().write(batch)


class _SlowConfirmDex(ScriptedDex):
    def __init__(self, delay_s: float) -> None:
        super().__init__()
        self.delay_s = delay_s
        self.published_before_confirmed: list[str] = []
        self.notifier: RecordingNotifier | None = None

    async def confirm(self, signature: str) -> SwapResult:
        await asyncio.sleep(self.delay_s)
        assert self.notifier is not None
        self.published_before_confirmed = [f["status"] for f in self.notifier.frames]
        return await super().confirm(signature)


def _drive_counting(dex: ScriptedDex) -> tuple[Outcome, Harness, _CountingOrders]:
    async def go():
        async with harness(dex=dex) as h:
            h.orders = counting = _CountingOrders(h.order)
            h.recorder = StepRecorder([counting], h.live, h.notifier)
            h.flow.recorder = h.recorder
            if isinstance(dex, _SlowConfirmDex):
                dex.notifier = h.notifier
            try:
                return await h.drive(), h, counting
            finally:
                await h.recorder.close()
    return asyncio.run(go())


def test_routing_rides_with_building_and_submitted_with_a_quick_confirmation():
    outcome, h, orders = _drive_counting(ScriptedDex())

    assert outcome == Outcome.ack("confirmed")
    assert orders.writes == [["routing", "building"], ["submitted", "confirmed"]]
    assert h.statuses() == ["routing", "building", "submitted", "confirmed"]
    assert [f["seq"] for f in h.notifier.frames] == [2, 3, 4, 5]


def test_submitted_is_stored_and_published_alone_when_the_confirmation_is_slow():
    dex = _SlowConfirmDex(delay_s=0.6)
    outcome, h, orders = _drive_counting(dex)

    assert outcome == Outcome.ack("confirmed")
    assert orders.writes == [["routing", "building"], ["submitted"], ["confirmed"]]
    assert dex.published_before_confirmed == ["routing", "building", "submitted"]


def test_a_failed_build_stores_the_routing_step_with_the_retry():
    dex = ScriptedDex()
    dex.fail("build", RpcError("blockhash fetch failed"))
    outcome, h, orders = _drive_counting(dex)

    assert outcome.result == "retry"
    assert orders.writes == [["routing", "routing"]]
    assert h.statuses() == ["routing", "routing"]
    assert h.stored.attempts == 2
