"""The subscription service's rules, with in-memory adapters: replay before live, no gaps, errors as frames."""
from __future__ import annotations

import pytest

from order_engine.errors import EngineError, ErrorCode
from order_engine.services.subscribe import Connection
from order_engine.ports import PostResult
from tests.support.ws_fakes import ORDER_ID, FakeHistory, FakeLog, FakePoster, FakeRegistry, frame, service

CONN = Connection("Y29ubg==", connected_at_ms=999_000)


def test_subscribe_acknowledges_then_replays_the_log_in_seq_order():
    live = service(log=FakeLog({ORDER_ID: [frame(1), frame(2)]}))
    live.connect(CONN, None)
    live.subscribe(CONN, ORDER_ID)
    assert live.poster.sent[CONN.id] == [{"type": "subscribed", "orderId": ORDER_ID}, frame(1), frame(2)]
    assert live.registry.subscribers(ORDER_ID) == {CONN.id}


def test_the_subscription_is_registered_before_the_events_are_read():
    registry = FakeRegistry()

    class WatchingLog(FakeLog):
        def frames(self, order_id):
            self.registered_first = CONN.id in registry.subscribers(order_id)
            return [frame(1)]

    log = WatchingLog()
    live = service(log=log, registry=registry)
    live.connect(CONN, None)
    live.subscribe(CONN, ORDER_ID)
    assert log.registered_first


def test_replay_comes_from_postgresql_when_redis_lost_the_start_of_the_log():
    live = service(log=FakeLog({ORDER_ID: [frame(3), frame(4)]}), history=FakeHistory({ORDER_ID: 3}))
    assert [f["seq"] for f in live.events_so_far(ORDER_ID)] == [1, 2, 3, 4]
    assert live.events_so_far(ORDER_ID)[0]["at"] == "2026-11-22T00:00:00Z"


def test_a_finished_order_that_redis_no_longer_holds_replays_its_whole_history():
    live = service(history=FakeHistory({ORDER_ID: 5}))
    live.connect(CONN, None)
    live.subscribe(CONN, ORDER_ID)
    assert [f.get("seq") for f in live.poster.sent[CONN.id][1:]] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("order_id, code", [("not-a-uuid", ErrorCode.INVALID_ORDER_ID), (None, ErrorCode.INVALID_ORDER_ID),
                                            (ORDER_ID, ErrorCode.ORDER_NOT_FOUND)])
def test_subscribing_to_a_bad_or_unknown_order_is_refused_and_leaves_no_subscription(order_id, code):
    live = service()
    with pytest.raises(EngineError) as refused:
        live.subscribe(CONN, order_id)
    assert refused.value.code is code
    assert live.registry.subscribers(ORDER_ID) == set()


OTHER_ORDER_ID = "9b1d2c3e-4f5a-4b6c-8d7e-0f1a2b3c4d5e"


class OwnedHistory(FakeHistory):
    def owner(self, order_id):
        return {ORDER_ID: "client-a", OTHER_ORDER_ID: "client-b"}.get(order_id)


@pytest.mark.parametrize("message_reader", [None, "client-a"])  # None: a message event without authorizer context
def test_a_connection_admitted_as_a_client_subscribes_only_to_its_own_orders(message_reader):
    log = FakeLog({ORDER_ID: [frame(1)], OTHER_ORDER_ID: [frame(1, OTHER_ORDER_ID)]})
    live = service(log=log, history=OwnedHistory())
    live.connect(CONN, None, "client-a")
    with pytest.raises(EngineError) as refused:
        live.subscribe(CONN, OTHER_ORDER_ID, message_reader)
    assert refused.value.code is ErrorCode.ORDER_NOT_FOUND
    live.subscribe(CONN, ORDER_ID, message_reader)
    assert live.registry.subscribers(ORDER_ID) == {CONN.id} and live.registry.subscribers(OTHER_ORDER_ID) == set()


def test_an_operator_or_access_off_connection_subscribes_to_any_clients_order():
    log = FakeLog({ORDER_ID: [frame(1)], OTHER_ORDER_ID: [frame(1, OTHER_ORDER_ID)]})
    live = service(log=log, history=OwnedHistory())
    live.connect(CONN, None)  # no authorizer context at $connect: access control off (an operator key: EVERY_CLIENT)
    live.subscribe(CONN, ORDER_ID)
    live.subscribe(CONN, OTHER_ORDER_ID)
    assert live.registry.subscribers(OTHER_ORDER_ID) == {CONN.id}


def test_a_message_without_context_from_a_connection_the_registry_does_not_know_is_refused():
    live = service(log=FakeLog({ORDER_ID: [frame(1)]}))
    with pytest.raises(EngineError) as refused:
        live.subscribe(CONN, ORDER_ID)
    assert refused.value.code is ErrorCode.ORDER_NOT_FOUND


def test_an_error_reply_is_one_error_frame():
    live = service()
    live.reply_error(CONN, EngineError("nope", code=ErrorCode.UNKNOWN_ACTION))
    assert live.poster.sent[CONN.id] == [{"type": "error", "code": "unknown_action", "message": "nope"}]


def test_connect_with_an_order_registers_and_hands_the_subscription_and_replay_to_another_invocation():
    live = service(log=FakeLog({ORDER_ID: [frame(1)]}))
    live.connect(CONN, ORDER_ID)
    assert live.registry.state(CONN.id) is not None
    assert live.registry.subscribers(ORDER_ID) == set()  # live events wait for the replay to go first
    assert live.replays.started == [(CONN.id, ORDER_ID)]
    assert live.poster.sent == {}  # $connect cannot post to its own connection


def test_replay_subscribes_once_the_connection_is_open_and_before_reading_the_events():
    registry = FakeRegistry()

    class WatchingLog(FakeLog):
        def frames(self, order_id):
            self.registered_first = CONN.id in registry.subscribers(order_id)
            return [frame(1)]

    log = WatchingLog()
    live = service(log=log, registry=registry)
    live.connect(CONN, ORDER_ID)
    live.replay(CONN.id, ORDER_ID)
    assert log.registered_first and registry.subscribers(ORDER_ID) == {CONN.id}
    assert live.poster.sent[CONN.id] == [{"type": "subscribed", "orderId": ORDER_ID}, frame(1)]


def test_connect_with_an_unknown_order_is_refused():
    live = service()
    with pytest.raises(EngineError) as refused:
        live.connect(CONN, ORDER_ID)
    assert refused.value.http_status == 404 and live.registry.subscribers(ORDER_ID) == set()


def test_replay_waits_out_the_410s_of_a_connection_whose_connect_has_not_returned():
    log = FakeLog({ORDER_ID: [frame(1)]})
    sleeps: list[float] = []

    def event_arrives_while_connecting(connection_id, sent, result):
        if result is PostResult.GONE:  # the executor moves the order on while the client is still connecting
            log.by_order[ORDER_ID] = [frame(1), frame(2)]

    poster = FakePoster([PostResult.GONE, PostResult.GONE], on_post=event_arrives_while_connecting)
    live = service(log=log, poster=poster, sleeps=sleeps)
    live.registry.register(CONN.id, CONN.connected_at_ms, CONN.connected_at_ms)
    live.replay(CONN.id, ORDER_ID)
    assert poster.sent[CONN.id] == [{"type": "subscribed", "orderId": ORDER_ID}, frame(1), frame(2)]
    assert len(sleeps) == 2 and live.registry.state(CONN.id).open


def test_replay_stops_for_a_connection_that_disconnected_meanwhile():
    live = service(log=FakeLog({ORDER_ID: [frame(1)]}), poster=FakePoster([PostResult.GONE]))
    live.replay(CONN.id, ORDER_ID)  # not registered: its $disconnect already ran
    assert live.poster.sent == {}


def test_a_410_for_an_open_connection_means_gone_and_removes_it():
    registry = FakeRegistry()
    registry.seen(CONN.id, 0, 0)
    registry.subscribe(CONN.id, ORDER_ID, 0, 0)
    live = service(log=FakeLog({ORDER_ID: [frame(1)]}), poster=FakePoster([PostResult.GONE]), registry=registry)
    live.ping(CONN)
    assert registry.state(CONN.id) is None and registry.subscribers(ORDER_ID) == set()


def test_events_stored_while_the_replay_is_sent_follow_it_in_order_and_only_then_does_the_subscription_go_live():
    registry, log = FakeRegistry(), FakeLog({ORDER_ID: [frame(1), frame(2)]})
    live_posts: list[dict] = []

    def executor_stores(seq: int) -> None:  # the executor's step: into the log, then to the live subscribers
        log.by_order[ORDER_ID].append(frame(seq))
        if CONN.id in registry.record(ORDER_ID, frame(seq)):
            live_posts.append(frame(seq))

    def on_post(connection_id, sent, result):
        landing = {1: 3, 3: 4}.get(sent.get("seq"))  # step 3 lands while frame 1 of the replay is sent, step 4
        if landing:  # while held frame 3 is
            executor_stores(landing)

    live = service(log=log, registry=registry, poster=FakePoster(on_post=on_post))
    live.connect(CONN, None)
    live.subscribe(CONN, ORDER_ID)
    assert [f.get("seq") for f in live.poster.sent[CONN.id]] == [None, 1, 2, 3, 4]  # the ack, then each once
    assert live_posts == []  # the executor posted none of them: each was held for the replay
    executor_stores(5)
    assert live_posts == [frame(5)]  # the replay is done: the subscription is live
