"""The operator's use cases: the dead-letter list, and retrying an order that failed or was dead-lettered.

A failed order starts over (failed -> pending, attempts from the first again) through a conditional change the
database checks against the lifecycle; a dead-lettered order keeps its status and goes back on the queue, where
the executor resumes it as after a crash (asking the chain first if its swap may have been sent). Anything else
is refused with 409, so a retry never runs an order twice at once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from order_engine.domain.lifecycle import OPERATOR_RETRY, TERMINAL
from order_engine.errors import EngineError, ErrorCode, InvalidField
from order_engine.ports import OperatorQueue, OrderStore, Waker
from order_engine.services.order_reads import parse_order_id

MAX_DEAD_LETTERS = 500


@dataclass(frozen=True)
class Retried:
    order: dict[str, Any]
    requeued_from: str  # "failed" | "dead_letter"


class OperatorService:
    def __init__(self, orders: OrderStore, queue: OperatorQueue, waker: Waker):
        self.orders, self.queue, self.waker = orders, queue, waker

    def dead_letters(self, limit: int | None) -> list[dict[str, Any]]:
        limit = 100 if limit is None else limit
        if not 1 <= limit <= MAX_DEAD_LETTERS:
            raise InvalidField("limit", "range", f"limit must be between 1 and {MAX_DEAD_LETTERS}.")
        entries = self.queue.dead_letters(limit)
        for entry in entries:
            order = self.orders.get(entry["orderId"]) if entry.get("orderId") else None
            entry["status"] = str(order.status) if order else None
            entry["retryable"] = order is not None and (order.status in OPERATOR_RETRY or order.status not in TERMINAL)
        return entries

    def retry(self, order_id: str) -> Retried:
        order_id = parse_order_id(order_id)
        order = self.orders.get(order_id)
        if order is None:
            raise EngineError(f"No order has id {order_id}.", code=ErrorCode.ORDER_NOT_FOUND)
        if order.status in OPERATOR_RETRY:
            to = OPERATOR_RETRY[order.status]
            detail = {"retriedBy": "operator", "previous": {"status": str(order.status), "error": order.error,
                                                            "attempts": order.attempts}}
            if not self.orders.retry(order, to, detail):
                raise _not_retryable(order_id, "it changed while being retried; look at it again")
            self.queue.revive(order_id)  # a failed order may also sit on the dead letters
            event = self.orders.events(order_id, after_seq=order.seq)[0]
            if self.queue.enqueue(order_id, event.to_message()):
                self.waker.wake("operator retry")
            return Retried(self.orders.get(order_id).to_api(), "failed")
        if order.status not in TERMINAL and self.queue.revive(order_id):
            self.waker.wake("operator retry")
            return Retried(order.to_api(), "dead_letter")
        why = f"it is {order.status}" if order.status in TERMINAL else f"it is {order.status} and not dead-lettered"
        raise _not_retryable(order_id, why)


def _not_retryable(order_id: str, why: str) -> EngineError:
    return EngineError(f"Order {order_id} cannot be retried: {why}. Only failed or dead-lettered orders can.",
                       [{"field": "orderId", "rule": "retryable", "message": f"The order cannot be retried: {why}."}],
                       code=ErrorCode.NOT_RETRYABLE)
