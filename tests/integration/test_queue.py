"""The Redis work queue's moves: claim, duplicates, the global cap, settle, delayed retries, crash recovery."""
from __future__ import annotations

import asyncio
import json
import time

from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.redis.work_queue import RedisWorkQueue
from order_engine.adapters.redis.connect import async_client


def with_queues(settings, body, owners=("a", "b"), **options):
    async def main():
        client = async_client(settings.redis_url)
        try:
            opts = dict(lease_ms=5_000, max_in_flight=100, max_stalls=1) | options
            queues = [RedisWorkQueue(client, KeyScheme(settings.key_prefix), owner, **opts) for owner in owners]
            return await body(*queues)
        finally:
            await client.aclose()
    return asyncio.run(main())


def test_claim_hands_out_ready_ids_in_submit_order_and_drops_duplicates_in_flight(settings, redis_client):
    keys = KeyScheme(settings.key_prefix)
    redis_client.lpush(keys.ready, "o1", "o2", "o1", "o3")

    async def body(a, b):
        first = await a.claim(2)
        second = await b.claim(10)
        return first, second

    first, second = with_queues(settings, body)
    assert first.ids == ["o1", "o2"]
    assert second.ids == ["o3"] and second.duplicates_dropped == 1
    assert redis_client.zcard(keys.leases) == 3


def test_claims_never_exceed_the_global_cap(settings, redis_client):
    keys = KeyScheme(settings.key_prefix)
    redis_client.lpush(keys.ready, *[f"o{i}" for i in range(10)])

    async def body(a, b):
        return await a.claim(4), await b.claim(4), await b.wait_claim(0.05)

    first, second, blocked = with_queues(settings, body, max_in_flight=6)
    assert len(first.ids) == 4 and len(second.ids) == 2 and blocked.ids == []
    assert redis_client.zcard(keys.leases) == 6 and redis_client.llen(keys.ready) == 4


def test_only_the_lease_holder_can_settle_an_order(settings, redis_client):
    keys = KeyScheme(settings.key_prefix)
    redis_client.lpush(keys.ready, "o1", "o2")

    async def body(a, b):
        await a.claim(2)
        taken_by_b = await b.settle([("o1", "ack", 0)])
        acked = await a.settle([("o1", "ack", 0), ("o2", "delay", 1)])
        return taken_by_b, acked

    assert with_queues(settings, body) == (0, 2)
    assert redis_client.zcard(keys.leases) == 0
    assert redis_client.zrange(keys.delayed, 0, -1) == ["o2"]


def test_a_retry_waits_in_the_delayed_set_until_due_then_goes_first(settings, redis_client):
    keys = KeyScheme(settings.key_prefix)
    redis_client.lpush(keys.ready, "o1")

    async def body(a, _):
        await a.claim(1)
        await a.settle([("o1", "delay", int(time.time() * 1000) + 60_000)])
        redis_client.lpush(keys.ready, "o2", "o1")  # a duplicate of the waiting retry is dropped
        early = await a.claim(5)
        redis_client.zadd(keys.delayed, {"o1": 0})
        promoted = await a.promote_due()
        return early, promoted, await a.claim(5)

    early, promoted, later = with_queues(settings, body)
    assert early.ids == ["o2"] and early.duplicates_dropped == 1
    assert promoted.promoted == 1 and promoted.next_due_ms is None and later.ids == ["o1"]


def test_expired_leases_come_back_and_too_many_stalls_dead_letter_the_order(settings, redis_client):
    keys = KeyScheme(settings.key_prefix)
    redis_client.lpush(keys.ready, "o1")

    async def body(a, b):
        await a.claim(1)
        await asyncio.sleep(0.06)
        first = await b.recover_expired()
        again = await a.claim(1)
        await asyncio.sleep(0.06)
        second = await b.recover_expired()
        return first, again, second

    first, again, second = with_queues(settings, body, lease_ms=50, max_stalls=1)
    assert (first.requeued, first.dead_lettered) == (1, 0)
    assert again.ids == ["o1"]
    assert (second.requeued, second.dead_lettered) == (0, 1)
    [dead] = [json.loads(d) for d in redis_client.lrange(keys.dead, 0, -1)]
    assert dead["orderId"] == "o1" and dead["reason"].startswith("stalled 2 times")
    assert redis_client.sismember(keys.dead_ids, "o1")


def test_an_id_stranded_between_blmove_and_its_lease_is_recovered(settings, redis_client):
    keys = KeyScheme(settings.key_prefix)
    redis_client.lpush(keys.processing, "o1")  # a crash right after BLMOVE

    async def body(a, b):
        adopted = await b.recover_expired()
        await asyncio.sleep(0.06)
        back = await b.recover_expired()
        return adopted, back, await a.claim(1)

    adopted, back, claimed = with_queues(settings, body, lease_ms=50)
    assert adopted.orphans == 1 and back.requeued == 1 and claimed.ids == ["o1"]
    assert redis_client.llen(keys.processing) == 0


def test_renewal_reports_leases_this_executor_no_longer_holds(settings, redis_client):
    keys = KeyScheme(settings.key_prefix)
    redis_client.lpush(keys.ready, "o1", "o2")

    async def body(a, _):
        await a.claim(2)
        redis_client.delete(keys.lease_owners)  # as after a Redis restart
        return await a.renew(["o1", "o2"])

    assert sorted(with_queues(settings, body)) == ["o1", "o2"]
