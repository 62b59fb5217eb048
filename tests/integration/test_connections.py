"""The connection registry in real Redis: subscriptions, clean-up, and expiries that follow API Gateway's limits."""
from __future__ import annotations

import pytest

from order_engine.adapters.redis.ws_registry import RedisConnectionRegistry, Limits
from order_engine.adapters.redis.key_scheme import KeyScheme

HOUR_MS = 3_600_000
ORDER_A, ORDER_B = "3f0c7d9e-0a8b-4c1d-9e2f-5a6b7c8d9e0f", "7a1e2b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b"


@pytest.fixture
def registry(settings, redis_client):
    return RedisConnectionRegistry(redis_client, KeyScheme(settings.key_prefix), Limits(2 * HOUR_MS, 600_000))


def test_disconnect_removes_the_connection_from_every_order_it_watched(registry):
    registry.register("c1", 0, 0)
    registry.register("c2", 0, 0)
    for order in (ORDER_A, ORDER_B):
        registry.subscribe("c1", order, 0, 0)
    registry.subscribe("c2", ORDER_A, 0, 0)
    registry.remove("c1")
    assert registry.subscribers(ORDER_A) == {"c2"}
    assert registry.subscribers(ORDER_B) == set()
    assert registry.state("c1") is None


def test_unsubscribe_stops_one_order_only(registry):
    registry.register("c1", 0, 0)
    registry.subscribe("c1", ORDER_A, 0, 0)
    registry.subscribe("c1", ORDER_B, 0, 0)
    assert registry.unsubscribe("c1", ORDER_A) is True
    assert registry.unsubscribe("c1", ORDER_A) is False
    assert registry.subscribers(ORDER_A) == set() and registry.subscribers(ORDER_B) == {"c1"}


def test_a_connection_expires_at_the_sooner_of_its_idle_and_maximum_limits(registry, redis_client, settings):
    keys = KeyScheme(settings.key_prefix)
    registry.register("fresh", connected_at_ms=0, now_ms=0)
    registry.register("old", connected_at_ms=0, now_ms=2 * HOUR_MS - 60_000)  # a minute before its 2 hours
    assert 590_000 < redis_client.pttl(keys.ws_connection("fresh")) <= 600_000
    assert 50_000 < redis_client.pttl(keys.ws_connection("old")) <= 60_000
    registry.subscribe("fresh", ORDER_A, 0, 0)
    assert redis_client.pttl(keys.ws_subscribers(ORDER_A)) > 2 * HOUR_MS - 10_000


def test_a_message_marks_the_connection_open_and_restarts_its_idle_clock(registry, redis_client, settings):
    keys = KeyScheme(settings.key_prefix)
    registry.register("c1", 0, 0)
    assert registry.state("c1").open is False
    redis_client.pexpire(keys.ws_connection("c1"), 1000)
    registry.seen("c1", 0, 0)
    assert registry.state("c1").open is True
    assert redis_client.pttl(keys.ws_connection("c1")) > 590_000


def test_a_410_removes_an_open_connection(registry):
    registry.register("c1", 0, 0)
    registry.mark_open("c1")
    registry.subscribe("c1", ORDER_A, 0, 0)
    assert registry.forget_gone("c1", now_ms=1, grace_ms=10_000, order_id=ORDER_A) is True
    assert registry.subscribers(ORDER_A) == set()


def test_a_410_during_connect_keeps_a_connection_that_is_not_open_yet(registry):
    registry.register("c1", connected_at_ms=1_000, now_ms=1_000)
    registry.subscribe("c1", ORDER_A, 1_000, 1_000)
    assert registry.forget_gone("c1", now_ms=1_500, grace_ms=10_000, order_id=ORDER_A) is False
    assert registry.subscribers(ORDER_A) == {"c1"}
    # ... but not forever: past the grace period it never opened, so it is gone
    assert registry.forget_gone("c1", now_ms=20_000, grace_ms=10_000, order_id=ORDER_A) is True
    assert registry.subscribers(ORDER_A) == set()


def test_a_410_for_a_connection_the_registry_no_longer_knows_drops_its_subscription(registry):
    registry.subscribe("ghost", ORDER_A, 0, 0)  # its connection keys expired, its subscription did not
    assert registry.forget_gone("ghost", now_ms=1, grace_ms=10_000, order_id=ORDER_A) is True
    assert registry.subscribers(ORDER_A) == set()


def test_a_message_handled_after_its_disconnect_does_not_bring_the_connection_back(redis_client, settings):
    from order_engine.adapters.redis.ws_registry import RedisConnectionRegistry, Limits
    from order_engine.adapters.redis.key_scheme import KeyScheme

    registry = RedisConnectionRegistry(redis_client, KeyScheme(settings.key_prefix), Limits(7_200_000, 600_000))
    order_id = "8d0f5a8e-6a4e-4a43-9d57-2a4b3f1d7a10"
    registry.register("c1", 1_000, 1_000)
    registry.remove("c1")  # $disconnect ran first

    assert registry.seen("c1", 1_000, 2_000) is False
    assert registry.subscribe("c1", order_id, 1_000, 2_000) is False
    assert list(redis_client.scan_iter(match=f"{settings.key_prefix}ws:*")) == []
