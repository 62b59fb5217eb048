"""Schemathesis hooks for the contract fuzzing (tests/e2e/test_contract_fuzz.py loads them through
SCHEMATHESIS_HOOKS): JSON written with plain numbers, and the "valid by the document, so accepted" check with the
exceptions the document names."""
from __future__ import annotations

import json
import math
from decimal import Decimal

import schemathesis
from hypothesis.internal import lambda_sources

_describe_lambda = lambda_sources._lambda_description


def _lambda_description_or_name(f) -> str:
    """Hypothesis describes a strategy's lambdas by parsing their source (for reprs only); CPython 3.11.7's parser
    sometimes raises "SystemError: AST constructor recursion depth mismatch" when it is called deep in a draw
    (fixed in later CPython releases), which failed a fuzzing run that had found nothing. Fall back to the name."""
    try:
        return _describe_lambda(f)
    except SystemError:
        return "lambda"


lambda_sources._lambda_description = _lambda_description_or_name

# The rules a JSON Schema cannot state (the request body's description names them): a request valid by the
# document may still be refused for one of these, and for no other reason.
RULES_THE_SCHEMA_CANNOT_STATE = {
    "distinct_tokens", "decimals", "maximum", "issued_cursor", "min_not_above_max",
    "not_past",  # a listing's `at`
    # what a limit or sniper order requires or refuses depends on its `type`: the body's description states these
    # in words, not as schema conditionals
    "required", "one_expiry", "future", "positive", "market_only", "limit_only", "sniper_only", "quote_token",
    "not_listed",  # a sniper's pair has listed: the market's state, not the request's
}
# GET /api/quote takes one of the submit body's two shapes as query parameters, which a schema of separate
# parameters cannot state, and an amount too small to buy anything has no route (its description says both)
QUERY_SHAPE_RULES = {"one_shape", "required", "routable"}


@schemathesis.serializer("application/json")
def plain_json(_ctx, value) -> bytes:
    """JSON with numbers written plainly: the API refuses exponent notation (`1e-05`), which Python's json writes
    for small and large floats; the number sent is the same."""
    return value if isinstance(value, bytes) else _plain(value).encode()


def _plain(value) -> str:
    if isinstance(value, float) and math.isfinite(value):
        text = format(Decimal(repr(value)), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_plain(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_plain(v) for v in value) + "]"
    if isinstance(value, (bytes, bytearray)):
        return json.dumps(bytes(value).decode("latin-1"))
    return json.dumps(value)


@schemathesis.check
def valid_requests_are_accepted(ctx, response, case):
    """schemathesis' positive_data_acceptance, less the rules the document says it cannot state."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    rules = {d.get("rule") for d in response.json()["error"]["details"]}
    allowed = RULES_THE_SCHEMA_CANNOT_STATE | (QUERY_SHAPE_RULES if case.path == "/api/quote" else set())
    if not rules <= allowed:
        raise AssertionError(f"A request valid by the document was refused for {sorted(rules)}")
    return None
