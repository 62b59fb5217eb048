"""The layering of docs/architecture.md ("Layers"), held against the code's imports and calls.

functions -> api -> bootstrap -> services -> domain; adapters (adapters/, dex/) are plugged in by bootstrap alone;
SQL and Redis are spoken only in adapters/.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.source_files import parse_python

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "layers" / "core" / "order_engine"
SHARED = {"order_engine.config", "order_engine.errors", "order_engine.log_context"}
ADAPTERS = ("order_engine.adapters", "order_engine.dex")
# redis-py commands a use case would call on a client it was handed (generic names such as get/set left out)
REDIS_COMMANDS = {"blmove", "lpush", "rpush", "lrange", "llen", "zadd", "zcard", "zrange", "hget", "hset", "hmget",
                  "hgetall", "sadd", "srem", "smembers", "expire", "register_script", "pipeline", "scan_iter"}
SQL_STARTS = ("SELECT ", "INSERT INTO", "UPDATE ", "DELETE FROM", "WITH ", "CREATE ", "DROP ")


def module_name(path: Path) -> str:
    parts = path.relative_to(LIBRARY.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def library_modules() -> dict[str, Path]:
    return {module_name(p): p for p in LIBRARY.rglob("*.py")}


def imports(path: Path) -> set[str]:
    """Every order_engine module a file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(parse_python(path)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] == "order_engine"} | (
        {name for name in found if name.split(".")[0] in {"redis", "pg8000"}})


def within(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def offending(package: str, allowed: tuple[str, ...]) -> dict[str, set[str]]:
    known = library_modules()
    result = {}
    for name, path in known.items():
        if not within(name, package):
            continue
        bad = {i for i in imports(path) if (i in known or i.split(".")[0] in {"redis", "pg8000"})
               and not within(i, *allowed)}
        if bad:
            result[name] = bad
    return result


def test_the_domain_imports_nothing_outside_itself_but_config_and_errors():
    assert offending("order_engine.domain", ("order_engine.domain", *SHARED)) == {}


def test_the_simulated_markets_model_is_pure():
    assert offending("order_engine.dex.model", ("order_engine.dex.model", "order_engine.domain", *SHARED)) == {}


def test_use_cases_depend_on_ports_not_on_adapters():
    allowed = ("order_engine.services", "order_engine.domain", "order_engine.ports", "order_engine.batching", *SHARED)
    assert offending("order_engine.services", allowed) == {}


@pytest.mark.parametrize("package", ["order_engine.adapters", "order_engine.dex"])
def test_adapters_serve_and_do_not_orchestrate(package):
    forbidden = ("order_engine.services", "order_engine.api", "order_engine.bootstrap")
    bad = {name: {i for i in imports(path) if within(i, *forbidden)}
           for name, path in library_modules().items() if within(name, package)}
    assert {name: found for name, found in bad.items() if found} == {}


def test_the_http_layer_reaches_adapters_only_through_bootstrap():
    bad = {name: {i for i in imports(path) if within(i, *ADAPTERS, "redis", "pg8000")}
           for name, path in library_modules().items() if within(name, "order_engine.api")}
    assert {name: found for name, found in bad.items() if found} == {}


def test_bootstrap_is_the_only_library_module_outside_the_adapters_that_imports_them():
    importers = {name for name, path in library_modules().items()
                 if not within(name, *ADAPTERS, "order_engine.bootstrap")
                 and any(within(i, *ADAPTERS) for i in imports(path))}
    assert importers == set()


def handler_files() -> list[Path]:
    return sorted((ROOT / "functions").glob("*/app.py"))


@pytest.mark.parametrize("path", handler_files(), ids=lambda p: p.parent.name)
def test_handlers_are_thin_and_touch_no_adapter(path):
    assert len(path.read_text().splitlines()) <= 20
    assert not {i for i in imports(path) if within(i, *ADAPTERS, "order_engine.services", "redis", "pg8000")}


def sql_and_redis_calls(path: Path) -> list[str]:
    found = []
    for node in ast.walk(parse_python(path)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.lstrip().upper()
            if text.startswith(SQL_STARTS) and (" FROM " in text or " INTO " in text or " SET " in text
                                                or " SCHEMA" in text or " TABLE" in text):
                found.append(f"SQL at line {node.lineno}: {node.value.strip()[:40]}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in REDIS_COMMANDS:
            found.append(f"Redis {node.func.attr} at line {node.lineno}")
    return found


def test_sql_and_redis_are_spoken_only_in_the_adapter_packages():
    adapters = (LIBRARY / "adapters",)
    spoken = {str(path.relative_to(ROOT)): calls
              for path in [*LIBRARY.rglob("*.py"), *handler_files()]
              if not any(path.is_relative_to(a) for a in adapters) and (calls := sql_and_redis_calls(path))}
    assert spoken == {}


def test_the_checks_above_can_see_a_violation(tmp_path):
    # the detectors themselves: a use case that queries PostgreSQL and pushes to Redis is caught
    bad = tmp_path / "bad.py"
    bad.write_text("import redis\nfrom order_engine.adapters.postgres.order_repository import OrderRepository\n"
                   "def f(db, r):\n    db.run('SELECT id FROM orders')\n    r.lpush('k', 1)\n")
    assert {"redis", "order_engine.adapters.postgres.order_repository"} <= imports(bad)
    assert len(sql_and_redis_calls(bad)) == 2


CLIENT_LIBRARIES = {"redis", "pg8000", "boto3", "botocore", "aiohttp"}


def client_library_imports(path: Path) -> set[str]:
    """The top-level names of the wire-client libraries a file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(parse_python(path)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & CLIENT_LIBRARIES


def test_wire_clients_are_imported_only_by_the_adapters():
    adapters = LIBRARY / "adapters"
    importers = {str(path.relative_to(ROOT)): libs for path in [*LIBRARY.rglob("*.py"), *handler_files()]
                 if not path.is_relative_to(adapters) and (libs := client_library_imports(path))}
    assert importers == {}


def test_the_wire_client_check_sees_a_planted_import(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text("def post():\n    import aiohttp\n    from botocore.config import Config\n")
    assert client_library_imports(planted) == {"aiohttp", "botocore"}
