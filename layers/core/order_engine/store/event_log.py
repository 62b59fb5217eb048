"""Reading an order's live event log in Redis (the JSON frames that submit and the executor RPUSH, in seq order)."""
from __future__ import annotations

import json
from typing import Any

import redis

from order_engine.store.keys import Keys
from order_engine.store.redis_client import redis_errors


class LiveEventLog:
    def __init__(self, client: redis.Redis, keys: Keys):
        self.redis, self.keys = client, keys

    def frames(self, order_id: str) -> list[dict[str, Any]]:
        """Every frame Redis still holds for the order (maybe none, maybe only the later ones after a restart)."""
        with redis_errors():
            raw = self.redis.lrange(self.keys.order_events(order_id), 0, -1)
        return [json.loads(item) for item in raw]
