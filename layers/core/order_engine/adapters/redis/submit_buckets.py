"""Per-client token buckets in Redis: one Lua script takes a token or says how long until one is there, atomically
(two submits of one client on two Lambda containers cannot both take the last token). Time is Redis's own clock,
so containers whose clocks differ share one bucket correctly."""
from __future__ import annotations

from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.redis.connect import redis_errors, sync_client

# KEYS[1] the bucket (HASH tokens, at_ms); ARGV rate per second, burst. Returns 0 when a token was taken, else
# the milliseconds until one will be. The key expires once a full bucket would have refilled (idle clients cost
# nothing).
_TAKE = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]), tonumber(state[2])
if tokens == nil then tokens, at = burst, now end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return wait
"""


class RedisSubmitBuckets:
    def __init__(self, redis_url: str, keys: KeyScheme):
        self.redis = sync_client(redis_url)
        self.keys = keys
        self._take = self.redis.register_script(_TAKE)

    def take(self, client_id: str, rate_per_s: float, burst: int) -> int:
        """0 when the client may submit now, else the milliseconds until it may. Raises DependencyUnavailable."""
        with redis_errors():
            return int(self._take(keys=(self.keys.submit_bucket(client_id),), args=(rate_per_s, burst)))
