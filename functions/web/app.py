"""GET / (the tracking page and operator panel), GET /assets/{name} and /assets/js/{module} (its styles and its
script modules, in static/ beside this file) and GET /api/config (where the page finds the WebSocket API and the
token registry)."""
from pathlib import Path

from order_engine.api.entry import lambda_entry
from order_engine.api.http import create_app
from order_engine.api.page import page_router
from order_engine.api.routes import web_router

app = create_app(page_router(Path(__file__).parent / "static"), web_router)
handler = lambda_entry(app)
