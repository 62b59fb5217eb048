"""The Lambda entry point of every HTTP function: access (the authorizer's verdict), the request guards, a 405 for a method the path does not
serve, then the function's resolver; an unexpected error becomes a 500 in the API's error shape.

405 is answered here, in the function, rather than by the gateway: API Gateway HTTP APIs answer 404 for a
method no route has, so template.yaml routes `ANY` for each path to the function serving it, and this guard
answers 405 with `Allow` from the routers of the whole API (`routes.API_ROUTERS`), so it is right whichever
function a request lands on."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Callable, Iterable

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from order_engine import bootstrap
from order_engine.api import authorizer_context
from order_engine.api.http import to_proxy, error_response, guard
from order_engine.api.telemetry import correlation_id, log_library_through_powertools, logger, tracer
from order_engine.api.routes import API_ROUTERS
from order_engine.errors import ErrorCode


class RouteTable:
    """Which methods each path of the API serves, from its Powertools routers (static paths before templated
    ones, as API Gateway and Powertools match them)."""

    def __init__(self, routers: Iterable[APIGatewayHttpRouter]):
        methods: dict[str, set[str]] = {}
        for router in routers:
            for key in router._routes:  # noqa: SLF001 - (rule, methods, ...): Powertools keeps no public list
                rule, route_methods = key[0], key[1]
                methods.setdefault(rule, set()).update(m.upper() for m in route_methods)
        ordered = sorted(methods.items(), key=lambda item: "<" in item[0])
        self._routes = [(re.compile(re.sub(r"<\w+>", "[^/]+", re.escape(rule))), tuple(sorted(m))) for rule, m in ordered]

    def allowed(self, path: str) -> tuple[str, ...] | None:
        for pattern, methods in self._routes:
            if pattern.fullmatch(path):
                return methods
        return None


@lru_cache(maxsize=1)
def api_routes() -> RouteTable:
    return RouteTable(API_ROUTERS)


def _method_not_allowed(event: dict[str, Any]) -> Response | None:
    context = event.get("requestContext") or {}
    method = ((context.get("http") or {}).get("method") or "").upper()
    path, stage = event.get("rawPath") or "", context.get("stage") or "$default"
    if stage != "$default":  # the path within the stage, as Powertools routes it
        path = path[len("/" + stage):]
    allowed = api_routes().allowed(path)
    if allowed is None or method in allowed:
        return None
    message = f"{path[:80]} does not serve {method[:16]}; it serves {', '.join(allowed)}."
    return error_response(ErrorCode.METHOD_NOT_ALLOWED, message,
                          [{"field": "method", "rule": "allowed_methods", "allowed": list(allowed), "message": message}],
                          headers={"Allow": ", ".join(allowed)})


def lambda_entry(app: APIGatewayHttpResolver) -> Callable[[dict, Any], dict]:
    """The Lambda handler for a resolver: guards, then routes; a bug becomes a 500 in our error shape."""
    log_library_through_powertools()

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        logger.set_correlation_id(correlation_id(event))
        refused = authorizer_context.refusal(event) or guard(event) or _method_not_allowed(event)
        if refused is not None:
            return to_proxy(refused)
        try:
            return app.resolve(event, context)
        except Exception:  # noqa: BLE001 - the one place an unexpected error becomes a response
            logger.exception("unhandled error")
            return to_proxy(error_response(ErrorCode.INTERNAL_ERROR, "Something went wrong on our side; retry, and report it if it persists."))
        finally:
            bootstrap.metrics().flush()  # a frozen or reclaimed environment would never write what it kept

    # Disabled, the Tracer still opens a (dummy) X-Ray subsegment per call: wrap only when it traces
    traced = handler if tracer.disabled else tracer.capture_lambda_handler(handler, capture_response=False)
    return logger.inject_lambda_context(traced, clear_state=True)
