"""Submitting an order: validate, make it durable, queue it, wake an executor if none is running."""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any, Mapping

from order_engine.config import Settings
from order_engine.domain.orders import (Order, OrderEvent, parse_correlation_id, parse_idempotency_key,
                                        parse_order_request, pending_detail)
from order_engine.errors import DependencyUnavailable, IdempotencyConflict
from order_engine.ports import NO_METRICS, Intake, Metrics, OrderStore, Waker

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submitted:
    order: Order
    created: bool  # False: an idempotent repeat of an earlier submit
    queued: bool  # False: Redis was down; the order is durable and the reconciler will queue it


class SubmitService:
    def __init__(self, settings: Settings, orders: OrderStore, intake: Intake, waker: Waker,
                 metrics: Metrics = NO_METRICS):
        self.settings, self.orders, self.intake, self.waker, self.metrics = settings, orders, intake, waker, metrics

    def submit(self, body: Mapping[str, Any], idempotency_key: str | None = None,
               correlation_id: str | None = None) -> Submitted:
        """`correlation_id` is stored with the order, so the executor's and the fan-out's log lines carry it."""
        request = parse_order_request(
            body,
            default_slippage_bps=self.settings.default_slippage_bps,
            max_slippage_bps=self.settings.max_slippage_bps,
        )
        idempotency_key = parse_idempotency_key(idempotency_key)
        correlation_id = parse_correlation_id(correlation_id)
        inserted = self.orders.insert(str(uuid.uuid4()), request, idempotency_key, correlation_id)
        order = inserted.order
        if not inserted.created:
            if not inserted.same_request:
                raise IdempotencyConflict(
                    "This Idempotency-Key was already used with a different order; use a new key for a new order.",
                    [{"field": "Idempotency-Key", "rule": "same_body", "orderId": order.id}],
                )
            return Submitted(order, created=False, queued=True)
        self.metrics.count("OrdersSubmitted")
        log = {"order_id": order.id, "correlation_id": order.correlation_id}
        first = OrderEvent(order.id, 1, order.status, 0, order.created_at, pending_detail(request))
        try:
            wake = self.intake.enqueue(order.id, first.to_message())
        except DependencyUnavailable:
            self.metrics.count("OrdersNotQueued")
            logger.warning("order accepted but not queued: Redis is down; the reconciler will queue it", extra=log)
            return Submitted(order, created=True, queued=False)
        if wake:
            self.waker.wake(reason=f"order {order.id}")
        logger.info("order accepted", extra=log)
        return Submitted(order, created=True, queued=True)
