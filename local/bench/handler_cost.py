"""CPU per invocation of the HTTP handlers, in-process: `POST /api/orders/execute` (functions/submit) and
`GET /api/orders/{id}` (functions/orders) called as their Lambda runtime calls them, against the real PostgreSQL
and Redis, with the stack's settings (tracing disabled, metrics and INFO logs on, access control off). No gateway,
no IPC: the figure is what the function itself costs.

    .venv/bin/python -m local.bench.handler_cost -n 3000
    .venv/bin/python -m local.bench.handler_cost -n 3000 --profile submit     # cProfile of the submits, top 30

The log and EMF lines go where a worker's stdout goes (a pipe there; /dev/null here, so the figure includes
writing them but not reading them). A live executor's heartbeat is faked so no submit tries to wake one (in the
stack one is live). The orders live in a schema and key prefix of their own, dropped afterwards.
"""
from __future__ import annotations

import argparse
import cProfile
import contextlib
import dataclasses
import importlib.util
import json
import os
import pstats
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from order_engine.config import Settings
from order_engine.adapters import scratch_data
from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.adapters.postgres.migrations import ensure_database, migrate
from order_engine.adapters.redis.connect import sync_client

BENCH_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/order_engine_test"
_ROOT = Path(__file__).resolve().parents[2]


class _Context:
    function_name, function_version = "bench", "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:bench"
    memory_limit_in_mb, log_group_name, log_stream_name = 512, "/aws/lambda/bench", "bench"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def _event(method: str, path: str, body: str | None = None, path_parameters: dict[str, str] | None = None,
           route_key: str | None = None) -> dict[str, Any]:
    """A payload 2.0 event as the local gateway builds one."""
    route_key = route_key or f"{method} {path}"
    return {
        "version": "2.0", "routeKey": route_key, "rawPath": path, "rawQueryString": "",
        "headers": {"content-type": "application/json", "host": "127.0.0.1:3000", "user-agent": "bench",
                    "accept": "*/*", "content-length": str(len(body or ""))},
        "queryStringParameters": None, "pathParameters": path_parameters,
        "requestContext": {
            "accountId": "000000000000", "apiId": "local", "domainName": "127.0.0.1", "domainPrefix": "127",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                     "userAgent": "bench"},
            "requestId": str(uuid.uuid4()), "routeKey": route_key, "stage": "$default",
            "time": "01/Dec/2026:00:00:00 +0000", "timeEpoch": 0,
        },
        "body": body, "isBase64Encoded": False,
    }


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"fn_{name}_app", _ROOT / "functions" / name / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _timed(calls: list[tuple[Any, dict[str, Any]]], profile: bool) -> tuple[float, list[dict[str, Any]]]:
    profiler = cProfile.Profile(time.process_time) if profile else None  # CPU, not waits
    answers = []
    start = time.process_time()
    if profiler:
        profiler.enable()
    for handler, event in calls:
        answers.append(handler(event, _Context()))
    if profiler:
        profiler.disable()
    spent = time.process_time() - start
    if profiler:
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
    return spent, answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=3000, help="calls of each handler (after 200 warm-up calls)")
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL", BENCH_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--profile", choices=("submit", "get"), help="cProfile one handler's counted calls")
    args = parser.parse_args()

    tag = uuid.uuid4().hex[:12]
    s = dataclasses.replace(Settings.from_env({}), database_url=args.database_url, database_schema=f"b_{tag}",
                            redis_url=args.redis_url, key_prefix=f"b{tag}:")
    ensure_database(s.database_url)
    migrate(s.database_url, s.database_schema)
    os.environ.update({"DATABASE_URL": s.database_url, "DATABASE_SCHEMA": s.database_schema,
                       "REDIS_URL": s.redis_url, "KEY_PREFIX": s.key_prefix, "AUTH_ENABLED": "false",
                       "POWERTOOLS_TRACE_DISABLED": os.environ.get("POWERTOOLS_TRACE_DISABLED", "true"),
                       "EXECUTOR_FUNCTION_NAME": "order-engine-executor", "AWS_DEFAULT_REGION": "us-east-1"})
    redis = sync_client(s.redis_url)
    redis.zadd(KeyScheme(s.key_prefix).executor_beats, {"bench": time.time() * 1000 + 3_600_000})
    real_stdout = sys.stdout
    try:
        submit, orders = _load("submit").handler, _load("orders").handler
        body = json.dumps({"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1.5", "slippageBps": 50})
        warm, n = 200, args.n
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
            posts = [(submit, _event("POST", "/api/orders/execute", body)) for _ in range(warm + n)]
            _timed(posts[:warm], False)
            submit_s, answers = _timed(posts[warm:], args.profile == "submit")
            ids = [json.loads(a["body"])["orderId"] for a in answers if a["statusCode"] == 202]
            gets = [(orders, _event("GET", f"/api/orders/{ids[i % len(ids)]}", path_parameters={"orderId": ids[i % len(ids)]},
                                    route_key="GET /api/orders/{orderId}")) for i in range(warm + n)]
            _timed(gets[:warm], False)
            get_s, got = _timed(gets[warm:], args.profile == "get")
        bad = [a["statusCode"] for a in answers + got if a["statusCode"] not in (200, 202)]
        print(json.dumps({"calls": n, "submit_cpu_ms_per_call": round(1000 * submit_s / n, 3),
                          "get_cpu_ms_per_call": round(1000 * get_s / n, 3), "non_2xx": len(bad)}), file=real_stdout)
    finally:
        scratch_data.drop(s)


if __name__ == "__main__":
    main()
