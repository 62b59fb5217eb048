"""The HTTP API's route selection, payload 2.0 events and response mapping, and schedule expressions, as the
local gateway derives them from the template (pure functions, no server)."""
from __future__ import annotations

import base64
from datetime import datetime, timezone

import orjson
import pytest

from local.http_gateway import RouteMatch, Router, build_event, build_response, is_text
from local.scheduler import cron_matches, rate_seconds, scheduled_event
from local.template import HttpRoute, Schedule

ROUTES = [
    HttpRoute("GET", "/api/orders/{orderId}", "Orders"),
    HttpRoute("GET", "/api/orders/history", "Orders"),
    HttpRoute("POST", "/api/orders/execute", "Submit"),
    HttpRoute("ANY", "/api/{proxy+}", "Fallback"),
    HttpRoute("GET", "/api/{section}/stats", "Stats"),
]


@pytest.mark.parametrize("method,path,route_key,params", [
    ("GET", "/api/orders/history", "GET /api/orders/history", {}),
    ("GET", "/api/orders/abc", "GET /api/orders/{orderId}", {"orderId": "abc"}),
    ("GET", "/api/orders/a%20b", "GET /api/orders/{orderId}", {"orderId": "a b"}),
    ("POST", "/api/orders/execute", "POST /api/orders/execute", {}),
    ("POST", "/api/orders/history", "ANY /api/{proxy+}", {"proxy": "orders/history"}),
    ("GET", "/api/queue/stats", "GET /api/{section}/stats", {"section": "queue"}),
    ("DELETE", "/api/a/b/c", "ANY /api/{proxy+}", {"proxy": "a/b/c"}),
])
def test_the_most_specific_route_wins(method, path, route_key, params):
    match = Router(ROUTES).match(method, path)
    assert (match.route.route_key, match.path_parameters) == (route_key, params)


def test_no_route_means_no_match_unless_there_is_a_default():
    assert Router(ROUTES[:3]).match("GET", "/web/") is None
    assert Router(ROUTES[:3]).match("GET", "/api/orders") is None
    default = Router([*ROUTES[:3], HttpRoute("$default", "", "Web")]).match("GET", "/web/")
    assert default.route.function == "Web" and default.path_parameters == {}


def event_for(**overrides):
    args = dict(method="POST", raw_path="/api/orders/execute", raw_query="", headers=[("Host", "h:1")], body=b"",
                match=RouteMatch(ROUTES[2], {}), source_ip="127.0.0.1", request_id="rid", now=1700000000.5)
    return build_event(**{**args, **overrides})


def test_the_event_has_payload_2_0s_shape():
    event = event_for(headers=[("Host", "h:1"), ("User-Agent", "ua"), ("Content-Type", "application/json")],
                      body=b'{"a":1}')
    assert event == {
        "version": "2.0", "routeKey": "POST /api/orders/execute", "rawPath": "/api/orders/execute",
        "rawQueryString": "", "headers": {"host": "h:1", "user-agent": "ua", "content-type": "application/json"},
        "requestContext": {
            "accountId": "000000000000", "apiId": "localhttpapi", "domainName": "h:1", "domainPrefix": "h",
            "http": {"method": "POST", "path": "/api/orders/execute", "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "ua"},
            "requestId": "rid", "routeKey": "POST /api/orders/execute", "stage": "$default",
            "time": "14/Nov/2023:22:13:20 +0000", "timeEpoch": 1700000000500,
        },
        "body": '{"a":1}', "isBase64Encoded": False,
    }


def test_repeated_headers_and_query_keys_are_comma_joined_and_cookies_split_out():
    event = event_for(headers=[("X-A", "1"), ("x-a", "2"), ("Cookie", "a=1; b=2"), ("Cookie", "c=3")],
                      raw_query="t=SOL&t=USDC&x=%2F")
    assert event["headers"] == {"x-a": "1,2"}
    assert event["cookies"] == ["a=1", "b=2", "c=3"]
    assert event["queryStringParameters"] == {"t": "SOL,USDC", "x": "/"}
    assert event["rawQueryString"] == "t=SOL&t=USDC&x=%2F"


@pytest.mark.parametrize("content_type,text", [
    ("application/json", True), ("application/json; charset=utf-8", True), ("text/plain", True),
    ("application/vnd.api+json", True), ("application/xml", True), ("application/octet-stream", False),
    ("application/x-www-form-urlencoded", False), ("image/png", False), (None, False),
])
def test_only_text_bodies_travel_as_text(content_type, text):
    assert is_text(content_type) is text
    headers = [("content-type", content_type)] if content_type else []
    event = event_for(headers=headers, body=b"abc")
    assert event["isBase64Encoded"] is (not text)
    assert event["body"] == ("abc" if text else base64.b64encode(b"abc").decode())


def test_a_text_type_that_is_not_utf8_travels_base64():
    event = event_for(headers=[("content-type", "application/json")], body=b"\xff\xfe")
    assert event["isBase64Encoded"] is True


def test_a_structured_result_maps_field_by_field():
    response = build_response({"statusCode": 409, "headers": {"X-A": "1"}, "multiValueHeaders": {"X-B": ["1", "2"]},
                               "cookies": ["a=1", "b=2"], "body": "conflict"})
    assert response.status == 409
    assert response.body == b"conflict"
    assert response.headers == [("X-A", "1"), ("X-B", "1"), ("X-B", "2"), ("set-cookie", "a=1"),
                                ("set-cookie", "b=2"), ("content-type", "application/json")]


def test_a_base64_result_is_decoded_and_a_missing_body_is_empty():
    assert build_response({"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(),
                           "isBase64Encoded": True}).body == b"\x00\x01"
    assert build_response({"statusCode": 204}).body == b""


@pytest.mark.parametrize("value", [{"a": 1}, [1, 2], "text", 3, None])
def test_a_bare_value_is_a_json_200(value):
    response = build_response(value)
    assert response.status == 200
    assert orjson.loads(response.body) == value
    assert ("content-type", "application/json") in response.headers


def test_an_unusable_result_is_api_gateways_500():
    response = build_response({"statusCode": "abc"})
    assert response.status == 500 and orjson.loads(response.body) == {"message": "Internal Server Error"}


@pytest.mark.parametrize("expression,seconds", [
    ("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(30 seconds)", 30), ("rate(2 hours)", 7200),
    ("rate(1 day)", 86400), ("cron(0 3 * * ? *)", None),
])
def test_rate_expressions(expression, seconds):
    assert rate_seconds(expression) == seconds


def test_cron_expressions_match_their_minutes():
    at = datetime(2026, 11, 22, 3, 0, tzinfo=timezone.utc)  # a Sunday
    assert cron_matches("cron(0 3 * * ? *)", at)
    assert not cron_matches("cron(0 4 * * ? *)", at)
    assert cron_matches("cron(0/15 * * * ? *)", at)
    assert cron_matches("cron(0 3 ? * SUN *)", at)
    assert not cron_matches("cron(0 3 ? * MON-FRI *)", at)


def test_a_scheduled_event_is_eventbridges():
    event = scheduled_event(Schedule("Executor", "Tick", "rate(1 minute)"), "order-engine",
                            datetime(2026, 11, 22, 3, 0, tzinfo=timezone.utc))
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["time"] == "2026-11-22T03:00:00Z"
    assert event["resources"] == ["arn:aws:events:us-east-1:000000000000:rule/order-engine-Tick"]
    assert scheduled_event(Schedule("E", "T", "rate(1 minute)", input='{"k": 1}'), "s", datetime.now()) == {"k": 1}


def test_bytes_that_are_not_utf8_reach_the_event_as_the_replacement_character():
    # aiohttp keeps undecodable header bytes as lone surrogates, which no JSON event can carry
    event = event_for(headers=[("Idempotency-Key", b"k\xff".decode("utf-8", "surrogateescape"))],
                      raw_path=b"/api/\xfe".decode("utf-8", "surrogateescape"))
    assert event["headers"] == {"idempotency-key": "k\ufffd"}
    assert event["rawPath"] == "/api/\ufffd"
    orjson.dumps(event)
