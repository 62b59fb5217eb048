"""Test helpers: API Gateway HTTP API (payload 2.0) events for invoking handlers in-process."""
from __future__ import annotations

import ast
import gc
import importlib.util
import json
import os
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode


class FakeLambdaContext:
    function_name = "test"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:test"
    memory_limit_in_mb = 512
    log_group_name = "/aws/lambda/test"
    log_stream_name = "test"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def http_event(method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None,
               query: dict[str, str] | None = None, raw_body: str | None = None,
               path_parameters: dict[str, str] | None = None, route_key: str | None = None) -> dict[str, Any]:
    if raw_body is None and body is not None:
        raw_body = json.dumps(body)
    hdrs = {"content-type": "application/json", **{k.lower(): v for k, v in (headers or {}).items()}}
    return {
        "version": "2.0",
        "routeKey": route_key or f"{method} {path}",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": hdrs,
        "queryStringParameters": query or None,
        "pathParameters": path_parameters,
        "requestContext": {
            "accountId": "000000000000", "apiId": "local", "domainName": "localhost", "domainPrefix": "localhost",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "pytest"},
            "requestId": str(uuid.uuid4()), "routeKey": route_key or f"{method} {path}", "stage": "$default",
            "time": "22/Nov/2026:00:00:00 +0000", "timeEpoch": 0,
        },
        "body": raw_body,
        "isBase64Encoded": False,
    }


def response_json(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response.get("body") else None


def alive(pid: int) -> bool:
    """Whether a process with this id exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def load_function(name: str):
    """Import functions/<name>/app.py under a unique module name, as its own Lambda would load it."""
    path = Path(__file__).resolve().parents[1] / "functions" / name / "app.py"
    spec = importlib.util.spec_from_file_location(f"fn_{name}_app", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_python(path: Path) -> ast.Module:
    """`ast.parse` of a source file, shielded from CPython 3.11.7's "SystemError: AST constructor recursion depth
    mismatch": the parser's recursion bookkeeping reads the thread's recursion counters before and after, so Python
    code run meanwhile (a collected leftover's finalizer, another thread moving the recursion limit) fails a check
    that found nothing. The collector is paused, and a parse refused so is tried once more."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        try:
            return ast.parse(path.read_text(), filename=str(path))
        except SystemError:
            return ast.parse(path.read_text(), filename=str(path))
    finally:
        if enabled:
            gc.enable()


def live_subscription(registry: Any, connection_id: str, order_id: str, connected_at_ms: int = 0,
                      now_ms: int = 0) -> None:
    """Subscribe the connection as its replay does once the history is sent: live, posted to by the fan-out."""
    registry.subscribe(connection_id, order_id, connected_at_ms, now_ms)
    registry.release_held(connection_id, order_id)
