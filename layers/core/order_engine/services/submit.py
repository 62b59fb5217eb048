"""Submitting an order: validate, make it durable, queue it, wake an executor if none is running."""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any, Mapping

from order_engine.config import Settings
from order_engine.domain.access import Client
from order_engine.domain.orders import Order, OrderEvent, parse_idempotency_key, parse_order_request, pending_detail
from order_engine.errors import DependencyUnavailable, IdempotencyConflict
from order_engine.ports import Intake, OrderStore, Waker
from order_engine.services.access import SubmitLimiter

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submitted:
    order: Order
    created: bool  # False: an idempotent repeat of an earlier submit
    queued: bool  # False: Redis was down; the order is durable and the reconciler will queue it


class SubmitService:
    def __init__(self, settings: Settings, orders: OrderStore, intake: Intake, waker: Waker,
                 limiter: SubmitLimiter | None = None):
        self.settings, self.orders, self.intake, self.waker = settings, orders, intake, waker
        self.limiter = limiter

    def submit(self, body: Mapping[str, Any], idempotency_key: str | None = None,
               client: Client | None = None) -> Submitted:
        """`client`: who submits (None when access control is off): its rate limit applies, the order is its own,
        and its Idempotency-Keys are its own (another client's same key is another order)."""
        request = parse_order_request(
            body,
            default_slippage_bps=self.settings.default_slippage_bps,
            max_slippage_bps=self.settings.max_slippage_bps,
        )
        idempotency_key = parse_idempotency_key(idempotency_key)
        if self.limiter is not None:
            self.limiter.check(client)
        inserted = self.orders.insert(str(uuid.uuid4()), request, idempotency_key, client.id if client else "")
        order = inserted.order
        if not inserted.created:
            if not inserted.same_request:
                raise IdempotencyConflict(
                    "This Idempotency-Key was already used with a different order; use a new key for a new order.",
                    [{"field": "Idempotency-Key", "rule": "same_body", "orderId": order.id}],
                )
            return Submitted(order, created=False, queued=True)
        first = OrderEvent(order.id, 1, order.status, 0, order.created_at, pending_detail(request))
        try:
            wake = self.intake.enqueue(order.id, first.to_message())
        except DependencyUnavailable:
            logger.warning("order accepted but not queued: Redis is down; the reconciler will queue it",
                           extra={"order_id": order.id})
            return Submitted(order, created=True, queued=False)
        if wake:
            self.waker.wake(reason=f"order {order.id}")
        logger.info("order accepted", extra={"order_id": order.id})
        return Submitted(order, created=True, queued=True)
