"""Bad input over real HTTP and WebSocket through the local gateways: what a hand-made request can carry that a
well-behaved client never sends (raw bytes in headers, encoded control characters in the path, undeclared
methods, malformed frames) gets a 4xx in the error shape or an error frame, never a 5xx or plain text."""
from __future__ import annotations

import asyncio
import json
import socket

import pytest

ORDER_ID = "3f0c7d9e-0a8b-4c1d-9e2f-5a6b7c8d9e0f"
BODY = b'{"tokenIn":"SOL","tokenOut":"USDC","amount":1}'


def raw_request(stack, request: bytes) -> tuple[int, dict[str, str], bytes]:
    if stack.api_key is not None:  # the stack's key, as the other test clients send it (tests/support/clients.py)
        line, _, rest = request.partition(b"\r\n")
        request = line + b"\r\nx-api-key: " + stack.api_key.encode() + b"\r\n" + rest
    host, port = stack.http_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(request)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def assert_error_shape(status: int, headers: dict[str, str], body: bytes, expected_status: int, code: str) -> dict:
    assert status == expected_status, body
    assert headers["content-type"].startswith("application/json")
    error = json.loads(body)["error"]
    assert error["code"] == code and error["message"] and isinstance(error["details"], list)
    return error


@pytest.mark.parametrize("header", [b"Idempotency-Key: k\xff\xfe", b"Idempotency-Key: \xc3\x28", b"X-Trace: \xff"])
def test_a_header_that_is_not_utf8_is_a_400(local_stack, header):
    request = (b"POST /api/orders/execute HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
               + header + b"\r\nContent-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY)
    error = assert_error_shape(*raw_request(local_stack, request), 400, "invalid_request")
    assert "UTF-8" in error["message"]


@pytest.mark.parametrize("path,status,code", [
    ("/api/orders/%0A", 400, "invalid_order_id"),
    ("/api/orders/%0D%0A", 400, "invalid_order_id"),
    (f"/api/orders/{ORDER_ID}%0A", 400, "invalid_order_id"),
    ("/api/orders/%00", 400, "invalid_request"),
    ("/api/orders/%FF", 400, "invalid_order_id"),
])
def test_a_path_with_encoded_control_characters_gets_the_error_shape(local_stack, path, status, code):
    request = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    assert_error_shape(*raw_request(local_stack, request), status, code)


@pytest.mark.parametrize("method,path,allowed", [
    ("GET", "/api/orders/execute", "POST"), ("PUT", "/api/orders/execute", "POST"),
    ("PUT", f"/api/orders/{ORDER_ID}", "DELETE, GET"), ("POST", "/api/orders/history", "GET"),
    ("PATCH", "/api/health", "GET"), ("POST", "/api/queue", "GET"), ("DELETE", "/api/openapi.json", "GET"),
    ("PUT", "/api/docs", "GET"), ("OPTIONS", "/api/orders/execute", "POST"),
])
def test_a_method_the_path_does_not_serve_is_405_with_allow(local_stack, method, path, allowed):
    response = local_stack.client.request(method, local_stack.http_url + path, data=BODY, timeout=30)
    assert response.status_code == 405 and response.headers["Allow"] == allowed
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_every_documented_operation_is_routed_and_every_path_answers_405_for_others(local_stack):
    document = local_stack.client.get(f"{local_stack.http_url}/api/openapi.json", timeout=30).json()
    for path, operations in document["paths"].items():
        concrete = path.replace("{orderId}", ORDER_ID)
        allowed = ", ".join(sorted(m.upper() for m in operations))
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            if method.lower() in operations:
                continue
            response = local_stack.client.request(method, local_stack.http_url + concrete, timeout=30)
            assert (response.status_code, response.headers.get("Allow")) == (405, allowed), (method, path)


def test_malformed_frames_get_error_frames_and_the_connection_stays_open(local_stack):
    frames = ["[" * 5000 + "]" * 5000, "{" * 50_000, '{"action":"subscribe","orderId":"\\ud800"}',
              f'{{"action":"subscribe","orderId":"x","orderId":"{ORDER_ID}"}}', '{"action":"subscribe","orderId":[1]}',
              '{"action":{"a":1}}', '{"action":"ping","x":NaN}', "9" * 5000, ""]

    async def run() -> list[dict]:
        async with local_stack.session() as session:
            async with session.ws_connect(local_stack.ws_url) as ws:
                replies = []
                for frame in frames:
                    await ws.send_str(frame)
                    replies.append(json.loads((await ws.receive(timeout=30)).data))
                await ws.send_str('{"action":"ping"}')
                replies.append(json.loads((await ws.receive(timeout=30)).data))
                return replies

    replies = asyncio.run(run())
    assert all(r["type"] == "error" and r["code"] and r["message"] for r in replies[:-1]), replies
    assert replies[-1] == {"type": "pong"}
