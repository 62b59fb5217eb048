"""The submit side of the Redis queue: hand a new order to the executors (or a waiting order to its trigger's
book), say whether one is awake, count what waits. The operator's side of the same queue is operator_queue.py."""
from __future__ import annotations

import json
from typing import Any, Callable

import redis

from order_engine.domain.triggers import Trigger
from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.redis.waiting_book import hold_waiting
from order_engine.adapters.redis.work_queue import now_ms
from order_engine.adapters.redis.connect import redis_errors
from order_engine.adapters.redis.scripts import register

WAKE_DEBOUNCE_MS = 1000


def enqueue_order(script: Callable[..., Any], keys: KeyScheme, order_id: str, first_frame: dict[str, Any]) -> bool:
    """LPUSH the id and start its live event log in one call of lua/intake_enqueue.lua (`script`); True when some
    executor must be woken (none is alive and no other submit claimed the wake-up within the debounce window).
    Raises DependencyUnavailable('redis')."""
    frame = json.dumps(first_frame, separators=(",", ":"))
    with redis_errors():
        return bool(script(keys=(keys.order_events(order_id), keys.ready, keys.executor_beats, keys.executor_wake),
                           args=(order_id, frame, WAKE_DEBOUNCE_MS, now_ms())))


class RedisOrderIntake:
    """`Intake` (synchronous, for the HTTP functions)."""

    def __init__(self, client: redis.Redis, keys: KeyScheme):
        self.redis, self.keys = client, keys
        self._enqueue = register(client, "intake_enqueue")
        self._hold = register(client, "waiting_hold")

    def enqueue(self, order_id: str, first_frame: dict[str, Any]) -> bool:
        """LPUSH the id, start its live event log; True when some executor must be woken (none is alive and no
        other submit claimed the wake-up within the debounce window). Raises DependencyUnavailable('redis')."""
        return enqueue_order(self._enqueue, self.keys, order_id, first_frame)

    def hold(self, order_id: str, trigger: Trigger, expires_ms: int, frames: list[dict[str, Any]]) -> bool:
        """Put a waiting order in its trigger's book and the expiry set (not on the queue), start its live event
        log; True when an executor must be woken to watch. Raises DependencyUnavailable('redis')."""
        return hold_waiting(self._hold, self.keys, order_id, trigger, expires_ms, frames, WAKE_DEBOUNCE_MS, now_ms())

    def counts(self) -> dict[str, int]:
        """Ready, in flight, delayed and dead-lettered counts, and the peak in flight (for the orders API)."""
        k = self.keys
        with redis_errors():
            pipe = self.redis.pipeline(transaction=False)
            pipe.llen(k.ready)
            pipe.zcard(k.leases)
            pipe.llen(k.processing)
            pipe.zcard(k.delayed)
            pipe.llen(k.dead)
            pipe.get(k.peak_in_flight)
            ready, leased, landing, delayed, dead, peak = pipe.execute()
        return {"ready": ready, "inFlight": leased + landing, "delayed": delayed, "deadLettered": dead,
                "peakInFlight": int(peak or 0)}

    def ping(self) -> None:
        with redis_errors():
            self.redis.ping()
