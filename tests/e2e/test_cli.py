"""The installed `order-engine` script against the local stack, as a person or a shell script runs it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
SCRIPT = Path(sys.executable).parent / "order-engine"


def cli(stack, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    env = {**os.environ, "ORDER_ENGINE_URL": stack.http_url, "ORDER_ENGINE_API_KEY": stack.api_key or "", "COLUMNS": "200"}
    return subprocess.run([str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=timeout)


def test_submit_watch_follows_the_order_to_confirmed_and_exits_0(local_stack):
    run = cli(local_stack, "submit", "SOL", "USDC", "1.5", "--slippage-bps", "75", "--watch")
    assert run.returncode == 0, run.stderr
    out = run.stdout
    for status in ("pending", "routing", "building", "submitted", "confirmed"):
        assert status in out
    assert "quote raydium" in out and "quote meteora" in out and "route:" in out
    order_id = out.split("order ", 1)[1].split(":", 1)[0]
    shown = json.loads(cli(local_stack, "--json", "get", order_id).stdout)
    assert shown["status"] == "confirmed" and shown["slippageBps"] == 75
    assert f"signature {shown['txHash']}" in out
    assert shown["txHash"] and f"confirmed on {shown['dex']}" in out


def test_submit_watch_json_prints_each_event_once_in_order(local_stack):
    run = cli(local_stack, "--json", "submit", "USDC", "SOL", "25", "--watch")
    assert run.returncode == 0, run.stderr
    accepted, *events = [json.loads(line) for line in run.stdout.splitlines()]
    assert accepted["status"] == "accepted"
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["status"] == "confirmed" and events[-1]["orderId"] == accepted["orderId"]


def test_a_bad_amount_exits_non_zero_with_one_line_naming_the_field(local_stack):
    run = cli(local_stack, "submit", "SOL", "USDC", "-1")
    assert run.returncode == 3
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr  # one line, no traceback
    assert "amount must be greater than zero" in lines[0] and "[field: amount]" in lines[0]


def test_an_unreachable_api_is_one_line_too():
    env = {**os.environ, "ORDER_ENGINE_URL": "http://127.0.0.1:9"}
    run = subprocess.run([str(SCRIPT), "queue"], env=env, capture_output=True, text=True, timeout=30)
    assert run.returncode == 3
    assert run.stderr.count("\n") == 1 and "cannot reach http://127.0.0.1:9" in run.stderr


def test_history_all_follows_every_cursor(local_stack):
    submitted = [json.loads(cli(local_stack, "--json", "submit", "SOL", "USDT", "0.1").stdout)["orderId"]
                 for _ in range(5)]
    run = cli(local_stack, "--json", "history", "--limit", "2", "--all")
    assert run.returncode == 0, run.stderr
    paged = json.loads(run.stdout)
    ids = [o["orderId"] for o in paged["orders"]]
    assert len(ids) == len(set(ids))  # no order twice across pages
    assert set(submitted) <= set(ids)
    assert paged["pages"] == -(-len(ids) // 2) and paged["nextCursor"] is None
    first = json.loads(cli(local_stack, "--json", "history", "--limit", "2").stdout)
    assert len(first["orders"]) == 2 and first["nextCursor"]
    readable = cli(local_stack, "history", "--limit", "2", "--token", "USDT")
    assert readable.returncode == 0 and "more with --all" in readable.stdout


def test_queue_and_get_of_an_unknown_order(local_stack):
    counts = json.loads(cli(local_stack, "--json", "queue").stdout)
    assert {"ready", "inFlight", "delayed", "deadLettered", "confirmed", "failed"} <= set(counts)
    missing = cli(local_stack, "get", "3f0c7d9e-0a8b-4c1d-9e2f-5a6b7c8d9e0f")
    assert missing.returncode == 3 and "404 order_not_found" in missing.stderr


def test_cancel_ends_a_waiting_order_and_refuses_a_confirmed_one_in_one_line(local_stack, e2e_database_url):
    from order_engine.adapters.postgres.database import Database
    from tests.support.sql import insert_unwatched_waiting

    db = Database(e2e_database_url)
    try:
        waiting = insert_unwatched_waiting(db)  # a limit order waiting for its price (1 SOL for USDC)
    finally:
        db.close()

    run = cli(local_stack, "cancel", waiting)
    assert run.returncode == 0, run.stderr
    assert f"{waiting} is cancelled" in run.stdout
    again = cli(local_stack, "--json", "cancel", waiting)  # idempotent
    assert again.returncode == 0 and json.loads(again.stdout)["status"] == "cancelled"

    confirmed = cli(local_stack, "--json", "submit", "SOL", "USDC", "0.2", "--watch")
    order_id = json.loads(confirmed.stdout.splitlines()[0])["orderId"]
    refused = cli(local_stack, "cancel", order_id)
    assert refused.returncode == 3 and refused.stdout == ""
    [line] = refused.stderr.strip().splitlines()
    assert "409 not_cancellable" in line and "it is confirmed" in line and "[field: orderId]" in line


def test_the_cli_without_a_key_gets_the_401_as_one_line_and_exit_3(local_stack):
    env = {**os.environ, "ORDER_ENGINE_URL": local_stack.http_url, "ORDER_ENGINE_API_KEY": "", "COLUMNS": "200"}
    run = subprocess.run([str(SCRIPT), "queue"], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 3
    assert "error (401 unauthorized)" in run.stderr


def test_quote_then_submit_by_its_id_confirms_on_the_quoted_route(local_stack):
    table = cli(local_stack, "quote", "SOL", "USDC", "2", "--slippage-bps", "80")
    assert table.returncode == 0, table.stderr
    assert "raydium" in table.stdout and "meteora" in table.stdout and "more than" in table.stdout
    quoted = json.loads(cli(local_stack, "--json", "quote", "SOL", "USDC", "2", "--slippage-bps", "80").stdout)
    run = cli(local_stack, "--json", "submit", "SOL", "USDC", "2", "--quote-id", quoted["quoteId"], "--watch")
    assert run.returncode == 0, run.stderr
    order_id = json.loads(run.stdout.splitlines()[0])["orderId"]
    shown = json.loads(cli(local_stack, "--json", "get", order_id).stdout)
    assert shown["status"] == "confirmed" and shown["quoteId"] == quoted["quoteId"]
    assert shown["dex"] == quoted["route"]["dex"] and shown["minAmountOut"] == quoted["minAmountOut"]


def test_a_quote_for_a_bad_amount_is_one_line_naming_the_field(local_stack):
    run = cli(local_stack, "quote", "SOL", "USDC", "1e3")
    assert run.returncode == 3 and run.stdout == ""
    assert run.stderr.strip().startswith("error (400 invalid_request)") and "[field: amount]" in run.stderr
