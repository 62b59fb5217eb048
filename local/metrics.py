"""A summary of the engine's CloudWatch EMF metrics from the local stack's log (every function's stdout goes there,
as it goes to CloudWatch Logs on AWS, where CloudWatch turns the same lines into metrics).

    ./local/up 2>&1 | tee stack.log            # or any log of `python -m local`
    .venv/bin/python -m local.metrics stack.log # (or from stdin); --json for the summary as JSON

Counts are summed, gauges show their last value, timings their count, p50, p95 and maximum; a metric with a
`reason` dimension (failures, retries) is listed per reason.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from typing import Any, Iterable


def metric_values(lines: Iterable[str]) -> dict[str, dict[str, Any]]:
    """{metric name (with `[reason]` when it has one): {"unit", "values"}} from the EMF lines among `lines`."""
    found: dict[str, dict[str, Any]] = defaultdict(lambda: {"unit": None, "values": []})
    for line in lines:
        start = line.find('{"_aws"')
        if start < 0:
            continue
        try:
            record = json.loads(line[start:])
        except ValueError:
            continue
        for directive in record["_aws"].get("CloudWatchMetrics", []):
            for metric in directive.get("Metrics", []):
                name = metric["Name"]
                key = f"{name}[{record['reason']}]" if "reason" in record else name
                value = record.get(name)
                found[key]["unit"] = metric.get("Unit")
                found[key]["values"] += value if isinstance(value, list) else [value]
    return dict(found)


GAUGES = ("QueueReady", "QueueDelayed", "InFlight", "QueueDeadLettered", "LocalInFlight")


def summarise(lines: Iterable[str]) -> dict[str, dict[str, Any]]:
    summary: dict[str, dict[str, Any]] = {}
    for key, metric in sorted(metric_values(lines).items()):
        values = metric["values"]
        if metric["unit"] == "Milliseconds":
            ordered = sorted(values)
            summary[key] = {"count": len(ordered), "p50": _at(ordered, 0.5), "p95": _at(ordered, 0.95),
                            "max": ordered[-1]}
        elif key in GAUGES:
            summary[key] = {"last": values[-1], "max": max(values)}
        else:
            summary[key] = {"total": sum(values)}
    return summary


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
