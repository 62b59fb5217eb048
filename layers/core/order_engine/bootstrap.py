"""The one wiring place: builds the adapters (PostgreSQL, Redis, the management API, Lambda, the simulated market)
and hands them, built, to the services of every function. Built once per process (a Lambda container) for the
HTTP and WebSocket functions, once per run for the executor; tests and benchmarks pass their own parts instead.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable, Mapping

from order_engine.config import Settings, settings as load_settings
from order_engine.adapters.postgres.listing_table import PgListingBook
from order_engine.services.cancel import CancelService
from order_engine.services.listing_admin import ListingService
from order_engine.services.caller_access import Authenticator, SubmitLimiter
from order_engine.services.operator import OperatorService
from order_engine.services.order_reads import OrderQueries
from order_engine.services.submit import SubmitService
from order_engine.adapters.postgres.api_key_table import PgApiKeyStore
from order_engine.adapters.aws.lambda_invoke import ExecutorWaker
from order_engine.adapters.redis.order_intake import RedisOrderIntake
from order_engine.adapters.redis.operator_queue import RedisOperatorQueue
from order_engine.adapters.redis.connect import sync_client
from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.redis.waiting_book import RedisWaitingRelease
from order_engine.adapters.postgres.order_repository import OrderRepository
from order_engine.adapters.postgres.database import Database
from order_engine.adapters.postgres.step_writer import PgStepWriter
from order_engine.adapters.step_publisher import LiveStepPublisher
from order_engine.adapters.redis.submit_buckets import RedisSubmitBuckets
from order_engine.adapters.redis.quote_book import RedisQuoteBook

if TYPE_CHECKING:
    from order_engine.dex.simulated import SimulatedDex
    from order_engine.ports import Dex, Metrics, Notifier, Waker
    from order_engine.services.executor.engine import Executor, RunSummary
    from order_engine.services.quote import QuoteService
    from order_engine.services.subscribe import SubscriptionService

# The WebSocket and executor wiring import their adapters when called: a function's cold start loads only what
# that function uses (the HTTP functions never load aiohttp, uvloop or the simulated market).


# -- metrics --------------------------------------------------------------------------------------------------


def build_metrics(s: Settings) -> "Metrics":
    """CloudWatch EMF lines on stdout (the function's log), or nothing with metrics_enabled=0."""
    from order_engine.ports import NO_METRICS
    from order_engine.adapters.aws.emf_metrics import EmfMetrics

    return EmfMetrics(s.metrics_namespace, "order-engine") if s.metrics_enabled else NO_METRICS


@lru_cache(maxsize=1)
def metrics() -> "Metrics":
    """The process's metrics, flushed by the entry points (api/entry.py, once per invocation)."""
    return build_metrics(load_settings())


# -- the HTTP functions ---------------------------------------------------------------------------------------


class BlockingQuotes:
    """GET /api/quote for the synchronous HTTP handlers: the quote service and the simulated market it asks, on
    an event loop this process keeps (the market's Redis client is bound to it), built at the first quote."""

    def __init__(self, s: Settings, book: RedisQuoteBook, keys: KeyScheme):
        self._settings, self._book, self._keys = s, book, keys
        self._loop: asyncio.AbstractEventLoop | None = None
        self._dex: "SimulatedDex | None" = None
        self._service: "QuoteService | None" = None

    def quote(self, query: Mapping[str, str | None]) -> dict[str, Any]:
        if self._service is None:
            from order_engine.services.quote import QuoteService

            self._loop, self._dex = asyncio.new_event_loop(), simulated_dex(self._settings, keys=self._keys)
            self._service = QuoteService(self._settings, self._dex, self._book)
        return self._loop.run_until_complete(self._service.quote(query))

    def close(self) -> None:
        """Release the market's clients and the loop (a Lambda container never needs to; tests do)."""
        if self._dex is not None and self._loop is not None:
            self._loop.run_until_complete(self._dex.close())
            self._loop.close()
            self._service = self._dex = self._loop = None


@dataclass(frozen=True)
class Services:
    settings: Settings
    submit: SubmitService
    queries: OrderQueries
    operator: OperatorService
    cancel: CancelService
    listings: ListingService
    quotes: BlockingQuotes


def build(s: Settings, sink: "Metrics | None" = None) -> Services:
    db = Database(s.database_url, s.database_schema)
    redis, keys = sync_client(s.redis_url), KeyScheme(s.key_prefix)  # every Redis adapter shares its pool
    orders = OrderRepository(db)
    intake = RedisOrderIntake(redis, keys)
    waker = ExecutorWaker(s.executor_function_name)
    queries = OrderQueries(s, orders, intake)
    listings = PgListingBook(db)
    book = RedisQuoteBook(redis, keys)
    return Services(
        settings=s,
        submit=SubmitService(s, orders, intake, waker, listings, book, metrics() if sink is None else sink,
                             SubmitLimiter(RedisSubmitBuckets(redis, keys))),
        queries=queries,
        operator=OperatorService(orders, RedisOperatorQueue(redis, keys), waker),
        cancel=CancelService(queries, PgStepWriter(db), LiveStepPublisher(s, keys),
                             books=RedisWaitingRelease(redis, keys)),
        listings=ListingService(s, listings),
        quotes=BlockingQuotes(s, book, keys),
    )


@lru_cache(maxsize=1)
def services() -> Services:
    return build(load_settings())


# -- the authorizers -----------------------------------------------------------------------------------------


def key_store(s: Settings) -> PgApiKeyStore:
    """The API keys table, for the authorizer and the admin command (local/key_admin.py); `.db.close()` when done."""
    return PgApiKeyStore(Database(s.database_url, s.database_schema))


def build_authenticator(s: Settings) -> Authenticator:
    return Authenticator(s, key_store(s))


@lru_cache(maxsize=1)
def authenticator() -> Authenticator:
    return build_authenticator(load_settings())


# -- the WebSocket functions ----------------------------------------------------------------------------------


def build_subscriptions(s: Settings) -> "SubscriptionService":
    """The database connection opens only when a replay needs PostgreSQL."""
    from order_engine.services.subscribe import SubscriptionService
    from order_engine.adapters.redis.ws_registry import RedisConnectionRegistry, Limits
    from order_engine.adapters.redis.live_state import RedisEventLog
    from order_engine.adapters.aws.management_api import ConnectionPoster
    from order_engine.adapters.aws.lambda_invoke import ReplayInvoker

    keys, redis = KeyScheme(s.key_prefix), sync_client(s.redis_url)
    return SubscriptionService(
        s,
        registry=RedisConnectionRegistry(redis, keys, Limits(s.ws_max_connection_ms, s.ws_idle_ms)),
        poster=ConnectionPoster(s.ws_management_endpoint),
        log=RedisEventLog(redis, keys),
        history=OrderRepository(Database(s.database_url, s.database_schema)),
        replays=ReplayInvoker(s.ws_replay_function_name),
    )


@lru_cache(maxsize=1)
def subscriptions() -> "SubscriptionService":
    return build_subscriptions(load_settings())


# -- the executor ---------------------------------------------------------------------------------------------


def simulated_dex(s: Settings, *, keys: KeyScheme | None = None,
                  clock: Callable[[], int] | None = None) -> "SimulatedDex":
    """The simulated venues and chain, with a Redis client for the running loop and a PostgreSQL connection of
    their own (closed by `await dex.close()`): they stand in for the outside world (RPC nodes, the chain), so they
    share no connection with the engine's adapters. `keys`: the caller's key scheme (default: the settings')."""
    from order_engine.adapters.postgres.chain_ledger import ChainStore
    from order_engine.adapters.postgres.listing_table import ListingCache, PgListingBook
    from order_engine.adapters.redis.market_state import MarketStore
    from order_engine.dex.simulated import TRANSACTION_TTL_S, SimulatedDex, wall_clock_ms
    from order_engine.adapters.redis.connect import async_client

    client, db = async_client(s.redis_url), Database(s.database_url, s.database_schema)

    async def release() -> None:
        await client.aclose()
        db.close()

    return SimulatedDex(s, MarketStore(client, keys or KeyScheme(s.key_prefix), TRANSACTION_TTL_S),
                        ChainStore(db, s.dex_chain_batch_max, s.dex_chain_gather_ms),
                        ListingCache(PgListingBook(db), s.dex_listing_refresh_ms), clock=clock or wall_clock_ms, release=release)


def run_executor(s: Settings, remaining_ms: Callable[[], int], slot: str | None = None) -> "RunSummary":
    """One executor run, as the scheduled (or woken) Lambda does it: it starts more executors (an asynchronous
    invoke of its own function) when the queue needs more than are live. `slot`: the start slot it was woken for."""
    import uvloop

    return uvloop.run(run_executor_async(s, remaining_ms, launcher=ExecutorWaker(s.executor_function_name),
                                         slot=slot))


async def run_executor_async(s: Settings, remaining_ms: Callable[[], int], *, dex: "Dex | None" = None,
                             notifier: "Notifier | None" = None, owner: str | None = None,
                             on_start: "Callable[[Executor], None] | None" = None,
                             launcher: "Waker | None" = None, slot: str | None = None,
                             sink: "Metrics | None" = None) -> "RunSummary":
    """Wire an executor (inside the running loop: its clients are bound to it), drain the queue until shortly
    before `remaining_ms()` runs out or the queue stays idle, close what was built here, return the summary.
    `dex` and `notifier`, when given, belong to the caller, who closes them; without a `launcher` it never starts
    other executors (in-process runs). `sink`: the metrics (default: from the settings), flushed every
    `metrics_flush_ms` and at the end of the run."""
    from order_engine.services.executor.engine import Executor
    from order_engine.adapters.redis.live_state import RedisLiveState
    from order_engine.adapters.redis.work_queue import RedisWorkQueue
    from order_engine.adapters.redis.executor_fleet import RedisExecutorFleet
    from order_engine.adapters.redis.connect import async_client
    from order_engine.adapters.postgres.transition_writes import PgOrderReader, PgTransitionWriter, PgWorker
    from order_engine.adapters.redis.waiting_book import RedisWaitingBook
    from order_engine.adapters.postgres.waiting_order_rows import PgWaitingOrders
    from order_engine.adapters.aws.ws_fanout import ManagementApiNotifier

    client = async_client(s.redis_url)  # every Redis adapter of the executor shares its pool (the market aside)
    keys = KeyScheme(s.key_prefix)
    sink = build_metrics(s) if sink is None else sink
    owner = owner or f"executor-{uuid.uuid4().hex[:12]}"
    queue = RedisWorkQueue(client, keys, owner, lease_ms=s.lease_ms,
                      max_in_flight=s.max_in_flight, max_stalls=s.max_stalls, dead_letter_max=s.dead_letter_max)
    # Each writer has a connection of its own, so PostgreSQL works on several batches at once.
    writers = [PgTransitionWriter(PgWorker(s.database_url, s.database_schema, f"pg-writer-{i}"))
               for i in range(max(1, s.executor_pg_writers))]
    reader = PgOrderReader(PgWorker(s.database_url, s.database_schema, "pg-reader"))
    waiting = PgWaitingOrders(PgWorker(s.database_url, s.database_schema, "pg-waiting"))
    own_dex, own_notifier = dex is None, notifier is None
    dex = dex or simulated_dex(s, keys=keys)
    notifier = notifier or ManagementApiNotifier(s, client, keys, metrics=sink)
    try:
        executor = Executor(s, queue=queue, fleet=RedisExecutorFleet(client, keys, owner), reader=reader,
                            writers=writers,
                            live=RedisLiveState(client, keys, s.terminal_ttl_s), dex=dex, notifier=notifier,
                            remaining_ms=remaining_ms, launcher=launcher, slot=slot,
                            book=RedisWaitingBook(client, keys), waiting=waiting, metrics=sink)
        if on_start is not None:
            on_start(executor)
        return await executor.run()
    finally:
        for part in (*writers, reader, waiting):
            part.close()
        if own_notifier:
            await notifier.close()
        if own_dex:
            await dex.close()
        await client.aclose()


def deadline_in(ms: int) -> Callable[[], int]:
    """A `remaining_ms` for runs outside Lambda: the time left until `ms` from now."""
    end = time.monotonic() + ms / 1000
    return lambda: int((end - time.monotonic()) * 1000)
