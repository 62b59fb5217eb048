"""Every setting, read from the environment once, with defaults that run locally.

Functions call `settings()`; tests build a `Settings` directly or with `Settings.from_env(overrides)`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from typing import Mapping


@dataclass(frozen=True)
class Settings:
    # where the data lives
    database_url: str = "postgresql://postgres@127.0.0.1:5432/order_engine"
    database_schema: str = "public"  # tests isolate themselves with a schema of their own
    redis_url: str = "redis://127.0.0.1:6379/0"
    key_prefix: str = "oe:"  # every Redis key starts with it; tests use their own
    # secrets: when named, read at start-up through Powertools Parameters instead of the variables above
    secret_arn: str = ""  # a Secrets Manager secret whose JSON holds DATABASE_URL, REDIS_URL and CURSOR_SECRET
    database_url_parameter: str = ""  # SSM Parameter Store names (SecureString decrypted); each wins over the secret
    redis_url_parameter: str = ""
    cursor_secret_parameter: str = ""
    # observability
    metrics_enabled: int = 1  # 0: no EMF lines at all
    metrics_namespace: str = "OrderEngine"
    metrics_flush_ms: int = 10_000  # the executor writes its aggregated metrics this often (and at the end of a run)
    # the public API
    max_body_bytes: int = 16 * 1024
    default_slippage_bps: int = 50
    max_slippage_bps: int = 5000
    history_default_limit: int = 50
    history_max_limit: int = 500
    cursor_secret: str = "local-cursor-secret"  # signs history cursors so a tampered one is refused
    ws_public_url: str = "ws://127.0.0.1:3001/local"  # the wsUrl handed back by submit
    # access (API keys are checked by the authorizer functions; the local gateway runs them unless AUTH_ENABLED=false)
    auth_enabled: bool = True
    auth_cache_ttl_s: float = 30.0  # the authorizer's decision per key is reused this long (a revoked key's grace)
    rate_limit_per_s: float = 50.0  # a key's submits per second, unless the key says otherwise
    rate_limit_burst: int = 100  # ... and the bucket's size
    # the executor
    executor_function_name: str = "order-engine-executor"
    executor_concurrency: int = 10
    max_in_flight: int = 100
    max_attempts: int = 3
    backoff_base_ms: int = 200
    backoff_factor: float = 2.0
    backoff_cap_ms: int = 5000
    lease_ms: int = 5_000  # renewed every second; a dead executor's orders are reclaimed this soon
    max_stalls: int = 3
    idle_exit_ms: int = 10_000  # an executor exits after this long with no order ready, delayed or in flight
    heartbeat_ttl_ms: int = 3_000  # an executor that has not beaten for this long is dead to its peers
    executor_max_instances: int = 1  # the function's reserved concurrency (the template passes it)
    executor_min_instances: int = 2  # live executors kept while there is work, so one survives a crash of another
    executor_start_grace_ms: int = 5_000  # a launched executor counts as live this long before its first beat
    executor_stop_margin_ms: int = 10_000  # stop claiming this long before the Lambda timeout, to finish in flight
    executor_poll_ms: int = 1_000  # the longest a BLMOVE waits, so delayed retries are promoted on time
    sweep_interval_ms: int = 1_000  # promote due retries, recover expired leases (one executor per interval)
    reconcile_interval_ms: int = 10_000  # re-enqueue unfinished orders Redis lost (one executor per interval)
    reconcile_grace_ms: int = 2_000  # an unfinished order untouched this long and held nowhere in Redis is lost
    terminal_ttl_s: int = 86_400  # how long Redis keeps a finished order's live state and event log
    dead_letter_max: int = 10_000  # dead-letter entries kept (oldest trimmed)
    executor_pg_writers: int = 1  # PostgreSQL connections the executor group-commits steps through
    # limit orders: they wait in Redis books watched once a slot (dex_slot_ms) by one executor
    limit_max_ttl_s: int = 7 * 86_400  # the furthest expiry a limit order may ask for
    limit_trigger_margin_bps: int = 50  # fire once the best venue price beats the limit by this (its fee and impact)
    watch_fire_max: int = 5_000  # orders one book fires (and orders expired) per tick; the rest in the next
    # the simulated venues and chain (dex/); every latency is multiplied by dex_latency_scale (0 for benchmarks)
    dex_latency_scale: float = 1.0
    dex_seed: int = 7  # makes the market and the injected failures repeatable
    dex_quote_latency_ms: int = 200  # a venue's quote takes about this long
    dex_quote_timeout_ms: int = 1_000  # the router gives up on a venue after this long
    dex_submit_latency_ms: int = 50  # sending a transaction to the RPC
    dex_slot_ms: int = 400  # a slot: the market's tick and the delay before a sent transaction lands
    dex_confirmation_ms: int = 2_500  # from sending to commitment `confirmed` (+-20% jitter)
    dex_blockhash_lifetime_ms: int = 60_000  # a chain property: not scaled
    dex_volatility_bps: float = 10.0  # std dev of the reference price over one minute
    dex_venue_spread_bps: float = 350.0  # mean gap between the two venues' prices
    dex_venue_drift_half_life_s: float = 1_800.0  # how slowly a venue's own offset from the reference reverts
    dex_arbitrage_half_life_s: float = 2.0  # how fast arbitrage pulls a pool back after trades move it
    dex_initial_liquidity_usd: int = 0  # 0: each pool at its calibrated depth (docs/architecture.md); else every pool at this
    dex_fail_quote_timeout: float = 0.0  # probability a venue's quote times out
    dex_fail_venue_error: float = 0.0  # probability a venue's quote fails
    dex_fail_rpc_error: float = 0.0  # probability sending a transaction fails (it is not sent)
    dex_fail_blockhash_expired: float = 0.0  # probability a built transaction's blockhash expires before landing
    dex_fail_price_move: float = 0.0  # probability the price moves against a swap before it lands
    dex_price_move_bps: int = 300  # size of that move
    dex_chain_batch_max: int = 500  # landed transactions per PostgreSQL batch
    dex_chain_gather_ms: int = 2  # the ledger waits this long to gather a batch (group commit); not scaled
    dex_listing_refresh_ms: int = 200  # how often a process asks again about a pair it found no listing for
    dex_quote_view_max_age_ms: int = 0  # quote from this process's view of a pool if read this recently (0: always read)
    # quotes (GET /api/quote) and dynamic slippage
    quote_ttl_ms: int = 10_000  # how long a quoteId may be executed
    # live updates
    ws_management_endpoint: str = "http://127.0.0.1:3001/local"
    ws_replay_function_name: str = "order-engine-ws-replay"  # invoked after $connect to send ?orderId='s replay
    ws_max_connection_ms: int = 2 * 60 * 60 * 1000  # API Gateway closes every connection after 2 hours
    ws_idle_ms: int = 10 * 60 * 1000  # ... and an idle one after 10 minutes
    ws_connect_grace_ms: int = 10_000  # a 410 this soon after $connect may mean "not open yet", not "gone"
    ws_publish_timeout_ms: int = 3_000  # the most one event's fan-out may hold up its order
    ws_post_timeout_ms: int = 500  # a management-API answer slower than this is a failed try
    ws_post_attempts: int = 3  # tries per connection for errors other than 410
    ws_post_pool_size: int = 100  # pooled HTTP connections to the management API
    ws_replay_wait_ms: int = 5_000  # how long the replay waits for a new connection to open

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = _parse_bool(raw) if isinstance(f.default, bool) else type(f.default)(raw)
        return cls(**values)


# the settings a deployment may keep out of its functions' environment
SECRET_FIELDS = ("database_url", "redis_url", "cursor_secret")


class SecretsUnavailable(RuntimeError):
    """A named parameter or secret could not be read: the function cannot start without it."""


def with_secrets(s: Settings) -> Settings:
    """`s` with the database URL, Redis URL and cursor secret read from Secrets Manager (`secret_arn`, a JSON
    object keyed like the variables) and SSM Parameter Store (`*_parameter`, decrypted), when the settings name
    them; a parameter wins over the secret, either over the environment."""
    named = {f: getattr(s, f"{f}_parameter") for f in SECRET_FIELDS if getattr(s, f"{f}_parameter")}
    if not s.secret_arn and not named:
        return s
    # imported only when configured: boto3 then costs a cold start nothing it did not cost before
    from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider

    values: dict[str, str] = {}
    try:
        if s.secret_arn:
            secret = SecretsProvider().get(s.secret_arn, transform="json", max_age=0)
            values |= {f: str(secret[f.upper()]) for f in SECRET_FIELDS if secret.get(f.upper())}
        if named:
            ssm = SSMProvider()
            values |= {f: ssm.get(name, decrypt=True, max_age=0) for f, name in named.items()}
    except Exception as exc:  # noqa: BLE001 - any failure (access, network, a secret that is not JSON) stops start-up
        where = ", ".join(filter(None, [s.secret_arn, *named.values()]))
        raise SecretsUnavailable(f"could not read the settings from {where}: {type(exc).__name__}: {exc}") from exc
    return replace(s, **values)
def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {raw!r} (use true or false)")


@lru_cache(maxsize=1)
def settings() -> Settings:
    return with_secrets(Settings.from_env())
