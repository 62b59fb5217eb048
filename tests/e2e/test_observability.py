"""Through the local stack: the functions' EMF metrics and correlated log lines for orders' lives, read from the
stack's log (where every function's stdout goes) and summarised by `python -m local.metrics`."""
from __future__ import annotations

import json

import requests

from local.metrics import summarise

ORDER = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "0.1"}
STEPS = ("RoutingMs", "BuildingMs", "SubmittedMs", "ConfirmedMs", "SubmitToConfirmedMs")


def test_orders_lives_show_in_the_stacks_metrics_and_their_correlation_ids_in_the_executors_lines(start_engine,
                                                                                                   wait_for):
    stack = start_engine(DEX_LATENCY_SCALE="0", METRICS_FLUSH_MS="300", IDLE_EXIT_MS="1000")
    ids = {}
    for n in range(3):
        response = requests.post(f"{stack.http_url}/api/orders/execute", json=ORDER,
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
        if '"order step recorded"' in line:
            record = json.loads(line)
            if record["order_id"] in ids:
                assert record["correlation_id"] == ids[record["order_id"]]
                steps[record["order_id"]].append(record["status"])
    assert all(s == ["routing", "building", "submitted", "confirmed"] for s in steps.values()), steps
