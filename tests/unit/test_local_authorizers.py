"""The local gateway runs Lambda authorizers as API Gateway does: the authorizer's event, its answer's meaning,
identity sources and the per-identity cache; the request's event then carries requestContext.authorizer.lambda."""
from __future__ import annotations

import asyncio
import socket

import aiohttp
from aiohttp import web

from local.authorizers import AuthorizerRunner, decide
from local.http_gateway import create_http_app
from local.runtime import FunctionError
from local.template import load_template
from local.template import Authorizer

SIMPLE = Authorizer("A", "AuthFn", "2.0", simple_responses=True)


def test_simple_responses_and_policies_decide_and_anything_else_is_a_500():
    assert decide(SIMPLE, {"isAuthorized": True, "context": {"clientId": "c"}}).context == {"clientId": "c"}
    assert decide(SIMPLE, {"isAuthorized": False}).status == 403
    assert decide(SIMPLE, {"isAuthorized": "yes"}).status == 500
    policy = Authorizer("W", "WsAuthFn", "1.0")
    allow = {"principalId": "c", "policyDocument": {"Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke"}]}}
    assert decide(policy, allow).allowed and decide(policy, allow).principal_id == "c"
    deny = {"principalId": "c", "policyDocument": {"Statement": [{"Effect": "Deny"}]}}
    assert decide(policy, deny).status == 403 and decide(policy, {"context": {}}).status == 500


def test_missing_identity_sources_are_401_without_a_call_and_answers_are_cached_per_identity():
    calls = []

    async def invoke(function, event):
        calls.append(event)
        if event["identitySource"] == ["bad"]:
            raise FunctionError({"errorMessage": "Unauthorized", "errorType": "Exception"})
        return {"isAuthorized": True, "context": {"who": event["identitySource"][0]}}

    clock = [0.0]
    runner = AuthorizerRunner(invoke, clock=lambda: clock[0])
    cached = Authorizer("A", "AuthFn", "2.0", True, ("$request.header.Authorization",), ttl_s=10)

    async def scenario():
        missing = await runner.authorize(cached, {}, {}, {})
        first = await runner.authorize(cached, {}, {"authorization": "k1"}, {})
        again = await runner.authorize(cached, {}, {"Authorization": "k1"}, {})
        refused = await runner.authorize(cached, {}, {"authorization": "bad"}, {})
        clock[0] = 11
        later = await runner.authorize(cached, {}, {"authorization": "k1"}, {})
        return missing, first, again, refused, later

    missing, first, again, refused, later = asyncio.run(scenario())
    assert missing.status == 401 and refused.status == 401
    assert first.context == again.context == later.context == {"who": "k1"}
    assert [c["identitySource"] for c in calls] == [["k1"], ["bad"], ["k1"]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """The runtime's invoke: the authorizer admits `good`, every function echoes its event."""

    def __init__(self):
        self.events: dict[str, list[dict]] = {}

    async def invoke(self, function, event, **_):
        self.events.setdefault(function, []).append(event)
        if function == "AuthorizerFunction":
            good = event["headers"].get("x-api-key") == "good"
            return {"isAuthorized": True, "context": {"clientId": "acme" if good else "", "reason": "x"}}
        return {"statusCode": 200, "body": "{}"}


def test_the_gateway_sends_api_gateways_authorizer_event_and_the_context_reaches_the_function():
    template = load_template(__import__("pathlib").Path(__file__).resolve().parents[2] / "template.yaml")
    recorder = Recorder()
    runtime = type("Runtime", (), {"invoke": recorder.invoke})()
    port = _free_port()

    async def scenario():
        runner = web.AppRunner(create_http_app(runtime, template))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://127.0.0.1:{port}/api/orders/history?limit=2",
                                       headers={"x-api-key": "good"}) as r:
                    assert r.status == 200
                async with session.get(f"http://127.0.0.1:{port}/api/health") as r:
                    assert r.status == 200
        finally:
            await runner.cleanup()

    asyncio.run(scenario())
    (auth_event,) = recorder.events["AuthorizerFunction"]  # health is open: no authorizer call
    assert auth_event["version"] == "2.0" and auth_event["type"] == "REQUEST"
    assert auth_event["routeArn"].endswith("/$default/GET/api/orders/history")
    assert auth_event["routeKey"] == "GET /api/orders/history" and auth_event["rawQueryString"] == "limit=2"
    assert auth_event["headers"]["x-api-key"] == "good" and auth_event["queryStringParameters"] == {"limit": "2"}
    assert "body" not in auth_event and auth_event["requestContext"]["http"]["method"] == "GET"
    (handled, health) = recorder.events["OrdersFunction"]
    assert handled["requestContext"]["authorizer"] == {"lambda": {"clientId": "acme", "reason": "x"}}
    assert "authorizer" not in health["requestContext"]


def test_the_gateways_own_metrics_route_is_for_operator_keys_only_behind_the_same_authorizer():
    template = load_template(__import__("pathlib").Path(__file__).resolve().parents[2] / "template.yaml")
    keys = {"op": {"clientId": "ops", "operator": True}, "client": {"clientId": "acme", "operator": False}}

    async def invoke(function, event, **_):
        assert function == "AuthorizerFunction"
        context = keys.get(event["headers"].get("x-api-key"), {"clientId": "", "reason": "missing"})
        return {"isAuthorized": True, "context": context}

    runtime = type("Runtime", (), {"invoke": staticmethod(invoke)})()
    summary = {"OrdersSubmitted": {"total": 2}}
    port = _free_port()

    async def scenario():
        runner = web.AppRunner(create_http_app(runtime, template, metrics=lambda: summary))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        answers = {}
        try:
            async with aiohttp.ClientSession() as session:
                for name, headers in (("none", {}), ("client", {"x-api-key": "client"}), ("op", {"x-api-key": "op"})):
                    async with session.get(f"http://127.0.0.1:{port}/api/metrics", headers=headers) as r:
                        answers[name] = (r.status, await r.json())
                async with session.delete(f"http://127.0.0.1:{port}/api/metrics", headers={"x-api-key": "op"}) as r:
                    answers["delete"] = (r.status, await r.json(), r.headers.get("Allow"))
        finally:
            await runner.cleanup()
        return answers

    answers = asyncio.run(scenario())
    assert answers["none"][0] == 401 and answers["none"][1]["error"]["code"] == "unauthorized"
    assert answers["client"][0] == 403 and answers["client"][1]["error"]["details"][0]["rule"] == "operator"
    assert answers["op"] == (200, summary)
    assert answers["delete"][0] == 405 and answers["delete"][2] == "GET"
    assert answers["delete"][1]["error"]["code"] == "method_not_allowed"
