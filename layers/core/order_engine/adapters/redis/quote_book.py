"""Quotes in Redis: each quote's terms under its id, for its validity and a grace period after it (so an expired
id answers 'expired', not 'unknown'), then gone."""
from __future__ import annotations

import json
from typing import Any

import redis

from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.redis.connect import redis_errors

EXPIRED_KEPT_MS = 10 * 60 * 1000


class RedisQuoteBook:
    def __init__(self, client: redis.Redis, keys: KeyScheme):
        self.redis, self.keys = client, keys

    def put(self, quote_id: str, record: dict[str, Any], valid_ms: int) -> None:
        with redis_errors():
            self.redis.set(self.keys.quote(quote_id), json.dumps(record, separators=(",", ":")),
                           px=valid_ms + EXPIRED_KEPT_MS)

    def get(self, quote_id: str) -> dict[str, Any] | None:
        with redis_errors():
            raw = self.redis.get(self.keys.quote(quote_id))
        return None if raw is None else json.loads(raw)
