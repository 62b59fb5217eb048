"""The web function in-process: the page under the stage's base path, its assets and nothing beside them, and
the configuration the page starts from."""
from __future__ import annotations

import importlib.util
import json
import re
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
    assert '<base href="/">' in local["body"]
    assert '<script type="module" src="assets/js/main.js"></script>' in local["body"]
    deployed = call(web, "/", stage="prod")
    assert '<base href="/prod/">' in deployed["body"]


def test_the_stylesheet_is_served_as_css(web):
    response = call(web, "/assets/style.css", path_parameters={"name": "style.css"})
    assert response["statusCode"] == 200 and response["headers"]["Content-Type"] == "text/css; charset=utf-8"
    assert "table.orders" in response["body"]


SCRIPT_MODULES = sorted(p.name for p in (ROOT / "functions" / "web" / "static" / "js").glob("*.js"))


@pytest.mark.parametrize("module", SCRIPT_MODULES)
def test_every_script_module_is_served_as_javascript(web, module):
    # a browser refuses a module script whose type is not a JavaScript one
    response = call(web, f"/assets/js/{module}")
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["body"] == (ROOT / "functions" / "web" / "static" / "js" / module).read_text(encoding="utf-8")


def test_every_module_a_module_imports_is_one_that_is_served(web):
    imported = set()
    for module in SCRIPT_MODULES:
        body = call(web, f"/assets/js/{module}")["body"]
        imported |= set(re.findall(r'^import [^;]+ from "\./([\w-]+\.js)";$', body, flags=re.M))
    assert "main.js" in SCRIPT_MODULES and imported == set(SCRIPT_MODULES) - {"main.js"}


@pytest.mark.parametrize("name", ["..%2Fapp.py", "../app.py", "..", "index.html", "missing.css", "app.py", "app.js",
                                  "main.js"])
def test_nothing_but_the_stylesheet_is_served_from_the_assets_folder(web, name):
    response = call(web, f"/assets/{name}", path_parameters={"name": name})
    assert response["statusCode"] == 404
    assert json.loads(response["body"])["error"]["code"] == "not_found"


@pytest.mark.parametrize("module", ["..%2Fapp.py", "..", "..%2Fstyle.css", "missing.js", "main", "..%2F..%2Fapp.py"])
def test_nothing_but_the_script_modules_is_served_from_the_modules_folder(web, module):
    response = call(web, f"/assets/js/{module}")
    assert response["statusCode"] == 404
    assert json.loads(response["body"])["error"]["code"] == "not_found"


def test_a_path_into_the_modules_folder_is_not_an_asset(web):
    response = call(web, "/assets/js%2Fmain.js", path_parameters={"name": "js%2Fmain.js"})
    assert response["statusCode"] == 404


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
