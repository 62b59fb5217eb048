import itertools

import pg8000.native
import pytest

from order_engine.domain.lifecycle import INITIAL, Status, database_transitions
from order_engine.adapters.postgres.migrations import migrate


def _insert_pending(db, order_id="00000000-0000-0000-0000-000000000001"):
    db.run(
        "INSERT INTO orders (id, status, token_in, token_out, amount_in, slippage_bps, request_hash)"
        " VALUES (:id, 'pending', 'a', 'b', 1, 50, 'h')",
        id=order_id,
    )
    return order_id


def test_migrate_is_idempotent(settings):
    assert migrate(settings.database_url, settings.database_schema) == []


@pytest.mark.parametrize("current,target", list(itertools.product(Status, Status)))
def test_database_enforces_exactly_the_domain_transitions(db, current, target):
    order_id = _insert_pending(db)
    db.run("ALTER TABLE orders DISABLE TRIGGER orders_transition_guard")
    db.run("UPDATE orders SET status = :s WHERE id = :id", s=str(current), id=order_id)
    db.run("ALTER TABLE orders ENABLE TRIGGER orders_transition_guard")
    if (current, target) in database_transitions():  # the executor's moves and the operator's retry
        db.run("UPDATE orders SET status = :s WHERE id = :id", s=str(target), id=order_id)
        assert db.run("SELECT status FROM orders WHERE id = :id", id=order_id) == [[str(target)]]
    else:
        with pytest.raises(pg8000.native.DatabaseError, match="illegal order transition"):
            db.run("UPDATE orders SET status = :s WHERE id = :id", s=str(target), id=order_id)


def test_database_refuses_unknown_status_and_an_insert_in_a_status_orders_do_not_start_in(db):
    order_id = _insert_pending(db)
    with pytest.raises(pg8000.native.DatabaseError, match="check"):
        db.run("UPDATE orders SET status = 'teleported' WHERE id = :id", id=order_id)
    for n, status in enumerate(sorted(set(Status) - INITIAL), start=2):
        with pytest.raises(pg8000.native.DatabaseError, match=f"cannot start as {status}"):
            db.run(
                "INSERT INTO orders (id, status, token_in, token_out, amount_in, slippage_bps, request_hash)"
                f" VALUES ('00000000-0000-0000-0000-{n:012d}', :s, 'a', 'b', 1, 50, 'h')", s=str(status)
            )


def test_a_limit_or_sniper_order_can_be_stored_waiting_and_an_unknown_type_cannot(db):
    insert = ("INSERT INTO orders (id, status, order_type, token_in, token_out, amount_in, slippage_bps, request_hash)"
              " VALUES (:id, 'waiting', :t, 'a', 'b', 1, 50, 'h')")
    db.run(insert, id="00000000-0000-0000-0000-00000000000a", t="limit")
    db.run(insert, id="00000000-0000-0000-0000-00000000000b", t="sniper")
    assert db.run("SELECT order_type, status FROM orders ORDER BY id") == [["limit", "waiting"], ["sniper", "waiting"]]
    with pytest.raises(pg8000.native.DatabaseError, match="check"):
        db.run(insert, id="00000000-0000-0000-0000-00000000000c", t="stop")


def test_a_multi_step_update_is_checked_hop_by_hop_and_its_path_never_stored(db):
    order_id = _insert_pending(db)
    with pytest.raises(pg8000.native.DatabaseError, match="illegal order transition pending -> building"):
        db.run("UPDATE orders SET status = 'building' WHERE id = :id", id=order_id)
    with pytest.raises(pg8000.native.DatabaseError, match="illegal order transition routing -> confirmed"):
        db.run("UPDATE orders SET status = 'confirmed', via = '{routing}' WHERE id = :id", id=order_id)

    db.run("UPDATE orders SET status = 'building', via = '{routing}' WHERE id = :id", id=order_id)

    assert db.run("SELECT status, via FROM orders WHERE id = :id", id=order_id) == [["building", None]]
