"""The order lifecycle: the one place that says which status may follow which.

waiting -> pending                       (its trigger fired: a limit or sniper order enters the pipeline)
waiting -> cancelled | expired
pending -> routing -> building -> submitted -> confirmed
pending -> cancelled                     (cancelled before it started routing)
pending/routing/building/submitted -> failed
routing/building/submitted -> routing   (a retry, attempt + 1)
failed -> pending                        (an operator re-queues it: OPERATOR_RETRY)
"""
from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    WAITING = "waiting"
    PENDING = "pending"
    ROUTING = "routing"
    BUILDING = "building"
    SUBMITTED = "submitted"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.WAITING: frozenset({Status.PENDING, Status.CANCELLED, Status.EXPIRED}),
    Status.PENDING: frozenset({Status.ROUTING, Status.FAILED, Status.CANCELLED}),
    Status.ROUTING: frozenset({Status.BUILDING, Status.ROUTING, Status.FAILED}),
    Status.BUILDING: frozenset({Status.SUBMITTED, Status.ROUTING, Status.FAILED}),
    Status.SUBMITTED: frozenset({Status.CONFIRMED, Status.ROUTING, Status.FAILED}),
    Status.CONFIRMED: frozenset(),
    Status.FAILED: frozenset(),
    Status.CANCELLED: frozenset(),
    Status.EXPIRED: frozenset(),
}

# What an operator may do besides the executor's moves: start a failed order over (attempts from the first again).
# The executor never makes this move, so a failed order stays terminal to it; the database allows both tables.
OPERATOR_RETRY: dict[Status, Status] = {Status.FAILED: Status.PENDING}

# The statuses an order may be created in: a market order is pending at once, a limit or sniper order waits.
INITIAL: frozenset[Status] = frozenset({Status.PENDING, Status.WAITING})

TERMINAL: frozenset[Status] = frozenset(s for s, nexts in TRANSITIONS.items() if not nexts)
UNFINISHED: frozenset[Status] = frozenset(Status) - TERMINAL
# A waiting order is held by its trigger's watcher (limit price, pool listing), not by the executor's queue: the
# executor drops one it is handed and the reconciler re-enqueues only QUEUED orders; the watcher rebuilds HELD ones.
HELD: frozenset[Status] = frozenset({Status.WAITING})
QUEUED: frozenset[Status] = UNFINISHED - HELD
# An order may be cancelled only before it starts routing: no venue has seen it yet.
CANCELLABLE: frozenset[Status] = frozenset(s for s, nexts in TRANSITIONS.items() if Status.CANCELLED in nexts)


class IllegalTransition(ValueError):
    def __init__(self, current: Status, target: Status):
        super().__init__(f"an order in {current} cannot move to {target}")
        self.current, self.target = current, target


def can_transition(current: Status, target: Status) -> bool:
    return Status(target) in TRANSITIONS[Status(current)]


def check_transition(current: Status, target: Status) -> None:
    if not can_transition(current, target):
        raise IllegalTransition(Status(current), Status(target))


def database_transitions() -> set[tuple[Status, Status]]:
    """Every change the database allows: the executor's and the operator's."""
    return {(a, b) for a, nexts in TRANSITIONS.items() for b in nexts} | set(OPERATOR_RETRY.items())


def is_retry(current: Status, target: Status) -> bool:
    """A move back to routing is a new attempt with fresh quotes."""
    return Status(target) is Status.ROUTING and Status(current) is not Status.PENDING
