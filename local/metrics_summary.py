"""A summary of the engine's CloudWatch EMF metrics from the local stack's log (every function's stdout goes there,
as it goes to CloudWatch Logs on AWS, where CloudWatch turns the same lines into metrics).

    ./local/up 2>&1 | tee stack.log            # or any log of `python -m local`
    .venv/bin/python -m local.metrics_summary stack.log # (or from stdin); --json for the summary as JSON

Counts are summed, gauges show their last value, timings their count, p50, p95 and maximum; a metric with a
`reason` dimension (failures, retries) is listed per reason. The running stack keeps the same summary of its
workers' lines in memory and serves it as `GET /api/metrics` (local only; see docs/operations.md, "Metrics").
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict, deque
from typing import Any, Iterable, Iterator


def emf_values(line: str) -> Iterator[tuple[str, str | None, list[Any]]]:
    """(metric name with `[reason]` when it has one, unit, values) for each metric of an EMF line; nothing for
    any other line."""
    start = line.find('{"_aws"')
    if start < 0:
        return
    try:
        record = json.loads(line[start:])
        directives = record["_aws"].get("CloudWatchMetrics", [])
    except (ValueError, AttributeError, KeyError, TypeError):
        return
    for directive in directives:
        for metric in directive.get("Metrics", []):
            name = metric["Name"]
            key = f"{name}[{record['reason']}]" if "reason" in record else name
            value = record.get(name)
            values = value if isinstance(value, list) else [value]
            yield key, metric.get("Unit"), [v for v in values if isinstance(v, (int, float))]


def metric_values(lines: Iterable[str]) -> dict[str, dict[str, Any]]:
    """{metric name (with `[reason]` when it has one): {"unit", "values"}} from the EMF lines among `lines`."""
    found: dict[str, dict[str, Any]] = defaultdict(lambda: {"unit": None, "values": []})
    for line in lines:
        for key, unit, values in emf_values(line):
            found[key]["unit"] = unit
            found[key]["values"] += values
    return dict(found)


GAUGES = ("QueueReady", "QueueDelayed", "InFlight", "QueueDeadLettered", "LocalInFlight")


class _Figures:
    __slots__ = ("unit", "count", "total", "last", "max", "recent")

    def __init__(self, window: int | None):
        self.unit: str | None = None
        self.count = 0
        self.total: float = 0
        self.last: float | None = None
        self.max: float | None = None
        self.recent: deque[float] = deque(maxlen=window)


class MetricsSummary:
    """The summary of EMF lines fed one at a time (`add`), as the local stack feeds its workers' lines: counts
    summed, gauges' last value and maximum, timings' count, p50, p95 and maximum. With a `window`, timings'
    percentiles are over their latest `window` values, so a long-running stack's memory stays bounded."""

    def __init__(self, window: int | None = None):
        self.window = window
        self._figures: dict[str, _Figures] = {}

    def add(self, line: str) -> None:
        for key, unit, values in emf_values(line):
            figures = self._figures.get(key)
            if figures is None:
                figures = self._figures[key] = _Figures(self.window)
            figures.unit = unit
            for value in values:
                figures.count += 1
                figures.total += value
                figures.last = value
                figures.max = value if figures.max is None else max(figures.max, value)
                figures.recent.append(value)

    def summary(self) -> dict[str, dict[str, Any]]:
        summary: dict[str, dict[str, Any]] = {}
        for key, figures in sorted(self._figures.items()):
            if not figures.count:
                continue
            if figures.unit == "Milliseconds":
                ordered = sorted(figures.recent)
                summary[key] = {"count": figures.count, "p50": _at(ordered, 0.5), "p95": _at(ordered, 0.95),
                                "max": figures.max}
            elif key in GAUGES:
                summary[key] = {"last": figures.last, "max": figures.max}
            else:
                summary[key] = {"total": figures.total}
        return summary


def summarise(lines: Iterable[str]) -> dict[str, dict[str, Any]]:
    metrics = MetricsSummary()
    for line in lines:
        metrics.add(line)
    return metrics.summary()


def _at(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log", nargs="?", help="a log of the local stack (default: stdin)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with (open(args.log, errors="replace") if args.log else sys.stdin) as source:
        summary = summarise(source)
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    for key, figures in summary.items():
        print(f"{key:40} " + "  ".join(f"{name} {value:g}" for name, value in figures.items()))


if __name__ == "__main__":
    main()
