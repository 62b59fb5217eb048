"""The figures a benchmark prints: percentiles, latency summaries, and a report of named sections (text or JSON)."""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


@dataclass
class Report:
    """Figures of one phase of a run; later phases add their own sections."""

    title: str
    sections: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def add(self, name: str, figures: dict[str, Any]) -> None:
        self.sections.append((name, figures))

    def as_dict(self) -> dict[str, Any]:
        return {"title": self.title, **{name: figures for name, figures in self.sections}}

    def text(self) -> str:
        lines = [self.title]
        for name, figures in self.sections:
            lines.append(f"  {name}:")
            for key, value in figures.items():
                shown = f"{value:,.1f}" if isinstance(value, float) else value
                lines.append(f"    {key:<22} {shown}")
        return "\n".join(lines)


def latency_figures(latencies_s: list[float]) -> dict[str, float]:
    ms = [x * 1000 for x in latencies_s]
    return {
        "p50 ms": percentile(ms, 50), "p95 ms": percentile(ms, 95), "p99 ms": percentile(ms, 99),
        "max ms": max(ms) if ms else float("nan"), "mean ms": statistics.fmean(ms) if ms else float("nan"),
    }
