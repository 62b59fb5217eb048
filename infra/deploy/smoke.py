"""The smoke test of a deployed stack: submit an order over HTTP, follow it over the WebSocket until `confirmed`,
find it in the history. Works against any deployment (AWS, LocalStack, the local stack).

    python -m infra.deploy.smoke HTTP_BASE_URL WS_URL        e.g. http://127.0.0.1:3000 ws://127.0.0.1:3001/local

The API key (access control is on in every deployment) comes from ORDER_ENGINE_API_KEY, as for the CLI, and is
sent as `Authorization: Bearer` on the HTTP calls and the WebSocket handshake.
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
import time

import aiohttp


class SmokeFailed(Exception):
    pass


async def smoke(http_url: str, ws_url: str, timeout_s: float = 90.0, api_key: str | None = None) -> dict:
    """Returns {"orderId", "statuses", "seconds"}; raises SmokeFailed naming the step that failed."""
    key = api_key if api_key is not None else os.environ.get("ORDER_ENGINE_API_KEY")
    try:
        return await _smoke(http_url, ws_url, timeout_s, {"Authorization": f"Bearer {key}"} if key else {})
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        raise SmokeFailed(f"{type(exc).__name__}: {exc}") from exc


async def _smoke(http_url: str, ws_url: str, timeout_s: float, headers: dict[str, str]) -> dict:
    started = time.monotonic()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s), headers=headers) as http:
        async with http.post(f"{http_url}/api/orders/execute",
                             json={"tokenIn": "SOL", "tokenOut": "USDC", "amount": "0.1"}) as response:
            body = await response.json(content_type=None)
            if response.status != 202:
                raise SmokeFailed(f"submit answered {response.status}: {body}")
        order_id = body["orderId"]
        statuses: list[str] = []
        try:
            ws = await http.ws_connect(ws_url, headers=headers)
        except aiohttp.ClientError as exc:
            raise SmokeFailed(f"the WebSocket {ws_url} refused the connection: {exc}") from exc
        async with ws:
            await ws.send_json({"action": "subscribe", "orderId": order_id})
            deadline = time.monotonic() + timeout_s
            while not statuses or statuses[-1] not in ("confirmed", "failed"):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SmokeFailed(f"order {order_id} did not finish in {timeout_s:.0f} s; saw {statuses}")
                message = await ws.receive(timeout=remaining)
                if message.type != aiohttp.WSMsgType.TEXT:
                    raise SmokeFailed(f"the WebSocket closed ({message.type.name}) after {statuses}")
                frame = json.loads(message.data)
                if frame.get("type") == "error":
                    raise SmokeFailed(f"the WebSocket answered an error: {frame}")
                if frame.get("type") == "status" and frame.get("orderId") == order_id:
                    if frame["status"] not in statuses:
                        statuses.append(frame["status"])
        if statuses[-1] != "confirmed":
            raise SmokeFailed(f"order {order_id} ended {statuses[-1]}: {statuses}")
        async with http.get(f"{http_url}/api/orders/history", params={"limit": "50"}) as response:
            history = await response.json(content_type=None)
        found = [o for o in history.get("orders", []) if o["orderId"] == order_id]
        if not found or found[0]["status"] != "confirmed":
            raise SmokeFailed(f"order {order_id} is not confirmed in the history: {found}")
    return {"orderId": order_id, "statuses": statuses, "seconds": round(time.monotonic() - started, 1)}


def main() -> int:
    http_url, ws_url = sys.argv[1].rstrip("/"), sys.argv[2]
    try:
        result = asyncio.run(smoke(http_url, ws_url))
    except SmokeFailed as exc:
        print(f"smoke test FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"smoke test ok: order {result['orderId']} went {' -> '.join(result['statuses'])} in {result['seconds']} s "
          f"and is in the history")
    return 0


if __name__ == "__main__":
    sys.exit(main())
