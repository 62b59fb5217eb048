"""Bad input never reaches a 500: each case gets the error shape, a code, a message naming the field, and
nothing is written to PostgreSQL or Redis."""
import json

import pytest

from helpers import FakeLambdaContext, http_event, response_json

SOL_USDC = {"tokenIn": "SOL", "tokenOut": "USDC"}

BAD_BODIES = [
    # (case, raw body, status, error code, field named in the message)
    ("invalid json", '{"tokenIn": "SOL",', 400, "invalid_json", "JSON"),
    ("array body", "[1, 2]", 400, "invalid_request", "object"),
    ("string body", '"SOL"', 400, "invalid_request", "object"),
    ("missing amount", json.dumps(SOL_USDC), 400, "invalid_request", "amount"),
    ("missing everything", "{}", 400, "invalid_request", "tokenIn"),
    ("unknown token", json.dumps({"tokenIn": "DOGE", "tokenOut": "USDC", "amount": 1}), 400, "invalid_request", "tokenIn"),
    ("unknown mint", json.dumps({"inputMint": "So11111111111111111111111111111111111111113", "outputMint": "USDC",
                                 "amountIn": 1}), 400, "invalid_request", "inputMint"),
    ("same token", json.dumps({"tokenIn": "SOL", "tokenOut": "SOL", "amount": 1}), 400, "invalid_request", "tokenOut"),
    ("same token by mint", json.dumps({"tokenIn": "SOL", "tokenOut": "So11111111111111111111111111111111111111112",
                                       "amount": 1}), 400, "invalid_request", "tokenOut"),
    ("amount zero", json.dumps({**SOL_USDC, "amount": 0}), 400, "invalid_request", "amount"),
    ("amount negative", json.dumps({**SOL_USDC, "amount": -1}), 400, "invalid_request", "amount"),
    ("amount negative string", json.dumps({**SOL_USDC, "amount": "-0.5"}), 400, "invalid_request", "amount"),
    ("amount text", json.dumps({**SOL_USDC, "amount": "one"}), 400, "invalid_request", "amount"),
    ("amount NaN literal", '{"tokenIn": "SOL", "tokenOut": "USDC", "amount": NaN}', 400, "invalid_request", "amount"),
    ("amount NaN string", json.dumps({**SOL_USDC, "amount": "NaN"}), 400, "invalid_request", "amount"),
    ("amount Infinity", '{"tokenIn": "SOL", "tokenOut": "USDC", "amount": Infinity}', 400, "invalid_request", "amount"),
    ("amount boolean", json.dumps({**SOL_USDC, "amount": True}), 400, "invalid_request", "amount"),
    ("amount object", json.dumps({**SOL_USDC, "amount": {"v": 1}}), 400, "invalid_request", "amount"),
    ("too many decimals", json.dumps({"tokenIn": "USDC", "tokenOut": "SOL", "amount": "1.0000001"}), 400,
     "invalid_request", "amount"),
    ("above maximum", json.dumps({**SOL_USDC, "amount": 100_001}), 400, "invalid_request", "amount"),
    ("base units fractional", json.dumps({"inputMint": "SOL", "outputMint": "USDC", "amountIn": 1.5}), 400,
     "invalid_request", "amountIn"),
    ("base units decimal string", json.dumps({"inputMint": "SOL", "outputMint": "USDC", "amountIn": "1.5"}), 400,
     "invalid_request", "amountIn"),
    ("base units zero", json.dumps({"inputMint": "SOL", "outputMint": "USDC", "amountIn": 0}), 400,
     "invalid_request", "amountIn"),
    ("slippage negative", json.dumps({**SOL_USDC, "amount": 1, "slippageBps": -1}), 400, "invalid_request", "slippageBps"),
    ("slippage too high", json.dumps({**SOL_USDC, "amount": 1, "slippageBps": 5001}), 400, "invalid_request", "slippageBps"),
    ("slippage fractional", json.dumps({**SOL_USDC, "amount": 1, "slippageBps": 1.5}), 400, "invalid_request", "slippageBps"),
    ("shapes mixed", json.dumps({"tokenIn": "SOL", "outputMint": "USDC", "amount": 1}), 400, "invalid_request", "outputMint"),
    ("shapes mixed fully", json.dumps({**SOL_USDC, "amount": 1, "inputMint": "SOL", "outputMint": "USDC",
                                       "amountIn": 1}), 400, "invalid_request", "inputMint"),
    ("unknown field", json.dumps({**SOL_USDC, "amount": 1, "price": 3}), 400, "invalid_request", "price"),
    ("unsupported type", json.dumps({**SOL_USDC, "amount": 1, "type": "limit"}), 400, "invalid_request", "type"),
    ("client order id too long", json.dumps({**SOL_USDC, "amount": 1, "clientOrderId": "x" * 65}), 400,
     "invalid_request", "clientOrderId"),
    ("sql in token", json.dumps({"tokenIn": "SOL'; DROP TABLE orders;--", "tokenOut": "USDC", "amount": 1}), 400,
     "invalid_request", "tokenIn"),
    ("sql in amount", json.dumps({**SOL_USDC, "amount": "1; DELETE FROM orders"}), 400, "invalid_request", "amount"),
    ("sql in base units", json.dumps({"inputMint": "SOL", "outputMint": "USDC", "amountIn": "1 OR 1=1"}), 400,
     "invalid_request", "amountIn"),
    ("sql in type", json.dumps({**SOL_USDC, "amount": 1, "type": "market' OR '1'='1"}), 400, "invalid_request", "type"),
    ("body over 16 KiB", json.dumps({**SOL_USDC, "amount": 1, "clientOrderId": "x" * 17_000}), 413, "body_too_large", "bytes"),
]


def assert_nothing_written(db, redis_client, settings):
    assert db.run("SELECT count(*) FROM orders") == [[0]]
    assert db.run("SELECT count(*) FROM order_events") == [[0]]
    assert list(redis_client.scan_iter(match=f"{settings.key_prefix}*")) == []


def assert_error_shape(resp, status, code, mentions):
    assert resp["statusCode"] == status, resp
    error = response_json(resp)["error"]
    assert error["code"] == code
    assert mentions.lower() in error["message"].lower(), error
    assert isinstance(error["details"], list)


@pytest.mark.parametrize("case,raw,status,code,mentions", BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bad_submit_is_refused_and_writes_nothing(configured, submit_fn, db, redis_client, settings,
                                                  case, raw, status, code, mentions):
    resp = submit_fn.handler(http_event("POST", "/api/orders/execute", raw_body=raw), FakeLambdaContext())
    assert_error_shape(resp, status, code, mentions)
    assert_nothing_written(db, redis_client, settings)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"])
def test_non_json_content_type_is_415(configured, submit_fn, db, redis_client, settings, content_type):
    event = http_event("POST", "/api/orders/execute", raw_body="tokenIn=SOL&tokenOut=USDC&amount=1",
                       headers={"Content-Type": content_type})
    resp = submit_fn.handler(event, FakeLambdaContext())
    assert_error_shape(resp, 415, "unsupported_media_type", "content-type")
    assert_nothing_written(db, redis_client, settings)


BAD_READS = [
    ("non-uuid id", "/api/orders/not-a-uuid", {"orderId": "not-a-uuid"}, None, 400, "invalid_order_id", "orderId"),
    ("sql in id", "/api/orders/1' OR '1'='1", {"orderId": "1' OR '1'='1"}, None, 400, "invalid_order_id", "orderId"),
    ("unknown id", "/api/orders/3f0c7d9e-0a8b-4c1d-9e2f-5a6b7c8d9e0f", {"orderId": "3f0c7d9e-0a8b-4c1d-9e2f-5a6b7c8d9e0f"},
     None, 404, "order_not_found", "3f0c7d9e"),
    ("tampered cursor", "/api/orders/history", None, {"cursor": "AAAAAAAAAAAAAAAAWyIyMDI2LTExLTIyIiwgIngiXQ"}, 400,
     "invalid_cursor", "cursor"),
    ("garbage cursor", "/api/orders/history", None, {"cursor": "%%%"}, 400, "invalid_cursor", "cursor"),
    ("limit too big", "/api/orders/history", None, {"limit": "501"}, 400, "invalid_request", "limit"),
    ("limit zero", "/api/orders/history", None, {"limit": "0"}, 400, "invalid_request", "limit"),
    ("limit text", "/api/orders/history", None, {"limit": "ten"}, 400, "invalid_request", "limit"),
    ("unknown status", "/api/orders/history", None, {"status": "lost"}, 400, "invalid_request", "status"),
    ("sql in status", "/api/orders/history", None, {"status": "x' OR 1=1--"}, 400, "invalid_request", "status"),
    ("unknown token filter", "/api/orders/history", None, {"token": "DOGE"}, 400, "invalid_request", "token"),
]


@pytest.mark.parametrize("case,path,params,query,status,code,mentions", BAD_READS, ids=[c[0] for c in BAD_READS])
def test_bad_reads_are_4xx_with_error_shape(configured, orders_fn, db, case, path, params, query, status, code, mentions):
    route = "GET /api/orders/{orderId}" if params else "GET /api/orders/history"
    event = http_event("GET", path, query=query, path_parameters=params, route_key=route)
    resp = orders_fn.handler(event, FakeLambdaContext())
    assert_error_shape(resp, status, code, mentions)


def test_unknown_route_is_404_in_error_shape(configured, orders_fn):
    resp = orders_fn.handler(http_event("GET", "/api/nothing-here"), FakeLambdaContext())
    assert_error_shape(resp, 404, "not_found", "route")
