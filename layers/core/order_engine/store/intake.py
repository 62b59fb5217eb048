"""The submit side of the Redis queue: hand a new order to the executors and say whether one is awake."""
from __future__ import annotations

import json
from typing import Any

from order_engine.store.keys import Keys
from order_engine.store.redis_client import redis_errors, sync_client

WAKE_DEBOUNCE_MS = 1000


class OrderIntake:
    def __init__(self, redis_url: str, keys: Keys):
        self.redis = sync_client(redis_url)
        self.keys = keys

    def enqueue(self, order_id: str, first_frame: dict[str, Any]) -> bool:
        """LPUSH the id, start its live event log; True when some executor must be woken (none is alive and no
        other submit claimed the wake-up within the debounce window). Raises DependencyUnavailable('redis')."""
        with redis_errors():
            pipe = self.redis.pipeline(transaction=False)
            pipe.rpush(self.keys.order_events(order_id), json.dumps(first_frame, separators=(",", ":")))
            pipe.lpush(self.keys.ready, order_id)
            pipe.exists(self.keys.executor_heartbeat)
            *_, alive = pipe.execute()
            if alive:
                return False
            return bool(self.redis.set(self.keys.executor_wake, "1", nx=True, px=WAKE_DEBOUNCE_MS))

    def ping(self) -> None:
        with redis_errors():
            self.redis.ping()
