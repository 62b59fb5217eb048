"""The order lifecycle: the one place that says which status may follow which.

pending -> routing -> building -> submitted -> confirmed
any non-terminal status -> failed
routing/building/submitted -> routing   (a retry, attempt + 1)
failed -> pending                        (an operator re-queues it: OPERATOR_RETRY)
"""
from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    PENDING = "pending"
    ROUTING = "routing"
    BUILDING = "building"
    SUBMITTED = "submitted"
    CONFIRMED = "confirmed"
    FAILED = "failed"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.ROUTING, Status.FAILED}),
    Status.ROUTING: frozenset({Status.BUILDING, Status.ROUTING, Status.FAILED}),
    Status.BUILDING: frozenset({Status.SUBMITTED, Status.ROUTING, Status.FAILED}),
    Status.SUBMITTED: frozenset({Status.CONFIRMED, Status.ROUTING, Status.FAILED}),
    Status.CONFIRMED: frozenset(),
    Status.FAILED: frozenset(),
}

# What an operator may do besides the executor's moves: start a failed order over (attempts from the first again).
# The executor never makes this move, so a failed order stays terminal to it; the database allows both tables.
OPERATOR_RETRY: dict[Status, Status] = {Status.FAILED: Status.PENDING}

TERMINAL: frozenset[Status] = frozenset(s for s, nexts in TRANSITIONS.items() if not nexts)
UNFINISHED: frozenset[Status] = frozenset(Status) - TERMINAL


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
