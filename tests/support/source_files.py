"""Parsing the project's own Python sources, for the tests that hold the layout and the packaging to rules."""
from __future__ import annotations

import ast
import gc
from pathlib import Path


def parse_python(path: Path) -> ast.Module:
    """`ast.parse` of a source file, shielded from CPython 3.11.7's "SystemError: AST constructor recursion depth
    mismatch": the parser's recursion bookkeeping reads the thread's recursion counters before and after, so Python
    code run meanwhile (a collected leftover's finalizer, another thread moving the recursion limit) fails a check
    that found nothing. The collector is paused, and a parse refused so is tried once more."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        try:
            return ast.parse(path.read_text(), filename=str(path))
        except SystemError:
            return ast.parse(path.read_text(), filename=str(path))
    finally:
        if enabled:
            gc.enable()
