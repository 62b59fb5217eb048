"""Never idle with work waiting: a stack started with a backlog already there (queued in Redis, or only in
PostgreSQL after Redis lost it) starts draining it at once, not at the schedule's first tick a minute later."""
from __future__ import annotations

import dataclasses
import time

import pytest

from order_engine.config import Settings
from order_engine.adapters.postgres.listing_table import PgListingBook
from order_engine.services.submit import SubmitService
from order_engine.adapters.redis.order_intake import RedisOrderIntake
from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.redis.quote_book import RedisQuoteBook
from order_engine.adapters.redis.connect import sync_client
from order_engine.adapters.postgres.migrations import ensure_database, migrate
from order_engine.adapters.postgres.order_repository import OrderRepository
from order_engine.adapters.postgres.database import Database
from tests.support.sql import first_routed_and_last_terminal_epochs, order_total, unfinished_count
from tests.support.fault_harness import record

BACKLOG = 300
ORDER = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "0.1"}


class NoExecutor:
    """The wake-up of a stack that is not running: nothing answers."""

    def wake(self, reason: str, slot: str | None = None, source: str = "order-engine.submit") -> bool:
        return False


def make_backlog(servers) -> list[str]:
    s = dataclasses.replace(Settings.from_env({}), database_url=servers.database_url, redis_url=servers.redis_url)
    ensure_database(s.database_url)
    migrate(s.database_url, s.database_schema)
    db = Database(s.database_url, s.database_schema)
    try:
        redis, keys = sync_client(s.redis_url), KeyScheme(s.key_prefix)
        submit = SubmitService(s, OrderRepository(db), RedisOrderIntake(redis, keys), NoExecutor(),
                               PgListingBook(db), RedisQuoteBook(redis, keys))
        return [submit.submit(ORDER).order.id for _ in range(BACKLOG)]
    finally:
        db.close()


@pytest.mark.parametrize("redis_lost_it", [False, True], ids=["queued-in-redis", "only-in-postgresql"])
def test_a_backlog_present_at_start_up_is_drained_without_waiting_for_the_schedule(servers, engine, redis_lost_it):
    order_ids = make_backlog(servers)
    if redis_lost_it:
        servers.flush_redis()
    time.sleep(2.5)  # the backlog is older than the reconciler's grace, as one left by a stopped stack is

    engine(DEX_LATENCY_SCALE="0.1")  # the template's schedule: rate(1 minute)
    up = time.time()
    deadline = time.monotonic() + 45  # well before the schedule's first tick at 60 s
    while unfinished_count(servers.database_url):
        assert time.monotonic() < deadline, "the backlog was not drained before the schedule's first tick"
        time.sleep(0.2)

    first, last = first_routed_and_last_terminal_epochs(servers.database_url)
    record(f"[backlog] {BACKLOG} orders ({'only in PostgreSQL' if redis_lost_it else 'queued'}): first routed "
          f"{first - up:.1f} s after the stack was up, last terminal after {last - up:.1f} s")
    assert first - up < 10.0  # well inside the schedule's minute; seconds on a loaded 2-core machine
    assert order_total(servers.database_url) == len(order_ids)
