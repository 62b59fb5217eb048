"""Removing a scratch run's data: the PostgreSQL schema and the Redis keys a test or benchmark made its own."""
from __future__ import annotations

from order_engine.config import Settings
from order_engine.adapters.postgres.database import Database
from order_engine.adapters.redis.connect import sync_client


def drop(s: Settings) -> None:
    """Drop `s.database_schema` and delete every key under `s.key_prefix`."""
    admin = Database(s.database_url)
    try:
        admin.run(f"DROP SCHEMA IF EXISTS {s.database_schema} CASCADE")
    finally:
        admin.close()
    client = sync_client(s.redis_url)
    keys = list(client.scan_iter(match=f"{s.key_prefix}*", count=1000))
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start:start + 1000])
