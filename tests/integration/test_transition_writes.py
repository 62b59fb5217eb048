"""The executor's batched writes on real PostgreSQL: a chain of steps of one order (a step riding with the next)
is one row of the batch statement, stored whole or not at all, with every step in the timeline."""
from __future__ import annotations

import json

from tests.support.executor_support import executor_settings
from tests.support.factories import submit_orders
from tests.support.reads import timeline
from tests.support.sql import insert_filler_orders, stored_via
from order_engine.domain.lifecycle import Status
from order_engine.domain.transition import Transition
from order_engine.adapters.postgres.order_repository import OrderRepository
from order_engine.adapters.postgres.transition_writes import _LOAD, _WRITE, PgWorker, write_transitions


def _routed_and_built(order, **build_changes):
    routing = Transition(order, Status.ROUTING, detail={"quotes": []},
                         changes={"attempts": 1, "dex": "raydium", "amount_out": 150})
    building = Transition(routing.after(), Status.BUILDING, detail={"txHash": "sig-1"},
                          changes={"tx_hash": "sig-1", "min_amount_out": 140, **build_changes})
    return routing, building


def test_a_chain_of_steps_is_stored_as_one_write_with_every_event(settings, db):
    [order_id] = submit_orders(executor_settings(settings), db, 1, push=False)
    repo = OrderRepository(db)
    routing, building = _routed_and_built(repo.get(order_id))

    assert write_transitions(db, [routing, building]) == [True, True]

    stored = repo.get(order_id)
    assert (stored.status, stored.seq, stored.attempts, stored.dex, stored.tx_hash) == (
        Status.BUILDING, 3, 1, "raydium", "sig-1")
    assert [(seq, status, attempt) for seq, status, attempt, _ in timeline(db, order_id)] == [
        (1, "pending", 0), (2, "routing", 1), (3, "building", 1)]
    assert timeline(db, order_id)[1][3] == {"quotes": []}
    assert stored_via(db, order_id) is None


def test_a_chain_whose_order_moved_meanwhile_stores_none_of_its_steps(settings, db):
    [order_id] = submit_orders(executor_settings(settings), db, 1, push=False)
    repo = OrderRepository(db)
    seen = repo.get(order_id)
    other = Transition(seen, Status.ROUTING, detail={"by": "another executor"}, changes={"attempts": 1})
    assert write_transitions(db, [other]) == [True]

    assert write_transitions(db, list(_routed_and_built(seen))) == [False, False]

    assert [status for _, status, _, _ in timeline(db, order_id)] == ["pending", "routing"]
    assert repo.get(order_id).status is Status.ROUTING


def test_a_chain_the_database_refuses_does_not_sink_the_others_in_its_batch(settings, db):
    good_id, bad_id = submit_orders(executor_settings(settings), db, 2, push=False)
    repo = OrderRepository(db)
    good = _routed_and_built(repo.get(good_id))
    bad = _routed_and_built(repo.get(bad_id), min_amount_out=2 ** 63)  # past bigint: PostgreSQL refuses the row

    assert write_transitions(db, [*good, *bad]) == [True, True, False, False]

    assert [status for _, status, _, _ in timeline(db, good_id)] == ["pending", "routing", "building"]
    assert [status for _, status, _, _ in timeline(db, bad_id)] == ["pending"]
    assert repo.get(bad_id).status is Status.PENDING


def test_the_executor_statements_reach_their_orders_through_the_primary_key_with_one_plan(settings, db):
    # Many orders, as a running engine has: a plan scanning the whole table would cost more with each order stored.
    insert_filler_orders(db, 5000)
    db.run("ANALYZE orders")
    ids = [order.id for order in OrderRepository(db).history(3)]
    batch = json.dumps([{"id": i, "from_status": "pending", "from_seq": 1, "to_status": "routing", "events": []}
                        for i in ids])
    worker = PgWorker(settings.database_url, settings.database_schema, "plan-check")
    try:
        assert worker.db.run("SHOW plan_cache_mode") == [["force_generic_plan"]]
        for sql, params in ((_WRITE, {"batch": batch, "ids": ids}), (_LOAD, {"ids": ids})):
            plan = "\n".join(row[0] for row in worker.db.run(f"EXPLAIN {sql}", **params))
            assert "orders_pkey" in plan and "Seq Scan on orders" not in plan, plan
    finally:
        worker.close()
