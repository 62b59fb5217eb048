"""The cancel use case over fakes of its ports: the races with the executor and the trigger's watcher that the
integration tests cannot time (a write that loses to a step taken between the read and the write)."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import pytest

from tests.support.executor_fakes import InMemoryOrders, new_order
from order_engine.config import Settings
from order_engine.domain.lifecycle import Status
from order_engine.errors import EngineError, ErrorCode
from order_engine.services.cancel import CancelService
from order_engine.services.order_reads import OrderQueries

ORDER_ID = "00000000-0000-4000-8000-000000000001"


class Writer:
    """Writes as the store does (conditional on status and seq); `before_write` runs between read and write."""

    def __init__(self, orders: InMemoryOrders, before_write=None):
        self.orders, self.before_write, self.writes = orders, before_write, 0

    def write(self, transition) -> bool:
        self.writes += 1
        if self.before_write is not None:
            self.before_write()
            self.before_write = None
        current = self.orders.orders[transition.order.id]
        if (current.status, current.seq) != (transition.order.status, transition.order.seq):
            return False
        self.orders.orders[current.id] = transition.after()
        return True


class Publisher:
    def __init__(self):
        self.published = []

    def publish(self, order, event) -> None:
        self.published.append((order.status, event.seq, event.detail))


def service(orders: InMemoryOrders, writer: Writer, publisher: Publisher) -> CancelService:
    return CancelService(OrderQueries(Settings(), orders, intake=None), writer, publisher)


def moved(orders: InMemoryOrders, status: Status) -> None:
    o = orders.orders[ORDER_ID]
    orders.orders[ORDER_ID] = dataclasses.replace(o, status=status, seq=o.seq + 1,
                                                  updated_at=datetime.now(timezone.utc))


def test_a_cancel_that_loses_to_the_executor_starting_to_route_is_409_with_routing():
    orders, publisher = InMemoryOrders(new_order(ORDER_ID)), Publisher()
    writer = Writer(orders, before_write=lambda: moved(orders, Status.ROUTING))

    with pytest.raises(EngineError) as refused:
        service(orders, writer, publisher).cancel(ORDER_ID)

    assert refused.value.code is ErrorCode.NOT_CANCELLABLE and refused.value.http_status == 409
    assert refused.value.details[0]["status"] == "routing"
    assert publisher.published == []


def test_a_cancel_that_loses_to_the_watcher_triggering_a_waiting_order_cancels_it_from_pending():
    orders, publisher = InMemoryOrders(new_order(ORDER_ID, status=Status.WAITING)), Publisher()
    writer = Writer(orders, before_write=lambda: moved(orders, Status.PENDING))

    cancelled = service(orders, writer, publisher).cancel(ORDER_ID)

    assert cancelled["status"] == "cancelled" and writer.writes == 2
    assert publisher.published == [(Status.CANCELLED, 3, {"cancelledFrom": "pending"})]


def test_a_cancel_that_loses_to_another_cancel_answers_the_cancelled_order_without_a_second_event():
    orders, publisher = InMemoryOrders(new_order(ORDER_ID)), Publisher()
    writer = Writer(orders, before_write=lambda: moved(orders, Status.CANCELLED))

    assert service(orders, writer, publisher).cancel(ORDER_ID)["status"] == "cancelled"
    assert writer.writes == 1 and publisher.published == []


@pytest.mark.parametrize("status", [Status.FAILED, Status.EXPIRED, Status.SUBMITTED])
def test_an_order_past_pending_is_refused_without_a_write(status):
    orders, publisher = InMemoryOrders(new_order(ORDER_ID, status=status)), Publisher()
    writer = Writer(orders)

    with pytest.raises(EngineError) as refused:
        service(orders, writer, publisher).cancel(ORDER_ID)

    assert refused.value.details[0]["status"] == str(status) and f"it is {status}" in refused.value.message
    assert writer.writes == 0
