"""Redis connections (redis-py, hiredis parser). Every outage surfaces as `DependencyUnavailable("redis")`."""
from __future__ import annotations

import functools
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Awaitable, Callable, Iterator, TypeVar

import redis
import redis.asyncio

from order_engine.errors import DependencyUnavailable

T = TypeVar("T")
REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError, OSError)
_OPTIONS = dict(decode_responses=True, socket_timeout=5.0, socket_connect_timeout=2.0, health_check_interval=30)


@lru_cache(maxsize=8)
def sync_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, **_OPTIONS)


def async_client(url: str, max_connections: int = 100) -> redis.asyncio.Redis:
    """A new asyncio client; bound to the running loop, so not cached across loops. Its pool makes a caller wait
    for a free connection (up to the socket timeout) instead of failing with "Too many connections", so a
    thousand concurrent orders share `max_connections` sockets."""
    pool = redis.asyncio.BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=5.0, **_OPTIONS)
    return redis.asyncio.Redis.from_pool(pool)  # the client owns the pool: aclose() closes both


@contextmanager
def redis_errors() -> Iterator[None]:
    try:
        yield
    except REDIS_ERRORS as exc:
        raise DependencyUnavailable("redis", exc) from exc


def translates_redis_errors(method: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """For an adapter's async method: a Redis outage surfaces as `DependencyUnavailable("redis")`."""
    @functools.wraps(method)
    async def call(*args: Any, **kwargs: Any) -> T:
        try:
            return await method(*args, **kwargs)
        except REDIS_ERRORS as exc:
            raise DependencyUnavailable("redis", exc) from exc

    return call
