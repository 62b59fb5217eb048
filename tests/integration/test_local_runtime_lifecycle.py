"""The local Lambda runtime, in-process over tests/fixtures/template.yaml: a failed asynchronous invocation is
retried twice after Lambda's waits (shortened here), and environments left idle longer than the reaping time are
stopped, as Lambda reclaims them, down to the prewarmed ones; a worker's stdout is relayed unchanged, its EMF lines
to the metrics sink, until the worker exits or is killed."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from local.runtime import FunctionCrashed, Runtime, relay_lines
from local.runtime.environment import WORKER_SCRIPT
from local.template import load_template

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ENV = {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ}


def runtime(env: dict[str, str] | None = None, **options) -> Runtime:
    template = load_template(FIXTURES / "template.yaml")
    return Runtime(template, {lid: {**ENV, **(env or {})} for lid in template.functions}, pool_size=4, **options)


async def settled(predicate, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, f"{what} not met in time"
        await asyncio.sleep(0.05)


def drained(pool) -> bool:
    """No event of the function queued, waiting out a retry delay, or running: no further try can come."""
    return pool.queued == 0 and pool.retrying == 0 and pool.in_flight == 0


def environments(rt: Runtime) -> list[int]:
    """The worker processes of every function's pool (each was prewarmed)."""
    return sorted(pid for pool in rt.pools.values() for pid in pool.worker_pids)


def worker_processes() -> list[int]:
    """The live worker processes this process started (a runtime's environments), as the OS lists them."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                command = f.read()
        except (FileNotFoundError, ProcessLookupError):
            continue  # it exited while we looked
        if parent == os.getpid() and str(WORKER_SCRIPT).encode() in command:
            found.append(int(entry))
    return sorted(found)


def test_a_failing_asynchronous_invocation_is_tried_three_times_with_the_waits_between():
    async def scenario():
        rt = runtime(async_retry_delays=(0.3, 0.6), idle_reap_s=None)
        await rt.start(prewarm=0)
        try:
            pool = rt.pool("EchoFunction")
            started = asyncio.get_running_loop().time()
            rt.invoke_async("EchoFunction", {"raise": "boom"})
            await settled(lambda: drained(pool), what="the event's tries")
            elapsed = asyncio.get_running_loop().time() - started
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
            crash, echo = rt.pool("CrashFunction"), rt.pool("EchoFunction")
            rt.invoke_async("CrashFunction", {"queryStringParameters": {"exit": "1"}})
            rt.invoke_async("EchoFunction", {"hello": 1})
            await settled(lambda: drained(crash) and drained(echo), what="both events' tries")
            return crash.stats, echo.stats
        finally:
            await rt.close()

    crash, echo = asyncio.run(scenario())
    assert crash.invocations == crash.crashes == 3 and crash.async_retries == 2
    assert echo.invocations == 1 and echo.async_retries == 0


def test_environments_idle_longer_than_the_reaping_time_are_stopped_down_to_the_prewarmed_one():
    async def scenario():
        rt = runtime(idle_reap_s=0.5)
        await rt.start(prewarm=1)
        try:
            pool = rt.pool("EchoFunction")
            await asyncio.gather(*(rt.invoke("EchoFunction", {"rawPath": "/respond",
                                                               "body": '{"statusCode": 200}'}) for _ in range(8)))
            # the pool is never counted at its peak: an environment that joined early can be reclaimed while a
            # slower cold start is still under way, so the stats count what it started and what it reclaimed
            await settled(lambda: pool.starting == 0 and len(pool.worker_pids) == 1, what="down to one environment")
            await settled(lambda: worker_processes() == environments(rt), what="the reclaimed processes' exit")
            return pool.stats, pool.worker_pids, worker_processes(), environments(rt)
        finally:
            await rt.close()

    stats, left, running, kept = asyncio.run(scenario())
    assert stats.cold_starts >= 2  # the burst grew the pool beyond the prewarmed environment
    assert len(left) == 1 and stats.reaped == stats.cold_starts - 1
    assert running == kept  # the reclaimed processes are gone, not just forgotten


def test_a_burst_on_a_warm_worker_is_served_by_it_while_the_cold_starts_it_began_are_still_under_way():
    async def scenario():
        rt = runtime({"INIT_SLEEP_S": "4"}, idle_reap_s=None)
        await rt.start(prewarm=1)
        try:
            pool = rt.pool("EchoFunction")
            answers = await asyncio.gather(*(rt.invoke("EchoFunction", {"rawPath": "/respond",
                                                                         "body": '{"statusCode": 200}'})
                                             for _ in range(8)))
            during = pool.starting, list(pool.worker_pids)
            await settled(lambda: pool.starting == 0)
            return answers, during, list(pool.worker_pids), pool.stats
        finally:
            await rt.close()

    answers, (starting, workers_then), workers_after, stats = asyncio.run(scenario())
    assert answers == [{"statusCode": 200}] * 8
    # every invocation was answered by the warm worker, none waited 4 s for an environment of its own ...
    assert len(workers_then) == 1 and starting >= 1
    # ... and the pool still grew to the concurrency asked of it (4), as Lambda's would
    assert len(workers_after) == 4 and stats.cold_starts == 4


EMF = '{"_aws": {"CloudWatchMetrics": [{"Metrics": [{"Name": "OrdersSubmitted", "Unit": "Count"}]}]}, "OrdersSubmitted": 1}'
PRINTER = f"""
import sys, time
sys.stdout.write("plain line\\n" + {EMF!r} + "\\n" + "x" * (2 * 1024 * 1024) + "\\nlast, no newline")
sys.stdout.flush()
time.sleep(float(sys.argv[1]))
"""


def test_a_workers_stdout_is_relayed_unchanged_and_its_emf_lines_reach_the_sink_until_it_is_killed(tmp_path):
    async def scenario():
        sink: list[bytes] = []
        process = await asyncio.create_subprocess_exec(sys.executable, "-c", PRINTER, "60",
                                                       stdout=asyncio.subprocess.PIPE, limit=1024 * 1024)
        with open(tmp_path / "out", "wb") as out:
            relay = asyncio.ensure_future(relay_lines(process.stdout, sink.append, out.fileno()))
            await settled(lambda: (tmp_path / "out").stat().st_size > 2 * 1024 * 1024)
            assert not relay.done()  # the worker lives: its pipe is open
            process.send_signal(signal.SIGKILL)
            await asyncio.wait_for(relay, 10)  # its pipe ends with it
            await process.wait()
        return sink

    sink = asyncio.run(scenario())
    relayed = (tmp_path / "out").read_bytes()
    assert relayed == ("plain line\n" + EMF + "\n" + "x" * (2 * 1024 * 1024) + "\nlast, no newline").encode()
    assert sink == [(EMF + "\n").encode()]


def test_a_crashed_workers_relay_ends_and_closing_the_runtime_leaves_none_running():
    async def scenario():
        rt = runtime(idle_reap_s=None, on_emf=lambda line: None)
        await rt.start(prewarm=1)
        pool = rt.pool("CrashFunction")
        try:
            try:
                await pool.invoke({"queryStringParameters": {"exit": "1"}})
            except FunctionCrashed:
                pass
            else:
                raise AssertionError("the worker did not crash")
            await settled(lambda: pool.relays.running == len(pool.worker_pids) == 1)  # its replacement's
        finally:
            await rt.close()
        return [p.relays.running for p in rt.pools.values()]

    assert set(asyncio.run(scenario())) == {0}
