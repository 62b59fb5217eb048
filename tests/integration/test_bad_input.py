"""Bad input never reaches a 500: each case gets the error shape, a code, a message naming the field, and
nothing is written to PostgreSQL or Redis."""
import base64
import json

import pytest

from tests.support.lambdas import FakeLambdaContext, http_event, response_json
from tests.support.reads import order_count
from tests.support.sql import event_count

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
    ("amount NaN literal", '{"tokenIn": "SOL", "tokenOut": "USDC", "amount": NaN}', 400, "invalid_json", "NaN"),
    ("amount NaN string", json.dumps({**SOL_USDC, "amount": "NaN"}), 400, "invalid_request", "amount"),
    ("amount Infinity", '{"tokenIn": "SOL", "tokenOut": "USDC", "amount": Infinity}', 400, "invalid_json", "Infinity"),
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
    ("unsupported type", json.dumps({**SOL_USDC, "amount": 1, "type": "twap"}), 400, "invalid_request", "type"),
    ("client order id too long", json.dumps({**SOL_USDC, "amount": 1, "clientOrderId": "x" * 65}), 400,
     "invalid_request", "clientOrderId"),
    ("sql in token", json.dumps({"tokenIn": "SOL'; DROP TABLE orders;--", "tokenOut": "USDC", "amount": 1}), 400,
     "invalid_request", "tokenIn"),
    ("sql in amount", json.dumps({**SOL_USDC, "amount": "1; DELETE FROM orders"}), 400, "invalid_request", "amount"),
    ("sql in base units", json.dumps({"inputMint": "SOL", "outputMint": "USDC", "amountIn": "1 OR 1=1"}), 400,
     "invalid_request", "amountIn"),
    ("sql in type", json.dumps({**SOL_USDC, "amount": 1, "type": "market' OR '1'='1"}), 400, "invalid_request", "type"),
    ("dynamic slippage min above max", json.dumps({**SOL_USDC, "amount": 1, "dynamicSlippage": {"minBps": 60, "maxBps": 50}}),
     400, "invalid_request", "dynamicSlippage"),
    ("dynamic slippage above the maximum", json.dumps({**SOL_USDC, "amount": 1, "dynamicSlippage": {"minBps": 1, "maxBps": 5001}}),
     400, "invalid_request", "dynamicSlippage.maxBps"),
    ("dynamic slippage with slippageBps", json.dumps({**SOL_USDC, "amount": 1, "slippageBps": 50,
                                                      "dynamicSlippage": {"minBps": 1, "maxBps": 50}}),
     400, "invalid_request", "slippageBps"),
    ("dynamic slippage not an object", json.dumps({**SOL_USDC, "amount": 1, "dynamicSlippage": 50}), 400,
     "invalid_request", "dynamicSlippage"),
    ("quoteId malformed", json.dumps({**SOL_USDC, "amount": 1, "quoteId": "q_1' OR '1'='1"}), 400, "invalid_request",
     "quoteId"),
    ("quoteId unknown", json.dumps({**SOL_USDC, "amount": 1, "quoteId": "q_" + "0" * 32}), 404, "quote_not_found",
     "quote"),
    ("body over 16 KiB", json.dumps({**SOL_USDC, "amount": 1, "clientOrderId": "x" * 17_000}), 413, "body_too_large", "bytes"),
    # the issue's table: what reached a 500, or was accepted though Python's number syntax is wider than the API's
    ("nested 5,000 deep balanced", "[" * 5000 + "]" * 5000, 400, "invalid_json", "nested"),
    ("nested 16,000 deep unbalanced", "[" * 16_000, 400, "invalid_json", "nested"),
    ("nested objects in a field", '{"tokenIn": ' + '{"a":' * 2500 + "1" + "}" * 2500 + "}", 400, "invalid_json", "nested"),
    ("brackets inside strings do not count", json.dumps({**SOL_USDC, "amount": 1, "clientOrderId": "[{" * 40}), 400,
     "invalid_request", "clientOrderId"),
    ("amountIn past the int-string limit", '{"inputMint": "SOL", "outputMint": "USDC", "amountIn": ' + "9" * 5000 + "}",
     400, "invalid_request", "amountIn"),
    ("amount past the int-string limit", '{"tokenIn": "SOL", "tokenOut": "USDC", "amount": ' + "9" * 15000 + "}",
     400, "invalid_request", "amount"),
    ("NUL in clientOrderId", '{"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1, "clientOrderId": "a\\u0000b"}', 400,
     "invalid_request", "clientOrderId"),
    ("NUL in a key", '{"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1, "x\\u0000": 1}', 400, "invalid_request", "NUL"),
    ("lone surrogate in clientOrderId", '{"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1, "clientOrderId": "\\ud800"}',
     400, "invalid_request", "UTF-8"),
    ("control character in clientOrderId", json.dumps({**SOL_USDC, "amount": 1, "clientOrderId": "a\u0007"}), 400,
     "invalid_request", "clientOrderId"),
    ("duplicate key", '{"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1, "tokenIn": "USDT"}', 400, "invalid_request",
     "tokenIn"),
    ("null field", json.dumps({**SOL_USDC, "amount": None}), 400, "invalid_request", "amount"),
    ("amount exponent overflowing the decimal context", '{"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1e999999999}',
     400, "invalid_request", "amount"),
    ("amount exponent just below overflow", '{"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1e-999999998}', 400,
     "invalid_request", "amount"),
    ("amount exponent as a string", json.dumps({**SOL_USDC, "amount": "1e999999999"}), 400, "invalid_request", "amount"),
    ("amount 1e3 number", '{"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1e3}', 400, "invalid_request", "amount"),
    ("amount 1E-9 number", '{"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1E-9}', 400, "invalid_request", "amount"),
    ("amount digits past float precision", '{"tokenIn": "SOL", "tokenOut": "USDC", "amount": 0.30000000000000001}', 400,
     "invalid_request", "decimal places"),
    *[(f"amount string {text!r}", json.dumps({**SOL_USDC, "amount": text}), 400, "invalid_request", "amount")
      for text in ["\u0661\u0662", "\uff11", "1_000", "1e3", "1E-9", "+1", ".5", "5.", "\u00a01\u00a0", " 1", "1\u2009000",
                   "\U0001d7cf", "0x1", "1" * 65]],
    *[(f"amountIn string {text!r}", json.dumps({"inputMint": "SOL", "outputMint": "USDC", "amountIn": text}), 400,
       "invalid_request", "amountIn") for text in ["\u0661\u0662", "\uff11", "1_000", "1e3", "+1", " 1", "9" * 5000]],
    ("token with a no-break space", json.dumps({"tokenIn": "SOL\u00a0", "tokenOut": "USDC", "amount": 1}), 400,
     "invalid_request", "tokenIn"),
    ("token that uppercases to SOL", json.dumps({"tokenIn": "\u017fol", "tokenOut": "USDC", "amount": 1}), 400,
     "invalid_request", "tokenIn"),
]


def event_with(method="POST", path="/api/orders/execute", raw_body=None, **overrides):
    body = json.dumps({**SOL_USDC, "amount": 1}) if raw_body is None and method == "POST" else raw_body
    event = http_event(method, path, raw_body=body)
    for key, value in overrides.items():
        event[key] = {**(event.get(key) or {}), **value} if isinstance(value, dict) else value
    return event


BAD_EVENTS = [
    # (case, event, status, code, mentioned) for what never reaches the body parser
    ("non-UTF-8 Idempotency-Key", event_with(headers={"idempotency-key": "k\udcff\udcfe"}), 400, "invalid_request",
     "idempotency-key"),
    ("NUL in Idempotency-Key", event_with(headers={"idempotency-key": "k\x00"}), 400, "invalid_request", "idempotency-key"),
    ("newline in Idempotency-Key", event_with(headers={"idempotency-key": "a\nb"}), 400, "invalid_request", "idempotency-key"),
    ("space in Idempotency-Key", event_with(headers={"idempotency-key": "a b"}), 400, "invalid_request", "Idempotency-Key"),
    ("Idempotency-Key too long", event_with(headers={"idempotency-key": "k" * 256}), 400, "invalid_request", "Idempotency-Key"),
    ("NUL in another header", event_with(headers={"x-trace": "\x00"}), 400, "invalid_request", "x-trace"),
    ("U+FFFD (bytes that were not UTF-8) in a header", event_with(headers={"x-trace": "a\ufffd"}), 400,
     "invalid_request", "UTF-8"),
    ("NUL in a cookie", event_with(cookies=["a=\x00"]), 400, "invalid_request", "Cookie"),
    ("non-UTF-8 header name", event_with(headers={"x-\udcff": "1"}), 400, "invalid_request", "UTF-8"),
    ("non-UTF-8 body text", event_with(raw_body='{"tokenIn": "\udcff"}'), 400, "invalid_json", "UTF-8"),
    ("non-UTF-8 body bytes", event_with(raw_body=base64.b64encode(b'{"tokenIn": "\xff"}').decode(), isBase64Encoded=True),
     400, "invalid_json", "UTF-8"),
    ("GET on the submit path", event_with("GET"), 405, "method_not_allowed", "POST"),
    ("PUT on an order", event_with("PUT", "/api/orders/3f0c7d9e-0a8b-4c1d-9e2f-5a6b7c8d9e0f"), 405,
     "method_not_allowed", "DELETE"),
    ("PUT on health", event_with("PUT", "/api/health", raw_body=""), 405, "method_not_allowed", "GET"),
]


@pytest.mark.parametrize("case,event,status,code,mentions", BAD_EVENTS, ids=[c[0] for c in BAD_EVENTS])
def test_bad_headers_bodies_and_methods_are_refused_before_parsing(configured, submit_fn, db, redis_client, settings,
                                                                    case, event, status, code, mentions):
    resp = submit_fn.handler(event, FakeLambdaContext())  # whichever function a request lands on answers alike
    assert_error_shape(resp, status, code, mentions)
    if status == 405:
        allowed = resp["headers"]["Allow"]
        assert allowed == {"/api/orders/execute": "POST", "/api/health": "GET"}.get(event["rawPath"], "DELETE, GET")
    assert_nothing_written(db, redis_client, settings)


def assert_nothing_written(db, redis_client, settings):
    assert order_count(db) == 0
    assert event_count(db) == 0
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
    ("garbage cursor", "/api/orders/history", None, {"cursor": "%%%"}, 400, "invalid_request", "cursor"),
    ("limit too big", "/api/orders/history", None, {"limit": "501"}, 400, "invalid_request", "limit"),
    ("limit zero", "/api/orders/history", None, {"limit": "0"}, 400, "invalid_request", "limit"),
    ("limit text", "/api/orders/history", None, {"limit": "ten"}, 400, "invalid_request", "limit"),
    ("unknown status", "/api/orders/history", None, {"status": "lost"}, 400, "invalid_request", "status"),
    ("sql in status", "/api/orders/history", None, {"status": "x' OR 1=1--"}, 400, "invalid_request", "status"),
    ("unknown token filter", "/api/orders/history", None, {"token": "DOGE"}, 400, "invalid_request", "token"),
    ("id without hyphens", "/api/orders/3f0c7d9e0a8b4c1d9e2f5a6b7c8d9e0f", {"orderId": "3f0c7d9e0a8b4c1d9e2f5a6b7c8d9e0f"},
     None, 400, "invalid_order_id", "orderId"),
    ("id in braces", "/api/orders/{3f0c7d9e-0a8b-4c1d-9e2f-5a6b7c8d9e0f}",
     {"orderId": "{3f0c7d9e-0a8b-4c1d-9e2f-5a6b7c8d9e0f}"}, None, 400, "invalid_order_id", "orderId"),
    ("id with a newline", "/api/orders/%0A", {"orderId": "\n"}, None, 400, "invalid_order_id", "orderId"),
    ("id with a trailing newline", "/api/orders/3f0c7d9e-0a8b-4c1d-9e2f-5a6b7c8d9e0f%0A",
     {"orderId": "3f0c7d9e-0a8b-4c1d-9e2f-5a6b7c8d9e0f\n"}, None, 400, "invalid_order_id", "orderId"),
    ("NUL in the id", "/api/orders/%00", {"orderId": "\x00"}, None, 400, "invalid_request", "NUL"),
    ("NUL in a query parameter", "/api/orders/history", None, {"token": "SOL\x00"}, 400, "invalid_request", "token"),
    ("limit with fullwidth digits", "/api/orders/history", None, {"limit": "\uff15"}, 400, "invalid_request", "limit"),
    ("limit beyond the int-string limit", "/api/orders/history", None, {"limit": "9" * 5000}, 400, "invalid_request", "limit"),
    ("cursor of 100 KB", "/api/orders/history", None, {"cursor": "A" * 100_000}, 400, "invalid_request", "cursor"),
]


@pytest.mark.parametrize("case,path,params,query,status,code,mentions", BAD_READS, ids=[c[0] for c in BAD_READS])
def test_bad_reads_are_4xx_with_error_shape(configured, orders_fn, db, case, path, params, query, status, code, mentions):
    route = "GET /api/orders/{orderId}" if params else "GET /api/orders/history"
    event = http_event("GET", path, query=query, path_parameters=params, route_key=route)
    resp = orders_fn.handler(event, FakeLambdaContext())
    assert_error_shape(resp, status, code, mentions)


BAD_CANCELS = [c for c in BAD_READS if c[2] is not None]  # the order id cases: DELETE reads the id as GET does


@pytest.mark.parametrize("case,path,params,query,status,code,mentions", BAD_CANCELS, ids=[c[0] for c in BAD_CANCELS])
def test_bad_cancels_are_4xx_with_error_shape_and_write_nothing(configured, submit_fn, orders_fn, db, redis_client,
                                                                 settings, case, path, params, query, status, code,
                                                                 mentions):
    event = http_event("DELETE", path, path_parameters=params, route_key="DELETE /api/orders/{orderId}")
    resp = orders_fn.handler(event, FakeLambdaContext())
    assert_error_shape(resp, status, code, mentions)
    assert_nothing_written(db, redis_client, settings)


def test_unknown_route_is_404_in_error_shape(configured, orders_fn):
    resp = orders_fn.handler(http_event("GET", "/api/nothing-here"), FakeLambdaContext())
    assert_error_shape(resp, 404, "not_found", "route")


def test_every_refusal_is_cheap_and_4xx(configured, submit_fn, orders_fn, capsys):
    """Each bad input of this file, refused again in a loop: the CPU it costs (time.process_time, the median of 5
    runs, printed; run with -s to see it) is a figure for docs/api.md, not an assertion (the machine is shared)."""
    import statistics
    import time

    cases = [(c[0], submit_fn, lambda raw=c[1]: http_event("POST", "/api/orders/execute", raw_body=raw)) for c in BAD_BODIES]
    cases += [(c[0], submit_fn, lambda e=c[1]: dict(e, headers=dict(e["headers"])))
              for c in BAD_EVENTS]
    cases += [(c[0], orders_fn, lambda c=c: http_event("GET", c[1], query=c[3], path_parameters=c[2],
                                                       route_key="GET /api/orders/{orderId}" if c[2] else "GET /api/orders/history"))
              for c in BAD_READS if c[5] != "order_not_found"]
    costs = []
    for name, fn, make in cases:
        runs = []
        for _ in range(5):
            event = make()
            started = time.process_time()
            resp = fn.handler(event, FakeLambdaContext())
            runs.append(time.process_time() - started)
            assert 400 <= resp["statusCode"] < 500 and "error" in response_json(resp), (name, resp)
        costs.append((statistics.median(runs) * 1000, name))
    with capsys.disabled():
        print(f"\nCPU to refuse, median of 5 (ms), {len(costs)} inputs; the 10 costliest:")
        for ms, name in sorted(costs, reverse=True)[:10]:
            print(f"  {ms:6.2f}  {name}")
