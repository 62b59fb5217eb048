"""The operator panel in Chromium: a dead-lettered order is listed with its reason and time, found by its client
order id, retried from the panel, and seen to confirm."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.support.browser import PHONE, DESKTOP, stall_into_dead_letters


def test_a_dead_lettered_order_is_retried_from_the_panel_and_confirms(page, web_stack, screenshot_dir):
    order_id = stall_into_dead_letters(web_stack, "stuck-desk-3")
    entry = page.locator(f'#dead-letters li[data-order-id="{order_id}"]')
    expect(entry).to_contain_text("stalled 4 times", timeout=10_000)  # the panel's refresh notices the new entry
    expect(page.locator('[data-count="deadLettered"]')).not_to_have_text("0")

    page.fill("#search", "stuck-desk-3")
    page.click("#search-form button")
    found = page.locator(f'#search-results tr[data-order-id="{order_id}"]')
    expect(found).to_have_attribute("data-status", "pending")
    page.locator("#operator").screenshot(path=str(screenshot_dir / "operator-dead-letter-desktop.png"))
    page.set_viewport_size(PHONE)
    page.locator("#operator").screenshot(path=str(screenshot_dir / "operator-dead-letter-phone.png"))
    page.set_viewport_size(DESKTOP)

    entry.get_by_role("button", name=f"Retry order {order_id[:8]}").click()
    row = page.locator(f'#live-rows tr[data-order-id="{order_id}"]')
    expect(row).to_have_attribute("data-status", "confirmed", timeout=30_000)
    expect(row.locator('[data-cell="quotes"]')).to_contain_text("meteora")
    expect(page.locator(f'#dead-letters li[data-order-id="{order_id}"]')).to_have_count(0)
    expect(page.locator("#operator-error")).to_be_empty()

    # a confirmed order is not retryable: the API says so with 409, and the page shows its message
    page.fill("#search", order_id)
    page.click("#search-form button")
    expect(page.locator(f'#search-results tr[data-order-id="{order_id}"]')).to_have_attribute("data-status", "confirmed")
    status = page.evaluate(f"fetch('api/operator/orders/{order_id}/retry', {{method: 'POST', headers: "
                           "{authorization: 'Bearer ' + sessionStorage.getItem('orderEngineApiKey')}})"
                           ".then(r => r.status)")
    assert status == 409
