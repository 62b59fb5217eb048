"""Checks what `chalice package` produced against template.yaml: the REST API serves exactly the template's HTTP
routes, every function runs on the template's runtime, and the executor keeps its schedule, timeout and
reserved concurrency. Then runs the deployment zip as Lambda would: every packaged handler imports in a bare
interpreter of the runtime's Python with only the zip's contents on sys.path, and the REST handler answers a
payload 1.0 submit and health request against the test PostgreSQL and Redis. The zip must hold the library's files
besides its Python too (the Redis adapters' Lua scripts).

    python -m infra.deploy.check_chalice_package build/chalice      (sam.json and deployment.zip)
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import uuid
import zipfile
from pathlib import Path
from typing import Any

from infra.deploy.check_build import missing_data_files, run_function, report, scratch_settings
from local.template import load_template

ROOT = Path(__file__).resolve().parents[2]


def problems(packaged: dict, template_path: Path = ROOT / "template.yaml") -> list[str]:
    template = load_template(template_path)
    found: list[str] = []
    paths = packaged["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    served = {f"{method.upper()} {path}" for path, methods in paths.items() for method in methods
              if method != "options"}
    wanted = template.served_http_routes  # chalice's REST API answers other methods itself (403)
    if served != wanted:
        found.append(f"REST API routes {sorted(served ^ wanted)} differ from template.yaml's")
    functions = {k: r["Properties"] for k, r in packaged["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    runtime = template.functions["ExecutorFunction"].runtime
    found += [f"{name} runs {props.get('Runtime')}, not {runtime}" for name, props in functions.items()
              if props.get("Runtime") != runtime]
    executor, declared = functions.get("Executor", {}), template.functions["ExecutorFunction"]
    schedules = [e["Properties"].get("Schedule") for e in (executor.get("Events") or {}).values()]
    if schedules != [s.expression for s in declared.schedules]:
        found.append(f"the executor's schedule is {schedules}, not {[s.expression for s in declared.schedules]}")
    if (executor.get("Timeout"), executor.get("ReservedConcurrentExecutions")) != (declared.timeout, declared.reserved_concurrency):
        found.append("the executor's timeout or reserved concurrency differs from template.yaml's")
    return found


def rest_event(method: str, path: str, body: Any = None) -> dict[str, Any]:
    """A REST API proxy event (payload 1.0), as API Gateway gives chalice's function."""
    return {
        "resource": path, "path": path, "httpMethod": method,
        "headers": {"content-type": "application/json", "host": "packaged-check"},
        "multiValueHeaders": {"content-type": ["application/json"], "host": ["packaged-check"]},
        "queryStringParameters": None, "multiValueQueryStringParameters": None, "pathParameters": None,
        "stageVariables": None, "isBase64Encoded": False, "body": None if body is None else json.dumps(body),
        "requestContext": {"resourcePath": path, "httpMethod": method, "path": f"/prod{path}", "stage": "prod",
                           "requestId": str(uuid.uuid4()), "identity": {"sourceIp": "127.0.0.1"},
                           "accountId": "000000000000", "apiId": "packaged", "domainName": "packaged-check"},
    }


def run_package(package_dir: Path, packaged: dict, python: str) -> list[str]:
    found: list[str] = []
    handlers = sorted({r["Properties"]["Handler"] for r in packaged["Resources"].values()
                       if r["Type"] == "AWS::Serverless::Function"})
    with tempfile.TemporaryDirectory() as unpacked, scratch_settings() as settings:
        with zipfile.ZipFile(package_dir / "deployment.zip") as z:
            z.extractall(unpacked)
            found += missing_data_files(set(z.namelist()))
        env = {"PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test",
               "AWS_SECRET_ACCESS_KEY": "test", "AWS_ENDPOINT_URL_LAMBDA": "http://127.0.0.1:9",
               "DATABASE_URL": settings.database_url, "DATABASE_SCHEMA": settings.database_schema,
               "REDIS_URL": settings.redis_url, "KEY_PREFIX": settings.key_prefix, "CURSOR_SECRET": "packaged-check"}
        for handler in handlers:
            events = [rest_event("POST", "/api/orders/execute", {"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1}),
                      rest_event("GET", "/api/health")] if handler == "app.app" else []
            result = run_function(python, Path(unpacked), Path(unpacked), handler, env, events)
            if not result["imported"] or not result["callable"]:
                found.append(f"{handler} does not import from the package:\n{result.get('error')}")
                continue
            statuses = [r["statusCode"] for r in result["results"]]
            if statuses != [202, 200][:len(statuses)]:
                found.append(f"{handler} answered {statuses} to submit and health, not [202, 200]: {result['results']}")
            print(f"{handler}: imported" + (f"; POST /api/orders/execute {statuses[0]}, GET /api/health {statuses[1]}"
                                            if statuses else ""))
    return found


def main() -> int:
    package_dir = Path(sys.argv[1])
    packaged = json.loads((package_dir / "sam.json").read_text())
    found = problems(packaged)
    found += run_package(package_dir, packaged, os.environ.get("RUNTIME_PYTHON", "python3.12"))
    return report("chalice package check", found)


if __name__ == "__main__":
    sys.exit(main())
