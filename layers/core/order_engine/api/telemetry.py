"""What every function's entry point shares to be observable: Powertools' Logger (JSON lines carrying the
correlation id and the order id), its Tracer (X-Ray, active in the template; a no-op where
POWERTOOLS_TRACE_DISABLED is set, as the local stack sets it) and the correlation id of an HTTP request."""
from __future__ import annotations

import json
import logging
import sys
from typing import Any

import orjson
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.shared.functions import powertools_dev_is_set
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from order_engine.domain.order import CORRELATION_ID, parse_correlation_id
from order_engine.log_context import OrderFields
from order_engine.errors import EngineError

SERVICE = "order-engine"


class CurrentStdout(logging.StreamHandler):
    """A handler writing to whatever `sys.stdout` is when a record is emitted (on Lambda, always fd 1).

    Powertools' default handler keeps the `sys.stdout` of the moment the Logger is built: built at import under
    pytest, that was one test's capture stream, closed when the test ended, and every later record printed
    "--- Logging error --- ValueError: I/O operation on closed file"."""

    def __init__(self) -> None:
        self._chosen: Any = None  # a stream given with setStream(); None: sys.stdout at each record
        super().__init__(sys.stdout)
        self.addFilter(OrderFields())  # the executor's and the fan-out's lines name the order they are about

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stdout if self._chosen is None else self._chosen

    @stream.setter
    def stream(self, value: Any) -> None:
        self._chosen = None if value is sys.stdout else value


# orjson writes what Powertools' json.dumps(default=str, ensure_ascii=False) writes, in a tenth of the time; the
# types it would write otherwise (datetimes, dataclasses) go through str() as before
_LOG_JSON = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | (
    orjson.OPT_INDENT_2 if powertools_dev_is_set() else 0)


def log_json(line: dict[str, Any]) -> str:
    try:
        return orjson.dumps(line, default=str, option=_LOG_JSON).decode()
    except TypeError:  # what orjson refuses (an int over 64 bits): the standard library writes it
        return json.dumps(line, default=str, separators=(",", ":"), ensure_ascii=False)


logger = Logger(service=SERVICE, logger_handler=CurrentStdout(), json_serializer=log_json)
tracer = Tracer(service=SERVICE)


def log_library_through_powertools() -> None:
    """The library's stdlib loggers (`order_engine.*`) write through the same JSON formatter and handler."""
    logging.getLogger("order_engine")  # Powertools configures only the loggers that exist: make sure this one does
    copy_config_to_registered_loggers(source_logger=logger, include={"order_engine"})


def correlation_id(event: dict[str, Any]) -> str | None:
    """The client's x-correlation-id when it sent a valid one, else API Gateway's request id (when it has one that
    could be a correlation id: a test client's may be empty)."""
    headers = event.get("headers") or {}
    for candidate in (headers.get(CORRELATION_ID), (event.get("requestContext") or {}).get("requestId")):
        if candidate is not None:
            try:
                return parse_correlation_id(candidate)
            except EngineError:
                pass  # a bad header: the submit route refuses it with a 400 naming it; the log lines still correlate
    return None
