"""How the executor hands an order's events to whoever delivers them (WebSocket fan-out in production)."""
from __future__ import annotations

import logging
from typing import Any, Protocol

logger = logging.getLogger(__name__)


class Notifier(Protocol):
    async def publish(self, order_id: str, message: dict[str, Any]) -> None:
        """Deliver one event frame (`OrderEvent.to_message()`) to the order's subscribers. Never raises for a
        subscriber's failure and never blocks the caller beyond a small bounded time."""

    async def close(self) -> None: ...


class LoggingNotifier:
    """Delivers nowhere; logs each event. For runs without WebSocket subscribers."""

    async def publish(self, order_id: str, message: dict[str, Any]) -> None:
        logger.debug("event", extra={"order_id": order_id, "status": message.get("status"), "seq": message.get("seq")})

    async def close(self) -> None:
        return None
