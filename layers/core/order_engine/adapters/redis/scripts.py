"""The Redis adapters' Lua scripts: one file each in `lua/`, read from the package once per process and registered
on a client with redis-py's `register_script` (called by EVALSHA, loaded into Redis at its first use).

A script shares code with a line `--#include NAME`, which stands for lua/NAME.lua. The values a script needs
besides its keys (markers, key infixes) come in its ARGV, never templated into its text, so a file is exactly the
script Redis runs (line numbers in its errors aside, where an include precedes them).
"""
from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from typing import overload

import redis
import redis.asyncio
from redis.commands.core import AsyncScript, Script

INCLUDE = "--#include "


@lru_cache(maxsize=None)
def source(name: str) -> str:
    """The text of lua/<name>.lua, its includes expanded."""
    text = (files(__package__) / "lua" / f"{name}.lua").read_text(encoding="utf-8")
    return "".join(source(line.removeprefix(INCLUDE).strip()) if line.startswith(INCLUDE) else line
                   for line in text.splitlines(keepends=True))


@overload
def register(client: redis.asyncio.Redis, name: str) -> AsyncScript: ...
@overload
def register(client: redis.Redis, name: str) -> Script: ...


def register(client: redis.Redis | redis.asyncio.Redis, name: str) -> Script | AsyncScript:
    """Script `name` on `client` (sync or asyncio): calling it runs lua/<name>.lua with its keys and args."""
    return client.register_script(source(name))
