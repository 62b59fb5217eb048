"""The tracking page in Chromium against the local stack: submit through the form, watch orders confirm with
their routing, field errors, history and timelines, the operator's live counts, and a dropped WebSocket."""
from __future__ import annotations

import json
import time

from playwright.sync_api import expect

from tests.support.browser import DESKTOP, PHONE, restart_websocket_gateway, submit_through_form

LIVE_TIMEOUT_MS = 30_000


def api_get(stack, path: str):
    with stack.urlopen(stack.http_url + path, timeout=10) as response:
        return json.loads(response.read())


def test_three_orders_confirm_with_routing_then_history_opens_a_timeline(page, web_stack, screenshot_dir):
    ids = [submit_through_form(page, amount, reference=f"page-{i}") for i, amount in enumerate(("1", "2.5", "0.75"))]
    assert len(set(ids)) == 3
    for order_id in ids:
        row = page.locator(f'#live-rows tr[data-order-id="{order_id}"]')
        expect(row).to_have_attribute("data-status", "confirmed", timeout=LIVE_TIMEOUT_MS)
        # the routing decision: the chosen venue (or split) and why, and both venues' quotes after fees
        expect(row.locator('[data-cell="route"]')).to_contain_text("more than")
        expect(row.locator('[data-cell="quotes"]')).to_contain_text("raydium")
        expect(row.locator('[data-cell="quotes"]')).to_contain_text("meteora")
        expect(row.locator('[data-cell="steps"]')).to_contain_text("wrap_sol")
        stored = api_get(web_stack, f"/api/orders/{order_id}")
        expect(row.locator('[data-cell="signature"]')).to_have_attribute("title", stored["txHash"])
        expect(row.locator('[data-cell="out"]')).to_contain_text("USDC / ≥")
    expect(page.locator("#chart circle[data-venue]")).not_to_have_count(0)
    page.screenshot(path=str(screenshot_dir / "live-orders-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(screenshot_dir / "live-orders-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)

    page.reload()
    page.wait_for_selector('#connection[data-state="live"]')
    for order_id in ids:
        expect(page.locator(f'#history-rows tr[data-order-id="{order_id}"]')).to_have_attribute("data-status", "confirmed")
    page.locator(f'#history-rows tr[data-order-id="{ids[1]}"]').click()
    dialog = page.locator("#timeline")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#timeline-events li")).to_have_count(5)
    statuses = dialog.locator("#timeline-events li").evaluate_all("items => items.map(i => i.dataset.status)")
    assert statuses == ["pending", "routing", "building", "submitted", "confirmed"]
    expect(dialog).to_contain_text("2.5 SOL → USDC")
    page.screenshot(path=str(screenshot_dir / "timeline-desktop.png"))
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    page.set_viewport_size(PHONE)
    page.screenshot(path=str(screenshot_dir / "history-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def test_a_bad_amount_is_shown_next_to_the_amount_field(page, screenshot_dir):
    rows = page.locator("#live-rows tr").count()
    page.fill("#amount", "-3")
    page.click("#submit")
    error = page.locator("#amount-error")
    expect(error).to_contain_text("amount must be greater than zero")
    expect(page.locator("#amount")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#amount")).to_be_focused()
    assert page.locator("#live-rows tr").count() == rows  # nothing was accepted
    page.locator("#order-form").screenshot(path=str(screenshot_dir / "amount-error-desktop.png"))

    page.fill("#amount", "1")  # a good amount clears the error
    page.click("#submit")
    expect(error).to_be_empty()


def test_the_form_is_usable_from_the_keyboard(page):
    page.focus("#tokenIn")
    page.keyboard.press("Tab")
    expect(page.locator("#tokenOut")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#amount")).to_be_focused()
    page.keyboard.type("0.2")  # appended to the default 1 -> "10.2"
    rows = page.locator("#live-rows tr").count()
    page.keyboard.press("Enter")
    expect(page.locator("#live-rows tr")).to_have_count(rows + 1)
    page.locator("#live-rows tr").first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#timeline")).to_be_visible()


def test_operator_counts_refresh_live_and_pause(page, web_stack):
    confirmed = page.locator('[data-count="confirmed"]')
    deadline = time.monotonic() + 60
    while api_get(web_stack, "/api/queue")["unfinished"] and time.monotonic() < deadline:
        time.sleep(0.2)  # the earlier tests' orders finish first, so the count moves only for this test's
    before = api_get(web_stack, "/api/queue")["confirmed"]
    expect(confirmed).to_have_text(str(before), timeout=10_000)
    order_id = submit_through_form(page, "1")
    expect(page.locator(f'#live-rows tr[data-order-id="{order_id}"]')).to_have_attribute(
        "data-status", "confirmed", timeout=LIVE_TIMEOUT_MS)
    expect(confirmed).to_have_text(str(before + 1), timeout=10_000)

    page.click("#counts-pause")
    expect(page.locator("#counts-pause")).to_have_attribute("aria-pressed", "true")
    paused_id = submit_through_form(page, "1")
    expect(page.locator(f'#live-rows tr[data-order-id="{paused_id}"]')).to_have_attribute(
        "data-status", "confirmed", timeout=LIVE_TIMEOUT_MS)
    time.sleep(2.5)  # longer than a refresh interval: a paused panel must not have moved
    expect(confirmed).to_have_text(str(before + 1))
    page.click("#counts-pause")
    expect(confirmed).to_have_text(str(before + 2), timeout=10_000)


def test_after_the_websocket_drops_the_page_reconnects_and_fills_the_gap(page, web_stack, screenshot_dir):
    in_flight = submit_through_form(page, "1.25")
    page.wait_for_selector(f'#live-rows tr[data-order-id="{in_flight}"]'  # under way: some events, not all
                           ':is([data-status="routing"], [data-status="building"], [data-status="submitted"])')

    restart_websocket_gateway(web_stack, down_seconds=3)
    expect(page.locator("#connection")).not_to_have_attribute("data-state", "live", timeout=5_000)
    page.screenshot(path=str(screenshot_dir / "reconnecting-desktop.png"))
    while_down = submit_through_form(page, "0.5")  # HTTP still works; its events happen while the page is away

    expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=20_000)
    for order_id in (in_flight, while_down):
        row = page.locator(f'#live-rows tr[data-order-id="{order_id}"]')
        expect(row).to_have_attribute("data-status", "confirmed", timeout=LIVE_TIMEOUT_MS)
        stored = api_get(web_stack, f"/api/orders/{order_id}")
        seqs = [int(s) for s in row.get_attribute("data-seqs").split(",")]
        assert seqs == [e["seq"] for e in stored["events"]] == list(range(1, len(stored["events"]) + 1))


def test_a_limit_order_from_the_form_waits_with_its_limit_shown_and_a_bad_price_is_shown_at_its_field(page):
    page.select_option("#orderType", "limit")
    expect(page.locator("#limitPrice")).to_be_visible()
    expect(page.locator("#slippageBps")).to_be_hidden()  # a limit order is bounded by its price
    page.select_option("#tokenIn", "SOL")
    page.select_option("#tokenOut", "USDC")
    page.fill("#amount", "0.5")
    page.fill("#limitPrice", "0")
    rows = page.locator("#live-rows tr").count()
    page.click("#submit")
    expect(page.locator("#limitPrice-error")).to_contain_text("limitPrice must be greater than zero")
    expect(page.locator("#limitPrice")).to_have_attribute("aria-invalid", "true")
    assert page.locator("#live-rows tr").count() == rows
    page.fill("#limitPrice", "9999")  # far above the market: it waits
    page.click("#submit")
    expect(page.locator("#live-rows tr")).to_have_count(rows + 1)
    row = page.locator("#live-rows tr").first
    expect(row.locator('[data-cell="swap"]')).to_contain_text("limit ≥ 9999 USDC/SOL")
    expect(row.locator('[data-cell="status"]')).to_contain_text("waiting", timeout=LIVE_TIMEOUT_MS)


def test_a_quote_previews_both_venues_and_the_route_then_executes_on_it(page, web_stack):
    page.select_option("#tokenIn", "SOL")
    page.select_option("#tokenOut", "USDC")
    page.fill("#amount", "3")
    page.click("#get-quote")
    panel = page.locator("#quote")
    expect(panel).to_be_visible(timeout=LIVE_TIMEOUT_MS)  # the first quote starts the orders function's market
    expect(panel.locator("#quote-venues tr")).to_have_count(2)
    expect(panel.locator("#quote-route")).to_contain_text("more than")
    expect(panel.locator("#quote-minimum")).to_contain_text("at least")
    quote = page.evaluate("window.orderPage.state.quote")
    before = page.locator("#live-rows tr").count()
    page.click("#execute-quote")
    expect(page.locator("#live-rows tr")).to_have_count(before + 1)
    order_id = page.locator("#live-rows tr").first.get_attribute("data-order-id")
    row = page.locator(f'#live-rows tr[data-order-id="{order_id}"]')
    expect(row).to_have_attribute("data-status", "confirmed", timeout=LIVE_TIMEOUT_MS)
    stored = api_get(web_stack, f"/api/orders/{order_id}")
    assert stored["quoteId"] == quote["quoteId"] and stored["dex"] == quote["route"]["dex"]
    assert stored["minAmountOut"] == quote["minAmountOut"]


def test_a_bad_amount_in_a_quote_is_shown_under_its_field(page, web_stack):
    page.fill("#amount", "1e3")
    page.click("#get-quote")
    expect(page.locator("#amount-error")).to_contain_text("amount")
    expect(page.locator("#quote")).to_be_hidden()
