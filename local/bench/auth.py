"""The API key the load generator sends (--api-key, or ORDER_ENGINE_API_KEY): as a Bearer header on HTTP and on
WebSocket handshakes (the $connect authorizer reads headers too). Set once by the command line."""
from __future__ import annotations

import os

_key: str | None = os.environ.get("ORDER_ENGINE_API_KEY") or None


def use(key: str | None) -> None:
    global _key
    _key = key or None


def headers() -> dict[str, str] | None:
    return {"Authorization": f"Bearer {_key}"} if _key else None
