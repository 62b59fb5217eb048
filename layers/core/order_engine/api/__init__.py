"""The HTTP adapter: request models, routes (Powertools routers) and the error shape of API.md."""
