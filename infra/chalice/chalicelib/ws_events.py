"""Chalice's WebSocket API has only $connect, $disconnect and $default (message) routes, so the route selection
API Gateway does for template.yaml (`$request.body.action`) happens here: a message goes to the handler of its
action's route, or to `default`, as API Gateway would choose it. The events passed on are API Gateway's own
(chalice's WebsocketEvent keeps the original event)."""
from __future__ import annotations

import base64
import json
from typing import Any, Callable

from chalicelib import handlers

# the route keys of template.yaml's WebSocket API besides $connect, $disconnect and $default
MESSAGE_ROUTES: dict[str, Callable[[dict[str, Any], Any], Any]] = {
    "subscribe": handlers.ws.subscribe,
    "subscribeOrder": handlers.ws.subscribe,
    "unsubscribe": handlers.ws.unsubscribe,
    "ping": handlers.ws.ping,
}


def selected_route(event: dict[str, Any]) -> str:
    """The route key API Gateway would select for this message: its JSON `action`, else $default."""
    body = event.get("body") or ""
    try:
        if event.get("isBase64Encoded"):
            body = base64.b64decode(body).decode()
        action = json.loads(body).get("action")
    except (ValueError, UnicodeDecodeError, AttributeError):
        return "$default"
    return action if isinstance(action, str) and action in MESSAGE_ROUTES else "$default"


def on_message(event: dict[str, Any], context: Any) -> Any:
    return MESSAGE_ROUTES.get(selected_route(event), handlers.ws.default)(event, context)


def on_connect(event: dict[str, Any], context: Any) -> Any:
    """Chalice attaches no authorizer to a WebSocket API, so the key is checked here, by the same authorizer code
    template.yaml runs on $connect; a refusal is the same 401 handshake, an admitted client's context is put where
    API Gateway would put it, so $connect registers the connection as that client (chalice's message events carry
    no context: a subscribe is limited by the registered client)."""
    try:
        admitted = handlers.authorizer.websocket(event, context)
    except Exception:  # noqa: BLE001 - the authorizer's "Unauthorized" (or an outage): refuse the handshake
        return {"statusCode": 401, "body": json.dumps({"message": "Unauthorized"})}
    event.setdefault("requestContext", {})["authorizer"] = {"principalId": admitted["principalId"], **admitted["context"]}
    return handlers.ws.connect(event, context)


def on_disconnect(event: dict[str, Any], context: Any) -> Any:
    return handlers.ws.disconnect(event, context)


def replay(event: dict[str, Any], context: Any) -> Any:
    return handlers.ws.replay(event, context)
