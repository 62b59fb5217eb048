"""The fault suite's own PostgreSQL and Redis: embedded servers from pip (local/embedded.py) on free ports, one pair
per test, so a flush, a restart or an outage here never touches the servers the rest of the suite shares."""
from __future__ import annotations

import shutil
import signal
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest

from e2e.conftest import StackProcess, free_port, launch_stack
from local.embedded import EmbeddedPostgres, EmbeddedRedis
from order_engine.adapters.redis.connect import sync_client


@dataclass
class Servers:
    postgres: EmbeddedPostgres
    redis: EmbeddedRedis

    @property
    def database_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.postgres.port}/order_engine"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis.port}/0"

    def flush_redis(self) -> None:
        sync_client(self.redis_url).flushall()

    def kill_redis(self) -> None:
        """SIGKILL redis-server: whatever it had not yet appended to its log (up to a second) is gone."""
        self.redis.process.send_signal(signal.SIGKILL)
        self.redis.process.wait()

    def stop_postgres(self) -> None:
        self.postgres.stop()

    def start(self, which: str) -> None:
        {"redis": self.redis, "postgres": self.postgres}[which].start()


DATA_ROOT = Path(__file__).resolve().parents[2] / ".local-data" / "faults"  # PostgreSQL's own user reaches it


@pytest.fixture
def servers() -> Iterator[Servers]:
    data = DATA_ROOT / uuid.uuid4().hex[:12]
    pair = Servers(EmbeddedPostgres(data, "127.0.0.1", free_port()), EmbeddedRedis(data, "127.0.0.1", free_port()))
    try:
        pair.postgres.start()
        pair.redis.start()
        yield pair
    finally:
        pair.redis.stop()
        pair.postgres.stop()
        shutil.rmtree(data, ignore_errors=True)


# Realistic venue latency (quotes ~200 ms, confirmation ~2.5 s), the template's three executors, 50 orders each.
FAULT_ENV = {
    "DEX_LATENCY_SCALE": "1",
    "EXECUTOR_CONCURRENCY": "50",
    "LOCAL_EMBEDDED": "never",
}


@pytest.fixture
def engine(servers: Servers, tmp_path: Path) -> Iterator[Callable[..., StackProcess]]:
    """`engine(**env)`: the local stack (the real template) on this test's own servers, stopped at the end."""
    stacks: list[StackProcess] = []

    def start(**env: str) -> StackProcess:
        stacks.append(launch_stack(tmp_path / f"stack-{len(stacks)}.log", {
            **FAULT_ENV, "DATABASE_URL": servers.database_url, "REDIS_URL": servers.redis_url,
            "KEY_PREFIX": "oe:", **env}))
        return stacks[-1]

    yield start
    for stack in stacks:  # before the servers fixture stops PostgreSQL and Redis
        stack.stop()
