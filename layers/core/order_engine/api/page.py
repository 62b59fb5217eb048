"""The tracking page's files (functions/web/static): GET /, GET /assets/{name} (its styles) and
GET /assets/js/{module} (its script, native ES modules in static/js), from the folder the web function ships
them in."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from order_engine.api.http import error_response
from order_engine.errors import ErrorCode

CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
MODULES = "js"  # the folder of the page's script modules, served only as .js
# the page changes with each deploy; a short cache keeps a reload fresh without refetching on every navigation
CACHE = {"Cache-Control": "public, max-age=60"}


def page_router(static: Path) -> APIGatewayHttpRouter:
    """Routes serving index.html (with a <base> for the stage) and the files beside it and in js/; nothing outside
    those two folders, and nothing but .js in js/."""
    static = static.resolve()
    modules = static / MODULES
    router = APIGatewayHttpRouter()

    @lru_cache(maxsize=None)
    def read(folder: Path, name: str, suffixes: tuple[str, ...]) -> tuple[str, str] | None:
        path = (folder / name).resolve()
        if path.parent != folder or path.suffix not in suffixes or not path.is_file():
            return None
        return CONTENT_TYPES[path.suffix], path.read_text(encoding="utf-8")

    def not_found(name: str) -> Response:
        return error_response(ErrorCode.NOT_FOUND, f"The page has no asset named {name[:64]!r}.")

    @router.get("/", include_in_schema=False)
    def page():
        # a named stage (/prod) prefixes every path on AWS; <base> makes the page's relative URLs land under it
        stage = router.current_event.request_context.stage
        base = "/" if stage in (None, "$default") else f"/{stage}/"
        content_type, html = read(static, "index.html", (".html",))
        return Response(200, content_type, html.replace("<head>", f'<head>\n<base href="{base}">', 1), headers=CACHE)

    @router.get("/assets/<name>", include_in_schema=False)
    def asset(name: str):
        found = read(static, name, (".css", ".svg")) if name != "index.html" else None
        return not_found(name) if found is None else Response(200, found[0], found[1], headers=CACHE)

    @router.get("/assets/js/<module>", include_in_schema=False)
    def script_module(module: str):
        found = read(modules, module, (".js",))
        return not_found(f"js/{module}") if found is None else Response(200, found[0], found[1], headers=CACHE)

    return router
