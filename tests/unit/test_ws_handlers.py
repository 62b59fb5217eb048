"""The WebSocket handlers translate API Gateway events: routes to service calls, failures to error frames or a
refused handshake."""
from __future__ import annotations

import base64
import importlib.util
import json
from pathlib import Path

import pytest

from helpers import FakeLambdaContext
from order_engine import bootstrap
from ws_fakes import ORDER_ID, FakeLog, frame, service

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ws_app():
    spec = importlib.util.spec_from_file_location("fn_ws_app_unit", ROOT / "functions" / "ws" / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def live(monkeypatch):
    subscriptions = service(log=FakeLog({ORDER_ID: [frame(1)]}))
    monkeypatch.setattr(bootstrap, "subscriptions", lambda: subscriptions)
    return subscriptions


def ws_event(route: str, body=None, *, query=None, binary=False):
    event_type = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE")
    raw = body if isinstance(body, str) or body is None else json.dumps(body)
    if binary and raw is not None:
        raw = base64.b64encode(raw.encode()).decode()
    return {
        "requestContext": {"routeKey": route, "eventType": event_type, "connectionId": "Y29ubg==",
                           "connectedAt": 1_000, "requestTimeEpoch": 2_000, "stage": "local", "apiId": "local",
                           "domainName": "127.0.0.1:3001", "requestId": "cmVx", "messageDirection": "IN"},
        "queryStringParameters": query,
        "body": raw,
        "isBase64Encoded": binary,
    }


def sent(live):
    return live.poster.sent.get("Y29ubg==", [])


def test_connect_without_an_order_accepts(ws_app, live):
    assert ws_app.connect(ws_event("$connect"), FakeLambdaContext())["statusCode"] == 200


def test_connect_with_a_malformed_order_id_refuses_the_handshake_with_the_error_shape(ws_app, live):
    response = ws_app.connect(ws_event("$connect", query={"orderId": "x"}), FakeLambdaContext())
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"]["code"] == "invalid_order_id"


def test_subscribe_route_sends_ack_and_replay(ws_app, live):
    assert ws_app.subscribe(ws_event("subscribe", {"action": "subscribe", "orderId": ORDER_ID}), FakeLambdaContext()) == {"statusCode": 200}
    assert sent(live) == [{"type": "subscribed", "orderId": ORDER_ID}, frame(1)]


def test_binary_frames_are_decoded_like_text(ws_app, live):
    ws_app.ping(ws_event("ping", {"action": "ping"}, binary=True), FakeLambdaContext())
    assert sent(live) == [{"type": "pong"}]


@pytest.mark.parametrize("body, code", [("{oops", "invalid_json"), ("42", "invalid_request"),
                                        ({"action": "fly"}, "unknown_action"), ({"orderId": ORDER_ID}, "unknown_action")])
def test_default_route_answers_with_an_error_frame(ws_app, live, body, code):
    assert ws_app.default(ws_event("$default", body), FakeLambdaContext())["statusCode"] == 200
    (error,) = sent(live)
    assert error["type"] == "error" and error["code"] == code and error["message"]


def test_unsubscribe_confirms_and_stops_the_subscription(ws_app, live):
    ws_app.subscribe(ws_event("subscribe", {"action": "subscribe", "orderId": ORDER_ID}), FakeLambdaContext())
    ws_app.unsubscribe(ws_event("unsubscribe", {"action": "unsubscribe", "orderId": ORDER_ID}), FakeLambdaContext())
    assert sent(live)[-1] == {"type": "unsubscribed", "orderId": ORDER_ID}
    assert live.registry.subscribers(ORDER_ID) == set()


def test_disconnect_forgets_the_connection(ws_app, live):
    ws_app.subscribe(ws_event("subscribe", {"action": "subscribe", "orderId": ORDER_ID}), FakeLambdaContext())
    ws_app.disconnect(ws_event("$disconnect"), FakeLambdaContext())
    assert live.registry.subscribers(ORDER_ID) == set()
