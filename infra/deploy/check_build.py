"""Checks what `sam build` produced, as Lambda would run it: every function's handler imports in a bare interpreter
of the runtime's Python with only its built folder and the built layer on sys.path, and every HTTP route answers
one payload-2.0 request against the test PostgreSQL and Redis. Also checks that the layer's compiled packages are
Linux x86_64 builds for the runtime, and that the layer holds the library's files besides its Python (Lua scripts).

    python -m infra.deploy.check_build [.aws-sam/build]      (from the repo's dev venv, after `sam build`)
"""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from local.template import Template, load_template, resolve_environment
from order_engine.config import Settings
from order_engine.adapters import scratch_data
from order_engine.adapters.postgres.migrations import ensure_database, migrate

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "layers" / "core" / "order_engine"
CHILD = Path(__file__).with_name("invoke_built.py")
ORDER = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "0.5"}

# one request per HTTP route, and the status it must answer; a route without one fails the check, so a new route
# gets a request here ("{orderId}" is the order the submit request created)
REQUESTS: dict[str, tuple[dict[str, Any], int]] = {
    "POST /api/orders/execute": ({"body": ORDER}, 202),
    "GET /api/orders/{orderId}": ({}, 200),
    "GET /api/orders/history": ({"query": {"limit": "5"}}, 200),
    "GET /api/quote": ({"query": {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1"}}, 200),
    "GET /api/health": ({}, 200),
    "GET /api/queue": ({}, 200),
    "GET /api/openapi.json": ({}, 200),
    "GET /api/docs": ({}, 200),
    "GET /": ({}, 200),
    "GET /assets/{name}": ({}, 200),
    "GET /assets/js/{module}": ({}, 200),
    "GET /api/config": ({}, 200),
    "GET /api/operator/dead-letters": ({}, 200),
    "POST /api/operator/orders/{orderId}/retry": ({}, 409),  # the submitted order is pending: not retryable
    "DELETE /api/orders/{orderId}": ({}, 200),  # pending (or already cancelled): cancelled
    "POST /api/operator/listings": ({"body": {"token": "NOVA", "quoteToken": "USDC", "price": "0.25",
                                              "liquidity": 200000, "inSeconds": 60}}, 201),  # a fresh schema each run
    "GET /api/operator/listings": ({}, 200),
}
# a path's other methods reach its function through an ANY route, and are answered 405 with Allow
CATCH_ALL_METHOD = "PATCH"  # no route serves it
REQUESTS.update({f"ANY {key.split(' ', 1)[1]}": ({}, 405) for key in list(REQUESTS)
                 if key.split(" ", 1)[1].startswith("/api/")})


class CheckFailed(Exception):
    pass


def http_event(route_key: str, path_parameters: dict[str, str], body: Any = None,
               query: dict[str, str] | None = None) -> dict[str, Any]:
    method, template_path = route_key.split(" ", 1)
    method = CATCH_ALL_METHOD if method == "ANY" else method
    path = template_path
    for name, value in path_parameters.items():
        path = path.replace("{" + name + "}", value)
    query = query or {}
    return {
        "version": "2.0", "routeKey": route_key, "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in query.items()),
        "headers": {"content-type": "application/json", "host": "built-check"},
        "queryStringParameters": query or None, "pathParameters": path_parameters or None,
        "requestContext": {"accountId": "000000000000", "apiId": "built", "domainName": "built-check",
                           "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                                    "userAgent": "built-check"},
                           "requestId": str(uuid.uuid4()), "routeKey": route_key, "stage": "$default",
                           "time": "01/Dec/2026:00:00:00 +0000", "timeEpoch": 0},
        "body": None if body is None else json.dumps(body), "isBase64Encoded": False,
    }


def check_layer_wheels(layer: Path, python_tag: str) -> list[str]:
    """Every installed distribution is pure Python or a manylinux x86_64 build for this runtime."""
    problems = []
    for wheel in sorted(layer.glob("*.dist-info/WHEEL")):
        tags = [line.split(":", 1)[1].strip() for line in wheel.read_text().splitlines() if line.startswith("Tag:")]
        fine = any(t.endswith("-none-any") or (t.startswith((f"{python_tag}-", "cp3")) and "manylinux" in t
                                               and t.endswith("x86_64") and (python_tag in t or "abi3" in t))
                   for t in tags)
        if not fine:
            problems.append(f"{wheel.parent.name}: {tags} is not a Linux x86_64 build for {python_tag}")
    return problems


def missing_data_files(shipped: set[str]) -> list[str]:
    """The library's files that are not Python (the Redis adapters' Lua scripts, read at run time) a build left
    out; `shipped`: the build's files, as paths from the folder that holds order_engine/."""
    wanted = sorted(p.relative_to(LIBRARY.parent).as_posix() for p in LIBRARY.rglob("*")
                    if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts)
    return [f"{name} is not in the build" for name in wanted if name not in shipped]


def run_function(python: str, code: Path, layer: Path, handler: str, env: dict[str, str],
                 events: list[dict[str, Any]]) -> dict[str, Any]:
    spec = json.dumps({"code": str(code), "layer": str(layer), "handler": handler, "events": events})
    proc = subprocess.run([python, "-I", "-S", str(CHILD), spec], env=env, capture_output=True, text=True,
                          timeout=120, cwd="/")
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise CheckFailed(f"{code.name}: the interpreter gave no result (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(line.removeprefix("RESULT "))


def function_env(template: Template, function, settings: Settings) -> dict[str, str]:
    stack = {"DATABASE_URL": settings.database_url, "DATABASE_SCHEMA": settings.database_schema,
             "REDIS_URL": settings.redis_url, "KEY_PREFIX": settings.key_prefix, "CURSOR_SECRET": "built-check"}
    env = resolve_environment(template, function, stack)
    return {**env, **stack, "PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_ENDPOINT_URL_LAMBDA": "http://127.0.0.1:9",  # the executor wake-up fails softly: nothing listens
            "AWS_LAMBDA_FUNCTION_NAME": function.function_name}


def check(build_dir: Path, python: str, settings: Settings) -> list[str]:
    template = load_template(build_dir / "template.yaml")
    layer = build_dir / "CoreLayer" / "python"
    runtimes = {f.runtime for f in template.functions.values()}
    if len(runtimes) != 1:
        raise CheckFailed(f"functions use several runtimes: {sorted(runtimes)}")
    runtime = runtimes.pop()
    version = subprocess.run([python, "-c", "import sys; print(f'python{sys.version_info[0]}.{sys.version_info[1]}')"],
                             capture_output=True, text=True, check=True).stdout.strip()
    if version != runtime:
        raise CheckFailed(f"{python} is {version}, the functions' runtime is {runtime}")
    problems = check_layer_wheels(layer, "cp" + runtime.removeprefix("python").replace(".", ""))
    problems += missing_data_files({p.relative_to(layer).as_posix() for p in (layer / "order_engine").rglob("*")})
    lines = [f"runtime {runtime}, layer {layer.relative_to(build_dir)}"]
    unrouted = {r.route_key for r in template.http_routes} - REQUESTS.keys()
    problems += [f"{key}: no request in infra/deploy/check_build.py REQUESTS" for key in sorted(unrouted)]

    path_parameters: dict[str, str] = {"name": "style.css", "module": "main.js"}  # the page's styles and script
    functions = sorted(template.functions.values(), key=lambda f: not any(  # submit first: the others read its order
        r.route_key == "POST /api/orders/execute" for r in f.http_routes))
    for function in functions:
        routes = [r for r in function.http_routes if r.route_key in REQUESTS]
        events = [http_event(r.route_key, {n: v for n, v in path_parameters.items() if "{" + n + "}" in r.path},
                             **REQUESTS[r.route_key][0]) for r in routes]
        code = build_dir / function.logical_id
        result = run_function(python, code, layer, function.handler, function_env(template, function, settings), events)
        if not result["imported"]:
            problems.append(f"{function.logical_id}: {function.handler} does not import:\n{result['error']}")
            continue
        if not result["callable"]:
            problems.append(f"{function.logical_id}: {function.handler} is not callable")
        if result["site_packages"]:
            problems.append(f"{function.logical_id}: loaded modules from outside the build: {result['site_packages'][:3]}")
        answers = []
        for route, answer in zip(routes, result["results"]):
            wanted = REQUESTS[route.route_key][1]
            answers.append(f"{route.route_key} {answer['statusCode']}")
            if answer["statusCode"] != wanted:
                problems.append(f"{function.logical_id}: {route.route_key} answered {answer['statusCode']}, "
                                f"not {wanted}: {answer.get('error') or str(answer.get('body'))[:500]}")
            elif route.route_key == "POST /api/orders/execute":
                path_parameters["orderId"] = json.loads(answer["body"])["orderId"]
        lines.append(f"{function.logical_id} ({function.handler}): imported" + (f"; {', '.join(answers)}" if answers else ""))
    print("\n".join(lines))
    return problems


@contextmanager
def scratch_settings() -> Iterator[Settings]:
    """A migrated schema and a key prefix of their own on the test PostgreSQL and Redis, removed afterwards."""
    database_url = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/order_engine_test")
    ensure_database(database_url)
    tag = uuid.uuid4().hex[:12]
    settings = dataclasses.replace(Settings.from_env({}), database_url=database_url, database_schema=f"built_{tag}",
                                   redis_url=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
                                   key_prefix=f"built{tag}:")
    migrate(settings.database_url, settings.database_schema)
    try:
        yield settings
    finally:
        scratch_data.drop(settings)


def report(name: str, problems: list[str]) -> int:
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    print(f"{name}: " + ("FAILED" if problems else "ok"))
    return 1 if problems else 0


def main() -> int:
    build_dir = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / ".aws-sam" / "build").resolve()
    python = os.environ.get("RUNTIME_PYTHON", "python3.12")
    with scratch_settings() as settings:
        try:
            problems = check(build_dir, python, settings)
        except CheckFailed as exc:
            problems = [str(exc)]
    return report("built artifact check", problems)


if __name__ == "__main__":
    sys.exit(main())
