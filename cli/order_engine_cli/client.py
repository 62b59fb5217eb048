"""The public API over HTTP and WebSocket (aiohttp), with the error shape of API.md turned into `ApiError`."""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, AsyncIterator
from urllib.parse import quote

import aiohttp

TERMINAL = ("confirmed", "failed", "cancelled", "expired")


class ApiError(Exception):
    """An answer other than 2xx (or no answer): the API's message and the fields it names."""

    def __init__(self, status: int, code: str, message: str, details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or []

    def one_line(self) -> str:
        fields = ", ".join(dict.fromkeys(str(d["field"]) for d in self.details if d.get("field")))
        where = f" [field: {fields}]" if fields else ""
        status = f"{self.status} " if self.status else ""
        return f"error ({status}{self.code}): {self.message}{where}"


@dataclass
class Client:
    base_url: str
    timeout_s: float = 30.0
    api_key: str | None = field(default=None, repr=False)
    session: aiohttp.ClientSession | None = field(default=None, repr=False)

    async def __aenter__(self) -> "Client":
        # the key goes on every request, the WebSocket handshake included (the $connect authorizer reads headers too)
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else None
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s), headers=headers)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.session is not None:
            await self.session.close()

    def url(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}/{path.lstrip('/')}"

    async def request(self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None,
                      headers: dict[str, str] | None = None) -> Any:
        assert self.session is not None
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        try:
            async with self.session.request(method, self.url(path), json=body, params=query,
                                            headers=headers) as response:
                text = await response.text()
                status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise ApiError(0, "unreachable", f"cannot reach {self.base_url}: {exc or type(exc).__name__}") from None
        try:
            document = json.loads(text) if text else None
        except ValueError:
            document = None
        if status >= 400:
            error = (document or {}).get("error") if isinstance(document, dict) else None
            if isinstance(error, dict):
                raise ApiError(status, str(error.get("code", "error")), str(error.get("message", "")),
                               error.get("details") or [])
            message = (document or {}).get("message") if isinstance(document, dict) else None
            raise ApiError(status, f"http_{status}", str(message or text[:200] or "no body"))
        return document

    async def config(self) -> dict[str, Any]:
        return await self.request("GET", "/api/config")

    async def submit(self, order: dict[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return await self.request("POST", "/api/orders/execute", body=order, headers=headers)

    async def quote(self, **params: Any) -> dict[str, Any]:
        return await self.request("GET", "/api/quote", params=params)

    async def get(self, order_id: str) -> dict[str, Any]:
        return await self.request("GET", f"/api/orders/{quote(order_id, safe='')}")

    async def cancel(self, order_id: str) -> dict[str, Any]:
        return await self.request("DELETE", f"/api/orders/{quote(order_id, safe='')}")

    async def history(self, **params: Any) -> dict[str, Any]:
        return await self.request("GET", "/api/orders/history", params=params)

    async def queue(self) -> dict[str, Any]:
        return await self.request("GET", "/api/queue")

    async def events(self, ws_url: str, order_id: str, timeout_s: float, known_seq: int = 0,
                     reconnects: int = 5) -> AsyncIterator[dict[str, Any]]:
        """The order's status events in seq order, each once, until a terminal one at or after `known_seq` (an
        earlier one was retried by an operator); after a dropped connection it reconnects and resubscribes, and
        the replay fills the gap (duplicates dropped by seq)."""
        assert self.session is not None
        seen: dict[int, dict[str, Any]] = {}
        next_seq = 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        for _ in range(reconnects + 1):
            try:
                async with self.session.ws_connect(ws_url, heartbeat=30) as ws:
                    await ws.send_json({"action": "subscribe", "orderId": order_id})
                    while True:
                        remaining = deadline - loop.time()
                        if remaining <= 0:
                            raise ApiError(0, "timeout", f"order {order_id} did not finish within {timeout_s:g} s")
                        message = await ws.receive(timeout=remaining)
                        if message.type != aiohttp.WSMsgType.TEXT:
                            break  # closed: reconnect
                        frame = json.loads(message.data)
                        if frame.get("type") == "error":
                            raise ApiError(0, str(frame.get("code")), str(frame.get("message")),
                                           frame.get("details"))
                        if frame.get("type") != "status" or frame.get("orderId") != order_id:
                            continue
                        seen.setdefault(int(frame["seq"]), frame)
                        while next_seq in seen:  # in order, a frame that overtook the replay waits its turn
                            event = seen[next_seq]
                            next_seq += 1
                            yield event
                            if event["status"] in TERMINAL and event["seq"] >= known_seq:
                                return
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
                if loop.time() >= deadline:
                    raise ApiError(0, "timeout", f"order {order_id} did not finish within {timeout_s:g} s") from None
            await asyncio.sleep(0.5)
        raise ApiError(0, "disconnected", f"the WebSocket at {ws_url} kept closing; the order is still running")
