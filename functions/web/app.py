"""GET / (the tracking page and operator panel) and GET /assets/{file} (its script and styles), served from the
files beside this module; GET /api/config (where the page finds the WebSocket API and the token registry)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from order_engine.api.http import create_app, error_response, lambda_entry
from order_engine.api.routes import web_router
from order_engine.errors import ErrorCode

STATIC = Path(__file__).resolve().parent / "static"
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
# the page changes with each deploy; a short cache keeps a reload fresh without refetching on every navigation
CACHE = {"Cache-Control": "public, max-age=60"}

page_router = APIGatewayHttpRouter()


@lru_cache(maxsize=None)
def _asset(name: str) -> tuple[str, str] | None:
    path = (STATIC / name).resolve()
    if path.parent != STATIC or path.suffix not in CONTENT_TYPES or not path.is_file():
        return None
    return CONTENT_TYPES[path.suffix], path.read_text(encoding="utf-8")


@page_router.get("/", include_in_schema=False)
def page():
    # a named stage (/prod) prefixes every path on AWS; <base> makes the page's relative URLs land under it
    stage = page_router.current_event.request_context.stage
    base = "/" if stage in (None, "$default") else f"/{stage}/"
    content_type, html = _asset("index.html")
    return Response(200, content_type, html.replace("<head>", f'<head>\n<base href="{base}">', 1), headers=CACHE)


@page_router.get("/assets/<name>", include_in_schema=False)
def asset(name: str):
    found = _asset(name) if name != "index.html" else None
    if found is None:
        return error_response(ErrorCode.NOT_FOUND, f"The page has no asset named {name[:64]!r}.")
    return Response(200, found[0], found[1], headers=CACHE)


app = create_app(page_router, web_router)
handler = lambda_entry(app)
