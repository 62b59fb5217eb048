"""Cancelling an order that has not started routing (pending, or waiting for its trigger).

The move to `cancelled` is a conditional change like every step (the status and seq read; the database's trigger
checks the pair against the lifecycle), recorded as an event and then published as every other step is: the
live state and event log in Redis, then the order's WebSocket subscribers. An executor still holding the order's
id in its queue finds it terminal and drops it. Cancelling a cancelled order answers it again (idempotent); an
order that has started routing, or ended otherwise, is a 409 naming its status.
"""
from __future__ import annotations

import logging
from typing import Any

from order_engine.domain.lifecycle import CANCELLABLE, TERMINAL, Status
from order_engine.domain.order import Order
from order_engine.domain.transition import Transition
from order_engine.errors import DependencyUnavailable, EngineError, ErrorCode
from order_engine.ports import StepPublisher, StepWriter, WaitingRelease
from order_engine.services.order_reads import OrderQueries

logger = logging.getLogger(__name__)

# Each lost race means the order moved on (waiting -> pending, or it started routing): a few reads settle it.
MAX_TRIES = 3


class CancelService:
    def __init__(self, queries: OrderQueries, writer: StepWriter, publisher: StepPublisher,
                 books: WaitingRelease | None = None):
        self.queries, self.writer, self.publisher = queries, writer, publisher
        self.books = books  # where waiting orders wait for their trigger (None: no waiting orders here)

    def cancel(self, order_id: str, client_id: str | None = None) -> dict[str, Any]:
        """The order, cancelled. Raises 400/404 as GET /api/orders/{id} does (the same read, so another client's
        order is unknown too), 409 not_cancellable."""
        order = self.queries.order(order_id, client_id)
        for _ in range(MAX_TRIES):
            if order.status is Status.CANCELLED:
                return order.to_api()
            if order.status not in CANCELLABLE:
                raise not_cancellable(order)
            step = Transition(order, Status.CANCELLED, detail={"cancelledFrom": str(order.status)})
            if self.writer.write(step):
                after = step.after()
                if order.status is Status.WAITING and self.books is not None:
                    self._release(order.id)
                self.publisher.publish(after, step.event(after))
                return after.to_api()
            order = self.queries.order(order.id, client_id)
        raise not_cancellable(order)


    def _release(self, order_id: str) -> None:
        """Out of its trigger's book, so no stale entry hides a lost one from the rebuild's count. Best effort:
        one left behind fires later as a no-op (the order is no longer waiting)."""
        try:
            self.books.release(order_id)
        except DependencyUnavailable:
            logger.warning("could not take a cancelled order out of its trigger's book", extra={"order_id": order_id})


def not_cancellable(order: Order) -> EngineError:
    why = "it has finished" if order.status in TERMINAL else "it has started routing"
    message = (f"Order {order.id} cannot be cancelled: it is {order.status} ({why}). Only "
               f"{' or '.join(sorted(CANCELLABLE))} orders can be cancelled.")
    return EngineError(message, [{"field": "orderId", "rule": "cancellable", "status": str(order.status),
                                  "message": f"The order is {order.status}; only an order that has not started "
                                             "routing can be cancelled."}],
                       code=ErrorCode.NOT_CANCELLABLE)
