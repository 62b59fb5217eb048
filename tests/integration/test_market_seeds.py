"""The seeds' demo load on many markets: 5 concurrent 1 SOL market orders, each market seeded differently, with
venue latency (scaled down) so the five are quoted, sent and landed concurrently on a market that moves."""
from __future__ import annotations

from typing import Any

import pytest

from tests.support.executor_support import executor_settings, run
from tests.support.factories import submit_orders
from tests.support.reads import order_of, timeline
from order_engine.config import Settings
from order_engine.adapters.postgres.database import Database

SEEDS = range(1, 21)
DEMO = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1"}  # at the default slippage
BOUNDS = {"minBps": 10, "maxBps": 300}


def demo_run(settings: Settings, db: Database, seed: int, body: dict[str, Any]) -> list[str]:
    s = executor_settings(settings, dex_seed=seed, key_prefix=f"{settings.key_prefix}seed{seed}:",
                          dex_latency_scale=0.1, dex_blockhash_lifetime_ms=60_000)
    ids = submit_orders(s, db, 5, body)
    run(s)
    return ids


def outcomes(db: Database, ids: list[str]) -> dict[str, tuple[str, int, str | None]]:
    stored = [order_of(db, order_id) for order_id in ids]
    return {order.id: (str(order.status), order.slippage_bps, order.error) for order in stored}


def test_five_concurrent_one_sol_orders_at_the_default_slippage_all_confirm_on_twenty_markets(settings, db):
    failed = {}
    for seed in SEEDS:
        ids = demo_run(settings, db, seed, DEMO)
        got = outcomes(db, ids)
        assert len(got) == 5
        failed.update({(seed, order_id): error for order_id, (status, _, error) in got.items() if status != "confirmed"})
    assert failed == {}


def test_with_dynamic_slippage_the_recorded_tolerance_stays_within_its_bounds_on_twenty_markets(settings, db):
    for seed in SEEDS:
        ids = demo_run(settings, db, seed, {**DEMO, "dynamicSlippage": BOUNDS})
        for order_id, (status, slippage, error) in outcomes(db, ids).items():
            assert status == "confirmed", (seed, error)
            assert BOUNDS["minBps"] <= slippage <= BOUNDS["maxBps"]
            built = [detail for _, state, _, detail in timeline(db, order_id) if state == "building"]
            chosen = built[-1]["dynamicSlippage"]
            assert chosen["chosenBps"] == slippage == built[-1]["slippageBps"]
            assert (chosen["minBps"], chosen["maxBps"]) == (BOUNDS["minBps"], BOUNDS["maxBps"])


@pytest.mark.parametrize("bounds", [{"minBps": 5, "maxBps": 5}, {"minBps": 400, "maxBps": 450}])
def test_the_picked_tolerance_is_held_to_narrow_bounds(settings, db, bounds):
    ids = demo_run(settings, db, 3, {**DEMO, "dynamicSlippage": bounds})
    for status, slippage, error in outcomes(db, ids).values():
        assert bounds["minBps"] <= slippage <= bounds["maxBps"], (status, error)
