"""Error codes and the exceptions that carry them: the one source for both.

The HTTP layer maps an exception to a response by its type (never by its message); `HTTP_STATUS` says which
status each code travels with.
"""
from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    INVALID_JSON = "invalid_json"
    INVALID_REQUEST = "invalid_request"
    INVALID_ORDER_ID = "invalid_order_id"
    INVALID_CURSOR = "invalid_cursor"
    BODY_TOO_LARGE = "body_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    NOT_FOUND = "not_found"
    ORDER_NOT_FOUND = "order_not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    UNKNOWN_ACTION = "unknown_action"  # a WebSocket message whose action no route serves
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    NOT_RETRYABLE = "not_retryable"  # an operator retry of an order that is neither failed nor dead-lettered
    ALREADY_LISTED = "already_listed"  # a listing for a pair that has one
    NOT_CANCELLABLE = "not_cancellable"  # a cancel of an order that has started routing or ended otherwise
    UNAUTHORIZED = "unauthorized"  # no API key, or one that is unknown or revoked
    FORBIDDEN = "forbidden"  # a valid key without the operator right on an operator route
    RATE_LIMITED = "rate_limited"  # the client's submit bucket is empty (Retry-After says when it is not)
    QUOTE_NOT_FOUND = "quote_not_found"  # a quoteId no quote has (never issued, or long gone)
    QUOTE_EXPIRED = "quote_expired"  # a quoteId past its validity (QUOTE_TTL_MS)
    DATABASE_UNAVAILABLE = "database_unavailable"
    VENUE_UNAVAILABLE = "venue_unavailable"  # no venue answered a quote request
    REDIS_UNAVAILABLE = "redis_unavailable"
    INTERNAL_ERROR = "internal_error"


HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.INVALID_JSON: 400,
    ErrorCode.INVALID_REQUEST: 400,
    ErrorCode.INVALID_ORDER_ID: 400,
    ErrorCode.INVALID_CURSOR: 400,
    ErrorCode.BODY_TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.ORDER_NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.UNKNOWN_ACTION: 400,
    ErrorCode.IDEMPOTENCY_CONFLICT: 409,
    ErrorCode.NOT_RETRYABLE: 409,
    ErrorCode.ALREADY_LISTED: 409,
    ErrorCode.NOT_CANCELLABLE: 409,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.QUOTE_NOT_FOUND: 404,
    ErrorCode.QUOTE_EXPIRED: 410,
    ErrorCode.DATABASE_UNAVAILABLE: 503,
    ErrorCode.VENUE_UNAVAILABLE: 503,
    ErrorCode.REDIS_UNAVAILABLE: 503,
    ErrorCode.INTERNAL_ERROR: 500,
}


class EngineError(Exception):
    """An error a caller can act on: a code, a sentence, and optional details."""

    code: ErrorCode = ErrorCode.INTERNAL_ERROR

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None, code: ErrorCode | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []
        if code is not None:
            self.code = code

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]

    @property
    def headers(self) -> dict[str, str]:
        """Response headers the error travels with over HTTP."""
        return {}

    def to_body(self) -> dict[str, Any]:
        return {"error": {"code": str(self.code), "message": self.message, "details": self.details}}


class InvalidRequest(EngineError):
    code = ErrorCode.INVALID_REQUEST


class InvalidField(InvalidRequest):
    """One field broke one rule; the message names both."""

    def __init__(self, field: str, rule: str, message: str):
        super().__init__(message, [{"field": field, "rule": rule, "message": message}])
        self.field, self.rule = field, rule


class NotFound(EngineError):
    code = ErrorCode.NOT_FOUND


class QuoteNotFound(EngineError):
    code = ErrorCode.QUOTE_NOT_FOUND


class QuoteExpired(EngineError):
    code = ErrorCode.QUOTE_EXPIRED


class IdempotencyConflict(EngineError):
    code = ErrorCode.IDEMPOTENCY_CONFLICT


class DependencyUnavailable(EngineError):
    """PostgreSQL or Redis did not answer; `code` names which."""

    def __init__(self, dependency: str, cause: BaseException | None = None):
        code = ErrorCode.DATABASE_UNAVAILABLE if dependency == "postgresql" else ErrorCode.REDIS_UNAVAILABLE
        name = "PostgreSQL" if dependency == "postgresql" else "Redis"
        super().__init__(f"{name} is unavailable; retry shortly.", [{"dependency": dependency}], code=code)
        self.dependency = dependency
        self.__cause__ = cause


class RateLimited(EngineError):
    """The client's submit bucket is empty; `retry_after_s` goes out as Retry-After."""

    code = ErrorCode.RATE_LIMITED

    def __init__(self, retry_after_s: int, rate_per_s: float, burst: int):
        message = (f"Too many orders: this key may submit {rate_per_s:g} a second (bursts of {burst}); "
                   f"retry in {retry_after_s} s.")
        super().__init__(message, [{"field": "Authorization", "rule": "rate_limit", "ratePerSecond": rate_per_s,
                                    "burst": burst, "retryAfterSeconds": retry_after_s}])
        self.retry_after_s = retry_after_s

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}
