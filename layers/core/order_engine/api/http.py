"""What every HTTP function shares: the resolver with validation, the error shape of API.md, the request guards
that run before validation (NUL and non-UTF-8 text in headers, query and path; body size, content type and
encoding), and Powertools' Logger. The Lambda entry point, which also needs the whole API's routes, is
`api/entry.py`."""
from __future__ import annotations

import base64
import json
import re
from decimal import Decimal
from typing import Any

import orjson
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from order_engine.api import strict_json
from order_engine.config import settings
from order_engine.errors import EngineError, ErrorCode, HTTP_STATUS
from order_engine.domain.order import REQUEST_FIELDS

JSON_TYPES = ("application/json",)
_JSON_CONTENT = "application/json"
METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # HTTP field values allow HTAB and nothing else below 0x20


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
            wanted = " or ".join(dict.fromkeys(_wanted(e) for e in errs))
            message = f"{field} should be {wanted}."
        details.append({"field": field, "rule": rule, "message": message})
    return ErrorCode.INVALID_REQUEST, details[0]["message"], details


def _wanted(error: dict[str, Any]) -> str:
    kind, ctx = error.get("type"), error.get("ctx") or {}
    if kind == "is_instance_of":  # a Numeral: a JSON number with a fraction (strict_json)
        return "a number"
    if kind == "string_pattern_mismatch":
        return f"a string matching {ctx.get('pattern')}"
    if kind == "string_too_long":
        return f"a string of at most {ctx.get('max_length')} characters"
    return str(error.get("msg", "valid")).removeprefix("Input should be ")


def _orjson_default(value: Any) -> Any:
    if isinstance(value, Decimal):  # as Powertools' own encoder writes one
        return str(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def serialize(document: Any) -> str:
    """Response bodies: orjson writes the same compact JSON as Powertools' default, at a fraction of its CPU."""
    return orjson.dumps(document, default=_orjson_default).decode()


def create_app(*routers: APIGatewayHttpRouter) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True, json_body_deserializer=strict_json.loads, serializer=serialize)
    for router in routers:
        app.include_router(router)

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response:
        code, message, details = _validation_details(list(exc.errors()))
        return error_response(code, message, details)

    @app.exception_handler(EngineError)
    def _engine_error(exc: EngineError) -> Response:
        return Response(exc.http_status, _JSON_CONTENT, json.dumps(exc.to_body()), headers=exc.headers or None)

    @app.not_found
    def _not_found(_exc: Exception) -> Response:
        return error_response(ErrorCode.NOT_FOUND, "No such route; see /api/openapi.json for the routes this API has.")

    return app


def guard(event: dict[str, Any]) -> Response | None:
    """Refuse, before anything parses them: text that is not UTF-8 or holds a NUL (or another control character,
    in a header) anywhere in the request; an oversized, non-JSON or non-UTF-8 body. Each check is linear in the
    request's size, which the gateway bounds."""
    refused = _bad_text(event)
    if refused is not None:
        return refused
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method", "").upper()
    return _bad_body(event) if method in METHODS_WITH_BODY else None


def _bad_text(event: dict[str, Any]) -> Response | None:
    fields: list[tuple[str, str, str, bool]] = []  # (kind, name, value, is_header)
    fields += [("header", k, v, True) for k, v in (event.get("headers") or {}).items()]
    fields += [("query parameter", k, v, False) for k, v in (event.get("queryStringParameters") or {}).items()]
    fields += [("path parameter", k, v, False) for k, v in (event.get("pathParameters") or {}).items()]
    fields += [("cookie", "Cookie", c, True) for c in event.get("cookies") or []]
    fields += [("path", "path", event.get("rawPath") or "", False)]
    for kind, name, value, is_header in fields:
        for text in (name, value):
            if not isinstance(text, str) or (text.isascii() and text.isprintable()):
                continue  # printable ASCII (most of any request) passes every rule below
            label = name if strict_json.is_utf8(name) else name.encode("utf-8", "replace").decode()
            if not strict_json.is_utf8(text) or (is_header and "\ufffd" in text):
                # a gateway hands bytes that were not UTF-8 as lone surrogates or U+FFFD (the local one does)
                return _text_refusal(kind, label, "utf8", "is not UTF-8 text")
            if "\x00" in text:
                return _text_refusal(kind, label, "no_nul", "contains a NUL character")
            if is_header and _CONTROL.search(text):
                return _text_refusal(kind, label, "no_control_characters", "contains a control character")
    return None


def _text_refusal(kind: str, name: str, rule: str, problem: str) -> Response:
    message = f"The {kind} {name[:64]!r} {problem}."
    return error_response(ErrorCode.INVALID_REQUEST, message, [{"field": name[:64], "rule": rule, "message": message}])


def _bad_body(event: dict[str, Any]) -> Response | None:
    body = event.get("body")
    if not body:
        return None
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode("utf-8", "surrogatepass"))
    limit = settings().max_body_bytes
    if size > limit:
        return error_response(ErrorCode.BODY_TOO_LARGE, f"The request body is over the limit of {limit} bytes.",
                              [{"field": "body", "rule": "max_bytes", "limit": limit}])
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and not (content_type in JSON_TYPES or content_type.endswith("+json")):
        return error_response(ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                              f"Content-Type {content_type[:64]} is not supported; send application/json.",
                              [{"field": "Content-Type", "rule": "json", "message": "Send application/json."}])
    if event.get("isBase64Encoded"):
        try:
            event["body"] = base64.b64decode(body).decode("utf-8")
            event["isBase64Encoded"] = False
        except (ValueError, UnicodeDecodeError):
            error = strict_json.not_utf8("request body")
            return error_response(error.code, error.message, error.details)
    elif not strict_json.is_utf8(body):
        error = strict_json.not_utf8("request body")
        return error_response(error.code, error.message, error.details)
    if content_type != _JSON_CONTENT:  # Powertools parses only application/json; +json is JSON too
        event["headers"] = {**{k: v for k, v in event["headers"].items() if k.lower() != "content-type"},
                            "content-type": _JSON_CONTENT}
    return None


def to_proxy(response: Response) -> dict[str, Any]:
    return {"statusCode": response.status_code, "headers": {"Content-Type": _JSON_CONTENT, **(response.headers or {})},
            "body": response.body, "isBase64Encoded": False}
