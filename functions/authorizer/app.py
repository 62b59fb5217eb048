"""The Lambda authorizers: `http` for the HTTP API (every route but the open ones), `websocket` for the
WebSocket API's $connect; order_engine.api.authorizer translates their events."""
from order_engine.api import authorizer

http = authorizer.http
websocket = authorizer.websocket
