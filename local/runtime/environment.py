"""One execution environment: a worker process (local/worker.py) that imports one function's handler, started with
Lambda's environment variables, and the parent's end of its socket."""
from __future__ import annotations

import asyncio
import secrets
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any, Mapping

import orjson

from local.runtime.framing import FrameChannel
from local.runtime.invoke_errors import FunctionCrashed, runtime_error
from local.runtime.log_relay import STDOUT_LINE_LIMIT, LogRelays
from local.template import Function

WORKER_SCRIPT = Path(__file__).parent.parent / "worker.py"


class Worker:
    """One worker process and the parent's end of its socket."""

    def __init__(self, process: asyncio.subprocess.Process, channel: FrameChannel):
        self.process = process
        self.channel = channel
        self.pid = process.pid
        self.healthy = True
        self.idle_since = time.monotonic()  # the pool sets it each time the worker becomes free

    async def call(self, message: dict[str, Any]) -> dict[str, Any]:
        self.channel.send(orjson.dumps(message))
        return await self.read()

    async def read(self) -> dict[str, Any]:
        return orjson.loads(await self.channel.read())

    def kill(self) -> None:
        self.healthy = False
        if self.process.returncode is None:
            try:
                self.process.send_signal(signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.channel.close()

    async def stop(self, grace: float = 2.0) -> None:
        """Close its socket (the worker exits when it reads EOF), then make sure."""
        self.healthy = False
        self.channel.close()
        if self.process.returncode is None:
            try:
                await asyncio.wait_for(self.process.wait(), grace)
            except asyncio.TimeoutError:
                self.kill()
                await self.process.wait()

    async def exit_status(self) -> str:
        """How the process ended, as Lambda's Runtime.ExitError words it."""
        try:
            code = await asyncio.wait_for(self.process.wait(), 1.0)
        except asyncio.TimeoutError:
            return "exit status unknown"
        if code < 0:
            return f"signal: {signal.Signals(-code).name.lower().removeprefix('sig')}"
        return f"exit status {code}"


async def start_worker(function: Function, env: Mapping[str, str], relays: LogRelays, *,
                       python: str = sys.executable) -> Worker:
    """A cold start: the process is up and its handler imported (or its init error kept, which the worker reports
    on every invocation, as Lambda does). Raises FunctionCrashed if it exits during init."""
    meta = _meta(function)
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        process = await asyncio.create_subprocess_exec(
            python, str(WORKER_SCRIPT), "--fd", str(child.fileno()),
            "--code-dir", str(function.code_uri), "--handler", function.handler,
            "--meta", orjson.dumps(meta).decode(),
            pass_fds=(child.fileno(),), env=_lambda_environment(function, env, meta),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, limit=STDOUT_LINE_LIMIT,
        )
    finally:
        child.close()
    relays.start(process.stdout)
    _transport, channel = await asyncio.get_running_loop().create_unix_connection(FrameChannel, sock=parent)
    worker = Worker(process, channel)
    try:
        await worker.read()  # {"ready": ...}
    except (asyncio.IncompleteReadError, ConnectionError):
        worker.kill()
        raise FunctionCrashed(runtime_error("Runtime.ExitError", "Runtime exited during init"))
    return worker


def _meta(function: Function) -> dict[str, Any]:
    day = time.strftime("%Y/%m/%d", time.gmtime())
    return {
        "functionName": function.function_name,
        "functionArn": function.arn,
        "memorySize": function.memory_size,
        "logGroupName": f"/aws/lambda/{function.function_name}",
        "logStreamName": f"{day}/[$LATEST]{secrets.token_hex(16)}",
    }


def _lambda_environment(function: Function, env: Mapping[str, str], meta: Mapping[str, Any]) -> dict[str, str]:
    """The function's own variables and the ones Lambda sets in every environment."""
    return {
        **env,
        "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(function.timeout),
        "AWS_LAMBDA_LOG_GROUP_NAME": meta["logGroupName"],
        "AWS_LAMBDA_LOG_STREAM_NAME": meta["logStreamName"],
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
        "LAMBDA_TASK_ROOT": str(function.code_uri),
        "_HANDLER": function.handler,
    }
