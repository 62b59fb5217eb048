"""The functions' Logger writes to the stdout of the moment, log lines written while an order is worked on name
it, and the correlation id of an HTTP request is the client's or the gateway's."""
from __future__ import annotations

import asyncio
import io
import json
import logging
import sys

from tests.support.lambdas import http_event
from order_engine.api import telemetry
from order_engine.log_context import about


def test_a_line_logged_after_the_first_stdout_closed_goes_to_the_current_one(monkeypatch):
    first = io.StringIO()
    monkeypatch.setattr(sys, "stdout", first)
    telemetry.logger.info("one")
    first.close()  # as pytest closes one test's capture, or a runtime replaces its stream
    second = io.StringIO()
    monkeypatch.setattr(sys, "stdout", second)

    telemetry.logger.info("two")

    assert json.loads(second.getvalue())["message"] == "two"


def test_library_lines_in_an_orders_task_carry_its_ids_and_other_tasks_do_not(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    telemetry.logger.clear_state()  # as the executor's handler starts: no request's keys appended
    telemetry.log_library_through_powertools()
    log = logging.getLogger("order_engine.test_telemetry")

    async def work(order_id: str | None) -> None:
        if order_id:
            about(order_id, f"corr-{order_id}")
        await asyncio.sleep(0)
        log.warning("working")

    async def main() -> None:
        await asyncio.gather(work("a"), work("b"), work(None))

    asyncio.run(main())

    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert sorted((line.get("order_id", ""), line.get("correlation_id", "")) for line in lines) == [
        ("", ""), ("a", "corr-a"), ("b", "corr-b")]


def test_the_correlation_id_is_the_clients_header_else_the_gateways_request_id():
    sent = http_event("GET", "/api/health", headers={"x-correlation-id": "abc-123"})
    plain = http_event("GET", "/api/health")
    bad = http_event("GET", "/api/health", headers={"x-correlation-id": "two words"})

    assert telemetry.correlation_id(sent) == "abc-123"
    assert telemetry.correlation_id(plain) == plain["requestContext"]["requestId"]
    assert telemetry.correlation_id(bad) == bad["requestContext"]["requestId"]
