"""The operator's side of the Redis queue: the dead letters, and queueing an order again (off them, or after an
operator's retry). Submit's side is order_intake.py; the executor's, work_queue.py."""
from __future__ import annotations

import json
from typing import Any

import redis

from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.redis.order_intake import enqueue_order
from order_engine.adapters.redis.connect import redis_errors
from order_engine.adapters.redis.scripts import register


class RedisOperatorQueue:
    """`OperatorQueue` (synchronous, for the HTTP functions)."""

    def __init__(self, client: redis.Redis, keys: KeyScheme):
        self.redis, self.keys = client, keys
        self._enqueue = register(client, "intake_enqueue")
        self._revive = register(client, "queue_revive")

    def dead_letters(self, limit: int) -> list[dict[str, Any]]:
        """The newest entries first: {entry, orderId (or None), reason, at}."""
        with redis_errors():
            return [json.loads(raw) for raw in self.redis.lrange(self.keys.dead, 0, limit - 1)]

    def is_dead_lettered(self, order_id: str) -> bool:
        with redis_errors():
            return bool(self.redis.sismember(self.keys.dead_ids, order_id))

    def revive(self, order_id: str) -> bool:
        """Queue a dead-lettered order again (off the dead letters); False when it is not dead-lettered."""
        keys = (self.keys.dead_ids, self.keys.dead, self.keys.stalls, self.keys.ready)
        with redis_errors():
            return bool(self._revive(keys=keys, args=(order_id,)))

    def enqueue(self, order_id: str, first_frame: dict[str, Any]) -> bool:
        """Queue the order as submit does (its event log started with `first_frame`); True when an executor must
        be woken."""
        return enqueue_order(self._enqueue, self.keys, order_id, first_frame)
