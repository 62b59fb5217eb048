"""The whole local stack in one process tree: PostgreSQL and Redis (found, or embedded), migrations, the function
pools, the HTTP API gateway, the Lambda Invoke API, the WebSocket gateway when `local/ws_gateway.py` exists,
and the schedules. `python -m local` runs it; SIGINT/SIGTERM stop it in order.

The functions get the environment the template declares, filled from the stack's environment (and `.env`),
plus what any Lambda function has (region, credentials, AWS_LAMBDA_* variables) and the local endpoints.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib.util
import logging
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from aiohttp import web

from local.cloudformation import LOCAL_REGION, LOCAL_STACK_NAME
from local.embedded import EmbeddedPostgres, EmbeddedRedis, ensure_servers, stop_servers
from local.http_gateway import create_http_app
from local.lambda_api import create_lambda_app
from local.metrics_summary import MetricsSummary
from local.runtime import Runtime
from local.scheduler import Scheduler
from local.template import Template, load_template, resolve_environment
from order_engine.config import Settings

log = logging.getLogger("local.stack")

ROOT = Path(__file__).resolve().parents[1]
START_UP_KEY_RATE = 1_000_000  # submits a second (and burst) for the start-up key: no practical limit
METRICS_WINDOW = 10_000  # timings' percentiles in GET /api/metrics are over their latest this many values
_PASS_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "PYTHONPATH", "VIRTUAL_ENV", "TMPDIR")
_PASS_THROUGH_PREFIXES = ("POWERTOOLS_", "LOCAL_")


def _env_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name)
    return int(value) if value not in (None, "") else default


def _reap_seconds(value: str | None) -> float | None:
    if value in (None, ""):
        return StackConfig.idle_reap_s
    return None if value.lower() in ("never", "0", "no") else float(value)


@dataclass(frozen=True)
class StackConfig:
    """How the local stack runs (not the engine's settings, which live in order_engine.config)."""

    template: Path = ROOT / "template.yaml"
    stack_name: str = LOCAL_STACK_NAME
    host: str = "127.0.0.1"
    http_port: int = 3000
    ws_port: int = 3001
    lambda_port: int = 3002
    pool_size: int = 4  # workers per function without reserved concurrency (that caps the rest)
    pool_sizes: dict[str, int] = field(default_factory=dict)  # by logical id: LOCAL_POOL_SIZE_<LOGICALID>
    prewarm: int = 1  # workers started per function before the stack says it is up
    data_dir: Path = ROOT / ".local-data"
    schedule_seconds: float | None = None
    schedule_on_start: bool = True  # fire each rate schedule once at start-up (see local/scheduler.py)
    async_retry_delays: tuple[float, ...] = (60.0, 120.0)  # Lambda's waits before retrying a failed async invoke
    idle_reap_s: float | None = 300.0  # reclaim an environment idle this long (None: never)
    embedded: bool = True  # start embedded PostgreSQL/Redis when nothing answers at their URLs
    migrate: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "StackConfig":
        env = os.environ if env is None else env
        pool_sizes = {k.removeprefix("LOCAL_POOL_SIZE_"): int(v) for k, v in env.items()
                      if k.startswith("LOCAL_POOL_SIZE_") and v}
        schedule = env.get("LOCAL_SCHEDULE_SECONDS")
        return cls(
            template=Path(env.get("LOCAL_TEMPLATE") or cls.template),
            stack_name=env.get("LOCAL_STACK_NAME") or cls.stack_name,
            host=env.get("LOCAL_HOST") or cls.host,
            http_port=_env_int(env, "LOCAL_HTTP_PORT", cls.http_port),
            ws_port=_env_int(env, "LOCAL_WS_PORT", cls.ws_port),
            lambda_port=_env_int(env, "LOCAL_LAMBDA_PORT", cls.lambda_port),
            pool_size=_env_int(env, "LOCAL_POOL_SIZE", cls.pool_size),
            pool_sizes=pool_sizes,
            prewarm=_env_int(env, "LOCAL_PREWARM", cls.prewarm),
            data_dir=Path(env.get("LOCAL_DATA_DIR") or cls.data_dir),
            schedule_seconds=float(schedule) if schedule else None,
            embedded=(env.get("LOCAL_EMBEDDED") or "auto").lower() not in ("0", "no", "never", "false"),
            migrate=(env.get("LOCAL_MIGRATE") or "yes").lower() not in ("0", "no", "false"),
            schedule_on_start=(env.get("LOCAL_SCHEDULE_ON_START") or "yes").lower() not in ("0", "no", "false"),
            async_retry_delays=tuple(float(x) for x in (env.get("LOCAL_ASYNC_RETRY_DELAYS") or "60,120").split(",")
                                     if x.strip()),
            idle_reap_s=_reap_seconds(env.get("LOCAL_IDLE_REAP_SECONDS")),
        )

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.ws_port}/local"

    @property
    def lambda_url(self) -> str:
        return f"http://{self.host}:{self.lambda_port}"


def engine_settings(env: Mapping[str, str] | None = None) -> Settings:
    return Settings.from_env(os.environ if env is None else env)


def function_environment(template: Template, config: StackConfig, env: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Each function's environment variables, by logical id."""
    settings = engine_settings(env)
    base: dict[str, str] = {k: env[k] for k in _PASS_THROUGH if k in env}
    base.update({k: v for k, v in env.items() if k.startswith(_PASS_THROUGH_PREFIXES)})
    # every engine setting the stack's environment sets, under its config.py name upper-cased
    base.update({f.name.upper(): env[f.name.upper()] for f in dataclasses.fields(Settings) if f.name.upper() in env})
    base.update({
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "AWS_ENDPOINT_URL_LAMBDA": config.lambda_url,
        "WS_MANAGEMENT_ENDPOINT": env.get("WS_MANAGEMENT_ENDPOINT") or f"http://{config.host}:{config.ws_port}/local",
        "WS_PUBLIC_URL": env.get("WS_PUBLIC_URL") or config.ws_url,
        "AWS_REGION": env.get("AWS_REGION") or LOCAL_REGION,
        "AWS_DEFAULT_REGION": env.get("AWS_DEFAULT_REGION") or env.get("AWS_REGION") or LOCAL_REGION,
        "AWS_ACCESS_KEY_ID": "local",  # the local endpoints accept any signature
        "AWS_SECRET_ACCESS_KEY": "local",
        "POWERTOOLS_TRACE_DISABLED": env.get("POWERTOOLS_TRACE_DISABLED", "true"),  # no X-Ray daemon here
    })
    return {lid: {**base, **resolve_environment(template, fn, {**env, **base})}
            for lid, fn in template.functions.items()}


def _load_ws_gateway():
    if importlib.util.find_spec("local.ws_gateway") is None:
        return None
    return importlib.import_module("local.ws_gateway")


class LocalStack:
    """Starts and stops everything; `await start()`, then `await stop()`."""

    def __init__(self, config: StackConfig, env: Mapping[str, str] | None = None):
        self.config = config
        self.env = dict(os.environ if env is None else env)
        self.template = load_template(config.template, config.stack_name)
        self.settings = engine_settings(self.env)
        self.embedded: list[EmbeddedPostgres | EmbeddedRedis] = []
        self.runtime: Runtime | None = None
        self.scheduler: Scheduler | None = None
        self._runners: list[web.AppRunner] = []
        self._ws_runner: web.AppRunner | None = None
        self._ws_module: Any = None
        self._background: set[asyncio.Task] = set()
        self.ws_enabled = False
        self.api_key: str | None = None  # the operator key created at start-up (access control on)
        # the local CloudWatch: the functions' EMF lines, summarised for GET /api/metrics
        self.metrics = MetricsSummary(window=METRICS_WINDOW)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.config.embedded:
            await loop.run_in_executor(None, ensure_servers, self.settings.database_url, self.settings.redis_url,
                                       self.config.data_dir, self.embedded)
        if self.config.migrate:
            await loop.run_in_executor(None, self._migrate)
        self.runtime = Runtime(self.template, function_environment(self.template, self.config, self.env),
                               pool_size=self.config.pool_size, pool_sizes=self.config.pool_sizes,
                               async_retry_delays=self.config.async_retry_delays,
                               idle_reap_s=self.config.idle_reap_s, on_emf=self._record_metrics)
        await self.runtime.start(prewarm=self.config.prewarm)
        if self.settings.auth_enabled and self.template.authorizers:
            self.api_key = await loop.run_in_executor(None, self._create_start_up_key)
        await self._serve(create_http_app(self.runtime, self.template, auth=self.settings.auth_enabled,
                                          metrics=self.metrics.summary), self.config.http_port)
        ws_module = _load_ws_gateway() if self.template.websocket_api is not None else None
        if ws_module is not None:
            # the WebSocket gateway (another module) serves its API and the @connections management API
            self._ws_module = ws_module
            self._ws_runner = await self._serve(ws_module.create_ws_app(self.runtime, self.template, self.settings),
                                                self.config.ws_port)
            self.ws_enabled = True
        lambda_app = create_lambda_app(self.runtime)
        lambda_app.router.add_post("/local/websocket/restart", self._restart_ws_request)
        await self._serve(lambda_app, self.config.lambda_port)
        self.scheduler = Scheduler(self.runtime, self.template, self.config.schedule_seconds,
                                   on_start=self.config.schedule_on_start)
        self.scheduler.start()

    def _record_metrics(self, line: bytes) -> None:
        self.metrics.add(line.decode("utf-8", "replace"))

    def _create_start_up_key(self) -> str:
        """An operator key for whoever started the stack (the page, the CLI, the load generator), with no
        practical submit limit: the load generator must measure the engine, not the bucket."""
        from order_engine.bootstrap import key_store

        keys = key_store(self.settings)
        try:
            key, _record = keys.create("local", label="./local/up start-up key", operator=True,
                                       rate_per_s=START_UP_KEY_RATE, burst=START_UP_KEY_RATE)
        finally:
            keys.db.close()
        return key

    def _migrate(self) -> None:
        from order_engine.adapters.postgres.migrations import ensure_database, migrate

        ensure_database(self.settings.database_url)
        migrate(self.settings.database_url, self.settings.database_schema)

    async def _serve(self, app: web.Application, port: int) -> web.AppRunner:
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, self.config.host, port, backlog=1024).start()
        self._runners.append(runner)
        return runner

    async def restart_websocket_gateway(self, down_s: float) -> None:
        """Stop the WebSocket gateway (every client is dropped, as a redeploy or an outage of the WebSocket API
        would), stay down for `down_s`, then serve again with no connections. Clients must reconnect and resubscribe;
        the connections Redis still lists answer 410 and are dropped by the fan-out."""
        if self._ws_runner is None:
            raise RuntimeError("no WebSocket gateway is running")
        self._runners.remove(self._ws_runner)
        await self._ws_runner.cleanup()
        await asyncio.sleep(down_s)
        self._ws_runner = await self._serve(
            self._ws_module.create_ws_app(self.runtime, self.template, self.settings), self.config.ws_port)

    async def _restart_ws_request(self, request: web.Request) -> web.Response:
        """`POST /local/websocket/restart?downSeconds=2` (local only, not an AWS API): answers at once, comes back
        after the pause."""
        down_s = min(float(request.query.get("downSeconds", "2")), 60.0)
        task = asyncio.ensure_future(self.restart_websocket_gateway(down_s))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return web.json_response({"restarting": True, "downSeconds": down_s}, status=202)

    def banner(self) -> str:
        c = self.config
        embedded = {type(s).__name__ for s in self.embedded}
        lines = [
            f"{c.stack_name} local stack is up ({c.template.name}, {len(self.template.functions)} functions)",
            f"  HTTP API        {c.http_url}   e.g. curl {c.http_url}/api/health",
            f"  WebSocket API   {c.ws_url}" + ("" if self.ws_enabled else "   (not served: no WebSocket API in the template or no local/ws_gateway.py)"),
            f"  Lambda API      {c.lambda_url}   (AWS_ENDPOINT_URL_LAMBDA; pools at {c.lambda_url}/local/functions)",
            f"  PostgreSQL      {_redact(self.settings.database_url)}"
            + (f"   (embedded, data in {c.data_dir})" if "EmbeddedPostgres" in embedded else ""),
            f"  Redis           {self.settings.redis_url}"
            + (f"   (embedded, data in {c.data_dir})" if "EmbeddedRedis" in embedded else ""),
        ]
        if self.api_key:
            lines.append(f"  API key         {self.api_key}   (operator; ORDER_ENGINE_API_KEY=... for the CLI and"
                         " the load generator; AUTH_ENABLED=false turns access control off)")
        else:
            lines.append("  API key         none needed: "
                         + ("access control is off (AUTH_ENABLED=false)" if not self.settings.auth_enabled
                            else "the template declares no authorizer"))
        for route in self.template.http_routes:
            lines.append(f"    {route.route_key:<34} -> {self.template.functions[route.function].function_name}")
        lines.append(f"    {'GET /api/metrics':<34} -> the functions' EMF metrics (local only; operator key)")
        for schedule in (self.scheduler.describe() if self.scheduler else []):
            lines.append(f"    schedule {schedule}")
        lines.append("Ctrl-C stops everything.")
        return "\n".join(lines)

    async def stop(self) -> None:
        if self.scheduler is not None:
            await self.scheduler.stop()
        for runner in reversed(self._runners):
            with contextlib.suppress(Exception):
                await runner.cleanup()
        self._runners.clear()
        if self.runtime is not None:
            await self.runtime.close()
        if self.embedded:
            await asyncio.get_running_loop().run_in_executor(None, stop_servers, self.embedded)
            self.embedded = []


def _redact(url: str) -> str:
    from urllib.parse import urlparse

    parsed = urlparse(url)
    if parsed.password:
        return url.replace(f":{parsed.password}@", ":***@")
    return url


async def run(config: StackConfig, env: Mapping[str, str] | None = None) -> None:
    stack = LocalStack(config, env)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    try:
        start = asyncio.ensure_future(stack.start())
        done, _ = await asyncio.wait({start, asyncio.ensure_future(stopping.wait())},
                                     return_when=asyncio.FIRST_COMPLETED)
        if start in done:
            start.result()
            print(stack.banner(), flush=True)
            await stopping.wait()
        else:
            start.cancel()
            with contextlib.suppress(BaseException):
                await start
        print("stopping the local stack...", flush=True)
    finally:
        await stack.stop()
        print("stopped.", flush=True)


def main_with(config: StackConfig, env: Mapping[str, Any] | None = None) -> None:
    try:
        import uvloop
    except ImportError:  # optional: plain asyncio works, a little slower
        asyncio.run(run(config, env))
    else:
        uvloop.run(run(config, env))
