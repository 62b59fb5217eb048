"""The engines `bench compare` drives, each started and stopped by the harness on a fresh database and a Redis of
its own: ours (`./local/up`) here, the peer in local/bench/peer.py.

An engine gives the client its routes (`Routes`: where to submit, read and watch an order, which submit status
means accepted, how our order bodies translate to its shape) and a CPU meter over its own process groups."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse

import aiohttp
import pg8000.native

from local.bench.cpu import CpuMeter

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"  # loopback only: every server the harness starts binds here
START_TIMEOUT_S = 300.0  # the first ./local/up after a pyproject change installs the project first
STOP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Routes:
    """How the client talks to one engine."""

    submit_url: str
    order_url: Callable[[str], str]  # GET: the order, its `status` at the top level
    ws_url: Callable[[str], str]  # one WebSocket per order: its status frames
    accepted_status: int  # the submit's answer when the order was taken
    body: Callable[[dict[str, Any]], dict[str, Any]]  # one of our order bodies in the engine's shape


def port_free(port: int, host: str = HOST) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) != 0


def require_free(*ports: int) -> None:
    busy = [p for p in ports if not port_free(p)]
    if busy:
        raise RuntimeError(f"port(s) {', '.join(map(str, busy))} of {HOST} already answer: the compare run needs "
                           "them for servers of its own (pick others with the --*-port flags)")


def connect_kwargs(url: str) -> dict[str, Any]:
    """pg8000's arguments for a postgresql:// URL (the database "postgres" when it names none)."""
    u = urlparse(url)
    return {"user": u.username or "postgres", "password": u.password, "host": u.hostname or HOST,
            "port": u.port or 5432, "database": u.path.lstrip("/") or "postgres"}


def fresh_database(admin_url: str, name: str, schema_sql: str | None = None) -> str:
    """Drop and create database `name` on the server of `admin_url` (a postgresql:// URL); apply `schema_sql`
    if given. Returns the new database's URL."""
    kwargs = {k: v for k, v in connect_kwargs(admin_url).items() if k != "database"}
    u = urlparse(admin_url)
    conn = pg8000.native.Connection(database="postgres", **kwargs)
    try:
        ident = pg8000.native.identifier(name)
        conn.run(f"DROP DATABASE IF EXISTS {ident} WITH (FORCE)")
        conn.run(f"CREATE DATABASE {ident}")
    finally:
        conn.close()
    if schema_sql:
        conn = pg8000.native.Connection(database=name, **kwargs)
        try:
            conn.execute_simple(schema_sql)
        finally:
            conn.close()
    auth = f"{kwargs['user']}" + (f":{u.password}" if u.password else "")
    return f"postgresql://{auth}@{kwargs['host']}:{kwargs['port']}/{name}"


def drop_database(admin_url: str, name: str) -> None:
    conn = pg8000.native.Connection(**{**connect_kwargs(admin_url), "database": "postgres"})
    try:
        conn.run(f"DROP DATABASE IF EXISTS {pg8000.native.identifier(name)} WITH (FORCE)")
    finally:
        conn.close()


@dataclass
class Processes:
    """Child processes the harness started (each in a session of its own), stopped in reverse order."""

    log_dir: Path
    started: list[tuple[str, subprocess.Popen]] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "ab")
        try:
            process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            log.close()
        self.started.append((name, process))
        return process

    def check(self) -> None:
        for name, process in self.started:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode} at start-up; its log: "
                                   f"{self.log_dir / (name + '.log')}:\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 20) -> str:
        try:
            return "\n".join((self.log_dir / f"{name}.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        for _name, process in reversed(self.started):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)  # its own session: only what it started
                    process.wait()
            # anything it left in its session (a worker that outlived its parent)
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.started.clear()


def redis_argv(port: int) -> list[str]:
    """A Redis of the run's own, nothing persisted (its title ends in :port, which the CPU meter matches)."""
    return ["redis-server", "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"]


async def wait_healthy(url: str, processes: Processes, timeout_s: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        while time.monotonic() < deadline:
            processes.check()
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            await asyncio.sleep(0.5)
    raise RuntimeError(f"{url} did not answer 200 within {timeout_s:.0f} s")


async def wait_redis(port: int, processes: Processes, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        processes.check()
        if not port_free(port):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"Redis on port {port} did not start")


@dataclass
class OurEngine:
    """This project's local stack: `./local/up` with access control off, `DEX_LATENCY_SCALE` as the run asks,
    its own database (`database`, dropped and created at each start) and its own Redis on `redis_port`."""

    admin_url: str = "postgresql://postgres@127.0.0.1:5432"
    database: str = "order_engine_compare"
    http_port: int = 3290
    ws_port: int = 3291
    lambda_port: int = 3292
    redis_port: int = 6394
    name: str = "ours"
    processes: Processes | None = None
    database_url: str = ""  # the fresh database of the running engine
    stack_pid: int = 0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    def routes(self) -> Routes:
        ws = f"ws://{HOST}:{self.ws_port}/local"
        return Routes(f"{self.url}/api/orders/execute", lambda oid: f"{self.url}/api/orders/{oid}",
                      lambda oid: f"{ws}?orderId={oid}", 202, lambda body: body)

    async def start(self, latency_scale: float, log_dir: Path) -> None:
        require_free(self.http_port, self.ws_port, self.lambda_port, self.redis_port)
        self.database_url = database_url = fresh_database(self.admin_url, self.database)
        self.processes = Processes(log_dir)
        try:
            self.processes.start("ours-redis", redis_argv(self.redis_port), dict(os.environ), ROOT)
            await wait_redis(self.redis_port, self.processes)
            env = {k: v for k, v in os.environ.items() if k != "ORDER_ENGINE_API_KEY"}
            env.update({
                "AUTH_ENABLED": "false", "DEX_LATENCY_SCALE": f"{latency_scale:g}", "DATABASE_URL": database_url,
                "REDIS_URL": f"redis://{HOST}:{self.redis_port}/0", "LOCAL_HOST": HOST,
                "LOCAL_HTTP_PORT": str(self.http_port), "LOCAL_WS_PORT": str(self.ws_port),
                "LOCAL_LAMBDA_PORT": str(self.lambda_port), "LOCAL_EMBEDDED": "never",
            })
            stack = self.processes.start("ours-stack", [str(ROOT / "local" / "up")], env, ROOT)
            self.stack_pid = stack.pid  # local/up execs python -m local: the same process
            await wait_healthy(f"{self.url}/api/health", self.processes)
        except BaseException:
            await self.stop()
            raise

    def meter(self) -> CpuMeter:
        return CpuMeter(self.stack_pid, urlparse(self.admin_url).port or 5432, self.redis_port)

    async def stop(self) -> None:
        if self.processes is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.processes.stop)
            self.processes = None
        drop_database(self.admin_url, self.database)
