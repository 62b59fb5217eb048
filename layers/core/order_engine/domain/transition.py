"""One step of an order: from the state an executor last saw to the next status, with the event it writes.

Pure: `Transition.apply()` checks the move against the lifecycle and returns the order as it will be stored and
the event that records it. The store writes it only if the order is still in the state it was seen in
(status and seq), which is what makes a step happen once however often the queue hands the order out.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime, timezone
from typing import Any

from order_engine.domain.lifecycle import TERMINAL, Status, check_transition
from order_engine.domain.order import Order, OrderEvent

CHANGEABLE = frozenset({"attempts", "slippage_bps", "dex", "executed_price", "amount_out", "min_amount_out", "tx_hash", "error"})


@dataclass(frozen=True)
class Transition:
    """`order` as last seen -> `to`; `changes` sets order columns (see CHANGEABLE); `detail` goes in the event."""

    order: Order
    to: Status
    detail: dict[str, Any] = field(default_factory=dict)
    changes: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def __post_init__(self) -> None:
        check_transition(self.order.status, self.to)
        unknown = set(self.changes) - CHANGEABLE
        if unknown:
            raise ValueError(f"a transition cannot change {sorted(unknown)}")

    @property
    def terminal(self) -> bool:
        return self.to in TERMINAL

    @property
    def step_ms(self) -> float:
        """Milliseconds since the order's previous stored step (for routing: since it was accepted)."""
        return (self.at - self.order.updated_at).total_seconds() * 1000

    @property
    def since_accepted_ms(self) -> float:
        return (self.at - self.order.created_at).total_seconds() * 1000

    def after(self) -> Order:
        """The order as it is once this step is stored."""
        return self._after

    @cached_property
    def _after(self) -> Order:
        return dataclasses.replace(
            self.order, **self.changes, status=self.to, seq=self.order.seq + 1, updated_at=self.at,
            completed_at=self.at if self.terminal else self.order.completed_at,
        )

    def event(self, after: Order | None = None) -> OrderEvent:
        after = after or self.after()
        return OrderEvent(order_id=after.id, seq=after.seq, status=self.to, attempt=after.attempts, at=self.at,
                          detail=self.detail)
