"""Metrics, correlated logs and traces of an order's life, read from what the functions write to their logs:
the submit and executor handlers run in-process against the real PostgreSQL and Redis, and their stdout (where
Lambda's log lines and CloudWatch's embedded metric format go) is parsed line by line."""
from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest

from tests.support.lambdas import FakeLambdaContext, http_event, load_function, response_json
from tests.support.reads import order_count, order_of
from order_engine import bootstrap, config

SOL_TO_USDC = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1"}


class ExecutorContext(FakeLambdaContext):
    function_name = "order-engine-executor"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def json_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def emf(lines: list[dict[str, Any]]) -> dict[tuple[str, str | None], list[float]]:
    """Every metric value the EMF lines carry, by (name, reason dimension), after checking each line's schema."""
    values: dict[tuple[str, str | None], list[float]] = defaultdict(list)
    for line in lines:
        if "_aws" not in line:
            continue
        (directive,) = line["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "OrderEngine"
        for dimension in directive["Dimensions"][0]:
            assert dimension in line
        for metric in directive["Metrics"]:
            value = line[metric["Name"]]
            values[(metric["Name"], line.get("reason"))] += value if isinstance(value, list) else [value]
    return values


@pytest.fixture
def quick(configured, monkeypatch):
    for name, value in {"DEX_LATENCY_SCALE": "0", "IDLE_EXIT_MS": "300", "EXECUTOR_POLL_MS": "50",
                        "BACKOFF_BASE_MS": "5", "BACKOFF_CAP_MS": "10"}.items():
        monkeypatch.setenv(name, value)
    config.settings.cache_clear()
    bootstrap.services.cache_clear()
    bootstrap.metrics.cache_clear()
    yield
    bootstrap.metrics.cache_clear()


def submit(submit_fn, headers: dict[str, str] | None = None) -> str:
    response = submit_fn.handler(http_event("POST", "/api/orders/execute", SOL_TO_USDC, headers=headers),
                                 FakeLambdaContext())
    assert response["statusCode"] == 202, response
    return response_json(response)["orderId"]


def test_an_orders_life_shows_in_the_metrics_and_its_correlation_id_on_every_executor_line(quick, submit_fn, capsys):
    order_id = submit(submit_fn, {"x-correlation-id": "client-corr-42"})
    submit_out = json_lines(capsys.readouterr().out)

    executor = load_function("executor")
    summary = executor.handler({"source": "aws.events"}, ExecutorContext())
    executor_out = json_lines(capsys.readouterr().out)

    assert summary["outcomes"] == {"confirmed": 1}
    submitted = emf(submit_out)
    assert submitted[("OrdersSubmitted", None)] == [1.0]
    accepted = [line for line in submit_out if line.get("message") == "order accepted"]
    assert accepted and accepted[0]["order_id"] == order_id and accepted[0]["correlation_id"] == "client-corr-42"

    metrics = emf(executor_out)
    assert metrics[("OrdersConfirmed", None)] == [1.0]
    for step in ("RoutingMs", "BuildingMs", "SubmittedMs", "ConfirmedMs", "SubmitToConfirmedMs"):
        assert len(metrics[(step, None)]) == 1 and metrics[(step, None)][0] >= 0, step
    # from submit to confirmed is at least the sum of the steps after routing
    steps_after_routing = sum(metrics[(s, None)][0] for s in ("BuildingMs", "SubmittedMs", "ConfirmedMs"))
    assert metrics[("SubmitToConfirmedMs", None)][0] >= steps_after_routing - 1
    # the queue's gauges at the end of the run: nothing left
    assert metrics[("QueueReady", None)][-1] == 0 and metrics[("InFlight", None)][-1] == 0

    about_order = [line for line in executor_out if line.get("order_id") == order_id]
    [finished] = [line for line in about_order if line.get("message") == "order finished"]
    assert [status for status, _ms in finished["steps_ms"]] == ["routing", "building", "submitted", "confirmed"]
    assert finished["status"] == "confirmed" and finished["total_ms"] >= sum(ms for _s, ms in finished["steps_ms"]) - 1
    assert all(line.get("correlation_id") == "client-corr-42" for line in about_order)


def test_without_a_header_the_gateways_request_id_is_the_correlation_id(quick, submit_fn, db, capsys):
    event = http_event("POST", "/api/orders/execute", SOL_TO_USDC)
    response = submit_fn.handler(event, FakeLambdaContext())
    order_id = response_json(response)["orderId"]

    lines = json_lines(capsys.readouterr().out)

    request_id = event["requestContext"]["requestId"]
    assert order_of(db, order_id).correlation_id == request_id
    assert [line.get("correlation_id") for line in lines if line.get("message") == "order accepted"] == [request_id]


def test_a_bad_correlation_id_is_refused_naming_the_header_and_nothing_is_written(quick, submit_fn, db):
    response = submit_fn.handler(http_event("POST", "/api/orders/execute", SOL_TO_USDC,
                                            headers={"x-correlation-id": "has spaces"}), FakeLambdaContext())

    assert response["statusCode"] == 400
    error = response_json(response)["error"]
    assert error["details"][0]["field"] == "x-correlation-id" and error["details"][0]["rule"] == "visible_ascii"
    assert order_count(db) == 0


def test_retries_and_failures_are_counted_by_reason(quick, submit_fn, monkeypatch, capsys):
    monkeypatch.setenv("DEX_FAIL_RPC_ERROR", "1.0")  # every send fails: two retries, then the order fails
    config.settings.cache_clear()
    submit(submit_fn)
    capsys.readouterr()

    summary = load_function("executor").handler({"source": "aws.events"}, ExecutorContext())
    metrics = emf(json_lines(capsys.readouterr().out))

    assert summary["outcomes"].get("failed") == 1
    assert metrics[("Retries", "rpc_error")] == [2.0]
    assert metrics[("OrdersFailed", "rpc_error")] == [1.0]
    assert ("OrdersConfirmed", None) not in metrics


def test_metrics_off_writes_no_emf(quick, submit_fn, monkeypatch, capsys):
    monkeypatch.setenv("METRICS_ENABLED", "0")
    config.settings.cache_clear()
    bootstrap.metrics.cache_clear()
    submit(submit_fn)
    load_function("executor").handler({"source": "aws.events"}, ExecutorContext())

    assert emf(json_lines(capsys.readouterr().out)) == {}


def test_the_submit_and_read_traces_are_annotated_with_the_order_id(quick, submit_fn, orders_fn, monkeypatch):
    from order_engine.api import telemetry

    annotations: list[tuple[str, Any]] = []
    monkeypatch.setattr(telemetry.tracer, "put_annotation", lambda key, value: annotations.append((key, value)))
    order_id = submit(submit_fn)
    orders_fn.handler(http_event("GET", f"/api/orders/{order_id}", route_key="GET /api/orders/{orderId}",
                                 path_parameters={"orderId": order_id}), FakeLambdaContext())

    assert annotations == [("order_id", order_id), ("order_id", order_id)]
