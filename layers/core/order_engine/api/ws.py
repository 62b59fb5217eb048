"""The WebSocket API's Lambda entry points, the counterpart of api/http.py: API Gateway WebSocket events (route
selection expression `$request.body.action`) become calls on the subscription service, one handler per route,
and `replay`, which `$connect` invokes asynchronously to send a `?orderId=` subscriber its history once it is
open. A failed message becomes an error frame to the sender; a refused `$connect` answers in the error shape."""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Callable

from order_engine import bootstrap
from order_engine.api import strict_json
from order_engine.api.telemetry import log_library_through_powertools, logger, tracer
from order_engine.config import settings
from order_engine.domain.api_keys import EVERY_CLIENT, Client
from order_engine.errors import EngineError, ErrorCode
from order_engine.services.subscribe import Connection, unknown_action

OK = {"statusCode": 200}
log_library_through_powertools()


def _entry(handler: Callable[[dict[str, Any], Any], Any]) -> Callable[[dict[str, Any], Any], Any]:
    """A WebSocket function's Lambda entry: JSON logs with the request's keys, traced (a no-op unless enabled)."""
    return logger.inject_lambda_context(clear_state=True)(tracer.capture_lambda_handler(capture_response=False)(handler))


def _about(order_id: Any) -> Any:
    """Annotate the trace and the log lines with the order a message names (as sent: validated downstream)."""
    if isinstance(order_id, str):
        tracer.put_annotation(key="order_id", value=order_id[:64])
        logger.append_keys(order_id=order_id[:64])
    return order_id


def _connection(event: dict[str, Any]) -> Connection:
    context = event["requestContext"]
    return Connection(id=context["connectionId"], connected_at_ms=int(context.get("connectedAt") or 0))


def _reader(event: dict[str, Any]) -> str | None:
    """Whose orders the connection may follow, as the event says: the client the $connect authorizer admitted (API
    Gateway puts its context, flattened beside principalId, in requestContext.authorizer of every event of the
    connection), EVERY_CLIENT for an operator key. None: the event carries no authorizer context (access control
    off; or a chalice message event), and the subscription service decides (services/subscribe.py)."""
    client = Client.from_context((event.get("requestContext") or {}).get("authorizer") or {})
    return None if client is None else client.reads_as or EVERY_CLIENT


def _message(event: dict[str, Any]) -> dict[str, Any]:
    """The frame as a JSON object, parsed by the same strict rules as HTTP bodies (strict_json)."""
    body: str | bytes = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body)
        except (ValueError, binascii.Error):
            raise strict_json.invalid_json("message", "its base64 encoding is broken") from None
    limit = settings().max_body_bytes
    if len(body) > limit:  # a str's length bounds its UTF-8 size from below; either is cheap to refuse
        raise EngineError(f"The message is over the limit of {limit} bytes.",
                          [{"field": "body", "rule": "max_bytes", "limit": limit}], code=ErrorCode.BODY_TOO_LARGE)
    try:
        message = strict_json.loads(body, what="message")
    except EngineError as exc:
        if exc.code is ErrorCode.INVALID_JSON:
            exc.message += ' Send a JSON object such as {"action": "subscribe", "orderId": "<id>"}.'
        raise
    if not isinstance(message, dict):
        raise EngineError("The message must be a JSON object with an action.", code=ErrorCode.INVALID_REQUEST)
    return message


def _on_message(event: dict[str, Any], action: Callable[[Connection, dict[str, Any]], None]) -> dict[str, Any]:
    """Run a message route; an EngineError becomes an error frame to the sender, and the connection stays open."""
    conn = _connection(event)
    try:
        action(conn, _message(event))
    except EngineError as exc:
        bootstrap.subscriptions().reply_error(conn, exc)
    return OK


@_entry
def connect(event: dict[str, Any], context: Any) -> dict[str, Any]:
    order_id = _about((event.get("queryStringParameters") or {}).get("orderId"))
    try:
        bootstrap.subscriptions().connect(_connection(event), order_id, _reader(event))
    except EngineError as exc:
        return {"statusCode": exc.http_status, "body": json.dumps(exc.to_body())}
    return OK


@_entry
def disconnect(event: dict[str, Any], context: Any) -> dict[str, Any]:
    bootstrap.subscriptions().disconnect(event["requestContext"]["connectionId"])
    return OK


@_entry
def subscribe(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _on_message(event, lambda conn, message: bootstrap.subscriptions().subscribe(
        conn, _about(message.get("orderId")), _reader(event)))


@_entry
def unsubscribe(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _on_message(event, lambda conn, message: bootstrap.subscriptions().unsubscribe(conn, message.get("orderId")))


@_entry
def ping(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _on_message(event, lambda conn, _message: bootstrap.subscriptions().ping(conn))


@_entry
def default(event: dict[str, Any], context: Any) -> dict[str, Any]:
    def refuse(_conn: Connection, message: dict[str, Any]) -> None:
        raise unknown_action(message.get("action"))

    return _on_message(event, refuse)


@_entry
def replay(event: dict[str, Any], context: Any) -> None:
    bootstrap.subscriptions().replay(event["connectionId"], _about(event["orderId"]))
