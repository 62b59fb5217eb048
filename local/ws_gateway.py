"""The local WebSocket gateway: API Gateway's WebSocket API and its `@connections` management API, faithfully.

- `GET /{stage}` upgrades to a WebSocket. The gateway assigns a connection id, invokes `$connect` with
  API Gateway's CONNECT event (headers, query string, requestContext) and completes the handshake only if it
  returned a 2xx; otherwise the client gets that status and body and no connection.
- Each message is routed by the API's route selection expression (`$request.body.action`): the value names a
  route, else `$default`; with no `$default` the client gets API Gateway's "Forbidden" message. Routes run
  concurrently, as on AWS. A message over 128 KB closes the connection with 1009.
- A `$connect` with a Lambda authorizer (AuthorizationType CUSTOM) runs it first (local/authorizers.py): a
  refusal answers the handshake with 401/403/500; an allowed connection carries the authorizer's context
  (principalId and its keys, flattened) in requestContext.authorizer of every later event, as on AWS.
- `$disconnect` is invoked after a connection closes, whoever closed it.
- `POST|GET|DELETE [/{stage}]/@connections/{id}`: send a frame, describe, or close a connection, in AWS's wire
  format; 410 GoneException for an unknown connection and for one whose `$connect` has not returned. Requests
  must carry a SigV4 Authorization header (its signature is not checked here).
- Idle timeout and maximum connection duration close connections with 1001, as API Gateway does.
"""
from __future__ import annotations

import asyncio
import base64
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

import orjson
from aiohttp import WSCloseCode, WSMsgType, web

from local.authorizers import AuthorizerRunner
from local.cloudformation import LOCAL_ACCOUNT_ID, LOCAL_REGION
from local.template import Template, WebSocketApi

log = logging.getLogger("local.ws_gateway")

MAX_MESSAGE_BYTES = 128 * 1024
DEFAULT_STAGE = "local"
DEFAULT_PORT = 3001
GOING_AWAY = 1001

Invoke = Callable[[str, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class GatewayLimits:
    idle_timeout_s: float = 600.0  # API Gateway: 10 minutes without a message from the client
    max_duration_s: float = 7200.0  # API Gateway: 2 hours per connection
    integration_timeout_s: float = 29.0


@dataclass
class LiveConnection:
    id: str
    ws: web.WebSocketResponse | None
    connected_at_ms: int
    source_ip: str
    user_agent: str | None
    last_active_ms: int
    open: bool = False  # $connect returned 2xx and the handshake completed
    close_reason: str = ""
    tasks: set[asyncio.Task] = field(default_factory=set)
    authorizer: dict[str, Any] | None = None  # the $connect authorizer's principalId and context


def _now_ms() -> int:
    return int(time.time() * 1000)


def _connection_id() -> str:
    """API Gateway's connection ids look like `L0SM9cOFvHcCIhw=`."""
    return base64.b64encode(os.urandom(10)).decode()


def _request_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def select_route(expression: str, body: str | bytes, routes: set[str]) -> str:
    """Evaluate `$request.body.<path>` against a message; fall back to `$default` as API Gateway does."""
    prefix = "$request.body."
    if isinstance(body, str) and expression.startswith(prefix):
        try:
            value: Any = orjson.loads(body)
        except orjson.JSONDecodeError:
            return "$default"
        for part in expression[len(prefix):].split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value) in routes:
            return str(value)
    return "$default"


def _aws_error(status: int, error_type: str, message: str | None) -> web.Response:
    return web.Response(status=status, body=orjson.dumps({"message": message}), content_type="application/json",
                        headers={"x-amzn-ErrorType": error_type, "x-amzn-RequestId": str(uuid.uuid4())})


class WebSocketGateway:
    """Connections, routing and the management API of one WebSocket API."""

    def __init__(self, invoke: Invoke, api: WebSocketApi, *, stage: str = DEFAULT_STAGE,
                 api_id: str = "local", limits: GatewayLimits = GatewayLimits(), require_signature: bool = True,
                 auth: bool = True):
        self.invoke, self.api, self.stage, self.api_id = invoke, api, stage, api_id
        connect = api.route("$connect")
        self.authorizer = connect.authorizer if connect is not None and auth else None
        self.authorizers = AuthorizerRunner(invoke)
        self.limits, self.require_signature = limits, require_signature
        self.functions = {route.route_key: route.function for route in api.routes if route.function}
        self.message_routes = {key for key in self.functions if key not in ("$connect", "$disconnect")}
        self.connections: dict[str, LiveConnection] = {}
        self.stats = {"connected": 0, "rejected": 0, "messages": 0, "posts": 0, "gone": 0}
        self._watchdog: asyncio.Task | None = None
        self.domain_name: str | None = None  # the Host clients use, learnt from the first handshake

    # the WebSocket side
    async def handle_upgrade(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return _aws_error(426, "UpgradeRequired", "This is a WebSocket API: connect with a WebSocket client.")
        now = _now_ms()
        conn = LiveConnection(_connection_id(), None, now, request.remote or "127.0.0.1",
                              request.headers.get("User-Agent"), now)
        event = self._connect_event(request, conn)
        if self.authorizer is not None:
            refused = await self._authorize(conn, event)
            if refused is not None:
                self.stats["rejected"] += 1
                return refused
            event["requestContext"]["authorizer"] = conn.authorizer
        self.connections[conn.id] = conn
        try:
            result = await self._invoke_route("$connect", event)
        except Exception:  # noqa: BLE001 - any failure of $connect refuses the handshake, as on AWS
            log.exception("$connect failed")
            result = {"statusCode": 500}
        status = int(result.get("statusCode", 200)) if isinstance(result, dict) else 200
        if not 200 <= status < 300:
            self.connections.pop(conn.id, None)
            self.stats["rejected"] += 1
            body = result.get("body") if isinstance(result, dict) else None
            return web.Response(status=status, text=body or "", content_type="application/json")
        protocols = ()
        headers = result.get("headers") if isinstance(result, dict) else None
        if headers:
            chosen = {k.lower(): v for k, v in headers.items()}.get("sec-websocket-protocol")
            protocols = (chosen,) if chosen else ()
        ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE_BYTES, autoping=True, protocols=protocols)
        try:
            await ws.prepare(request)  # a client gone during $connect still gets its $disconnect
            conn.ws, conn.open = ws, True
            self.stats["connected"] += 1
            async for message in ws:
                if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    conn.last_active_ms = _now_ms()
                    self._spawn(conn, self._on_message(conn, message.data, message.type is WSMsgType.BINARY))
                elif message.type is WSMsgType.ERROR:
                    conn.close_reason = str(ws.exception())
        finally:
            self.connections.pop(conn.id, None)
            conn.open = False
            await self._on_disconnect(conn, ws.close_code)
        return ws

    async def _authorize(self, conn: LiveConnection, event: dict[str, Any]) -> web.Response | None:
        assert self.authorizer is not None
        method_arn = f"arn:aws:execute-api:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:{self.api_id}/{self.stage}/$connect"
        started = time.monotonic()
        decision = await self.authorizers.authorize(
            self.authorizer, {"type": "REQUEST", "methodArn": method_arn, **event},
            event.get("headers") or {}, event.get("queryStringParameters") or {})
        if not decision.allowed:
            message = {401: "Unauthorized", 403: "Forbidden"}.get(decision.status, "Internal server error")
            return web.Response(status=decision.status, text=orjson.dumps({"message": message}).decode(),
                                content_type="application/json")
        conn.authorizer = {"principalId": decision.principal_id, **decision.context,
                           "integrationLatency": int((time.monotonic() - started) * 1000)}
        return None

    def _spawn(self, conn: LiveConnection, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        conn.tasks.add(task)
        task.add_done_callback(conn.tasks.discard)

    async def _on_message(self, conn: LiveConnection, data: str | bytes, binary: bool) -> None:
        self.stats["messages"] += 1
        route = select_route(self.api.route_selection_expression, data, self.message_routes)
        request_id = base64.b64encode(os.urandom(10)).decode()
        if route not in self.functions:
            await self._send(conn, {"message": "Forbidden", "connectionId": conn.id, "requestId": request_id})
            return
        body = base64.b64encode(data).decode() if binary else data
        event = {
            "requestContext": self._context(conn, route, "MESSAGE", request_id) | {"messageId": request_id[:12]},
            "body": body,
            "isBase64Encoded": binary,
        }
        try:
            await self._invoke_route(route, event)
        except Exception:  # noqa: BLE001 - what API Gateway tells a client whose integration failed
            log.exception("route %s failed", route)
            await self._send(conn, {"message": "Internal server error", "connectionId": conn.id,
                                    "requestId": request_id})

    async def _on_disconnect(self, conn: LiveConnection, close_code: int | None) -> None:
        if "$disconnect" not in self.functions:
            return
        request_id = base64.b64encode(os.urandom(10)).decode()
        event = {
            "headers": {"Host": self._domain, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""},
            "multiValueHeaders": {},
            "requestContext": self._context(conn, "$disconnect", "DISCONNECT", request_id) | {
                "disconnectStatusCode": close_code if close_code is not None else 1006,
                "disconnectReason": conn.close_reason or ("Client-side close frame status code" if close_code else ""),
            },
            "isBase64Encoded": False,
        }
        try:
            await self._invoke_route("$disconnect", event)
        except Exception:  # noqa: BLE001 - a failing $disconnect changes nothing for anyone, as on AWS
            log.exception("$disconnect failed")

    async def _invoke_route(self, route: str, event: dict[str, Any]) -> Any:
        function = self.functions.get(route)
        if function is None:
            return {"statusCode": 200}
        return await asyncio.wait_for(self.invoke(function, event), self.limits.integration_timeout_s)

    @property
    def _domain(self) -> str:
        return self.domain_name or "127.0.0.1"

    def _context(self, conn: LiveConnection, route: str, event_type: str, request_id: str) -> dict[str, Any]:
        now = _now_ms()
        extra = {"authorizer": conn.authorizer} if conn.authorizer is not None else {}
        return extra | {
            "routeKey": route,
            "eventType": event_type,
            "extendedRequestId": request_id,
            "requestTime": _request_time(now),
            "messageDirection": "IN",
            "stage": self.stage,
            "connectedAt": conn.connected_at_ms,
            "requestTimeEpoch": now,
            "identity": {"sourceIp": conn.source_ip, "userAgent": conn.user_agent},
            "requestId": request_id,
            "domainName": self._domain,
            "connectionId": conn.id,
            "apiId": self.api_id,
        }

    def _connect_event(self, request: web.Request, conn: LiveConnection) -> dict[str, Any]:
        self.domain_name = request.host
        headers: dict[str, str] = {}
        multi_headers: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            name = str(name)  # aiohttp's istr: a str subclass that JSON encoders refuse as a key
            headers[name] = value
            multi_headers.setdefault(name, []).append(value)
        query = request.rel_url.query
        request_id = base64.b64encode(os.urandom(10)).decode()
        return {
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": {str(k): query.getone(k) for k in query.keys()} or None,
            "multiValueQueryStringParameters": {str(k): query.getall(k) for k in query.keys()} or None,
            "requestContext": self._context(conn, "$connect", "CONNECT", request_id),
            "isBase64Encoded": False,
        }

    async def _send(self, conn: LiveConnection, document: Any) -> None:
        if conn.ws is not None and not conn.ws.closed:
            await conn.ws.send_str(orjson.dumps(document).decode())

    # limits
    async def watch_limits(self, interval_s: float = 1.0) -> None:
        while True:
            await asyncio.sleep(interval_s)
            now = _now_ms()
            for conn in list(self.connections.values()):
                if conn.ws is None or not conn.open:
                    continue
                if now - conn.connected_at_ms >= self.limits.max_duration_s * 1000:
                    conn.close_reason = "Connection exceeded the maximum duration"
                elif now - conn.last_active_ms >= self.limits.idle_timeout_s * 1000:
                    conn.close_reason = "Connection idle timeout"
                else:
                    continue
                await conn.ws.close(code=GOING_AWAY, message=b"Going away")

    # the management API
    def _authorized(self, request: web.Request) -> bool:
        return not self.require_signature or request.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256 ")

    async def handle_management(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return _aws_error(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        conn = self.connections.get(request.match_info["connection_id"])
        if conn is None or not conn.open or conn.ws is None or conn.ws.closed:
            self.stats["gone"] += 1
            return _aws_error(410, "GoneException", None)
        if request.method == "POST":
            data = await request.read()
            if len(data) > MAX_MESSAGE_BYTES:
                return _aws_error(413, "PayloadTooLargeException", "Message too long")
            self.stats["posts"] += 1
            try:
                await conn.ws.send_str(data.decode())
            except UnicodeDecodeError:
                await conn.ws.send_bytes(data)
            except ConnectionError:
                return _aws_error(410, "GoneException", None)
            return web.Response(status=200, headers={"x-amzn-RequestId": str(uuid.uuid4())})
        if request.method == "GET":
            body = {"connectedAt": _iso(conn.connected_at_ms), "lastActiveAt": _iso(conn.last_active_ms),
                    "identity": {"sourceIp": conn.source_ip, "userAgent": conn.user_agent}}
            return web.Response(status=200, body=orjson.dumps(body), content_type="application/json")
        conn.close_reason = "Connection closed by the management API"
        self._spawn(conn, conn.ws.close(code=WSCloseCode.OK))
        return web.Response(status=204)

    async def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        for conn in list(self.connections.values()):
            if conn.ws is not None:
                await conn.ws.close(code=GOING_AWAY, message=b"Server shutdown")


WS_GATEWAY = web.AppKey("ws_gateway", WebSocketGateway)


def create_ws_app(runtime: Any, template: Template, settings: Any = None, *, stage: str | None = None,
                  limits: GatewayLimits | None = None, invoke: Invoke | None = None,
                  auth: bool | None = None) -> web.Application:
    """The WebSocket API of `template` and its management API as one aiohttp app (AWS serves both on the same
    host). `invoke(function_logical_id, event)` defaults to `runtime.invoke`; the idle timeout and maximum
    duration come from the engine's settings (`ws_idle_ms`, `ws_max_connection_ms`), the same limits the
    connection registry's expiries follow."""
    api = template.websocket_api
    if api is None:
        raise ValueError("the template declares no WebSocket API (AWS::ApiGatewayV2::Api, ProtocolType WEBSOCKET)")
    stage = stage or DEFAULT_STAGE
    if limits is None and settings is not None:
        limits = GatewayLimits(idle_timeout_s=settings.ws_idle_ms / 1000,
                               max_duration_s=settings.ws_max_connection_ms / 1000)
    limits = limits or GatewayLimits()
    if auth is None:  # the engine's AUTH_ENABLED setting, when the stack gives its settings
        auth = bool(getattr(settings, "auth_enabled", True))
    gateway = WebSocketGateway(invoke or runtime.invoke, api, stage=stage, limits=limits, auth=auth)
    app = web.Application(client_max_size=MAX_MESSAGE_BYTES * 2)
    for prefix in (f"/{stage}", ""):
        app.router.add_route("*", prefix + "/@connections/{connection_id}", _management(gateway))
    app.router.add_get(f"/{stage}", gateway.handle_upgrade)
    app.router.add_get(f"/{stage}/", gateway.handle_upgrade)
    app[WS_GATEWAY] = gateway

    async def start_watchdog(_app: web.Application) -> None:
        gateway._watchdog = asyncio.ensure_future(gateway.watch_limits(min(1.0, limits.idle_timeout_s / 4)))

    async def stop(_app: web.Application) -> None:
        await gateway.close()

    app.on_startup.append(start_watchdog)
    app.on_shutdown.append(stop)
    return app


def _management(gateway: WebSocketGateway) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        if request.method not in ("POST", "GET", "DELETE"):
            return _aws_error(405, "MethodNotAllowedException", "Method Not Allowed")
        return await gateway.handle_management(request)

    return handle
