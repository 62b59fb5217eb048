"""Every Redis key the engine uses, named in one place. All share the configured prefix."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str = "oe:"

    @property
    def ready(self) -> str:
        """LIST of order ids waiting for an executor (LPUSH by submit, BLMOVE by the executor)."""
        return f"{self.prefix}queue:ready"

    @property
    def executor_heartbeat(self) -> str:
        """Set with a TTL by a running executor; submit wakes one when it is missing."""
        return f"{self.prefix}executor:heartbeat"

    def order_live(self, order_id: str) -> str:
        """HASH: the order's live state, for readers that must not hit PostgreSQL."""
        return f"{self.prefix}order:{order_id}"

    def order_events(self, order_id: str) -> str:
        """LIST: the order's events as JSON, in seq order."""
        return f"{self.prefix}order:{order_id}:events"
