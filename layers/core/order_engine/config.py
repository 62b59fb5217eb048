"""Every setting, read from the environment once, with defaults that run locally.

Functions call `settings()`; tests build a `Settings` directly or with `Settings.from_env(overrides)`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Mapping


@dataclass(frozen=True)
class Settings:
    # where the data lives
    database_url: str = "postgresql://postgres@127.0.0.1:5432/order_engine"
    database_schema: str = "public"  # tests isolate themselves with a schema of their own
    redis_url: str = "redis://127.0.0.1:6379/0"
    key_prefix: str = "oe:"  # every Redis key starts with it; tests use their own
    # the public API
    max_body_bytes: int = 16 * 1024
    default_slippage_bps: int = 50
    max_slippage_bps: int = 5000
    history_default_limit: int = 50
    history_max_limit: int = 500
    cursor_secret: str = "local-cursor-secret"  # signs history cursors so a tampered one is refused
    ws_public_url: str = "ws://127.0.0.1:3001/local"  # the wsUrl handed back by submit
    # the executor
    executor_function_name: str = "order-engine-executor"
    executor_concurrency: int = 10
    max_in_flight: int = 100
    max_attempts: int = 3
    backoff_base_ms: int = 200
    backoff_factor: float = 2.0
    backoff_cap_ms: int = 5000
    lease_ms: int = 30_000
    max_stalls: int = 3
    idle_exit_ms: int = 10_000
    heartbeat_ttl_ms: int = 5_000
    # live updates
    ws_management_endpoint: str = "http://127.0.0.1:3001/local"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = type(f.default)(raw)
        return cls(**values)


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings.from_env()
