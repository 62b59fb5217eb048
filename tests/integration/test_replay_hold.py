"""In real Redis: while a subscriber's replay is sent, the executor's live-state write holds the order's new frames
for it instead of naming it for the fan-out; the replay takes them, and once none are held the subscription is
live. A replay that died (its lease expired) does not hold a subscriber's frames back for good."""
from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timezone

import pytest

from order_engine.domain.lifecycle import Status
from order_engine.domain.order import Order, OrderEvent
from order_engine.domain.tokens import lookup
from order_engine.adapters.redis.ws_registry import RedisConnectionRegistry, Limits
from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.redis.live_state import RedisLiveState
from order_engine.adapters.redis.connect import async_client

ORDER_ID = "3f0c7d9e-0a8b-4c1d-9e2f-5a6b7c8d9e0f"
AT = datetime(2026, 12, 2, tzinfo=timezone.utc)
ORDER = Order(id=ORDER_ID, status=Status.PENDING, token_in_mint=lookup("SOL").mint,
              token_out_mint=lookup("USDC").mint, amount_in=10**9, slippage_bps=50, order_type="market",
              attempts=0, seq=1, created_at=AT, updated_at=AT)
STEPS = (Status.ROUTING, Status.BUILDING, Status.SUBMITTED, Status.CONFIRMED)  # seq 2, 3, 4, 5


@pytest.fixture
def keys(settings) -> KeyScheme:
    return KeyScheme(settings.key_prefix)


@pytest.fixture
def registry(redis_client, keys) -> RedisConnectionRegistry:
    registry = RedisConnectionRegistry(redis_client, keys, Limits(7_200_000, 600_000))
    registry.register("watcher", 0, 0)
    registry.register("late", 0, 0)
    return registry


def store_step(settings, keys: KeyScheme, seq: int) -> set[str]:
    """The executor's write of step `seq`: the subscribers it then posts the frame to."""
    order = dataclasses.replace(ORDER, status=STEPS[seq - 2], seq=seq)

    async def record() -> set[str]:
        client = async_client(settings.redis_url)
        try:
            found = await RedisLiveState(client, keys, 60).record([(order, OrderEvent(ORDER_ID, seq, order.status, 0, AT, {}))])
            return found[ORDER_ID]
        finally:
            await client.aclose()

    return asyncio.run(record())


def test_a_replaying_subscribers_frames_are_held_until_its_replay_takes_them_then_it_is_live(settings, keys, registry):
    registry.subscribe("watcher", ORDER_ID, 0, 0)
    assert registry.release_held("watcher", ORDER_ID) == []  # its replay sent: live
    registry.subscribe("late", ORDER_ID, 0, 0)  # its replay is being sent

    assert store_step(settings, keys, 2) == {"watcher"}
    assert store_step(settings, keys, 3) == {"watcher"}
    assert [f["seq"] for f in registry.release_held("late", ORDER_ID)] == [2, 3]  # in the order they were stored
    assert store_step(settings, keys, 4) == {"watcher"}  # held again: the replay has not found the list empty yet
    assert [f["seq"] for f in registry.release_held("late", ORDER_ID)] == [4]
    assert registry.release_held("late", ORDER_ID) == []
    assert store_step(settings, keys, 5) == {"watcher", "late"}  # live now
    assert registry.subscribers(ORDER_ID) == {"watcher", "late"}


def test_a_subscriber_whose_replay_died_is_posted_to_again_once_its_lease_expires(settings, keys, registry, redis_client):
    registry.subscribe("late", ORDER_ID, 0, 0)
    assert store_step(settings, keys, 2) == set()
    redis_client.delete(keys.ws_replay_lease(ORDER_ID, "late"))  # as its expiry would
    assert store_step(settings, keys, 3) == {"late"}
    assert not redis_client.exists(keys.ws_held(ORDER_ID, "late"))


def test_unsubscribing_or_disconnecting_while_replaying_leaves_nothing_held(settings, keys, registry, redis_client):
    registry.subscribe("late", ORDER_ID, 0, 0)
    store_step(settings, keys, 2)
    assert registry.unsubscribe("late", ORDER_ID) is True
    assert registry.subscribers(ORDER_ID) == set() and not redis_client.exists(keys.ws_held(ORDER_ID, "late"))
    assert registry.release_held("late", ORDER_ID) == [] and registry.subscribers(ORDER_ID) == set()  # not revived

    registry.subscribe("late", ORDER_ID, 0, 0)
    store_step(settings, keys, 3)
    registry.remove("late")
    assert registry.subscribers(ORDER_ID) == set()
    assert not redis_client.exists(keys.ws_held(ORDER_ID, "late"), keys.ws_replay_lease(ORDER_ID, "late"))
