"""SubmitService over fakes of its ports: durable first, queued second, idempotent, and honest about an outage."""
from __future__ import annotations

from typing import Any

import pytest

from tests.support.executor_fakes import InMemoryOrders
from order_engine.config import Settings
from order_engine.errors import DependencyUnavailable, IdempotencyConflict, InvalidField
from order_engine.services.submit import SubmitService

BODY = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1.5"}


class FakeIntake:
    def __init__(self, wake: bool = False) -> None:
        self.queued: list[tuple[str, dict[str, Any]]] = []
        self.wake, self.down = wake, False

    def enqueue(self, order_id: str, first_frame: dict[str, Any]) -> bool:
        if self.down:
            raise DependencyUnavailable("redis")
        self.queued.append((order_id, first_frame))
        return self.wake

    def counts(self) -> dict[str, int]:
        return {"ready": len(self.queued)}

    def ping(self) -> None:
        if self.down:
            raise DependencyUnavailable("redis")


class FakeWaker:
    def __init__(self) -> None:
        self.reasons: list[str] = []

    def wake(self, reason: str) -> bool:
        self.reasons.append(reason)
        return True


class NoListings:
    """A market with no listing events (the ListingBook port)."""

    def for_pair(self, token, quote):
        return None
class FakeQuoteBook:
    def __init__(self) -> None:
        self.quotes: dict[str, dict[str, Any]] = {}

    def put(self, quote_id: str, record: dict[str, Any], valid_ms: int) -> None:
        self.quotes[quote_id] = record

    def get(self, quote_id: str) -> dict[str, Any] | None:
        return self.quotes.get(quote_id)


def service(wake: bool = False) -> tuple[SubmitService, InMemoryOrders, FakeIntake, FakeWaker]:
    orders, intake, waker = InMemoryOrders(), FakeIntake(wake), FakeWaker()
    return SubmitService(Settings.from_env({}), orders, intake, waker, NoListings(), FakeQuoteBook()), orders, intake, waker


def test_a_submit_stores_the_order_then_queues_it_with_its_first_event():
    svc, orders, intake, waker = service()

    result = svc.submit(BODY)

    assert result.created and result.queued
    stored = orders.orders[result.order.id]
    assert stored.amount_in == 1_500_000_000 and stored.slippage_bps == 50
    [(queued_id, frame)] = intake.queued
    assert queued_id == stored.id
    assert frame == {"type": "status", "orderId": stored.id, "seq": 1, "status": "pending", "attempt": 0,
                     "at": frame["at"], "tokenIn": "SOL", "tokenOut": "USDC", "amountIn": "1500000000",
                     "slippageBps": 50}
    assert waker.reasons == []


def test_a_submit_wakes_an_executor_when_none_is_running():
    svc, _, _, waker = service(wake=True)
    result = svc.submit(BODY)
    assert waker.reasons == [f"order {result.order.id}"]


def test_the_same_key_and_the_same_order_in_another_spelling_returns_the_first_order_and_queues_nothing_more():
    svc, orders, intake, _ = service()
    first = svc.submit(BODY, "key-1")

    again = svc.submit({"inputMint": "SOL", "outputMint": "USDC", "amountIn": 1_500_000_000}, "key-1")

    assert not again.created and again.order.id == first.order.id
    assert len(orders.orders) == 1 and len(intake.queued) == 1


def test_the_same_key_with_another_order_is_a_conflict():
    svc, orders, _, _ = service()
    svc.submit(BODY, "key-1")
    with pytest.raises(IdempotencyConflict) as caught:
        svc.submit({**BODY, "amount": "2"}, "key-1")
    assert caught.value.details[0]["field"] == "Idempotency-Key"
    assert len(orders.orders) == 1


def test_with_redis_down_the_order_is_durable_and_reported_not_queued():
    svc, orders, intake, _ = service()
    intake.down = True

    result = svc.submit(BODY)

    assert result.created and not result.queued
    assert result.order.id in orders.orders


def test_with_postgresql_down_nothing_is_queued():
    svc, orders, intake, _ = service()
    orders.down = True
    with pytest.raises(DependencyUnavailable):
        svc.submit(BODY)
    assert intake.queued == []


@pytest.mark.parametrize(("body", "key", "field"), [
    ({**BODY, "amount": "-1"}, None, "amount"),
    ({**BODY, "tokenOut": "SOL"}, None, "tokenOut"),
    ({**BODY, "slippageBps": 9_999}, None, "slippageBps"),
    (BODY, "k" * 256, "Idempotency-Key"),
])
def test_bad_input_names_the_field_and_writes_nothing(body, key, field):
    svc, orders, intake, _ = service()
    with pytest.raises(InvalidField) as caught:
        svc.submit(body, key)
    assert caught.value.details[0]["field"] == field
    assert orders.orders == {} and intake.queued == []
