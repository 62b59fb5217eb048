"""The chalice app (infra/chalice/app.py), imported once per process as chalice would import it: with its project
folder on sys.path for chalicelib."""
from __future__ import annotations

import importlib.util
import sys
from functools import lru_cache
from pathlib import Path
from types import ModuleType

CHALICE_DIR = Path(__file__).resolve().parents[2] / "infra" / "chalice"


@lru_cache(maxsize=1)
def chalice_module() -> ModuleType:
    if str(CHALICE_DIR) not in sys.path:
        sys.path.insert(0, str(CHALICE_DIR))
    spec = importlib.util.spec_from_file_location("order_engine_chalice_app", CHALICE_DIR / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
