"""The one wiring place: builds adapters and services from settings, once per process (a Lambda container)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from order_engine.config import Settings, settings as load_settings
from order_engine.services.orders import OrderQueries
from order_engine.services.submit import SubmitService
from order_engine.store.executor_waker import ExecutorWaker
from order_engine.store.intake import OrderIntake
from order_engine.store.keys import Keys
from order_engine.store.orders import OrderRepository
from order_engine.store.postgres import Database


@dataclass(frozen=True)
class Services:
    settings: Settings
    submit: SubmitService
    queries: OrderQueries


def build(s: Settings) -> Services:
    db = Database(s.database_url, s.database_schema)
    orders = OrderRepository(db)
    intake = OrderIntake(s.redis_url, Keys(s.key_prefix))
    return Services(
        settings=s,
        submit=SubmitService(s, orders, intake, ExecutorWaker(s.executor_function_name)),
        queries=OrderQueries(s, orders, intake),
    )


@lru_cache(maxsize=1)
def services() -> Services:
    return build(load_settings())


def build_subscriptions(s: Settings) -> "SubscriptionService":
    """The WebSocket functions' wiring (the database connection opens only when a replay needs PostgreSQL)."""
    from order_engine.services.subscribe import SubscriptionService
    from order_engine.store.connections import ConnectionRegistry, Limits
    from order_engine.store.event_log import LiveEventLog
    from order_engine.store.management_api import ConnectionPoster
    from order_engine.store.redis_client import sync_client
    from order_engine.store.replay_invoker import ReplayInvoker

    keys, redis = Keys(s.key_prefix), sync_client(s.redis_url)
    return SubscriptionService(
        s,
        registry=ConnectionRegistry(redis, keys, Limits(s.ws_max_connection_ms, s.ws_idle_ms)),
        poster=ConnectionPoster(s.ws_management_endpoint),
        log=LiveEventLog(redis, keys),
        history=OrderRepository(Database(s.database_url, s.database_schema)),
        replays=ReplayInvoker(s.ws_replay_function_name),
    )


@lru_cache(maxsize=1)
def subscriptions() -> "SubscriptionService":
    return build_subscriptions(load_settings())
