"""Live order updates through the real local stack: `python -m local` with the template's WebSocket API, the ws
functions in worker processes, the Lambda Invoke API for the replay, real Redis and PostgreSQL."""
from __future__ import annotations

import asyncio
import json

import aiohttp

ORDER = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "0.5"}


def submit(stack) -> str:
    response = stack.client.post(f"{stack.http_url}/api/orders/execute", json=ORDER)
    assert response.status_code == 202, response.text
    return response.json()["orderId"]


async def frames_until(ws, predicate, limit: int = 50, timeout: float = 30) -> list[dict]:
    frames = []
    while len(frames) < limit:
        message = await ws.receive(timeout=timeout)
        assert message.type is aiohttp.WSMsgType.TEXT, message
        frames.append(json.loads(message.data))
        if predicate(frames[-1]):
            break
    return frames


def test_the_accepted_orders_ws_url_subscribes_at_connect_and_replays(local_stack):
    order_id = submit(local_stack)

    async def scenario():
        async with local_stack.session() as session:
            async with session.ws_connect(f"{local_stack.ws_url}?orderId={order_id}") as ws:
                return await frames_until(ws, lambda f: f.get("seq") == 1)

    frames = asyncio.run(scenario())
    assert frames[0] == {"type": "subscribed", "orderId": order_id}
    assert (frames[1]["status"], frames[1]["seq"], frames[1]["orderId"]) == ("pending", 1, order_id)


def test_bad_frames_get_error_frames_and_the_connection_stays_usable(local_stack):
    order_id = submit(local_stack)

    async def scenario():
        async with local_stack.session() as session, session.ws_connect(local_stack.ws_url) as ws:
            codes = []
            for message in ("not json", json.dumps({"action": "teleport"}),
                            json.dumps({"action": "subscribe", "orderId": "12345"}),
                            json.dumps({"action": "subscribe", "orderId": "00000000-0000-4000-8000-000000000000"})):
                await ws.send_str(message)
                (frame,) = await frames_until(ws, lambda f: True, limit=1)
                codes.append(frame["code"])
            await ws.send_json({"action": "ping"})
            pong = await frames_until(ws, lambda f: True, limit=1)
            await ws.send_json({"action": "subscribe", "orderId": order_id})
            replay = await frames_until(ws, lambda f: f.get("seq") == 1)
            return codes, pong, replay

    codes, pong, replay = asyncio.run(scenario())
    assert codes == ["invalid_json", "unknown_action", "invalid_order_id", "order_not_found"]
    assert pong == [{"type": "pong"}]
    assert replay[0] == {"type": "subscribed", "orderId": order_id} and replay[1]["status"] == "pending"


def test_the_handshake_is_refused_for_an_order_id_that_is_not_a_uuid(local_stack):
    async def scenario():
        async with local_stack.session() as session:
            try:
                await session.ws_connect(f"{local_stack.ws_url}?orderId=../../etc/passwd")
            except aiohttp.WSServerHandshakeError as refused:
                return refused.status
        return None

    assert asyncio.run(scenario()) == 400
