"""What an invocation raises instead of returning the function's result, with the error documents Lambda gives."""
from __future__ import annotations

import time
from typing import Any


class InvokeError(Exception):
    """Base of everything `Runtime.invoke` raises instead of returning the function's result."""


class FunctionNotFound(InvokeError):
    pass


class TooManyRequests(InvokeError):
    """The function's reserved concurrency is in use (Lambda's TooManyRequestsException)."""


class FunctionError(InvokeError):
    """The invocation failed: `payload` is Lambda's error document (errorMessage, errorType, stackTrace)."""

    def __init__(self, payload: dict[str, Any]):
        super().__init__(f"{payload.get('errorType')}: {payload.get('errorMessage')}")
        self.payload = payload


class FunctionTimeout(FunctionError):
    pass


class FunctionCrashed(FunctionError):
    pass


def runtime_error(error_type: str, message: str, request_id: str = "") -> dict[str, Any]:
    """The error document of a failure the runtime reports (the handler never answered)."""
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": []}


def shutting_down() -> FunctionError:
    return FunctionError(runtime_error("Runtime.Unavailable", "the local stack is shutting down"))


def utc_timestamp() -> str:
    """Now as Lambda's timeout message writes it, e.g. 2024-05-01T12:00:00.123Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"
