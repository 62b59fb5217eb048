"""The Lambda authorizers' entry points: the HTTP API's (payload format 2.0, simple responses) and the WebSocket
API's `$connect` REQUEST authorizer (an IAM policy).

The HTTP authorizer always answers `isAuthorized: true` and says in its context who the caller is, or why it is
nobody: an HTTP API cannot shape the gateway's own 401/403 bodies (it answers `{"message": "Forbidden"}`), and
API.md wants every 401 in the error shape, so the function (`api/entry.py`) answers the 401 from this context.
A route without the authorizer (the open ones, or a stack with access control off) carries no context at all.

On `$connect` a bad key refuses the handshake: the authorizer raises "Unauthorized", which API Gateway answers 401.
"""
from __future__ import annotations

from typing import Any

from order_engine import bootstrap
from order_engine.api.telemetry import logger
from order_engine.domain.api_keys import credentials
from order_engine.errors import DependencyUnavailable

MISSING, INVALID = "missing", "invalid"


def verdict(headers: dict[str, str]) -> dict[str, Any]:
    """The context for a request with these headers: the client, or `clientId: ""` and the reason."""
    key = credentials(headers)
    if key is None:
        return {"clientId": "", "reason": MISSING}
    try:
        client = bootstrap.authenticator().client(key)
    except DependencyUnavailable as exc:
        return {"clientId": "", "reason": exc.dependency}
    return {"clientId": "", "reason": INVALID} if client is None else client.to_context()


@logger.inject_lambda_context(clear_state=True)
def http(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"isAuthorized": True, "context": verdict(event.get("headers") or {})}


@logger.inject_lambda_context(clear_state=True)
def websocket(event: dict[str, Any], context: Any) -> dict[str, Any]:
    key = credentials(event.get("headers") or {}, event.get("queryStringParameters") or {})
    client = bootstrap.authenticator().client(key) if key is not None else None
    if client is None:
        logger.info("WebSocket connect refused", extra={"reason": MISSING if key is None else INVALID})
        raise Exception("Unauthorized")  # noqa: TRY002 - API Gateway's contract: this message means 401
    return {
        "principalId": client.id,
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event.get("methodArn", "*")}]},
        "context": client.to_context(),
    }
