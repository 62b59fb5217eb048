"""The local API Gateway HTTP API: routes from template.yaml, requests as payload format 2.0 events, function
results back as HTTP responses, with API Gateway's own answers for what never reaches a function.

The event and response translation (`Router`, `build_event`, `build_response`) is pure, so it is unit-tested
without a server; `create_http_app` wires it to aiohttp and the runtime.
"""
from __future__ import annotations

import asyncio
import base64
import functools
import random
import re
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import parse_qsl, unquote

import orjson
from aiohttp import web

from local.authorizers import AuthorizerRunner
from local.cloudformation import LOCAL_ACCOUNT_ID, LOCAL_REGION
from local.runtime import FunctionError, FunctionNotFound, Runtime, TooManyRequests
from local.template import Authorizer, HttpRoute, Template
from order_engine.api.authorizer_context import refusal
from order_engine.api.http import error_response
from order_engine.errors import ErrorCode

API_ID = "localhttpapi"
INTEGRATION_TIMEOUT_S = 30  # API Gateway's HTTP API gives up on an integration after 30 s (503)
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024

NOT_FOUND = (404, {"message": "Not Found"})
INTERNAL_ERROR = (500, {"message": "Internal Server Error"})
SERVICE_UNAVAILABLE = (503, {"message": "Service Unavailable"})
TOO_MANY_REQUESTS = (429, {"message": "Too Many Requests"})
METRICS_PATH = "/api/metrics"  # local only: what CloudWatch shows on AWS (see docs/operations.md, "Metrics")

_STATIC, _PARAM, _GREEDY = 0, 1, 2
_TEXT_TYPES = re.compile(
    r"^(text/.*|application/(json|[\w.+-]*\+json|xml|[\w.+-]*\+xml|javascript|ecmascript|graphql|yaml|x-yaml))$")


@dataclass(frozen=True)
class RouteMatch:
    route: HttpRoute
    path_parameters: dict[str, str]


class _CompiledRoute:
    def __init__(self, route: HttpRoute):
        self.route = route
        self.segments = [s for s in route.path.split("/") if s] if route.method != "$default" else []
        self.kinds = [_GREEDY if s.endswith("+}") else _PARAM if s.startswith("{") else _STATIC
                      for s in self.segments]

    def match(self, parts: list[str]) -> dict[str, str] | None:
        params: dict[str, str] = {}
        for i, (segment, kind) in enumerate(zip(self.segments, self.kinds)):
            if kind == _GREEDY:
                if i >= len(parts):
                    return None
                params[segment[1:-2]] = "/".join(parts[i:])
                return params
            if i >= len(parts):
                return None
            if kind == _STATIC:
                if segment != parts[i]:
                    return None
            else:
                params[segment[1:-1]] = parts[i]
        return params if len(parts) == len(self.segments) else None

    def priority(self) -> tuple:
        """Smaller wins: per segment a static one beats a {param}, which beats a {greedy+}; then a route for the
        request's method beats ANY."""
        return (self.kinds, self.route.method == "ANY")


class Router:
    """API Gateway HTTP API route selection: the most specific path wins, `$default` catches the rest."""

    def __init__(self, routes: Iterable[HttpRoute]):
        routes = list(routes)
        compiled = [_CompiledRoute(r) for r in routes if r.method != "$default"]
        # most specific first (sorted is stable: among equals the template's order, as the first best match was)
        self._routes = sorted(compiled, key=_CompiledRoute.priority)
        self._by_length: dict[int, list[_CompiledRoute]] = {}  # the routes a path of that many segments can match
        self._default = next((r for r in routes if r.method == "$default"), None)

    def _candidates(self, length: int) -> list[_CompiledRoute]:
        candidates = self._by_length.get(length)
        if candidates is None:
            candidates = [c for c in self._routes if len(c.segments) == length
                          or (_GREEDY in c.kinds and c.kinds.index(_GREEDY) < length)]
            if length <= _MAX_CACHED_LENGTH:
                self._by_length[length] = candidates
        return candidates

    def match(self, method: str, path: str) -> RouteMatch | None:
        parts = [unquote(p) if "%" in p else p for p in path.split("/") if p]
        for compiled in self._candidates(len(parts)):
            if compiled.route.method != method and compiled.route.method != "ANY":
                continue
            params = compiled.match(parts)
            if params is not None:
                return RouteMatch(compiled.route, params)
        if self._default is not None:
            return RouteMatch(self._default, {})
        return None


_MAX_CACHED_LENGTH = 64  # paths deeper than this (never a route's) are matched without filling the cache


def is_text(content_type: str | None) -> bool:
    if not content_type:
        return False
    return bool(_TEXT_TYPES.match(content_type.split(";", 1)[0].strip().lower()))


def as_utf8_text(text: str) -> str:
    """A request's text as a JSON event can carry it: bytes that were not UTF-8 (aiohttp keeps them as lone
    surrogates) become U+FFFD, the replacement character, which the functions refuse in headers."""
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def build_event(*, method: str, raw_path: str, raw_query: str, headers: Iterable[tuple[str, str]], body: bytes,
                match: RouteMatch, source_ip: str, request_id: str, now: float | None = None,
                protocol: str = "HTTP/1.1", stage: str = "$default") -> dict[str, Any]:
    """An API Gateway HTTP API payload format 2.0 event."""
    now = time.time() if now is None else now
    raw_path, raw_query = as_utf8_text(raw_path), as_utf8_text(raw_query)
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        name, value = as_utf8_text(name.lower()), as_utf8_text(value)
        if name == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        merged[name] = f"{merged[name]},{value}" if name in merged else value
    host = merged.get("host", "localhost")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default" if match.route.method == "$default" else match.route.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = merged
    if raw_query:
        query: dict[str, str] = {}
        for key, value in parse_qsl(raw_query, keep_blank_values=True):
            query[key] = f"{query[key]},{value}" if key in query else value
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": LOCAL_ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": host,
        "domainPrefix": host.split(".", 1)[0].split(":", 1)[0],
        "http": {
            "method": method,
            "path": raw_path,
            "protocol": protocol,
            "sourceIp": source_ip,
            "userAgent": merged.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": event["routeKey"],
        "stage": stage,
        "time": _request_time(int(now)),
        "timeEpoch": int(now * 1000),
    }
    if match.path_parameters:
        event["pathParameters"] = match.path_parameters
    if body:
        if is_text(merged.get("content-type")):
            try:
                event["body"] = body.decode("utf-8")
                event["isBase64Encoded"] = False
                return event
            except UnicodeDecodeError:
                pass
        event["body"] = base64.b64encode(body).decode("ascii")
        event["isBase64Encoded"] = True
    else:
        event["isBase64Encoded"] = False
    return event


@functools.lru_cache(maxsize=4)
def _request_time(second: int) -> str:
    """requestContext.time, formatted once a second rather than once a request."""
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(second))


_ids = random.Random()  # seeded from os.urandom: ids must be unique, not secret


def _gateway_request_id() -> str:
    """An id like API Gateway's apigw-requestid (base64 of 10 random bytes)."""
    return base64.b64encode(_ids.getrandbits(80).to_bytes(10, "big")).decode()


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def json_response(status: int, document: Any) -> HttpResponse:
    return HttpResponse(status, [("content-type", "application/json")], orjson.dumps(document))


def build_response(result: Any) -> HttpResponse:
    """Payload 2.0's response rules: a dict with `statusCode` is taken field by field; anything else is the JSON
    body of a 200. A response API Gateway could not use is its 500."""
    if not (isinstance(result, dict) and "statusCode" in result):
        return json_response(200, result)
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError):
        return json_response(*INTERNAL_ERROR)
    headers: list[tuple[str, str]] = []
    for name, value in (result.get("headers") or {}).items():
        headers.append((name, str(value)))
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((name, str(v)) for v in values)
    headers.extend(("set-cookie", str(c)) for c in result.get("cookies") or [])
    body = result.get("body")
    if body is None:
        raw = b""
    elif not isinstance(body, str):
        raw = orjson.dumps(body)
    elif result.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except ValueError:
            return json_response(*INTERNAL_ERROR)
    else:
        raw = body.encode("utf-8")
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("content-type", "application/json"))
    return HttpResponse(status, headers, raw)


_GATEWAY_REFUSALS = {401: (401, {"message": "Unauthorized"}), 403: (403, {"message": "Forbidden"}),
                     500: INTERNAL_ERROR}


def authorizer_event(event: dict[str, Any], authorizer: Authorizer) -> dict[str, Any]:
    """The REQUEST authorizer's event for a request's payload 2.0 event: the request without its body, with the
    route's ARN (its identitySource is added by the runner when the authorizer lists sources)."""
    context = event["requestContext"]
    http = context["http"]
    route_arn = (f"arn:aws:execute-api:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:{API_ID}/{context['stage']}/"
                 f"{http['method']}{http['path']}")
    request = {k: v for k, v in event.items() if k not in ("body", "isBase64Encoded")}
    return {"version": "2.0", "type": "REQUEST", "routeArn": route_arn, "identitySource": [], **request}


class HttpGateway:
    """Serves the template's HTTP API routes over aiohttp, invoking functions through the runtime, behind their
    Lambda authorizers (unless `auth` is off: the local stack's AUTH_ENABLED=false)."""

    def __init__(self, runtime: Runtime, template: Template, auth: bool = True):
        self.runtime = runtime
        self.router = Router(template.http_routes)
        # the gateway's own routes are guarded like the operator routes (the authorizer, then an operator key)
        guarded = [r for r in template.http_routes if r.authorizer is not None]
        self.operator_authorizer = next((r.authorizer for r in guarded if r.path.startswith("/api/operator/")),
                                        guarded[0].authorizer if guarded else None)
        self.timeouts = {lid: f.timeout for lid, f in template.functions.items()}
        self.auth = auth
        self.authorizers = AuthorizerRunner(runtime.invoke)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        request_id = _gateway_request_id()
        match = self.router.match(request.method, request.rel_url.raw_path)
        if match is None:
            response = json_response(*NOT_FOUND)
        else:
            body = await request.read()
            event = build_event(
                method=request.method, raw_path=request.rel_url.raw_path, raw_query=request.rel_url.raw_query_string,
                headers=request.headers.items(), body=body, match=match, source_ip=request.remote or "127.0.0.1",
                request_id=request_id, protocol=f"HTTP/{request.version.major}.{request.version.minor}",
            )
            authorizer = match.route.authorizer if self.auth else None
            refusal = None if authorizer is None else await self._authorize(authorizer, event)
            response = refusal or await self._invoke(match.route.function, event)
        out = web.Response(status=response.status, body=response.body)
        for name, value in response.headers:
            out.headers.add(name, value)
        out.headers["apigw-requestid"] = request_id
        return out

    async def serve_metrics(self, request: web.Request, summary: Callable[[], Any]) -> web.StreamResponse:
        """`GET /api/metrics`: the summary of the functions' EMF metrics, for an operator key."""
        request_id = _gateway_request_id()
        denied: HttpResponse | None = None
        if self.auth and self.operator_authorizer is not None:  # access first, then the method, as the functions do
            authorizer = self.operator_authorizer
            route = HttpRoute(request.method, METRICS_PATH, authorizer.function, authorizer=authorizer)
            event = build_event(
                method=request.method, raw_path=request.rel_url.raw_path, raw_query=request.rel_url.raw_query_string,
                headers=request.headers.items(), body=b"", match=RouteMatch(route, {}),
                source_ip=request.remote or "127.0.0.1", request_id=request_id,
            )
            denied = await self._authorize(authorizer, event)
            if denied is None:
                refused = refusal(event, operator_only=True)
                denied = None if refused is None else _from_powertools(refused)
        if denied is None and request.method != "GET":
            message = f"{METRICS_PATH} does not serve {request.method[:16]}; it serves GET."
            denied = _from_powertools(error_response(
                ErrorCode.METHOD_NOT_ALLOWED, message,
                [{"field": "method", "rule": "allowed_methods", "allowed": ["GET"], "message": message}],
                headers={"Allow": "GET"}))
        response = denied or json_response(200, summary())
        out = web.Response(status=response.status, body=response.body)
        for name, value in response.headers:
            out.headers.add(name, value)
        out.headers["apigw-requestid"] = request_id
        return out

    async def _authorize(self, authorizer: Authorizer, event: dict[str, Any]) -> HttpResponse | None:
        """None when the request may go on (the authorizer's context then in requestContext.authorizer.lambda)."""
        decision = await self.authorizers.authorize(authorizer, authorizer_event(event, authorizer),
                                                    event.get("headers") or {}, event.get("queryStringParameters") or {})
        if not decision.allowed:
            return json_response(*_GATEWAY_REFUSALS.get(decision.status, INTERNAL_ERROR))
        event["requestContext"]["authorizer"] = {"lambda": decision.context}
        return None

    async def _invoke(self, function: str, event: dict[str, Any]) -> HttpResponse:
        try:
            if self.timeouts[function] <= INTEGRATION_TIMEOUT_S:  # the function times out first
                result = await self.runtime.invoke(function, event)
            else:
                invocation = asyncio.ensure_future(self.runtime.invoke(function, event))
                try:
                    # shielded: like API Gateway, giving up on the answer does not stop the function
                    result = await asyncio.wait_for(asyncio.shield(invocation), INTEGRATION_TIMEOUT_S)
                except asyncio.TimeoutError:
                    invocation.add_done_callback(_consume)
                    return json_response(*SERVICE_UNAVAILABLE)
        except TooManyRequests:
            return json_response(*TOO_MANY_REQUESTS)
        except (FunctionError, FunctionNotFound):
            return json_response(*INTERNAL_ERROR)
        return build_response(result)


def _from_powertools(response: Any) -> HttpResponse:
    headers = [(name, v) for name, value in response.headers.items()
               for v in (value if isinstance(value, list) else [value])]
    return HttpResponse(response.status_code, headers, str(response.body).encode())


def _consume(task: asyncio.Future) -> None:
    if not task.cancelled():
        task.exception()


HTTP_GATEWAY = web.AppKey("http_gateway", HttpGateway)


def create_http_app(runtime: Runtime, template: Template,
                    extra_routes: Mapping[str, Any] | None = None, *, auth: bool = True,
                    metrics: Callable[[], Any] | None = None) -> web.Application:
    """The HTTP API as an aiohttp app. `extra_routes` ({"GET /": handler}) leaves room for local-only pages such
    as a redirect of / to the tracking page; template routes are matched first. `metrics` (the summary of the
    functions' EMF lines) is served as `GET /api/metrics` when the template has no such route."""
    gateway = HttpGateway(runtime, template, auth)
    app = web.Application(client_max_size=MAX_PAYLOAD_BYTES)
    extras = dict(extra_routes or {})

    async def dispatch(request: web.Request) -> web.StreamResponse:
        extra = extras.get(f"{request.method} {request.path}")
        if extra is not None and gateway.router.match(request.method, request.rel_url.raw_path) is None:
            return await extra(request)
        if (metrics is not None and request.path == METRICS_PATH
                and gateway.router.match(request.method, request.rel_url.raw_path) is None):
            return await gateway.serve_metrics(request, metrics)
        return await gateway.handle(request)

    # [\s\S], not `.`: a path with an encoded newline must reach the router, not aiohttp's plain-text 404
    app.router.add_route("*", r"/{tail:[\s\S]*}", dispatch)
    app[HTTP_GATEWAY] = gateway
    return app
