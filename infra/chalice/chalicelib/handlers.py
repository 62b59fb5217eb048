"""The one place the chalice app reaches the Lambda handlers it shares with template.yaml: the WebSocket
functions (functions/ws/app.py) and the executor (functions/executor/app.py), loaded from their files: from the
repository, or from the package, where `infra/chalice/package` copies them into vendor/functions/.

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


ws = _load("functions/ws/app.py", "order_engine_ws_functions")
executor = _load("functions/executor/app.py", "order_engine_executor_function")
