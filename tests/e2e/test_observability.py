"""Through the local stack: the functions' EMF metrics and correlated log lines for orders' lives, read from the
stack's log (where every function's stdout goes) and summarised by `python -m local.metrics_summary`."""
from __future__ import annotations

import json

import requests

from local.metrics_summary import summarise

ORDER = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "0.1"}
STEPS = ("RoutingMs", "BuildingMs", "SubmittedMs", "ConfirmedMs", "SubmitToConfirmedMs")


def test_orders_lives_show_in_the_stacks_metrics_and_their_correlation_ids_in_the_executors_lines(start_engine,
                                                                                                   wait_for):
    stack = start_engine(DEX_LATENCY_SCALE="0", METRICS_FLUSH_MS="300", IDLE_EXIT_MS="1000")
    ids = {}
    for n in range(3):
        response = stack.client.post(f"{stack.http_url}/api/orders/execute", json=ORDER,
                                     headers={"x-correlation-id": f"e2e-corr-{n}"}, timeout=10)
        assert response.status_code == 202, response.text
        ids[response.json()["orderId"]] = f"e2e-corr-{n}"

    def confirmed() -> bool:
        metrics = summarise(stack.log().splitlines())
        return metrics.get("OrdersConfirmed", {}).get("total", 0) >= 3

    wait_for(confirmed, timeout=60)
    metrics = summarise(stack.log().splitlines())

    assert metrics["OrdersSubmitted"]["total"] == 3
    assert metrics["OrdersConfirmed"]["total"] == 3
    for step in STEPS:
        assert metrics[step]["count"] == 3, step
    assert "InFlight" in metrics and "QueueReady" in metrics

    steps: dict[str, list[str]] = {order_id: [] for order_id in ids}
    for line in stack.log().splitlines():
        if '"order finished"' in line:
            record = json.loads(line)
            if record["order_id"] in ids:
                assert record["correlation_id"] == ids[record["order_id"]]
                steps[record["order_id"]] += [status for status, _ms in record["steps_ms"]]
    assert all(s == ["routing", "building", "submitted", "confirmed"] for s in steps.values()), steps


def test_the_stack_serves_the_summary_of_the_functions_metrics_and_still_logs_their_lines(start_engine, wait_for):
    stack = start_engine(DEX_LATENCY_SCALE="0", METRICS_FLUSH_MS="300", IDLE_EXIT_MS="1000")
    response = stack.client.post(f"{stack.http_url}/api/orders/execute", json=ORDER, timeout=10)
    assert response.status_code == 202, response.text
    order_id = response.json()["orderId"]
    wait_for(lambda: stack.client.get(f"{stack.http_url}/api/orders/{order_id}", timeout=10).json()["status"]
             == "confirmed", timeout=60)

    def served() -> dict | None:
        answer = stack.client.get(f"{stack.http_url}/api/metrics", timeout=10)
        assert answer.status_code == 200, answer.text
        metrics = answer.json()
        return metrics if metrics.get("OrdersConfirmed", {}).get("total", 0) >= 1 else None

    metrics = wait_for(served, timeout=30)
    assert metrics["OrdersSubmitted"]["total"] >= 1
    assert metrics["SubmitToConfirmedMs"]["count"] >= 1
    assert metrics["SubmitToConfirmedMs"]["p50"] <= metrics["SubmitToConfirmedMs"]["max"]
    assert "last" in metrics["InFlight"]
    # the workers' lines still reach the stack's log, EMF and JSON log lines alike, as the served figures say
    log = stack.log().splitlines()
    assert summarise(log)["OrdersConfirmed"] == metrics["OrdersConfirmed"]
    assert any('"order finished"' in line and order_id in line for line in log)

    refused = requests.get(f"{stack.http_url}/api/metrics", timeout=10)  # no key
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    wrong_method = stack.client.post(f"{stack.http_url}/api/metrics", timeout=10)
    assert wrong_method.status_code == 405 and wrong_method.headers["Allow"] == "GET"
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
