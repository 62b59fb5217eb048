"""A sniper order through the page in Chromium: the form shows its max price and expiry (no slippage), shows a bad
maxPrice under its field, and a good one is accepted and shown waiting, its max price beside the swap."""
from __future__ import annotations

import json

from playwright.sync_api import expect


def test_a_sniper_order_is_submitted_from_the_form_with_its_max_price(page, web_stack):
    page.select_option("#orderType", "sniper")
    expect(page.locator("#maxPrice")).to_be_visible()
    expect(page.locator("#ttlSeconds")).to_be_visible()
    expect(page.locator("#slippageBps")).to_be_hidden()
    expect(page.locator("#limitPrice")).to_be_hidden()
    page.select_option("#tokenIn", "USDC")
    page.select_option("#tokenOut", "PULSE")
    page.fill("#amount", "25")
    rows = page.locator("#live-rows tr").count()

    page.fill("#maxPrice", "0")
    page.click("#submit")
    expect(page.locator("#maxPrice-error")).to_contain_text("maxPrice must be greater than zero")
    assert page.locator("#live-rows tr").count() == rows  # nothing was accepted

    page.fill("#maxPrice", "1.5")
    page.click("#submit")
    expect(page.locator("#live-rows tr")).to_have_count(rows + 1)
    row = page.locator("#live-rows tr").first
    expect(row).to_contain_text("≤ 1.5 USDC/PULSE")
    expect(row).to_contain_text("waiting")  # its first event, over the WebSocket
    order_id = row.get_attribute("data-order-id")
    with web_stack.urlopen(f"{web_stack.http_url}/api/orders/{order_id}", timeout=10) as response:
        order = json.loads(response.read())
    assert (order["type"], order["status"], order["maxPrice"], order["tokenOut"]) == ("sniper", "waiting", "1.5", "PULSE")

    page.select_option("#orderType", "market")  # back to a market order: slippage again, no max price
    expect(page.locator("#slippageBps")).to_be_visible()
    expect(page.locator("#maxPrice")).to_be_hidden()
