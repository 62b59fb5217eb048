"""The local HTTP API gateway turns requests into API Gateway payload 2.0 events and function results back into
responses as API Gateway does (tests/fixtures/template.yaml; the echo function answers with what it received)."""
from __future__ import annotations

import base64
import http.client as httpclient
import json

import pytest
import requests


@pytest.fixture(scope="module")
def http(gateway_stack):
    session = requests.Session()
    session.base = gateway_stack.http_url
    yield session
    session.close()


def echo(http, method: str, path: str, **kwargs) -> tuple[requests.Response, dict]:
    response = http.request(method, http.base + path, **kwargs)
    assert response.status_code == 200, response.text
    return response, response.json()


def test_a_static_path_beats_a_path_parameter(http):
    _, history = echo(http, "GET", "/api/orders/history")
    _, by_id = echo(http, "GET", "/api/orders/3f0c9a4e")
    assert history["event"]["routeKey"] == "GET /api/orders/history"
    assert "pathParameters" not in history["event"]
    assert by_id["event"]["routeKey"] == "GET /api/orders/{orderId}"
    assert by_id["event"]["pathParameters"] == {"orderId": "3f0c9a4e"}


def test_nested_and_greedy_path_parameters(http):
    _, nested = echo(http, "GET", "/things/t1/parts/p%202")
    _, greedy = echo(http, "DELETE", "/echo/a/b/c")
    _, exact = echo(http, "POST", "/echo", json={})
    assert nested["event"]["pathParameters"] == {"thingId": "t1", "partId": "p 2"}
    assert nested["event"]["rawPath"] == "/things/t1/parts/p%202"
    assert greedy["event"]["routeKey"] == "ANY /echo/{proxy+}"
    assert greedy["event"]["pathParameters"] == {"proxy": "a/b/c"}
    assert greedy["event"]["requestContext"]["http"]["method"] == "DELETE"
    assert exact["event"]["routeKey"] == "POST /echo"


@pytest.mark.parametrize("method,path", [("GET", "/nope"), ("DELETE", "/api/orders/history"), ("GET", "/")])
def test_an_unknown_route_is_api_gateways_404(http, method, path):
    response = http.request(method, http.base + path)
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


def test_query_strings_keep_their_raw_form_and_join_repeated_keys(http):
    _, body = echo(http, "GET", "/api/orders/history?status=confirmed&token=SOL&token=USDC&q=a%20b&empty=")
    event = body["event"]
    assert event["rawQueryString"] == "status=confirmed&token=SOL&token=USDC&q=a%20b&empty="
    assert event["queryStringParameters"] == {"status": "confirmed", "token": "SOL,USDC", "q": "a b", "empty": ""}


def test_no_query_string_means_no_query_parameters(http):
    _, body = echo(http, "GET", "/api/orders/history")
    assert body["event"]["rawQueryString"] == ""
    assert "queryStringParameters" not in body["event"]


def test_headers_are_lower_cased_and_repeated_values_comma_joined(gateway_stack):
    host, port = gateway_stack.http_url.removeprefix("http://").split(":")
    conn = httpclient.HTTPConnection(host, int(port))
    conn.putrequest("GET", "/api/orders/history")
    for name, value in [("X-Trace", "one"), ("X-Trace", "two"), ("Idempotency-Key", "K-1")]:
        conn.putheader(name, value)
    conn.endheaders()
    body = json.loads(conn.getresponse().read())
    conn.close()
    headers = body["event"]["headers"]
    assert headers["x-trace"] == "one,two"
    assert headers["idempotency-key"] == "K-1"
    assert all(name == name.lower() for name in headers)


def test_cookies_arrive_as_a_list_and_not_as_a_header(http):
    _, body = echo(http, "GET", "/api/orders/history", headers={"Cookie": "session=abc; theme=dark"})
    assert body["event"]["cookies"] == ["session=abc", "theme=dark"]
    assert "cookie" not in body["event"]["headers"]


def test_a_json_body_arrives_as_text(http):
    _, body = echo(http, "POST", "/echo", data='{"amount": "1.5"}', headers={"content-type": "application/json"})
    assert body["event"]["body"] == '{"amount": "1.5"}'
    assert body["event"]["isBase64Encoded"] is False


@pytest.mark.parametrize("content_type", ["application/octet-stream", "image/png", "application/x-www-form-urlencoded"])
def test_a_non_text_body_arrives_base64_encoded(http, content_type):
    payload = bytes(range(256))
    _, body = echo(http, "POST", "/echo", data=payload, headers={"content-type": content_type})
    assert body["event"]["isBase64Encoded"] is True
    assert base64.b64decode(body["event"]["body"]) == payload


def test_request_context_describes_the_request(http):
    response, body = echo(http, "GET", "/api/orders/history", headers={"User-Agent": "pytest-agent"})
    context = body["event"]["requestContext"]
    assert body["event"]["version"] == "2.0"
    assert context["http"] == {"method": "GET", "path": "/api/orders/history", "protocol": "HTTP/1.1",
                               "sourceIp": "127.0.0.1", "userAgent": "pytest-agent"}
    assert context["stage"] == "$default"
    assert context["routeKey"] == "GET /api/orders/history"
    assert context["requestId"] == response.headers["apigw-requestid"]
    assert isinstance(context["timeEpoch"], int) and context["time"].endswith("+0000")
    assert context["domainName"] == http.base.removeprefix("http://")


def test_the_handler_gets_a_lambda_context_from_the_template(http):
    _, body = echo(http, "GET", "/api/orders/history")
    context = body["context"]
    assert context["function_name"] == "order-engine-echo"
    assert context["invoked_function_arn"] == "arn:aws:lambda:us-east-1:000000000000:function:order-engine-echo"
    assert context["memory_limit_in_mb"] == "256"  # from Globals
    assert context["function_version"] == "$LATEST"
    assert context["log_group_name"] == "/aws/lambda/order-engine-echo"
    assert 0 < context["remaining_ms"] <= 5000  # the template's Timeout: 5
    assert context["aws_request_id"]


def test_functions_get_the_environment_the_template_declares_filled_from_the_stack(http, gateway_stack):
    _, body = echo(http, "GET", "/api/orders/history")
    env = body["env"]
    assert env["GREETING"] == "hello-from-globals"
    assert env["MARKER_DIR"] == gateway_stack.env["MARKER_DIR"]  # !Ref MarkerDir takes the stack's value
    assert env["STACK_LAMBDA"] == "order-engine-slow"  # !Sub "${AWS::StackName}-slow"
    assert env["DATABASE_URL"] == gateway_stack.env["DATABASE_URL"]
    assert env["AWS_ENDPOINT_URL_LAMBDA"] == gateway_stack.lambda_url
    assert env["WS_MANAGEMENT_ENDPOINT"] == f"http://127.0.0.1:{gateway_stack.ports['ws']}/local"
    assert env["AWS_REGION"] == "us-east-1" and env["AWS_ACCESS_KEY_ID"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "order-engine-echo"


def test_each_function_imports_its_own_app_module(http):
    _, echo_body = echo(http, "GET", "/api/orders/history")
    slow = http.get(http.base + "/slow").json()
    assert echo_body["module"].endswith("fixtures/functions/echo/app.py")
    assert slow["module"].endswith("fixtures/functions/slow/app.py")


def respond(http, document) -> requests.Response:
    return http.post(http.base + "/respond", data=json.dumps(document), headers={"content-type": "application/json"})


def test_a_structured_result_sets_status_headers_and_cookies(http):
    response = respond(http, {
        "statusCode": 201,
        "headers": {"content-type": "text/plain", "x-one": "1"},
        "multiValueHeaders": {"x-many": ["a", "b"]},
        "cookies": ["session=abc; HttpOnly", "theme=dark"],
        "body": "created",
    })
    assert response.status_code == 201
    assert response.text == "created"
    assert response.headers["content-type"] == "text/plain"
    assert response.headers["x-one"] == "1"
    assert response.raw.headers.getlist("x-many") == ["a", "b"]
    assert response.raw.headers.getlist("set-cookie") == ["session=abc; HttpOnly", "theme=dark"]


def test_a_base64_result_body_is_decoded(http):
    payload = bytes(range(256))
    response = respond(http, {"statusCode": 200, "headers": {"content-type": "application/octet-stream"},
                              "body": base64.b64encode(payload).decode(), "isBase64Encoded": True})
    assert response.content == payload


@pytest.mark.parametrize("value", [{"orderId": "x", "n": 1}, [1, 2, 3], "plain"])
def test_a_result_without_status_code_is_a_json_200(http, value):
    response = respond(http, value)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == value


def test_a_function_error_is_api_gateways_500(http):
    response = http.post(http.base + "/respond", data="not json", headers={"content-type": "text/plain"})
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}
