"""The local stack as a real subprocess (`python -m local`) on free ports, against the real PostgreSQL and Redis
(a database and a Redis key prefix of its own, removed at the end).

Fixtures:
- `local_stack`: the project's template.yaml, i.e. the engine itself (HTTP API, WebSocket API, Lambda API).
- `gateway_stack`: tests/fixtures/template.yaml, tiny echo/slow/crash/tick functions that pin the gateway's and
  the runtime's behaviour without depending on the engine's functions.
- `start_stack`: a factory for tests that need a stack of their own (e.g. embedded servers, restarts).
"""
from __future__ import annotations

import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Mapping

import pytest

import keyed_clients
from order_engine.adapters.postgres.migrations import ensure_database
from order_engine.adapters.redis.connect import sync_client

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/order_engine_test")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
START_TIMEOUT_S = 120


# Below Linux's ephemeral range (32768-60999): a port the kernel hands out for port 0 can be taken by any outgoing
# connection before the stack binds it (a stack failed to start that way, "address already in use").
_PORTS = range(20000, 32768)


def free_port() -> int:
    """A port nothing listens on now, from outside the range the kernel picks outgoing connections' ports from."""
    while True:
        port = random.choice(_PORTS)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


@dataclass
class StackProcess:
    """A running `python -m local`: its URLs, the environment it was given, and its log file."""

    process: subprocess.Popen
    http_url: str
    ws_url: str
    lambda_url: str
    env: dict[str, str]
    log_path: Path
    ports: dict[str, int] = field(default_factory=dict)
    api_key: str | None = None  # the operator key the stack printed at start-up; None with AUTH_ENABLED=false

    @property
    def auth_headers(self) -> dict[str, str]:
        """For clients outside Python's requests/aiohttp/urllib (which send the key by themselves, see
        tests/keyed_clients.py): `Authorization: Bearer <key>`."""
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, as Ctrl-C would; the stack stops its workers and embedded servers before exiting."""
        keyed_clients.unregister(self.http_url, self.ws_url)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


def _wait_ready(stack: StackProcess) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if stack.process.poll() is not None:
            raise RuntimeError(f"the local stack exited with {stack.process.returncode}:\n{stack.log()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{stack.lambda_url}/local/functions", timeout=2) as response:
                if response.status == 200 and _read_api_key(stack):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    stack.stop()
    raise RuntimeError(f"the local stack did not come up in {START_TIMEOUT_S}s:\n{stack.log()[-4000:]}")


_API_KEY_LINE = re.compile(r"^  API key +(oek_\S+|none needed)", re.MULTILINE)


def _read_api_key(stack: StackProcess) -> bool:
    """True once the banner says which key the stack made (or that none is needed); registers it for the clients."""
    found = _API_KEY_LINE.search(stack.log())
    if found is None:
        return False
    if found.group(1).startswith("oek_"):
        stack.api_key = found.group(1)
        keyed_clients.register(stack.api_key, stack.http_url, stack.ws_url)
    return True


def launch_stack(log_path: Path, env: Mapping[str, str], template: Path | None = None) -> StackProcess:
    ports = {"http": free_port(), "ws": free_port(), "lambda": free_port()}
    full_env = {
        **os.environ,
        "LOCAL_HTTP_PORT": str(ports["http"]),
        "LOCAL_WS_PORT": str(ports["ws"]),
        "LOCAL_LAMBDA_PORT": str(ports["lambda"]),
        "LOCAL_TEMPLATE": str(template or ROOT / "template.yaml"),
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    log = open(log_path, "ab")
    process = subprocess.Popen([sys.executable, "-m", "local"], cwd=ROOT, env=full_env, stdout=log,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    stack = StackProcess(process, f"http://127.0.0.1:{ports['http']}", f"ws://127.0.0.1:{ports['ws']}/local",
                         f"http://127.0.0.1:{ports['lambda']}", full_env, log_path, ports)
    _wait_ready(stack)
    return stack


@pytest.fixture(scope="session")
def e2e_database_url() -> Iterator[str]:
    """A database of its own for this session (per xdist worker), dropped at the end."""
    base = TEST_DATABASE_URL.rsplit("/", 1)[0]
    url = f"{base}/order_engine_e2e_{uuid.uuid4().hex[:10]}"
    ensure_database(url)
    yield url
    _drop_database(url)


@pytest.fixture(scope="session")
def make_database() -> Iterator[Callable[[], str]]:
    """`make_database()` -> the URL of a new empty database, dropped at the end of the session: for a stack whose
    executor must not share its orders (its reconciler adopts every unfinished order of its database)."""
    made: list[str] = []
    base = TEST_DATABASE_URL.rsplit("/", 1)[0]

    def make() -> str:
        url = f"{base}/order_engine_e2e_{uuid.uuid4().hex[:10]}"
        ensure_database(url)
        made.append(url)
        return url

    yield make
    for url in made:
        _drop_database(url)


def _drop_database(url: str) -> None:
    import pg8000.native

    from order_engine.adapters.postgres.database import connect_kwargs

    # dropping a database flushes its files: on a busy machine that takes longer than a query's usual timeout
    conn = pg8000.native.Connection(**{**connect_kwargs(url, timeout=60), "database": "postgres"})
    try:
        conn.run(f"DROP DATABASE IF EXISTS {pg8000.native.identifier(url.rsplit('/', 1)[1])} WITH (FORCE)")
    finally:
        conn.close()


@pytest.fixture(scope="session")
def e2e_key_prefix() -> Iterator[str]:
    prefix = f"e2e{uuid.uuid4().hex[:10]}:"
    yield prefix
    client = sync_client(TEST_REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)


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
    client = sync_client(TEST_REDIS_URL)
    for prefix in prefixes:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)


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


def _wait_for(predicate: Callable[[], object], timeout: float = 30, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


@pytest.fixture(name="free_port")
def free_port_fixture() -> Callable[[], int]:
    """`free_port()`: a TCP port nothing listens on right now."""
    return free_port


@pytest.fixture(scope="session")
def fixture_template() -> Path:
    return FIXTURES / "template.yaml"


@pytest.fixture
def wait_for() -> Callable[..., object]:
    """`wait_for(predicate, timeout=30)`: poll until the predicate is truthy and return its value; fail after
    the timeout (a bound on waiting for something that must happen, not a timing assertion)."""
    return _wait_for
