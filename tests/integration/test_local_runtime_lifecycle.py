"""The local Lambda runtime, in-process over tests/fixtures/template.yaml: a failed asynchronous invocation is
retried twice after Lambda's waits (shortened here), and environments left idle longer than the reaping time are
stopped, as Lambda reclaims them, down to the prewarmed ones."""
from __future__ import annotations

import asyncio
import os
from pathlib import Path

from helpers import alive
from local.runtime import Runtime
from local.template import load_template

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ENV = {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ}


def runtime(**options) -> Runtime:
    template = load_template(FIXTURES / "template.yaml")
    return Runtime(template, {lid: ENV for lid in template.functions}, pool_size=4, **options)


async def settled(predicate, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def test_a_failing_asynchronous_invocation_is_tried_three_times_with_the_waits_between():
    async def scenario():
        rt = runtime(async_retry_delays=(0.3, 0.6), idle_reap_s=None)
        await rt.start(prewarm=0)
        try:
            pool = rt.pool("EchoFunction")
            started = asyncio.get_running_loop().time()
            rt.invoke_async("EchoFunction", {"raise": "boom"})
            await settled(lambda: pool.stats.errors == 3)
            elapsed = asyncio.get_running_loop().time() - started
            await asyncio.sleep(1.0)  # and no fourth try
            return pool.stats, elapsed
        finally:
            await rt.close()

    stats, elapsed = asyncio.run(scenario())
    assert stats.invocations == 3 and stats.errors == 3 and stats.async_retries == 2
    assert elapsed >= 0.9  # both waits were served


def test_a_crashed_asynchronous_invocation_is_retried_and_a_succeeding_one_is_not():
    async def scenario():
        rt = runtime(async_retry_delays=(0.1, 0.1), idle_reap_s=None)
        await rt.start(prewarm=0)
        try:
            crash = rt.pool("CrashFunction")
            rt.invoke_async("CrashFunction", {"queryStringParameters": {"exit": "1"}})
            await settled(lambda: crash.stats.crashes == 3)
            echo = rt.pool("EchoFunction")
            rt.invoke_async("EchoFunction", {"hello": 1})
            await settled(lambda: echo.stats.invocations == 1 and echo.in_flight == 0)
            await asyncio.sleep(0.5)
            return crash.stats, echo.stats
        finally:
            await rt.close()

    crash, echo = asyncio.run(scenario())
    assert crash.invocations == 3 and crash.async_retries == 2
    assert echo.invocations == 1 and echo.async_retries == 0


def test_environments_idle_longer_than_the_reaping_time_are_stopped_down_to_the_prewarmed_one():
    async def scenario():
        rt = runtime(idle_reap_s=0.5)
        await rt.start(prewarm=1)
        try:
            pool = rt.pool("EchoFunction")
            await asyncio.gather(*(rt.invoke("EchoFunction", {"rawPath": "/respond",
                                                               "body": '{"statusCode": 200}'}) for _ in range(8)))
            busy = list(pool.worker_pids)
            await settled(lambda: len(pool.worker_pids) == 1)
            await asyncio.sleep(0.2)
            return busy, list(pool.worker_pids), pool.stats.reaped, [pid for pid in busy if alive(pid)]
        finally:
            await rt.close()

    grown, left, reaped, running = asyncio.run(scenario())
    assert len(grown) >= 2 and len(left) == 1 and reaped == len(grown) - 1
    assert running == left  # the reclaimed processes are gone, not just forgotten
