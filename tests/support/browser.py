"""What the browser tests share besides fixtures: Chromium, a page opened on a stack, viewport sizes, and the
stack-side actions a test takes."""
from __future__ import annotations

import json
import os
import shutil
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.stack_process import ROOT, StackProcess

DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update"]


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail(f"no Chromium at {path}: install Debian's chromium (.ci/run does) or set CHROMIUM")
    return path


def open_page(browser, stack: StackProcess, *, with_key: bool = True):
    """A desktop-sized tab on the stack's page; with_key: the stack's key already in the tab's session storage, as
    after a user typed it into the header's field once, and the page live (its WebSocket connected). The page must
    raise nothing until the tab is closed (a fixture's body)."""
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    if with_key and stack.api_key:
        page.add_init_script(f"sessionStorage.setItem('orderEngineApiKey', {json.dumps(stack.api_key)})")
    page.goto(stack.http_url + "/")
    if with_key:
        page.wait_for_selector('#connection[data-state="live"]')
    yield page
    context.close()
    assert not errors, f"the page raised: {errors}"


def submit_through_form(page, amount: str, token_in: str = "SOL", token_out: str = "USDC", reference: str = "") -> str:
    """A market order typed into the form and submitted; its id, once its row is on the page."""
    page.select_option("#tokenIn", token_in)
    page.select_option("#tokenOut", token_out)
    page.fill("#amount", amount)
    page.fill("#clientOrderId", reference)
    before = page.locator("#live-rows tr").count()
    page.click("#submit")
    # the stack's first submit starts its orders function (cold, on a loaded machine several seconds)
    expect(page.locator("#live-rows tr")).to_have_count(before + 1, timeout=30_000)
    return page.locator("#live-rows tr").first.get_attribute("data-order-id")


def restart_websocket_gateway(stack: StackProcess, down_seconds: float) -> None:
    request = urllib.request.Request(f"{stack.lambda_url}/local/websocket/restart?downSeconds={down_seconds}",
                                     method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202


def stall_into_dead_letters(stack: StackProcess, client_order_id: str) -> str:
    """An order in the state the executor's sweeper leaves one that stalled too often: durable in PostgreSQL,
    unfinished, off the queue and on the dead letters (written through the adapters, as test setup)."""
    import uuid

    from order_engine.domain.order import parse_order_request
    from order_engine.adapters.redis.key_scheme import KeyScheme
    from order_engine.adapters.postgres.order_repository import OrderRepository
    from order_engine.adapters.postgres.database import Database
    from order_engine.adapters.redis.connect import sync_client

    order_id = str(uuid.uuid4())
    request = parse_order_request({"tokenIn": "SOL", "tokenOut": "USDC", "amount": "0.4",
                                   "clientOrderId": client_order_id}, default_slippage_bps=50, max_slippage_bps=5000)
    db = Database(stack.env["DATABASE_URL"], "public")
    try:
        OrderRepository(db).insert(order_id, request, None)
    finally:
        db.close()
    keys, redis = KeyScheme(stack.env["KEY_PREFIX"]), sync_client(stack.env["REDIS_URL"])
    redis.sadd(keys.dead_ids, order_id)
    redis.lpush(keys.dead, json.dumps({"entry": order_id, "orderId": order_id, "at": "2026-12-01T15:00:00Z",
                                       "reason": "stalled 4 times: its executor stopped (crash or timeout) while working on it"}))
    return order_id


def insert_waiting(stack: StackProcess, client_order_id: str) -> str:
    """A limit order waiting for its price, as the limit intake stores it but without its trigger, so the stack's
    watcher never fires it here (tests/support/sql.py)."""
    from order_engine.adapters.postgres.database import Database
    from tests.support.sql import insert_unwatched_waiting

    db = Database(stack.env["DATABASE_URL"], "public")
    try:
        return insert_unwatched_waiting(db, amount_in=400_000_000, client_order_id=client_order_id)
    finally:
        db.close()


def advance(stack: StackProcess, order_id: str, *statuses: str) -> None:
    """Move an order through `statuses` as its watcher and the executor would (conditional, with an event each)."""
    from order_engine.adapters.postgres.database import Database
    from tests.support import factories

    db = Database(stack.env["DATABASE_URL"], "public")
    try:
        factories.advance(db, order_id, *statuses)
    finally:
        db.close()


# Every word of every rendered table cell (headers too), with the cell's content width and how many lines the
# word takes: a word wider than its cell's content, or split over lines, cannot be read ("atte / mpt / 1").
_WORDS_TOO_WIDE_FOR_THEIR_CELLS = """() => {
    const found = [];
    let words = 0;
    for (const cell of document.querySelectorAll("table th, table td")) {
        if (!cell.getClientRects().length) continue;  // not rendered (an empty cell on a phone)
        const style = getComputedStyle(cell);
        const content = cell.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        const table = cell.closest("table");
        const column = cell.dataset.label || cell.dataset.cell || cell.textContent.trim();
        const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
        for (let text = walker.nextNode(); text; text = walker.nextNode()) {
            if (text.parentElement.closest(".visually-hidden")) continue;
            for (const match of text.data.matchAll(/\\S+/g)) {
                const range = document.createRange();
                range.setStart(text, match.index);
                range.setEnd(text, match.index + match[0].length);
                const rects = [...range.getClientRects()].filter((r) => r.width > 0);
                const width = rects.reduce((sum, r) => sum + r.width, 0);
                const lines = new Set(rects.map((r) => Math.round(r.top))).size;
                words += 1;
                if (width > content + 0.5 || lines > 1) {
                    found.push({ table: table.id || table.getAttribute("aria-label") || table.parentElement.id,
                                 column, word: match[0], width: Math.round(width), cell: Math.round(content), lines });
                }
            }
        }
    }
    return { words, found };
}"""


def words_too_wide_for_their_cells(page) -> tuple[int, list[dict]]:
    """(words measured, the ones that do not fit their cell), measured in the page as Chromium lays it out."""
    result = page.evaluate(_WORDS_TOO_WIDE_FOR_THEIR_CELLS)
    return result["words"], result["found"]
