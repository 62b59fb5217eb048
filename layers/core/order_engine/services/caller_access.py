"""Who may call: the authorizer's use case (a presented key to the client it belongs to, or none), with the
decision per key reused for `auth_cache_ttl_s` so most requests cost no database read; and the per-client
submit rate limit.

The cache is the authorizer's own, per container: API Gateway's authorizer cache needs every identity source
present on each request, and a key may come in either of two headers (or a query parameter on WebSocket), so the
gateway's cache is off (template.yaml) and this one is keyed by the key's hash. A revoked key therefore stops
working within the TTL."""
from __future__ import annotations

import logging
import time
from typing import Callable

from order_engine.config import Settings
from order_engine.domain.api_keys import Client, key_hash, retry_after_s, well_formed
from order_engine.errors import DependencyUnavailable, RateLimited
from order_engine.ports import Buckets, KeyStore

MAX_CACHED = 10_000  # keys remembered per container; past it the cache starts over
logger = logging.getLogger(__name__)


class Authenticator:
    def __init__(self, settings: Settings, keys: KeyStore, clock: Callable[[], float] = time.monotonic):
        self.settings, self.keys, self.clock = settings, keys, clock
        self._cache: dict[str, tuple[float, Client | None]] = {}

    def client(self, key: str | None) -> Client | None:
        """The client a key belongs to; None for no key, a malformed, unknown or revoked one. Raises
        DependencyUnavailable('postgresql') when the decision is not cached and the database does not answer."""
        if not well_formed(key):
            return None
        hashed = key_hash(key)
        now = self.clock()
        cached = self._cache.get(hashed)
        if cached is not None and cached[0] > now:
            return cached[1]
        record = self.keys.find(hashed)
        s = self.settings
        client = None if record is None else Client(
            id=record.client_id, operator=record.operator,
            rate_per_s=record.rate_per_s or s.rate_limit_per_s, burst=record.burst or s.rate_limit_burst)
        if len(self._cache) >= MAX_CACHED:
            self._cache.clear()
        self._cache[hashed] = (now + s.auth_cache_ttl_s, client)
        return client


class SubmitLimiter:
    def __init__(self, buckets: Buckets):
        self.buckets = buckets

    def check(self, client: Client | None) -> None:
        """Take one of the client's submit tokens, or raise RateLimited with the seconds until one is there.
        No client (access control off) is not limited. With Redis down the submit goes on unlimited: an order is
        accepted durably in PostgreSQL while Redis is out (the reconciler queues it), and the limit must not turn
        that outage into refusals."""
        if client is None:
            return
        try:
            wait_ms = self.buckets.take(client.id, client.rate_per_s, client.burst)
        except DependencyUnavailable:
            logger.warning("rate limit not applied: Redis is down", extra={"client_id": client.id})
            return
        if wait_ms > 0:
            raise RateLimited(retry_after_s(wait_ms), client.rate_per_s, client.burst)
