"""The submit side of the Redis queue: hand a new order to the executors, say whether one is awake, count what waits."""
from __future__ import annotations

import json
from typing import Any

from order_engine.domain.triggers import Trigger
from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.redis.waiting_book import hold_script, hold_waiting, release_script, release_waiting
from order_engine.adapters.redis.work_queue import dead_letters, now_ms, queue_counts, revive_script
from order_engine.adapters.redis.connect import redis_errors, sync_client

WAKE_DEBOUNCE_MS = 1000

# One round trip and one command to parse: start the event log before queueing (so the executor's seq 2 never
# lands before seq 1), then answer whether this submit should wake an executor: none is live (no heartbeat or
# start slot unexpired in the beats ZSET) and no other submit woke one within the debounce window.
_ENQUEUE = """
redis.call('RPUSH', KEYS[1], ARGV[2])
redis.call('LPUSH', KEYS[2], ARGV[1])
if redis.call('ZCOUNT', KEYS[3], ARGV[4], '+inf') > 0 then return 0 end
if redis.call('SET', KEYS[4], '1', 'NX', 'PX', ARGV[3]) then return 1 end
return 0
"""


class RedisOrderIntake:
    def __init__(self, redis_url: str, keys: KeyScheme):
        self.redis = sync_client(redis_url)
        self.keys = keys
        self._enqueue = self.redis.register_script(_ENQUEUE)
        self._revive = revive_script(self.redis)
        self._hold = hold_script(self.redis)
        self._release = release_script(self.redis)

    def enqueue(self, order_id: str, first_frame: dict[str, Any]) -> bool:
        """LPUSH the id, start its live event log; True when some executor must be woken (none is alive and no
        other submit claimed the wake-up within the debounce window). Raises DependencyUnavailable('redis')."""
        keys = (self.keys.order_events(order_id), self.keys.ready, self.keys.executor_beats, self.keys.executor_wake)
        frame = json.dumps(first_frame, separators=(",", ":"))
        with redis_errors():
            return bool(self._enqueue(keys=keys, args=(order_id, frame, WAKE_DEBOUNCE_MS, now_ms())))

    def hold(self, order_id: str, trigger: Trigger, expires_ms: int, frames: list[dict[str, Any]]) -> bool:
        """Put a waiting order in its trigger's book and the expiry set (not on the queue), start its live event
        log; True when an executor must be woken to watch. Raises DependencyUnavailable('redis')."""
        return hold_waiting(self._hold, self.keys, order_id, trigger, expires_ms, frames, WAKE_DEBOUNCE_MS, now_ms())

    def release(self, order_id: str) -> bool:
        """Take a waiting order out of its trigger's book (after it was cancelled): True when it was there."""
        return release_waiting(self._release, self.keys, order_id)

    def counts(self) -> dict[str, int]:
        with redis_errors():
            return queue_counts(self.redis, self.keys)

    def dead_letters(self, limit: int) -> list[dict[str, Any]]:
        with redis_errors():
            return dead_letters(self.redis, self.keys, limit)

    def is_dead_lettered(self, order_id: str) -> bool:
        with redis_errors():
            return bool(self.redis.sismember(self.keys.dead_ids, order_id))

    def revive(self, order_id: str) -> bool:
        """Queue a dead-lettered order again (off the dead letters); False when it is not dead-lettered."""
        keys = (self.keys.dead_ids, self.keys.dead, self.keys.stalls, self.keys.ready)
        with redis_errors():
            return bool(self._revive(keys=keys, args=(order_id,)))

    def ping(self) -> None:
        with redis_errors():
            self.redis.ping()
