"""A REST API (payload 1.0) proxy event, as chalice receives it, into the HTTP API payload 2.0 event the engine's
HTTP handler takes, and the handler's answer back into a chalice Response."""
from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import urlencode

from chalice import Response


def _joined(multi: dict[str, list[str]] | None, single: dict[str, str] | None) -> dict[str, str]:
    """Payload 2.0 joins a repeated header or query key's values with commas."""
    if multi:
        return {k: ",".join(v) for k, v in multi.items()}
    return dict(single or {})


def to_http_api_event(event: dict[str, Any]) -> dict[str, Any]:
    context = event.get("requestContext") or {}
    method = event.get("httpMethod") or context["httpMethod"]
    route_key = f"{method} {event.get('resource') or context['resourcePath']}"
    # payload 2.0's rawPath starts with the stage (unless it is $default), as REST's requestContext.path does
    path = context.get("path") or event["path"]
    headers = {k.lower(): v for k, v in _joined(event.get("multiValueHeaders"), event.get("headers")).items()}
    cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
    multi_query = event.get("multiValueQueryStringParameters") or {
        k: [v] for k, v in (event.get("queryStringParameters") or {}).items()}
    body = event.get("body")
    if isinstance(body, bytes):  # chalice's local gateway passes the raw bytes
        body = body.decode("utf-8", errors="surrogateescape")
    epoch_ms = int(context.get("requestTimeEpoch") or time.time() * 1000)
    domain = context.get("domainName") or headers.get("host", "localhost")
    translated = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": urlencode(multi_query, doseq=True),
        "headers": headers,
        "queryStringParameters": _joined(multi_query, None) or None,
        "pathParameters": event.get("pathParameters") or None,
        "requestContext": {
            "accountId": context.get("accountId", ""), "apiId": context.get("apiId", ""),
            "domainName": domain, "domainPrefix": domain.split(".")[0],
            "http": {"method": method, "path": path, "protocol": context.get("protocol", "HTTP/1.1"),
                     "sourceIp": (context.get("identity") or {}).get("sourceIp", ""),
                     "userAgent": headers.get("user-agent", "")},
            "requestId": context.get("requestId", ""), "routeKey": route_key, "stage": context.get("stage", "$default"),
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch_ms / 1000)), "timeEpoch": epoch_ms,
        },
        "body": body,
        "isBase64Encoded": bool(event.get("isBase64Encoded")),
    }
    if cookies:
        translated["cookies"] = cookies
    authorizer = context.get("authorizer")
    if authorizer:  # REST puts the authorizer's context beside principalId; payload 2.0 under "lambda"
        translated["requestContext"]["authorizer"] = {"lambda": {k: v for k, v in authorizer.items() if k not in (
            "principalId", "integrationLatency")}}
    return translated


def to_chalice_response(result: dict[str, Any]) -> Response:
    body: str | bytes = result.get("body") or ""
    if result.get("isBase64Encoded"):
        body = base64.b64decode(body)
    headers: dict[str, Any] = dict(result.get("headers") or {})
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name] = list(values)
    if result.get("cookies"):
        headers["Set-Cookie"] = list(result["cookies"])
    return Response(body=body, status_code=int(result.get("statusCode", 200)), headers=headers)
