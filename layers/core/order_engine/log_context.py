"""Which order a log line is about, for the lines written while an order is worked on (its executor task, its
fan-out) by code that does not know the order: set with `about()`, added to every record by `OrderFields`, the
filter on the functions' log handler. A context variable, so each asyncio task (one per order) has its own."""
from __future__ import annotations

import logging
from contextvars import ContextVar

_FIELDS: ContextVar[dict[str, str]] = ContextVar("order_log_fields", default={})


def about(order_id: str, correlation_id: str | None) -> None:
    """From here on in this task (and the tasks it starts), log lines carry the order and correlation ids."""
    fields = {"order_id": order_id}
    if correlation_id:
        fields["correlation_id"] = correlation_id
    _FIELDS.set(fields)


class OrderFields(logging.Filter):
    """Adds the current task's order fields to a record that does not carry its own."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _FIELDS.get().items():
            if key not in record.__dict__:
                setattr(record, key, value)
        return True
