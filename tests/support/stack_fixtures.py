"""The local stack's fixtures, a pytest plugin (tests/conftest.py registers it once, for e2e/, faults/, browser/):
the stack runs as a real subprocess (tests/support/stack_process.py) against the real PostgreSQL and Redis, in a database
and a Redis key prefix of its own, removed at the end.

- `local_stack`: the project's template.yaml, i.e. the engine itself (HTTP API, WebSocket API, Lambda API).
- `gateway_stack`: tests/fixtures/template.yaml, tiny echo/slow/crash/tick functions that pin the gateway's and
  the runtime's behaviour without depending on the engine's functions.
- `start_stack`: a factory for tests that need a stack of their own (e.g. embedded servers, restarts).
- `start_engine`: the engine's own template in a new database and key prefix, tuned by environment variables.
"""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import Callable, Iterator, Mapping

import pytest

from tests.support import processes
from tests.support.servers import TEST_REDIS_URL, delete_keys, drop_database, new_database
from tests.support.stack_process import FIXTURES, StackProcess, launch_stack, wait_for as _wait_for


@pytest.fixture(scope="session")
def e2e_database_url() -> Iterator[str]:
    """A database of its own for this session (per xdist worker), dropped at the end."""
    url = new_database()
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def make_database() -> Iterator[Callable[[], str]]:
    """`make_database()` -> the URL of a new empty database, dropped at the end of the session: for a stack whose
    executor must not share its orders (its reconciler adopts every unfinished order of its database)."""
    made: list[str] = []

    def make() -> str:
        made.append(new_database())
        return made[-1]

    yield make
    for url in made:
        drop_database(url)


@pytest.fixture(scope="session")
def e2e_key_prefix() -> Iterator[str]:
    prefix = f"e2e{uuid.uuid4().hex[:10]}:"
    yield prefix
    delete_keys(prefix)


@pytest.fixture(scope="session")
def start_stack(tmp_path_factory) -> Iterator[Callable[..., StackProcess]]:
    """`start_stack(env, template=None)` -> a running stack, stopped at the end of the session if still up."""
    started: list[StackProcess] = []
    logs = tmp_path_factory.mktemp("stack-logs")

    def start(env: Mapping[str, str], template: Path | None = None) -> StackProcess:
        stack = launch_stack(logs / f"stack-{len(started)}.log", env, template)
        started.append(stack)
        return stack

    yield start
    for stack in started:
        stack.stop()


@pytest.fixture(scope="session")
def local_stack(start_stack, e2e_database_url, e2e_key_prefix) -> StackProcess:
    """The engine's own template on the real servers, in a database and key prefix of its own."""
    return start_stack({
        "DATABASE_URL": e2e_database_url,
        "REDIS_URL": TEST_REDIS_URL,
        "KEY_PREFIX": e2e_key_prefix,
        "LOCAL_EMBEDDED": "never",
    })


@pytest.fixture(scope="session")
def start_engine(start_stack, make_database) -> Iterator[Callable[..., StackProcess]]:
    """`start_engine(**env)` -> the engine's own template in a new database and key prefix (removed at the end),
    with `env` on top: for tests that tune the executor or kill its processes without disturbing `local_stack`."""
    prefixes: list[str] = []
    stacks: list[StackProcess] = []

    def start(**env: str) -> StackProcess:
        prefixes.append(f"e2e{uuid.uuid4().hex[:10]}:")
        stacks.append(start_stack({"DATABASE_URL": make_database(), "REDIS_URL": TEST_REDIS_URL,
                                   "KEY_PREFIX": prefixes[-1], "LOCAL_EMBEDDED": "never", **env}))
        return stacks[-1]

    yield start
    for stack in stacks:  # before their keys go, so that nothing writes them again
        stack.stop()
    for prefix in prefixes:
        delete_keys(prefix)


@pytest.fixture(scope="session")
def marker_dir(tmp_path_factory) -> Path:
    """Where the fixture functions leave files (scheduled ticks, asynchronous invocations)."""
    path = tmp_path_factory.mktemp("markers")
    path.chmod(0o777)
    return path


@pytest.fixture(scope="session")
def gateway_stack(start_stack, e2e_database_url, marker_dir) -> StackProcess:
    """tests/fixtures/template.yaml: echo, slow (1 s timeout, reserved concurrency 1), crash, tick (schedule)."""
    return start_stack({
        "DATABASE_URL": e2e_database_url,
        "REDIS_URL": TEST_REDIS_URL,
        "LOCAL_EMBEDDED": "never",
        "LOCAL_MIGRATE": "no",
        "LOCAL_SCHEDULE_SECONDS": "1",
        "MARKER_DIR": str(marker_dir),
    }, template=FIXTURES / "template.yaml")


@pytest.fixture(name="free_port")
def free_port_fixture() -> Callable[[], int]:
    """`free_port()`: a TCP port nothing listens on right now."""
    return processes.free_port


@pytest.fixture(scope="session")
def fixture_template() -> Path:
    return FIXTURES / "template.yaml"


@pytest.fixture
def wait_for() -> Callable[..., object]:
    """`wait_for(predicate, timeout=30)`: poll until the predicate is truthy and return its value; fail after
    the timeout (a bound on waiting for something that must happen, not a timing assertion)."""
    return _wait_for
