"""The three ways the engine is served cannot disagree on what it serves: the local gateway and `sam deploy` both
read template.yaml, the chalice app declares its own routes, and all of them must be the Powertools routers'
routes, the template's WebSocket route keys and the executor's schedule."""
from __future__ import annotations

import re
from pathlib import Path

from tests.support.chalice_app import chalice_module
from local.template import load_template
from order_engine.api.http import create_app
from order_engine.api.page import page_router
from order_engine.api.routes import operator_router, orders_router, submit_router, web_router

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
BUILT_IN_WS_ROUTES = {"$connect", "$disconnect", "$default"}


def powertools_routes() -> set[str]:
    app = create_app(submit_router, orders_router, operator_router, web_router,
                     page_router(ROOT / "functions" / "web" / "static"))
    routes = [*app._static_routes, *app._dynamic_routes]  # noqa: SLF001 - the resolver lists no routes publicly
    return {f"{route.method} " + re.sub(r"<(\w+)>", r"{\1}", route.path) for route in routes}


def chalice_routes() -> set[str]:
    return {f"{method} {path}" for path, methods in chalice_module().app.routes.items() for method in methods}


def test_the_template_the_chalice_app_and_the_routers_serve_the_same_http_routes():
    template = TEMPLATE.served_http_routes
    # a catch-all only answers other methods of a path that has a served route
    assert {r.path for r in TEMPLATE.http_routes if r.catch_all} <= {key.split(" ", 1)[1] for key in template}
    assert template == powertools_routes()
    assert chalice_routes() == template


def test_chalice_selects_the_templates_websocket_routes_for_the_same_handlers():
    ws_events = chalice_module().ws_events
    template_routes = {r.route_key: TEMPLATE.functions[r.function] for r in TEMPLATE.websocket_api.routes}
    assert BUILT_IN_WS_ROUTES <= template_routes.keys()
    assert set(ws_events.MESSAGE_ROUTES) == template_routes.keys() - BUILT_IN_WS_ROUTES
    for key, handler in ws_events.MESSAGE_ROUTES.items():
        assert template_routes[key].handler == f"app.{handler.__name__}", key


def test_chalice_runs_the_executor_on_the_templates_schedule_and_registers_the_replay_function():
    module = chalice_module()
    schedules = {s.name: s.schedule_expression.to_string() for s in module.app.event_sources
                 if hasattr(s, "schedule_expression")}
    assert schedules == {"executor": TEMPLATE.functions["ExecutorFunction"].schedules[0].expression}
    assert [f.name for f in module.app.pure_lambda_functions] == ["ws-replay"]


def test_chalice_and_the_template_name_the_functions_submit_and_connect_invoke():
    import json

    config = json.loads((ROOT / "infra/chalice/.chalice/config.json").read_text())
    stage, env = "dev", config["stages"]["dev"]["environment_variables"]
    app_name = config["app_name"]
    assert env["EXECUTOR_FUNCTION_NAME"] == f"{app_name}-{stage}-executor"
    assert env["WS_REPLAY_FUNCTION_NAME"] == f"{app_name}-{stage}-ws-replay"
