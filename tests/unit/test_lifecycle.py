import itertools
import re
from pathlib import Path

import pytest

from order_engine.domain.lifecycle import (TERMINAL, IllegalTransition, Status, can_transition, check_transition,
                                           is_retry)

EXPECTED = {
    ("pending", "routing"), ("pending", "failed"),
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


def test_terminal_states_are_confirmed_and_failed():
    assert TERMINAL == {Status.CONFIRMED, Status.FAILED}


def test_a_move_back_to_routing_is_a_retry_but_the_first_routing_is_not():
    assert not is_retry(Status.PENDING, Status.ROUTING)
    assert all(is_retry(s, Status.ROUTING) for s in (Status.ROUTING, Status.BUILDING, Status.SUBMITTED))


def test_the_database_check_lists_exactly_the_domain_statuses():
    sql = (Path(__file__).resolve().parents[2] / "infra/migrations/001_orders.sql").read_text()
    listed = re.search(r"status IN \(([^)]*)\)", sql).group(1)
    assert {s.strip(" '") for s in listed.split(",")} == {str(s) for s in Status}
