"""Invoking the Lambda handlers in-process: a Lambda context, API Gateway HTTP API (payload 2.0) events, the
response's JSON body, and a function's app.py imported as its own Lambda would import it."""
from __future__ import annotations

import importlib.util
import json
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


def load_function(name: str):
    """Import functions/<name>/app.py under a unique module name, as its own Lambda would load it."""
    path = Path(__file__).resolve().parents[2] / "functions" / name / "app.py"
    spec = importlib.util.spec_from_file_location(f"fn_{name}_app", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
