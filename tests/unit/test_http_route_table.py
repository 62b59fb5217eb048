"""The 405 guard's view of the API (read from Powertools' routers, whose route list is not public API: a Powertools
upgrade that changes it fails here, not in production) matches the OpenAPI document path for path."""
import json

from order_engine.api.entry import RouteTable, api_routes
from order_engine.api.routes import API_ROUTERS, openapi_json


def test_the_route_table_knows_every_path_and_its_methods():
    table = api_routes()
    assert table.allowed("/api/orders/execute") == ("POST",)
    assert table.allowed("/api/orders/history") == ("GET",)  # a static path before /api/orders/{orderId}
    assert table.allowed("/api/orders/3f0c7d9e-0a8b-4c1d-9e2f-5a6b7c8d9e0f") == ("DELETE", "GET")
    assert table.allowed("/api/orders/a/b") is None and table.allowed("/api/openapiXjson") is None


def test_the_route_table_and_the_document_agree():
    document = json.loads(openapi_json())
    table = RouteTable(API_ROUTERS)
    for path, operations in document["paths"].items():
        assert table.allowed(path.replace("{orderId}", "x")) == tuple(sorted(m.upper() for m in operations)), path
