"""The WebSocket handlers translate API Gateway events: routes to service calls, failures to error frames or a
refused handshake."""
from __future__ import annotations

import base64
import importlib.util
import json
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from tests.support.lambdas import FakeLambdaContext
from order_engine import bootstrap
from tests.support.ws_fakes import ORDER_ID, FakeLog, frame, service

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
    ws_app.connect(ws_event("$connect"), FakeLambdaContext())
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


MALFORMED_FRAMES = [
    # (case, raw frame, binary, error code): the same strict rules as HTTP bodies (api/strict_json.py)
    ("nested 5,000 deep", "[" * 5000 + "]" * 5000, False, "invalid_json"),
    ("nested 100,000 deep unbalanced", "{" * 100_000, False, "body_too_large"),
    ("nested in a field", '{"action": "subscribe", "orderId": ' + "[" * 3000 + "]" * 3000 + "}", False, "invalid_json"),
    ("200 KB", json.dumps({"action": "subscribe", "orderId": "x" * 200_000}), False, "body_too_large"),
    ("not UTF-8", base64.b64encode(b'{"action": "ping\xff"}').decode(), True, "invalid_json"),
    ("broken base64", "!!!", True, "invalid_json"),
    ("lone surrogate escape", '{"action": "subscribe", "orderId": "\\ud800"}', False, "invalid_request"),
    ("duplicate keys", f'{{"action": "subscribe", "orderId": "x", "orderId": "{ORDER_ID}"}}', False, "invalid_request"),
    ("NUL in the order id", '{"action": "subscribe", "orderId": "\\u0000"}', False, "invalid_request"),
    ("NaN", '{"action": "subscribe", "orderId": NaN}', False, "invalid_json"),
    ("a 5,000-digit number", '{"action": "subscribe", "orderId": ' + "9" * 5000 + "}", False, "invalid_request"),
    ("order id a list", json.dumps({"action": "subscribe", "orderId": [ORDER_ID]}), False, "invalid_order_id"),
    ("order id an object", json.dumps({"action": "subscribe", "orderId": {"id": ORDER_ID}}), False, "invalid_order_id"),
    ("order id a number", json.dumps({"action": "subscribe", "orderId": 12}), False, "invalid_order_id"),
    ("order id null", json.dumps({"action": "subscribe", "orderId": None}), False, "invalid_order_id"),
    ("order id true", json.dumps({"action": "subscribe", "orderId": True}), False, "invalid_order_id"),
    ("order id without hyphens", json.dumps({"action": "subscribe", "orderId": ORDER_ID.replace("-", "")}), False,
     "invalid_order_id"),
    ("a JSON string", '"subscribe"', False, "invalid_request"),
    ("empty", "", False, "invalid_json"),
]


@pytest.mark.parametrize("route", ["subscribe", "unsubscribe", "$default"])
@pytest.mark.parametrize("case,raw,binary,code", MALFORMED_FRAMES, ids=[c[0] for c in MALFORMED_FRAMES])
def test_a_malformed_frame_gets_an_error_frame_never_an_exception(ws_app, live, route, case, raw, binary, code):
    handler = {"subscribe": ws_app.subscribe, "unsubscribe": ws_app.unsubscribe, "$default": ws_app.default}[route]
    event = ws_event(route, raw)
    event["isBase64Encoded"] = binary
    assert handler(event, FakeLambdaContext()) == {"statusCode": 200}
    (error,) = sent(live)
    expected = "unknown_action" if route == "$default" and code in ("invalid_order_id",) else code
    assert error["type"] == "error" and error["code"] == expected and error["message"], error
    json.dumps(error, ensure_ascii=False).encode("utf-8")  # the frame itself is sendable UTF-8


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["action", "orderId", "x"]), inner,
                                                                   max_size=3), max_leaves=20).map(json.dumps)))
def test_any_frame_on_any_route_is_answered_with_frames_never_an_exception(frame_text):
    subscriptions = service(log=FakeLog({ORDER_ID: [frame(1)]}))
    original = bootstrap.subscriptions
    bootstrap.subscriptions = lambda: subscriptions
    try:
        ws = _ws_module()
        for handler in (ws.subscribe, ws.unsubscribe, ws.ping, ws.default):
            assert handler(ws_event("subscribe", frame_text), FakeLambdaContext()) == {"statusCode": 200}
    finally:
        bootstrap.subscriptions = original
    for frames in subscriptions.poster.sent.values():
        assert all(f.get("type") in {"error", "subscribed", "unsubscribed", "pong", "status"} for f in frames)


def _ws_module():
    from order_engine.api import ws

    return ws
