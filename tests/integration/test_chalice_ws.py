"""The chalice app's WebSocket handlers behind the local WebSocket gateway: every API Gateway event reaches
chalice's $connect, $disconnect or $default (message) handler, as chalice deploys it, and the app's own route
selection sends it on to the same handlers; replies and replays go through the real management API, with real
Redis and PostgreSQL."""
from __future__ import annotations

import asyncio
import json
import uuid

import aiohttp
import pytest

from tests.support.chalice_app import chalice_module
from tests.support.lambdas import FakeLambdaContext
from order_engine import bootstrap, config
from tests.support.ws_stack import WsStack, wired


class ChaliceFunctions:
    """What the gateway and the Invoke API call, answered by the chalice app's handlers."""

    def __init__(self):
        self.app = chalice_module()

    def _handler(self, name: str, event: dict):
        if name.endswith("executor"):  # submit's wake-up: the executor is not under test here, so orders stay put
            return lambda event, context: None
        if "requestContext" not in event:  # an asynchronous invoke through the Invoke API: $connect's replay
            assert name.endswith("ws-replay"), name
            return self.app.ws_replay
        route = event["requestContext"]["routeKey"]
        return {"$connect": self.app.ws_connect, "$disconnect": self.app.ws_disconnect}.get(route, self.app.ws_message)

    async def invoke(self, name: str, event: dict, **_):
        return await asyncio.to_thread(self._handler(name, event), event, FakeLambdaContext())

    def pool(self, name: str):
        functions = self

        class Pool:
            def invoke_async(self, event):
                asyncio.ensure_future(functions.invoke(name, event))
                return str(uuid.uuid4())

            async def invoke(self, event, request_id=None):
                return await functions.invoke(name, event)

        return Pool()

    def stats(self):
        return {}


@pytest.fixture
def chalice_ws(configured, monkeypatch):
    stack = WsStack(auth=False)  # chalice deploys no WebSocket authorizer: its $connect handler checks the key
    stack.functions = ChaliceFunctions()
    stack.start()
    yield from wired(stack, monkeypatch)


ORDER = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1"}


async def frames(ws, count):
    out = []
    for _ in range(count):
        message = await ws.receive(timeout=10)
        assert message.type is aiohttp.WSMsgType.TEXT, message
        out.append(json.loads(message.data))
    return out


def test_messages_are_routed_by_action_to_the_same_handlers(chalice_ws):
    async def scenario():
        async with chalice_ws.session() as session, session.ws_connect(chalice_ws.ws_url) as ws:
            await ws.send_json({"action": "ping"})
            pong = await frames(ws, 1)
            await ws.send_str("{not json")
            await ws.send_json({"action": "launch"})
            errors = await frames(ws, 2)
            return pong, errors

    pong, errors = asyncio.run(scenario())
    assert pong == [{"type": "pong"}]
    # chalice's local server may answer the two messages in either order: each is answered with its own error
    assert sorted(e["code"] for e in errors) == ["invalid_json", "unknown_action"]


def test_subscribe_and_connect_with_order_id_replay_through_chalice(chalice_ws):
    order_id = bootstrap.services().submit.submit({"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1"}).order.id

    async def scenario():
        async with chalice_ws.session() as session:
            async with session.ws_connect(chalice_ws.ws_url) as ws:
                await ws.send_json({"action": "subscribeOrder", "orderId": order_id})
                subscribed = await frames(ws, 2)
            async with session.ws_connect(f"{chalice_ws.ws_url}?orderId={order_id}") as ws:
                replayed = await frames(ws, 2)
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(f"{chalice_ws.ws_url}?orderId=not-a-uuid")
            return subscribed, replayed, refused.value.status

    subscribed, replayed, refused_status = asyncio.run(scenario())
    assert subscribed[0]["type"] == "subscribed"
    assert (subscribed[1]["type"], subscribed[1]["status"], subscribed[1]["orderId"]) == ("status", "pending", order_id)
    assert replayed[0] == {"type": "subscribed", "orderId": order_id}
    assert (replayed[1]["status"], replayed[1]["seq"]) == ("pending", 1)
    assert refused_status == 400


def test_a_clients_connection_subscribes_only_to_its_own_orders_though_chalice_messages_carry_no_context(chalice_ws):
    store = bootstrap.key_store(config.settings())
    try:
        key_a, _ = store.create(f"a-{uuid.uuid4().hex[:8]}")
        key_b, _ = store.create(f"b-{uuid.uuid4().hex[:8]}")
    finally:
        store.db.close()
    submit, authenticator = bootstrap.services().submit, bootstrap.authenticator()
    mine = submit.submit(ORDER, client=authenticator.client(key_a)).order.id
    theirs = submit.submit(ORDER, client=authenticator.client(key_b)).order.id
    unknown = str(uuid.uuid4())

    async def scenario():
        answers = {}
        async with aiohttp.ClientSession() as session, \
                session.ws_connect(chalice_ws.ws_url, headers={"x-api-key": key_a}) as ws:
            for name, order_id, count in (("theirs", theirs, 1), ("unknown", unknown, 1), ("mine", mine, 2)):
                await ws.send_json({"action": "subscribe", "orderId": order_id})  # one at a time: answers in order
                answers[name] = await frames(ws, count)
        return answers

    answers = asyncio.run(scenario())
    [refused], [not_found] = answers["theirs"], answers["unknown"]
    assert refused == {"type": "error", "code": "order_not_found", "message": f"No order has id {theirs}."}
    assert not_found == {**refused, "message": refused["message"].replace(theirs, unknown)}
    assert answers["mine"][0] == {"type": "subscribed", "orderId": mine}
    assert (answers["mine"][1]["orderId"], answers["mine"][1]["status"]) == (mine, "pending")
