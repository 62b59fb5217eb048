"""What every HTTP function shares: the resolver with validation, the error shape of API.md, request guards
(body size, content type) that run before validation, and the Lambda entry point with Powertools' Logger."""
from __future__ import annotations

import base64
import json
from typing import Any, Callable

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from order_engine.config import settings
from order_engine.errors import EngineError, ErrorCode, HTTP_STATUS
from order_engine.domain.orders import REQUEST_FIELDS

logger = Logger(service="order-engine")
JSON_TYPES = ("application/json",)
_JSON_CONTENT = "application/json"


def error_response(code: ErrorCode, message: str, details: list[dict[str, Any]] | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    body = {"error": {"code": str(code), "message": message, "details": details or []}}
    return Response(HTTP_STATUS[code], _JSON_CONTENT, json.dumps(body), headers=headers)


def _field_name(loc: tuple) -> str:
    """The request field an error is about (the top-level name; union members and list indexes dropped)."""
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return parts[0] if parts else "body"


def _validation_details(errors: list[dict[str, Any]]) -> tuple[ErrorCode, str, list[dict[str, Any]]]:
    if any(e.get("type") == "json_invalid" for e in errors):
        return ErrorCode.INVALID_JSON, "The request body is not valid JSON.", [
            {"field": "body", "rule": "json", "message": "The request body is not valid JSON."}]
    by_field: dict[str, list[dict[str, Any]]] = {}
    for e in errors:
        by_field.setdefault(_field_name(tuple(e.get("loc", ()))), []).append(e)
    details = []
    for field, errs in by_field.items():
        rule = errs[0].get("type", "invalid")
        if rule == "model_attributes_type" or (field == "body" and rule.endswith("_type")):
            field, rule, message = "body", "object", "The request body must be a JSON object."
        elif rule == "extra_forbidden":
            allowed = ", ".join(REQUEST_FIELDS)
            message = f"{field} is not a field of this request; allowed fields: {allowed}."
        elif rule == "missing":
            message = f"{field} is required."
        else:
            wanted = " or ".join(dict.fromkeys(str(e.get("msg", "valid")).removeprefix("Input should be ") for e in errs))
            message = f"{field} should be {wanted}."
        details.append({"field": field, "rule": rule, "message": message})
    return ErrorCode.INVALID_REQUEST, details[0]["message"], details


def create_app(*routers: APIGatewayHttpRouter) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)
    for router in routers:
        app.include_router(router)

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response:
        code, message, details = _validation_details(list(exc.errors()))
        return error_response(code, message, details)

    @app.exception_handler(EngineError)
    def _engine_error(exc: EngineError) -> Response:
        return Response(exc.http_status, _JSON_CONTENT, json.dumps(exc.to_body()))

    @app.not_found
    def _not_found(_exc: Exception) -> Response:
        return error_response(ErrorCode.NOT_FOUND, "No such route; see /api/openapi.json for the routes this API has.")

    return app


def guard(event: dict[str, Any]) -> Response | None:
    """Refuse oversized and non-JSON bodies before anything parses them."""
    body = event.get("body")
    if not body:
        return None
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode())
    limit = settings().max_body_bytes
    if size > limit:
        return error_response(ErrorCode.BODY_TOO_LARGE, f"The request body is over the limit of {limit} bytes.",
                              [{"field": "body", "rule": "max_bytes", "limit": limit}])
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and not (content_type in JSON_TYPES or content_type.endswith("+json")):
        return error_response(ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                              f"Content-Type {content_type} is not supported; send application/json.",
                              [{"field": "Content-Type", "rule": "json", "message": "Send application/json."}])
    if event.get("isBase64Encoded"):
        try:
            event["body"] = base64.b64decode(body).decode()
            event["isBase64Encoded"] = False
        except (ValueError, UnicodeDecodeError):
            return error_response(ErrorCode.INVALID_JSON, "The request body is not UTF-8 JSON.",
                                  [{"field": "body", "rule": "json", "message": "The request body is not UTF-8 JSON."}])
    return None


def lambda_entry(app: APIGatewayHttpResolver) -> Callable[[dict, Any], dict]:
    """The Lambda handler for a resolver: guards, then routes; a bug becomes a 500 in our error shape."""
    # the library's stdlib loggers write through Powertools' JSON formatter, with the keys appended per request
    copy_config_to_registered_loggers(source_logger=logger, include={"order_engine"})

    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        refused = guard(event)
        if refused is not None:
            return _to_proxy(refused)
        try:
            return app.resolve(event, context)
        except Exception:  # noqa: BLE001 - the one place an unexpected error becomes a response
            logger.exception("unhandled error")
            return _to_proxy(error_response(ErrorCode.INTERNAL_ERROR, "Something went wrong on our side; retry, and report it if it persists."))

    return handler


def _to_proxy(response: Response) -> dict[str, Any]:
    return {"statusCode": response.status_code, "headers": {"Content-Type": _JSON_CONTENT, **(response.headers or {})},
            "body": response.body, "isBase64Encoded": False}
