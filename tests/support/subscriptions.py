"""A live WebSocket subscription, on the fake registry or the real one."""
from __future__ import annotations

from typing import Any


def live_subscription(registry: Any, connection_id: str, order_id: str, connected_at_ms: int = 0,
                      now_ms: int = 0) -> None:
    """Subscribe the connection as its replay does once the history is sent: live, posted to by the fan-out."""
    registry.subscribe(connection_id, order_id, connected_at_ms, now_ms)
    registry.release_held(connection_id, order_id)
