"""The fault suite's own PostgreSQL and Redis: embedded servers from pip (local/embedded.py) on free ports, one pair
per test, so a flush, a restart or an outage here never touches the servers the rest of the suite shares."""
from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest

from local.embedded import EmbeddedPostgres, EmbeddedRedis
from tests.support.fault_harness import DATA_ROOT, FAULT_ENV, Servers
from tests.support.processes import free_port
from tests.support.stack_process import StackProcess, launch_stack


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
