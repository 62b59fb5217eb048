"""The one place the chalice app reaches what it shares with template.yaml's functions: the WebSocket handlers
(functions/ws/app.py), the executor (functions/executor/app.py) and the tracking page's files (functions/web/static),
from the repository or from the package, where `infra/chalice/package` copies them into vendor/functions/.

When the WebSocket handlers move into the library, `ws` here becomes `from order_engine.api import ws`."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

_HERE = Path(__file__).resolve()
_SEARCH = (_HERE.parents[1], _HERE.parents[3])  # the deployed package's root, then the repository's root


def _load(relative: str, name: str) -> ModuleType:
    for root in _SEARCH:
        source = root / relative
        if source.is_file():
            spec = importlib.util.spec_from_file_location(name, source)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
    raise ImportError(f"{relative} is in neither {_SEARCH[0]} nor {_SEARCH[1]}")


def _folder(relative: str) -> Path:
    return next((root / relative for root in _SEARCH if (root / relative).is_dir()), _SEARCH[-1] / relative)


ws = _load("functions/ws/app.py", "order_engine_ws_functions")
WEB_STATIC = _folder("functions/web/static")  # the tracking page's files
executor = _load("functions/executor/app.py", "order_engine_executor_function")
authorizer = _load("functions/authorizer/app.py", "order_engine_authorizer_function")
