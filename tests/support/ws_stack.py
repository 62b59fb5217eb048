"""The WebSocket gateway, its management API and Lambda's Invoke API served from a background event loop, with
the template's functions run in threads of the test process (the runtime's interface without worker processes),
so integration tests exercise the real gateway, handlers, Redis and PostgreSQL over real sockets."""
from __future__ import annotations

import asyncio
import json
import importlib.util
import threading
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from local.lambda_api import create_lambda_app
from local.template import load_template
from local.ws_gateway import WS_GATEWAY, GatewayLimits, WebSocketGateway, create_ws_app
from order_engine import bootstrap, config
from tests.support.clients import aiohttp_session
from tests.support.lambdas import FakeLambdaContext

ROOT = Path(__file__).resolve().parents[2]


class InProcessFunctions:
    """`invoke(name, event)` and `pool(name).invoke_async(event)`, as local.runtime's Runtime offers them."""

    def __init__(self, template):
        self.template = template
        self._modules: dict[Path, Any] = {}

    def handler(self, name: str):
        function = self.template.function(name)
        module = self._modules.get(function.code_uri)
        if module is None:
            spec = importlib.util.spec_from_file_location(f"fn_{function.code_uri.name}_{uuid.uuid4().hex}",
                                                          function.code_uri / "app.py")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            self._modules[function.code_uri] = module
        return getattr(module, function.handler.split(".", 1)[1])

    async def invoke(self, name: str, event: dict[str, Any], **_: Any) -> Any:
        return await asyncio.to_thread(self.handler(name), event, FakeLambdaContext())

    def pool(self, name: str) -> "_Pool":
        self.handler(name)
        return _Pool(self, name)

    def stats(self) -> dict[str, Any]:
        return {}


class _Pool:
    def __init__(self, functions: InProcessFunctions, name: str):
        self.functions, self.name = functions, name

    def invoke_async(self, event: Any) -> str:
        asyncio.ensure_future(self.functions.invoke(self.name, event))
        return str(uuid.uuid4())

    async def invoke(self, event: Any, request_id: str | None = None) -> Any:
        return await self.functions.invoke(self.name, event)


class WsStack:
    """Start with `start()`; `ws_url`, `management_endpoint`, `lambda_endpoint` are then set."""

    def __init__(self, limits: GatewayLimits | None = None, auth: bool = True):
        self.auth = auth  # whether the gateway runs the template's $connect authorizer
        self.api_key: str | None = None
        self.template = load_template(ROOT / "template.yaml")
        self.functions = InProcessFunctions(self.template)
        self.limits = limits
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._runners: list[web.AppRunner] = []

    @property
    def gateway(self) -> WebSocketGateway:
        return self.ws_app[WS_GATEWAY]

    def start(self) -> "WsStack":
        self._thread.start()
        self.ws_app = create_ws_app(None, self.template, stage="local", limits=self.limits,
                                    invoke=self.functions.invoke, auth=self.auth)
        ws_port = self.call(self._serve(self.ws_app))
        lambda_port = self.call(self._serve(create_lambda_app(self.functions)))
        self.ws_url = f"ws://127.0.0.1:{ws_port}/local"
        self.management_endpoint = f"http://127.0.0.1:{ws_port}/local"
        self.lambda_endpoint = f"http://127.0.0.1:{lambda_port}"
        return self

    async def _serve(self, app: web.Application) -> int:
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runners.append(runner)
        return site._server.sockets[0].getsockname()[1]

    def session(self, **kwargs: Any) -> aiohttp.ClientSession:
        """An aiohttp session whose WebSocket handshakes (and requests) carry the stack's key (`wired` makes one)."""
        return aiohttp_session(self.api_key, **kwargs)

    def call(self, coro, timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        async def cleanup() -> None:
            for runner in self._runners:
                await runner.cleanup()

        self.call(cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


def advance(db, redis_client, keys, order_id: str, to: str, detail: dict | None = None) -> dict:
    """Move an order one step as the executor does: durable in PostgreSQL, then its frame on the Redis log.
    Returns the frame, for the caller to publish."""
    from order_engine.domain.lifecycle import Status
    from order_engine.domain.transition import Transition
    from order_engine.adapters.postgres.order_repository import OrderRepository
    from order_engine.adapters.postgres.transition_writes import write_transitions

    order = OrderRepository(db).get(order_id)
    transition = Transition(order, Status(to), detail=detail or {})
    assert write_transitions(db, [transition]) == [True]
    frame = transition.event().to_message()
    redis_client.rpush(keys.order_events(order_id), json.dumps(frame))
    return frame


def wired(stack, monkeypatch):
    """Point the settings at a started WsStack for one test, and stop it afterwards (a fixture's body). The
    $connect authorizer runs: a key is made in the test's schema (`stack.api_key`), which `stack.session()` sends."""
    monkeypatch.setenv("WS_MANAGEMENT_ENDPOINT", stack.management_endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", stack.lambda_endpoint)
    config.settings.cache_clear()
    bootstrap.subscriptions.cache_clear()
    bootstrap.authenticator.cache_clear()
    keys = bootstrap.key_store(config.settings())
    try:
        stack.api_key, _record = keys.create("ws-test", operator=True)
    finally:
        keys.db.close()
    yield stack
    stack.stop()
    bootstrap.subscriptions.cache_clear()
    bootstrap.authenticator.cache_clear()
