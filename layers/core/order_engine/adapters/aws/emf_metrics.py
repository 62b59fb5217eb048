"""The production `Metrics`: CloudWatch embedded metric format (EMF) through Powertools Metrics, aggregated.

Powertools writes one EMF JSON line per flush, and a metric may hold up to 100 values in one line, so this keeps
counts as running totals and timings as lists between flushes: a flush of the executor covering thousands of steps
writes a handful of lines (one per 100 timings of a metric, one per failure reason), not one per event. EMF allows
one dimension set per line, so each failure reason goes in a line of its own with a `reason` dimension.
EphemeralMetrics, not Metrics: Metrics shares its metric set across every instance in the process.
"""
from __future__ import annotations

import sys
from collections import defaultdict

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit


class EmfMetrics:
    enabled = True

    def __init__(self, namespace: str, service: str):
        self.namespace, self.service = namespace, service
        self._counts: defaultdict[tuple[str, str | None], float] = defaultdict(float)
        self._timings: defaultdict[str, list[float]] = defaultdict(list)
        self._gauges: dict[str, float] = {}
        # built once: Powertools' provider costs more to build than to fill, and its flush empties it for reuse
        self._plain: EphemeralMetrics | None = None
        self._by_reason: EphemeralMetrics | None = None

    def count(self, name: str, value: float = 1, reason: str | None = None) -> None:
        self._counts[(name, reason)] += value

    def timing(self, name: str, ms: float) -> None:
        self._timings[name].append(ms)

    def gauge(self, name: str, value: float) -> None:
        self._gauges[name] = value

    def flush(self) -> None:
        if not (self._counts or self._timings or self._gauges):
            return  # most reads record nothing: no line, nothing to build
        counts, self._counts = self._counts, defaultdict(float)
        timings, self._timings = self._timings, defaultdict(list)
        gauges, self._gauges = self._gauges, {}
        if self._plain is None:
            self._plain, self._by_reason = self._line(), self._line()
        try:
            self._write(counts, timings, gauges)
        except BaseException:
            self._plain = self._by_reason = None  # a line half-filled must not ride in the next flush
            raise
        # Powertools prints; a stdout that is a pipe or file holds lines back until its buffer fills, and a frozen
        # or reclaimed environment would never write them
        sys.stdout.flush()

    def _write(self, counts: dict[tuple[str, str | None], float], timings: dict[str, list[float]],
               gauges: dict[str, float]) -> None:
        plain = self._plain
        by_reason: defaultdict[str, list[tuple[str, float]]] = defaultdict(list)
        for (name, reason), total in counts.items():
            if reason is None:
                plain.add_metric(name=name, unit=MetricUnit.Count, value=total)
            else:
                by_reason[reason].append((name, total))
        for name, value in gauges.items():
            plain.add_metric(name=name, unit=MetricUnit.Count, value=value)
        for name, values in timings.items():
            for ms in values:  # Powertools writes the line by itself when a metric reaches 100 values
                plain.add_metric(name=name, unit=MetricUnit.Milliseconds, value=round(ms, 1))
        if plain.metric_set:
            plain.flush_metrics()
        for reason, totals in by_reason.items():
            line = self._by_reason  # its flush clears the reason dimension with the metrics
            line.add_dimension(name="reason", value=reason[:250])
            for name, total in totals:
                line.add_metric(name=name, unit=MetricUnit.Count, value=total)
            line.flush_metrics()

    def _line(self) -> EphemeralMetrics:
        return EphemeralMetrics(namespace=self.namespace, service=self.service)
