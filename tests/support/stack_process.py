"""The local stack as a real subprocess (`python -m local`) on free ports: `launch_stack` starts one and waits until
it serves; `StackProcess` is the running stack, with clients that carry its API key (tests/support/clients.py).
The fixtures that start stacks for e2e/, faults/ and browser/ are in tests/support/stack_fixtures.py."""
from __future__ import annotations

import functools
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import aiohttp

from tests.support.clients import KeyedSession, aiohttp_session, urlopen
from tests.support.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
START_TIMEOUT_S = 120


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

    @functools.cached_property
    def client(self) -> KeyedSession:
        """A requests session sending the stack's key on every request without credentials of its own."""
        return KeyedSession(self.api_key)

    def session(self, **kwargs: Any) -> aiohttp.ClientSession:
        """An aiohttp session sending the stack's key (HTTP requests and WebSocket handshakes); kwargs as aiohttp's."""
        return aiohttp_session(self.api_key, **kwargs)

    def urlopen(self, url_or_request: str | urllib.request.Request, **kwargs: Any):
        """urllib's urlopen, with the stack's key."""
        return urlopen(url_or_request, self.api_key, **kwargs)

    @property
    def auth_headers(self) -> dict[str, str]:
        """For clients of other kinds (a subprocess, schemathesis): `Authorization: Bearer <key>`."""
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, as Ctrl-C would; the stack stops its workers and embedded servers before exiting."""
        if "client" in self.__dict__:
            self.client.close()
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
    """True once the banner says which key the stack made (or that none is needed); sets `stack.api_key`."""
    found = _API_KEY_LINE.search(stack.log())
    if found is None:
        return False
    if found.group(1).startswith("oek_"):
        stack.api_key = found.group(1)
    return True


def launch_stack(log_path: Path, env: Mapping[str, str], template: Path | None = None) -> StackProcess:
    """Start `python -m local` with `env` on top of this process's environment, on free ports; wait until it
    serves (its Lambda API answers and its banner named its key)."""
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


def wait_for(predicate: Callable[[], object], timeout: float = 30, interval: float = 0.1):
    """Poll until the predicate is truthy and return its value; fail after the timeout (a bound on waiting for
    something that must happen, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)
