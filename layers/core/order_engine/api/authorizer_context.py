"""What the HTTP functions make of the authorizer's context (requestContext.authorizer.lambda, see
api/authorizer.py): the calling client, or the 401/403/503 that refuses the request before any route runs. It
applies to every route of every HTTP function alike, so a new route is covered by declaring it in template.yaml
(where the API's default authorizer guards it unless the route opts out)."""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response

from order_engine.api.http import error_response
from order_engine.domain.api_keys import OPERATOR_PATH_PREFIX, Client
from order_engine.errors import DependencyUnavailable, ErrorCode

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="order-engine"'}


def authorizer_context(event: dict[str, Any]) -> dict[str, Any] | None:
    """None when no authorizer ran for this request (an open route, or access control off)."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    context = authorizer.get("lambda")
    return context if isinstance(context, dict) else None


def caller(event: dict[str, Any]) -> Client | None:
    context = authorizer_context(event)
    return None if context is None else Client.from_context(context)


def refusal(event: dict[str, Any], operator_only: bool | None = None) -> Response | None:
    """`operator_only`: whether only an operator key may go on (by default: on the operator routes' paths)."""
    context = authorizer_context(event)
    if context is None:
        return None
    client = Client.from_context(context)
    if client is None:
        reason = context.get("reason")
        if reason in ("postgresql", "redis"):
            error = DependencyUnavailable(str(reason))
            return error_response(error.code, error.message, error.details)
        what = "has no API key" if reason == "missing" else "has an API key that is unknown or revoked"
        message = (f"The request {what}; send one as Authorization: Bearer <key> or x-api-key: <key>"
                   " (python -m local.key_admin create makes one).")
        return error_response(ErrorCode.UNAUTHORIZED, message,
                              [{"field": "Authorization", "rule": "api_key", "message": message}], headers=_CHALLENGE)
    path = ((event.get("requestContext") or {}).get("http") or {}).get("path") or event.get("rawPath") or ""
    if operator_only is None:
        operator_only = path.startswith(OPERATOR_PATH_PREFIX)
    if operator_only and not client.operator:
        message = "This API key may not use the operator routes; use an operator key (python -m local.key_admin create --operator)."
        return error_response(ErrorCode.FORBIDDEN, message,
                              [{"field": "Authorization", "rule": "operator", "message": message}])
    return None
