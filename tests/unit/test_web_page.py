"""The web function in-process: the page under the stage's base path, its assets and nothing beside them, and
the configuration the page starts from."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.support.lambdas import FakeLambdaContext, http_event
from order_engine import config
from order_engine.domain.lifecycle import Status
from order_engine.domain.tokens import TOKENS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def web():
    spec = importlib.util.spec_from_file_location("fn_web_app_unit", ROOT / "functions" / "web" / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def call(web, path: str, stage: str = "$default", **params):
    event = http_event("GET", path, **params)
    event["requestContext"]["stage"] = stage
    if stage != "$default":
        event["rawPath"] = f"/{stage}{path}"
    return web.handler(event, FakeLambdaContext())


def test_the_page_is_html_whose_relative_urls_land_under_the_stage(web):
    local = call(web, "/")
    assert local["statusCode"] == 200 and local["headers"]["Content-Type"].startswith("text/html")
    assert '<base href="/">' in local["body"] and 'src="assets/app.js"' in local["body"]
    deployed = call(web, "/", stage="prod")
    assert '<base href="/prod/">' in deployed["body"]


@pytest.mark.parametrize("name, content_type", [("app.js", "text/javascript"), ("style.css", "text/css")])
def test_assets_are_served_with_their_type(web, name, content_type):
    response = call(web, f"/assets/{name}", path_parameters={"name": name})
    assert response["statusCode"] == 200 and response["headers"]["Content-Type"].startswith(content_type)


@pytest.mark.parametrize("name", ["..%2Fapp.py", "../app.py", "index.html", "missing.js", "app.py"])
def test_nothing_but_the_assets_is_served(web, name):
    response = call(web, f"/assets/{name}", path_parameters={"name": name})
    assert response["statusCode"] == 404
    assert json.loads(response["body"])["error"]["code"] == "not_found"


def test_config_names_the_websocket_url_and_the_registry(web, monkeypatch):
    monkeypatch.setenv("WS_PUBLIC_URL", "wss://example.test/prod")
    config.settings.cache_clear()
    try:
        body = json.loads(call(web, "/api/config")["body"])
    finally:
        config.settings.cache_clear()
    assert body["wsUrl"] == "wss://example.test/prod"
    assert [t["symbol"] for t in body["tokens"]] == [t.symbol for t in TOKENS]
    assert body["defaultSlippageBps"] == 50


def test_config_tells_the_page_the_lifecycle_so_its_filters_and_finished_rows_follow_it(web):
    lifecycle = json.loads(call(web, "/api/config")["body"])["lifecycle"]
    assert lifecycle["statuses"] == [str(s) for s in Status]
    assert set(lifecycle["terminal"]) == {"confirmed", "failed", "cancelled", "expired"}
    assert set(lifecycle["cancellable"]) == {"waiting", "pending"}
