"""Per-client token buckets in Redis: one Lua script takes a token or says how long until one is there, atomically
(two submits of one client on two Lambda containers cannot both take the last token). Time is Redis's own clock,
so containers whose clocks differ share one bucket correctly (lua/bucket_take.lua)."""
from __future__ import annotations

import redis

from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.redis.connect import redis_errors
from order_engine.adapters.redis.scripts import register


class RedisSubmitBuckets:
    def __init__(self, client: redis.Redis, keys: KeyScheme):
        self.redis, self.keys = client, keys
        self._take = register(client, "bucket_take")

    def take(self, client_id: str, rate_per_s: float, burst: int) -> int:
        """0 when the client may submit now, else the milliseconds until it may. Raises DependencyUnavailable."""
        with redis_errors():
            return int(self._take(keys=(self.keys.submit_bucket(client_id),), args=(rate_per_s, burst)))
