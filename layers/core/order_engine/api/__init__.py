"""The entry points' adapter: HTTP (request models, routes as Powertools routers, the error shape of API.md) and
WebSocket (API Gateway events to subscription calls)."""
