"""template.yaml is what the local stack runs: every function it declares has its handler in its CodeUri, every
route of the API contract is wired, and the WebSocket routes reach functions."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.source_files import parse_python
from local.template import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")


@pytest.mark.parametrize("function", TEMPLATE.functions.values(), ids=lambda f: f.logical_id)
def test_every_function_has_its_handler_in_its_code_uri(function):
    module, _, name = function.handler.rpartition(".")
    source = function.code_uri / f"{module.replace('.', '/')}.py"
    assert source.is_file(), f"{function.logical_id}: {source} is missing"
    tree = parse_python(source)
    defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    defined |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    assert name in defined, f"{function.logical_id}: {source} defines no {name}"


def test_the_api_contracts_http_routes_are_wired():
    keys = {r.route_key for r in TEMPLATE.http_routes}
    assert {"POST /api/orders/execute", "GET /api/orders/{orderId}", "GET /api/orders/history",
            "GET /api/health", "GET /api/queue", "GET /api/openapi.json"} <= keys


def test_every_websocket_route_reaches_a_function():
    api = TEMPLATE.websocket_api
    assert api is not None and api.route_selection_expression == "$request.body.action"
    assert {"$connect", "$disconnect", "$default", "subscribe", "unsubscribe"} <= {r.route_key for r in api.routes}
    assert all(r.function in TEMPLATE.functions for r in api.routes)


# The routes anyone may call without a key; every other route, including one added later, is behind the API's
# default authorizer unless it opts out here and in template.yaml.
OPEN_ROUTES = {"GET /api/health", "ANY /api/health", "GET /", "GET /assets/{name}", "GET /assets/js/{module}",
               "GET /api/config", "ANY /api/config", "GET /api/openapi.json", "ANY /api/openapi.json", "GET /api/docs",
               "ANY /api/docs"}


def test_every_http_route_but_the_open_ones_is_behind_the_api_key_authorizer():
    open_routes = {r.route_key for r in TEMPLATE.http_routes if r.authorizer is None}
    assert open_routes == OPEN_ROUTES
    guarded = {r.authorizer for r in TEMPLATE.http_routes if r.authorizer is not None}
    assert len(guarded) == 1
    (authorizer,) = guarded
    assert authorizer.function == "AuthorizerFunction" and authorizer.simple_responses
    assert authorizer.payload_version == "2.0"
    # no identity source (a key may come in either of two headers) and so no gateway cache: see template.yaml
    assert authorizer.identity_sources == () and authorizer.ttl_s == 0


def test_the_websocket_handshake_is_behind_its_authorizer():
    connect = TEMPLATE.websocket_api.route("$connect")
    assert connect.authorizer is not None and connect.authorizer.function == "WsAuthorizerFunction"
    assert {r.route_key for r in TEMPLATE.websocket_api.routes if r.authorizer} == {"$connect"}
