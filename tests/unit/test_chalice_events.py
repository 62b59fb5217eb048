"""The chalice app's event translation: a REST API (payload 1.0) event becomes the HTTP API (2.0) event API
Gateway would have sent, and a WebSocket message is routed as `$request.body.action` would route it."""
import base64
import json

import pytest

from tests.support.chalice_app import chalice_module


def rest_event(**overrides):
    event = {
        "resource": "/api/orders/{orderId}", "path": "/api/orders/abc", "httpMethod": "GET",
        "headers": {"Host": "x.execute-api.us-east-1.amazonaws.com", "Cookie": "a=1; b=2"},
        "multiValueHeaders": {"Host": ["x.execute-api.us-east-1.amazonaws.com"], "Cookie": ["a=1; b=2"],
                              "X-A": ["1", "2"]},
        "queryStringParameters": {"t": "USDC"}, "multiValueQueryStringParameters": {"t": ["SOL", "USDC"]},
        "pathParameters": {"orderId": "abc"}, "body": None, "isBase64Encoded": False,
        "requestContext": {"resourcePath": "/api/orders/{orderId}", "httpMethod": "GET", "path": "/prod/api/orders/abc",
                           "stage": "prod", "requestId": "rid", "identity": {"sourceIp": "1.2.3.4"},
                           "domainName": "x.execute-api.us-east-1.amazonaws.com", "requestTimeEpoch": 1700000000500},
    }
    event.update(overrides)
    return event


def test_a_rest_event_becomes_the_http_api_event_of_the_same_request():
    translated = chalice_module().http_events.to_http_api_event(rest_event())
    assert translated["routeKey"] == "GET /api/orders/{orderId}"
    assert translated["rawPath"] == "/prod/api/orders/abc" and translated["requestContext"]["stage"] == "prod"
    assert translated["rawQueryString"] == "t=SOL&t=USDC" and translated["queryStringParameters"] == {"t": "SOL,USDC"}
    assert translated["headers"]["x-a"] == "1,2" and "cookie" not in translated["headers"]
    assert translated["cookies"] == ["a=1", "b=2"]
    assert translated["pathParameters"] == {"orderId": "abc"}
    assert translated["requestContext"]["http"]["sourceIp"] == "1.2.3.4"
    assert translated["requestContext"]["timeEpoch"] == 1700000000500


def test_a_base64_result_travels_back_as_bytes_and_cookies_as_set_cookie_headers():
    response = chalice_module().http_events.to_chalice_response(
        {"statusCode": 201, "headers": {"X-A": "1"}, "cookies": ["a=1"], "isBase64Encoded": True,
         "body": base64.b64encode(b"\x00\x01").decode()})
    assert (response.status_code, response.body) == (201, b"\x00\x01")
    assert response.headers == {"X-A": "1", "Set-Cookie": ["a=1"]}


@pytest.mark.parametrize("body,route", [
    (json.dumps({"action": "subscribe", "orderId": "x"}), "subscribe"),
    (json.dumps({"action": "subscribeOrder"}), "subscribeOrder"),
    (json.dumps({"action": "ping"}), "ping"),
    (json.dumps({"action": "launch"}), "$default"),
    (json.dumps({"action": 3}), "$default"),
    (json.dumps([1, 2]), "$default"),
    ("{not json", "$default"),
    (None, "$default"),
])
def test_websocket_messages_select_the_route_api_gateway_would(body, route):
    assert chalice_module().ws_events.selected_route({"body": body}) == route
