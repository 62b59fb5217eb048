"""What each recorded step of an order adds to the metrics. A step's latency is the time since the order's
previous recorded step (routing: since it was accepted, the queue wait included); a retry counts by its reason
and times nothing (the attempt it ends did not finish); confirmed also times the whole way from submit."""
from __future__ import annotations

from typing import Iterable

from order_engine.domain.lifecycle import Status
from order_engine.domain.transition import Transition
from order_engine.ports import Metrics

STEP_LATENCY = {Status.ROUTING: "RoutingMs", Status.BUILDING: "BuildingMs", Status.SUBMITTED: "SubmittedMs",
                Status.CONFIRMED: "ConfirmedMs"}


def observe(metrics: Metrics, stored: Iterable[Transition]) -> None:
    for t in stored:
        if t.to is Status.FAILED:
            metrics.count("OrdersFailed", reason=str(t.detail.get("reason") or "unknown"))
            continue
        retry = t.detail.get("retry")
        if retry:
            metrics.count("Retries", reason=str(retry.get("reason") or "unknown"))
            continue
        name = STEP_LATENCY.get(t.to)
        if name is not None:
            metrics.timing(name, t.step_ms)
        if t.to is Status.CONFIRMED:
            metrics.count("OrdersConfirmed")
            metrics.timing("SubmitToConfirmedMs", t.since_accepted_ms)
