"""The layer that ships to Lambda installs what the library needs, and every function imports from it alone."""
import ast
import re
import tomllib
from pathlib import Path

from tests.support.source_files import parse_python

ROOT = Path(__file__).resolve().parents[2]


def _names(requirements):
    return {re.split(r"[\[<>=!~ ]", r.strip(), maxsplit=1)[0].lower() for r in requirements if r.strip() and not r.startswith("#")}


def test_layer_requirements_match_pyproject_runtime_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    layer = (ROOT / "layers/core/requirements.txt").read_text().splitlines()
    assert _names(layer) == _names(project["dependencies"])


def test_domain_imports_no_io_and_no_adapters():
    for path in (ROOT / "layers/core/order_engine/domain").rglob("*.py"):
        tree = parse_python(path)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                module = module or ""
                assert not module.startswith(("order_engine.adapters", "order_engine.services", "order_engine.api",
                                              "redis", "pg8000", "boto3", "aiohttp", "socket", "requests")), \
                    f"{path.name} imports {module}"


def test_functions_import_only_the_layer_the_stdlib_and_the_lambda_runtime():
    import sys

    shipped = {"order_engine", "aws_lambda_powertools", "boto3", "botocore", "redis", "pg8000", "pydantic"}
    for path in (ROOT / "functions").rglob("*.py"):
        for node in ast.walk(parse_python(path)):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                module = (node.module if isinstance(node, ast.ImportFrom) else node.names[0].name) or ""
                top = module.split(".")[0]
                assert top in shipped or top in sys.stdlib_module_names or top == "__future__", \
                    f"{path.relative_to(ROOT)} imports {module}, which Lambda would not have"


def test_the_library_imports_only_what_the_layer_installs():
    import sys

    installed = {"order_engine", "aws_lambda_powertools", "boto3", "botocore", "redis", "pg8000", "pydantic", "uvloop",
                 "aiohttp", "orjson", "yarl", "urllib3"}  # yarl comes with aiohttp, urllib3 with botocore
    for path in (ROOT / "layers/core/order_engine").rglob("*.py"):
        for node in ast.walk(parse_python(path)):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and not getattr(node, "level", 0):
                module = (node.module if isinstance(node, ast.ImportFrom) else node.names[0].name) or ""
                top = module.split(".")[0]
                assert top in installed or top in sys.stdlib_module_names or top == "__future__", \
                    f"{path.relative_to(ROOT)} imports {module}, which the layer does not install"


REDIS_ADAPTERS = ROOT / "layers/core/order_engine/adapters/redis"


def test_every_lua_script_registered_is_a_file_of_the_package_and_every_file_is_used():
    registered = set()
    for path in (ROOT / "layers/core/order_engine").rglob("*.py"):
        for node in ast.walk(parse_python(path)):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "register"
                    and len(node.args) == 2 and isinstance(node.args[1], ast.Constant)):
                registered.add(node.args[1].value)
    scripts = {path.stem: path.read_text() for path in (REDIS_ADAPTERS / "lua").glob("*.lua")}
    included = {line.removeprefix("--#include ").strip() for text in scripts.values() for line in text.splitlines()
                if line.startswith("--#include ")}
    assert registered - scripts.keys() == set(), "registered, but no lua/ file"
    assert included - scripts.keys() == set(), "included, but no lua/ file"
    assert scripts.keys() - registered - included == set(), "lua/ files nothing uses"
    elsewhere = [path.name for path in (ROOT / "layers/core/order_engine").rglob("*.py")
                 if "register_script(" in path.read_text() and path != REDIS_ADAPTERS / "scripts.py"]
    assert elsewhere == [], "Lua registered outside adapters/redis/scripts.py"


def test_the_lua_scripts_are_package_data_of_the_wheel_and_the_editable_install():
    """setuptools installs only the packages' Python unless package-data names more; the Lambda layer (sam build
    copies layers/core/) and the chalice package (infra/chalice/package copies order_engine/) take every file, and
    infra/deploy/check_build.py and check_chalice_package.py check that they hold them."""
    import fnmatch

    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    patterns = package_data["order_engine.adapters.redis"]
    for path in (REDIS_ADAPTERS / "lua").glob("*.lua"):
        name = path.relative_to(REDIS_ADAPTERS).as_posix()
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), name
