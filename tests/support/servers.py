"""The test PostgreSQL and Redis (TEST_DATABASE_URL / TEST_REDIS_URL, 127.0.0.1 by default), databases and key
prefixes of a test's own, and one-off queries to a database by URL."""
from __future__ import annotations

import os
import uuid
from typing import Any

import pg8000.native

from order_engine.adapters.postgres.database import connect_kwargs
from order_engine.adapters.postgres.migrations import ensure_database
from order_engine.adapters.redis.connect import sync_client

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/order_engine_test")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def new_database() -> str:
    """The URL of a new, empty database on the test server (drop it with `drop_database`)."""
    url = f"{TEST_DATABASE_URL.rsplit('/', 1)[0]}/order_engine_e2e_{uuid.uuid4().hex[:10]}"
    ensure_database(url)
    return url


def drop_database(url: str) -> None:
    # dropping a database flushes its files: on a busy machine that takes longer than a query's usual timeout
    conn = pg8000.native.Connection(**{**connect_kwargs(url, timeout=60), "database": "postgres"})
    try:
        conn.run(f"DROP DATABASE IF EXISTS {pg8000.native.identifier(url.rsplit('/', 1)[1])} WITH (FORCE)")
    finally:
        conn.close()


def delete_keys(prefix: str, redis_url: str = TEST_REDIS_URL) -> None:
    """Delete every Redis key under `prefix`."""
    client = sync_client(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)


def query(database_url: str, sql: str, **params: Any) -> list[list[Any]]:
    """One statement on a connection of its own (a stack's database, which may be down: pg8000's errors pass)."""
    conn = pg8000.native.Connection(**connect_kwargs(database_url))
    try:
        return conn.run(sql, **params)
    finally:
        conn.close()
