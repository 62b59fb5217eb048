"""Checks what `chalice package` produced against template.yaml: the REST API serves exactly the template's HTTP
routes, every function runs on the template's runtime, and the executor keeps its schedule, timeout and
reserved concurrency.

    python -m infra.deploy.check_chalice_package build/chalice/sam.json
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from local.template import load_template

ROOT = Path(__file__).resolve().parents[2]


def problems(packaged: dict, template_path: Path = ROOT / "template.yaml") -> list[str]:
    template = load_template(template_path)
    found: list[str] = []
    paths = packaged["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    served = {f"{method.upper()} {path}" for path, methods in paths.items() for method in methods
              if method != "options"}
    wanted = {r.route_key for r in template.http_routes}
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


def main() -> int:
    found = problems(json.loads(Path(sys.argv[1]).read_text()))
    for problem in found:
        print(f"FAIL {problem}", file=sys.stderr)
    print("chalice package check: " + ("FAILED" if found else "ok"))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
