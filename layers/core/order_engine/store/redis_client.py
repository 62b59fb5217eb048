"""Redis connections (redis-py, hiredis parser). Every outage surfaces as `DependencyUnavailable("redis")`."""
from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator

import redis
import redis.asyncio

from order_engine.errors import DependencyUnavailable

REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError, OSError)
_OPTIONS = dict(decode_responses=True, socket_timeout=5.0, socket_connect_timeout=2.0, health_check_interval=30)


@lru_cache(maxsize=8)
def sync_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, **_OPTIONS)


def async_client(url: str) -> redis.asyncio.Redis:
    """A new asyncio client; bound to the running loop, so not cached across loops."""
    return redis.asyncio.Redis.from_url(url, **_OPTIONS)


@contextmanager
def redis_errors() -> Iterator[None]:
    try:
        yield
    except REDIS_ERRORS as exc:
        raise DependencyUnavailable("redis", exc) from exc
