"""Submitting an order: validate, make it durable, queue it, wake an executor if none is running."""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any, Mapping

from order_engine.config import Settings
from order_engine.domain.limit_orders import LIMIT_PRICE, limit_min_amount_out
from order_engine.domain.orders import (Order, OrderEvent, OrderRequest, parse_idempotency_key, parse_order_request,
                                        pending_detail)
from order_engine.domain.triggers import Trigger, price_trigger
from order_engine.errors import DependencyUnavailable, IdempotencyConflict, InvalidField
from order_engine.ports import Intake, OrderStore, Waker

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submitted:
    order: Order
    created: bool  # False: an idempotent repeat of an earlier submit
    queued: bool  # False: Redis was down; the order is durable and the reconciler will queue it


MAX_BASE_UNITS_OUT = 2**63 - 1  # what PostgreSQL's bigint holds


def waiting_trigger(request: OrderRequest) -> Trigger | None:
    """The trigger a waiting order type waits for (None: a market order, queued at once)."""
    if request.limit is None:
        return None
    least = limit_min_amount_out(request.amount_in, request.limit.limit_price, request.token_in, request.token_out)
    if least > MAX_BASE_UNITS_OUT:
        raise InvalidField(LIMIT_PRICE, "maximum", f"{LIMIT_PRICE} asks for more {request.token_out.symbol} than "
                                                   "any fill of this amount could return.")
    return price_trigger(request.token_in.mint, request.token_out.mint, float(request.limit.limit_price))


class SubmitService:
    def __init__(self, settings: Settings, orders: OrderStore, intake: Intake, waker: Waker):
        self.settings, self.orders, self.intake, self.waker = settings, orders, intake, waker

    def submit(self, body: Mapping[str, Any], idempotency_key: str | None = None) -> Submitted:
        request = parse_order_request(
            body,
            default_slippage_bps=self.settings.default_slippage_bps,
            max_slippage_bps=self.settings.max_slippage_bps,
            max_ttl_s=self.settings.limit_max_ttl_s,
        )
        idempotency_key = parse_idempotency_key(idempotency_key)
        trigger = waiting_trigger(request)
        inserted = self.orders.insert(str(uuid.uuid4()), request, idempotency_key, trigger)
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
            if trigger is not None and order.expires_at is not None:
                wake = self.intake.hold(order.id, trigger, int(order.expires_at.timestamp() * 1000), [first.to_message()])
            else:
                wake = self.intake.enqueue(order.id, first.to_message())
        except DependencyUnavailable:
            logger.warning("order accepted but not queued: Redis is down; the reconciler will queue (or hold) it",
                           extra={"order_id": order.id})
            return Submitted(order, created=True, queued=False)
        if wake:
            self.waker.wake(reason=f"order {order.id}")
        logger.info("order accepted", extra={"order_id": order.id})
        return Submitted(order, created=True, queued=True)
