import itertools
import re
from pathlib import Path

import pytest

from order_engine.domain.lifecycle import (CANCELLABLE, HELD, INITIAL, QUEUED, TERMINAL, UNFINISHED,
                                           IllegalTransition, Status, can_transition, check_transition, is_retry)

EXPECTED = {
    ("waiting", "pending"), ("waiting", "cancelled"), ("waiting", "expired"),
    ("pending", "routing"), ("pending", "failed"), ("pending", "cancelled"),
    ("routing", "building"), ("routing", "routing"), ("routing", "failed"),
    ("building", "submitted"), ("building", "routing"), ("building", "failed"),
    ("submitted", "confirmed"), ("submitted", "routing"), ("submitted", "failed"),
}


@pytest.mark.parametrize("current,target", list(itertools.product(Status, Status)))
def test_every_pair_of_states_is_allowed_exactly_when_api_md_says(current, target):
    allowed = (str(current), str(target)) in EXPECTED
    assert can_transition(current, target) is allowed
    if allowed:
        check_transition(current, target)
    else:
        with pytest.raises(IllegalTransition):
            check_transition(current, target)


def test_terminal_states_are_confirmed_failed_cancelled_and_expired():
    assert TERMINAL == {Status.CONFIRMED, Status.FAILED, Status.CANCELLED, Status.EXPIRED}


def test_a_waiting_order_is_unfinished_but_not_queued_so_the_reconciler_leaves_it_to_its_watcher():
    assert Status.WAITING in UNFINISHED and HELD == {Status.WAITING}
    assert QUEUED == {Status.PENDING, Status.ROUTING, Status.BUILDING, Status.SUBMITTED}


def test_only_an_order_that_has_not_started_routing_can_be_cancelled():
    assert CANCELLABLE == {Status.WAITING, Status.PENDING}


def test_an_order_is_created_pending_or_waiting():
    assert INITIAL == {Status.PENDING, Status.WAITING}


def test_a_move_back_to_routing_is_a_retry_but_the_first_routing_is_not():
    assert not is_retry(Status.PENDING, Status.ROUTING)
    assert all(is_retry(s, Status.ROUTING) for s in (Status.ROUTING, Status.BUILDING, Status.SUBMITTED))


def test_the_database_check_lists_exactly_the_domain_statuses():
    migrations = sorted((Path(__file__).resolve().parents[2] / "infra/migrations").glob("*.sql"))
    latest = [m.group(1) for p in migrations for m in re.finditer(r"\(status IN \(([^)]*)\)", p.read_text())][-1]
    assert {s.strip(" '\n") for s in latest.split(",")} == {str(s) for s in Status}
