"""Submitting an order: validate, make it durable, queue it, wake an executor if none is running."""
from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from order_engine.config import Settings
from order_engine.domain.orders import (SLIPPAGE_BPS, Order, OrderEvent, OrderRequest, parse_idempotency_key,
                                        parse_order_request, pending_detail)
from order_engine.domain.quotes import QuoteTerms, check_quote
from order_engine.errors import DependencyUnavailable, IdempotencyConflict
from order_engine.ports import Intake, OrderStore, QuoteBook, Waker

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submitted:
    order: Order
    created: bool  # False: an idempotent repeat of an earlier submit
    queued: bool  # False: Redis was down; the order is durable and the reconciler will queue it


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class SubmitService:
    def __init__(self, settings: Settings, orders: OrderStore, intake: Intake, waker: Waker, quotes: QuoteBook,
                 clock_ms: Callable[[], int] = wall_clock_ms):
        self.settings, self.orders, self.intake, self.waker = settings, orders, intake, waker
        self.quotes, self._clock_ms = quotes, clock_ms

    def submit(self, body: Mapping[str, Any], idempotency_key: str | None = None) -> Submitted:
        request = parse_order_request(
            body,
            default_slippage_bps=self.settings.default_slippage_bps,
            max_slippage_bps=self.settings.max_slippage_bps,
        )
        idempotency_key = parse_idempotency_key(idempotency_key)
        if request.quote_id is not None:
            request = self._with_quote(request, body.get(SLIPPAGE_BPS))
        inserted = self.orders.insert(str(uuid.uuid4()), request, idempotency_key)
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

    def _with_quote(self, request: OrderRequest, slippage_asked: Any) -> OrderRequest:
        """The order held to its quote's terms; a 4xx (nothing written) when the quote cannot be executed."""
        record = self.quotes.get(request.quote_id)
        terms = None if record is None else QuoteTerms.from_record(record)
        check_quote(request, terms, self._clock_ms(), slippage_asked)
        return dataclasses.replace(request, slippage_bps=terms.slippage_bps, quote=terms)
