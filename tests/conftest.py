"""Shared fixtures: every test that touches PostgreSQL or Redis gets a schema and a key prefix of its own, on
the real servers named by TEST_DATABASE_URL / TEST_REDIS_URL (127.0.0.1 by default). The local stack's fixtures
(e2e/, faults/, browser/) come from the plugin tests/support/stack_fixtures.py."""
from __future__ import annotations

import dataclasses
import uuid

import pytest

from order_engine.config import Settings
from order_engine.adapters import scratch_data
from order_engine.adapters.postgres.migrations import ensure_database, migrate
from order_engine.adapters.postgres.database import Database
from order_engine.adapters.redis.connect import sync_client
from tests.support.servers import TEST_DATABASE_URL, TEST_REDIS_URL

pytest_plugins = ["tests.support.stack_fixtures"]


@pytest.fixture(scope="session")
def test_database_url() -> str:
    ensure_database(TEST_DATABASE_URL)
    return TEST_DATABASE_URL


@pytest.fixture
def settings(test_database_url: str) -> Settings:
    """Settings pointing at a fresh, migrated schema and an unused Redis key prefix."""
    tag = uuid.uuid4().hex[:12]
    s = dataclasses.replace(
        Settings.from_env({}),
        database_url=test_database_url,
        database_schema=f"t_{tag}",
        redis_url=TEST_REDIS_URL,
        key_prefix=f"t{tag}:",
    )
    migrate(s.database_url, s.database_schema)
    yield s
    scratch_data.drop(s)


@pytest.fixture
def db(settings: Settings) -> Database:
    database = Database(settings.database_url, settings.database_schema)
    yield database
    database.close()


@pytest.fixture
def redis_client(settings: Settings):
    return sync_client(settings.redis_url)

