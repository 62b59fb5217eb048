"""CPU per process group of a local stack, from /proc: utime + stime of every process before and after a run.

The groups: the stack's own process (the HTTP and WebSocket gateways, the Lambda API, the scheduler), each
function's worker pool (the workers' `--meta` names the function), the PostgreSQL backends serving the stack's
connections (a backend's title names its client's port, matched against the stack's sockets), the PostgreSQL
server's background processes (shared by every database of the server), and the Redis server (the whole server:
give the stack a Redis of its own for a figure that is only its own). The load generator's own CPU is reported
apart. The stack is found by the process listening on the HTTP API's port.

Processes come and go during a run (a worker replaced, a connection reopened), so the meter samples every process
once a second and keeps each one's last figure: a process that exits between two samples loses at most a second.
"""
from __future__ import annotations

import asyncio
import collections
import json
import os
import resource
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

_TICKS = os.sysconf("SC_CLK_TCK")
_PROC = Path("/proc")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, utime + stime in seconds) of a process, None if it is gone."""
    try:
        fields = (_PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS


def _cmdline(pid: int) -> list[str]:
    try:
        return (_PROC / str(pid) / "cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        for fd in (_PROC / str(pid) / "fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


def _tcp_sockets() -> list[tuple[int, int, str, str]]:
    """(local port, remote port, state, inode) of every TCP socket of the machine."""
    rows = []
    for name in ("tcp", "tcp6"):
        try:
            lines = (_PROC / "net" / name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            rows.append((int(parts[1].rsplit(":", 1)[1], 16), int(parts[2].rsplit(":", 1)[1], 16), parts[3],
                         parts[9]))
    return rows


def listening_pid(port: int) -> int | None:
    """The process listening on a TCP port of this machine."""
    inodes = {inode for local, _, state, inode in _tcp_sockets() if local == port and state == "0A"}
    if not inodes:
        return None
    for proc in _PROC.iterdir():
        if proc.name.isdigit() and _socket_inodes(int(proc.name)) & inodes:
            return int(proc.name)
    return None


def _all_pids() -> list[int]:
    return [int(p.name) for p in _PROC.iterdir() if p.name.isdigit()]


@dataclass
class CpuMeter:
    """Samples the CPU of a stack's process groups; `figures(orders)` gives CPU ms per order by group."""

    stack_pid: int
    postgres_port: int = 5432
    redis_port: int = 6379
    before: dict[int, tuple[str, float]] = field(default_factory=dict)
    last: dict[int, tuple[str, float]] = field(default_factory=dict)
    client_before: float = 0.0
    client_cpu: float = 0.0
    _task: asyncio.Task | None = None

    @classmethod
    def for_stack(cls, http_url: str, database_url: str, redis_url: str, pid: int | None = None) -> "CpuMeter":
        port = urlparse(http_url).port or 80
        pid = pid or listening_pid(port)
        if pid is None:
            raise RuntimeError(f"no process listens on port {port} of this machine: is the stack running here?")
        return cls(pid, urlparse(database_url).port or 5432, urlparse(redis_url).port or 6379)

    def _groups(self) -> dict[int, tuple[str, float]]:
        stats = {pid: s for pid in _all_pids() if (s := _stat(pid)) is not None}
        children = collections.defaultdict(list)
        for pid, (ppid, _) in stats.items():
            children[ppid].append(pid)
        stack, todo = [], list(self._roots())
        while todo:
            pid = todo.pop()
            stack.append(pid)
            todo.extend(children.get(pid, ()))
        groups: dict[int, tuple[str, float]] = {}
        for pid in stack:
            if pid in stats:
                groups[pid] = (self._function_of(pid), stats[pid][1])
        # the PostgreSQL backends serving the stack's own connections, by their client port
        stack_inodes = set().union(*(_socket_inodes(pid) for pid in stack))
        client_ports = {local for local, remote, _, inode in _tcp_sockets()
                        if remote == self.postgres_port and inode in stack_inodes}
        for pid, (ppid, cpu) in stats.items():
            argv = _cmdline(pid)
            title = argv[0] if argv else ""
            if title.startswith("postgres:"):
                backend_port = title.rsplit("(", 1)[-1].split(")", 1)[0] if "(" in title else ""
                if backend_port.isdigit():
                    if int(backend_port) in client_ports:
                        groups[pid] = ("postgres backends", cpu)
                else:
                    groups[pid] = ("postgres background (whole server)", cpu)
            elif title.startswith("redis-server") and title.endswith(f":{self.redis_port}"):
                groups[pid] = ("redis (whole server)", cpu)
        return groups

    def _roots(self) -> list[int]:
        """The processes whose trees (each and its descendants) are the stack's own."""
        return [self.stack_pid]

    def _function_of(self, pid: int) -> str:
        if pid == self.stack_pid:
            return "gateway"
        argv = _cmdline(pid)
        if "--meta" in argv:
            try:
                return "worker " + json.loads(argv[argv.index("--meta") + 1])["functionName"]
            except (IndexError, ValueError, KeyError):
                pass
        return "stack other"

    def sample(self) -> None:
        for pid, (group, cpu) in self._groups().items():
            # a process keeps the group it was first seen in (a worker being reaped has no command line left)
            self.last[pid] = (self.last[pid][0] if pid in self.last else group, cpu)
        self.client_cpu = _self_cpu()

    async def __aenter__(self) -> "CpuMeter":
        self.before = dict(self._groups())
        self.last = dict(self.before)
        self.client_before = _self_cpu()

        async def every_second() -> None:
            while True:
                await asyncio.sleep(1.0)
                self.sample()

        self._task = asyncio.ensure_future(every_second())
        return self

    async def __aexit__(self, *exc) -> None:  # noqa: ANN002
        if self._task is not None:
            self._task.cancel()
        self.sample()

    def seconds_by_group(self) -> dict[str, float]:
        seconds: dict[str, float] = collections.defaultdict(float)
        for pid, (group, cpu) in self.last.items():
            seconds[group] += cpu - (self.before[pid][1] if pid in self.before else 0.0)
        return dict(seconds)

    def figures(self, orders: int) -> dict[str, float]:
        """CPU ms per order by group, the stack's total (shared PostgreSQL background excluded), and the client."""
        seconds = self.seconds_by_group()
        per = 1000 / orders if orders else float("nan")
        shared = "postgres background (whole server)"
        ordered = sorted(seconds.items(), key=lambda kv: (kv[0] == shared, -kv[1]))
        figures = {f"{group} ms": s * per for group, s in ordered if s * per >= 0.05}
        figures["stack total ms"] = sum(s for g, s in seconds.items() if g != shared) * per
        figures["client (load generator) ms"] = (self.client_cpu - self.client_before) * per
        return figures


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
