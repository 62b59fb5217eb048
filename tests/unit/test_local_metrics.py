"""The local summary of EMF lines (local/metrics_summary.py), fed a line at a time as the running stack feeds it: counts
summed, gauges' last value, timings' count, percentiles and maximum, per reason; other lines ignored."""
from __future__ import annotations

import json

from local.metrics_summary import MetricsSummary, summarise


def emf(name: str, unit: str, value, **dimensions) -> str:
    metrics = {"CloudWatchMetrics": [{"Namespace": "OrderEngine", "Dimensions": [list(dimensions)],
                                      "Metrics": [{"Name": name, "Unit": unit}]}]}
    return json.dumps({"_aws": {"Timestamp": 0, **metrics}, name: value, **dimensions})


LINES = [
    emf("OrdersSubmitted", "Count", 1), "a plain log line", '{"level": "INFO", "message": "not EMF"}',
    emf("OrdersSubmitted", "Count", [1, 1]), emf("OrdersFailed", "Count", 1, reason="slippage"),
    emf("InFlight", "Count", 3), emf("InFlight", "Count", 1), '{"_aws": broken',
    *(emf("ConfirmedMs", "Milliseconds", v) for v in range(1, 101)),
]


def test_a_summary_fed_line_by_line_counts_gauges_and_timings_per_reason():
    metrics = MetricsSummary()
    for line in LINES:
        metrics.add(line)
    summary = metrics.summary()
    assert summary == summarise(LINES)
    assert summary["OrdersSubmitted"] == {"total": 3}
    assert summary["OrdersFailed[slippage]"] == {"total": 1}
    assert summary["InFlight"] == {"last": 1, "max": 3}
    assert summary["ConfirmedMs"] == {"count": 100, "p50": 51, "p95": 96, "max": 100}


def test_a_windowed_summary_keeps_totals_and_takes_percentiles_over_the_latest_values():
    metrics = MetricsSummary(window=10)
    for line in LINES:
        metrics.add(line)
    assert metrics.summary()["ConfirmedMs"] == {"count": 100, "p50": 96, "p95": 100, "max": 100}
    assert metrics.summary()["OrdersSubmitted"] == {"total": 3}
