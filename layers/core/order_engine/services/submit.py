"""Submitting an order: validate, make it durable, queue it, wake an executor if none is running."""
from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from order_engine.config import Settings
from order_engine.domain.api_keys import Client
from order_engine.domain.limit_orders import LIMIT_PRICE, limit_min_amount_out
from order_engine.domain.order import (SLIPPAGE_BPS, Order, OrderEvent, OrderRequest, check_quote,
                                        parse_correlation_id, parse_idempotency_key, parse_order_request,
                                        pending_detail)
from order_engine.domain.quotes import QuoteTerms
from order_engine.domain.sniper_orders import MAX_PRICE, listing_trigger, sniper_min_amount_out
from order_engine.domain.triggers import Trigger, price_trigger
from order_engine.errors import DependencyUnavailable, IdempotencyConflict, InvalidField
from order_engine.ports import NO_METRICS, Intake, ListingBook, Metrics, OrderStore, QuoteBook, Waker
from order_engine.services.caller_access import SubmitLimiter

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submitted:
    order: Order
    created: bool  # False: an idempotent repeat of an earlier submit
    queued: bool  # False: Redis was down; the order is durable and the reconciler will queue it


MAX_BASE_UNITS_OUT = 2**63 - 1  # what PostgreSQL's bigint holds


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


def waiting_trigger(request: OrderRequest) -> Trigger | None:
    """The trigger a waiting order type waits for (None: a market order, queued at once)."""
    if request.sniper is not None:
        least = sniper_min_amount_out(request.amount_in, request.sniper.max_price, request.token_in, request.token_out)
        if least > MAX_BASE_UNITS_OUT:
            raise InvalidField(MAX_PRICE, "maximum", f"{MAX_PRICE} is so low that no fill of this amount could "
                                                     f"return the {request.token_out.symbol} it asks for.")
        return listing_trigger(request.token_in, request.token_out)
    if request.limit is None:
        return None
    least = limit_min_amount_out(request.amount_in, request.limit.limit_price, request.token_in, request.token_out)
    if least > MAX_BASE_UNITS_OUT:
        raise InvalidField(LIMIT_PRICE, "maximum", f"{LIMIT_PRICE} asks for more {request.token_out.symbol} than "
                                                   "any fill of this amount could return.")
    return price_trigger(request.token_in.mint, request.token_out.mint, float(request.limit.limit_price))


def refuse_listed(request: OrderRequest, listings: ListingBook, now_ms: int, slot_ms: int, out_field: str) -> None:
    """A sniper order is for a pair without a pool yet: one whose listing has come is a market order's job."""
    listing = listings.for_pair(request.token_out, request.token_in)
    if listing is not None and listing.live(now_ms, slot_ms):
        raise InvalidField(out_field, "not_listed", f"{listing.pair} already has a pool (listed at slot "
                                                    f"{listing.slot}); a sniper order buys before the listing. "
                                                    "Send a market order instead.")


class SubmitService:
    def __init__(self, settings: Settings, orders: OrderStore, intake: Intake, waker: Waker, listings: ListingBook,
                 quotes: QuoteBook, metrics: Metrics = NO_METRICS, limiter: SubmitLimiter | None = None,
                 clock_ms: Callable[[], int] = wall_clock_ms):
        self.settings, self.orders, self.intake, self.waker, self.metrics = settings, orders, intake, waker, metrics
        self.listings, self.quotes, self.limiter, self._clock_ms = listings, quotes, limiter, clock_ms

    def submit(self, body: Mapping[str, Any], idempotency_key: str | None = None,
               correlation_id: str | None = None, client: Client | None = None) -> Submitted:
        """`correlation_id` is stored with the order, so the executor's and the fan-out's log lines carry it.
        `client`: who submits (None when access control is off): its rate limit applies, the order is its own,
        and its Idempotency-Keys are its own (another client's same key is another order)."""
        request = parse_order_request(
            body,
            default_slippage_bps=self.settings.default_slippage_bps,
            max_slippage_bps=self.settings.max_slippage_bps,
            max_ttl_s=self.settings.limit_max_ttl_s,
        )
        idempotency_key = parse_idempotency_key(idempotency_key)
        correlation_id = parse_correlation_id(correlation_id)
        trigger = waiting_trigger(request)
        if request.sniper is not None:
            out_field = "outputMint" if body.get("outputMint") is not None else "tokenOut"
            refuse_listed(request, self.listings, self._clock_ms(), self.settings.dex_slot_ms, out_field)
        if request.quote_id is not None:
            request = self._with_quote(request, body.get(SLIPPAGE_BPS))
        if self.limiter is not None:
            self.limiter.check(client)
        inserted = self.orders.insert(str(uuid.uuid4()), request, idempotency_key, trigger, correlation_id,
                                      client.id if client else "")
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
            if trigger is not None and order.expires_at is not None:
                wake = self.intake.hold(order.id, trigger, int(order.expires_at.timestamp() * 1000), [first.to_message()])
            else:
                wake = self.intake.enqueue(order.id, first.to_message())
        except DependencyUnavailable:
            self.metrics.count("OrdersNotQueued")
            logger.warning("order accepted but not queued: Redis is down; the reconciler will queue (or hold) it",
                           extra=log)
            return Submitted(order, created=True, queued=False)
        if wake:
            self.waker.wake(reason=f"order {order.id}")
        logger.info("order accepted", extra=log)
        return Submitted(order, created=True, queued=True)

    def _with_quote(self, request: OrderRequest, slippage_asked: Any) -> OrderRequest:
        """The order held to its quote's terms; a 4xx (nothing written) when the quote cannot be executed."""
        record = self.quotes.get(request.quote_id)
        terms = None if record is None else QuoteTerms.from_record(record)
        check_quote(request, terms, self._clock_ms(), slippage_asked)
        return dataclasses.replace(request, slippage_bps=terms.slippage_bps, quote=terms)
