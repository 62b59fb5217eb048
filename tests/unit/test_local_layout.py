"""local/ is the emulator; local/bench/ drives it. The emulator must run without its load tools, and the load tools
without the test suite."""
from __future__ import annotations

import ast
from pathlib import Path

from tests.support.source_files import parse_python

LOCAL = Path(__file__).resolve().parents[2] / "local"


def _imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(parse_python(path)):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def test_the_emulator_does_not_import_the_load_tools():
    emulator = sorted(p for p in LOCAL.rglob("*.py") if "bench" not in p.relative_to(LOCAL).parts)
    assert LOCAL / "runtime" / "pool.py" in emulator, "the emulator's packages are not searched"
    offenders = {str(p.relative_to(LOCAL)): sorted(m for m in _imported_modules(p)
                                                   if m == "local.bench" or m.startswith("local.bench."))
                 for p in emulator}
    assert {name: mods for name, mods in offenders.items() if mods} == {}


def test_the_load_tools_do_not_import_the_tests():
    bench = sorted((LOCAL / "bench").glob("*.py"))
    assert bench, "no bench modules found"
    offenders = {p.name: sorted(m for m in _imported_modules(p) if m.split(".")[0] in ("tests", "conftest"))
                 for p in bench}
    assert {name: mods for name, mods in offenders.items() if mods} == {}


def test_the_measuring_modules_do_not_import_the_command_line_that_runs_them():
    for path in (LOCAL / "bench").glob("*.py"):
        if path.name != "__main__.py":
            assert "local.bench.__main__" not in _imported_modules(path), path.name
