"""Cancel from the page in Chromium: a waiting order's row has a Cancel button that ends it cancelled (and the
history filter finds it); a row whose order started routing after it was shown gets the API's 409, with the
status, under its table; a finished order's row has no Cancel button."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.support.browser import advance, insert_waiting


def find(page, reference: str, order_id: str):
    page.fill("#search", reference)
    page.click("#search-form button")
    return page.locator(f'#search-results tr[data-order-id="{order_id}"]')


def test_a_waiting_order_is_cancelled_from_its_row_and_the_history_filter_finds_it(page, web_stack, screenshot_dir):
    order_id = insert_waiting(web_stack, "limit-desk-7")
    row = find(page, "limit-desk-7", order_id)
    expect(row).to_have_attribute("data-status", "waiting", timeout=30_000)  # a cold orders function, first
    page.locator("#operator").screenshot(path=str(screenshot_dir / "cancel-waiting-desktop.png"))

    row.get_by_role("button", name=f"Cancel order {order_id[:8]}").click()

    expect(row).to_have_attribute("data-status", "cancelled")
    expect(row.locator(".badge")).to_have_text("cancelled")
    expect(page.locator("#search-cancel-error")).to_be_empty()
    page.select_option("#history-status", "cancelled")
    page.click("#history-form button")
    expect(page.locator(f'#history-rows tr[data-order-id="{order_id}"] .badge')).to_have_text("cancelled")
    row = find(page, "limit-desk-7", order_id)  # shown again, cancelled: nothing left to cancel
    expect(row).to_have_attribute("data-status", "cancelled")
    expect(row.get_by_role("button", name=f"Cancel order {order_id[:8]}")).to_have_count(0)


def test_a_row_whose_order_started_routing_meanwhile_shows_the_409_with_its_status(page, web_stack):
    order_id = insert_waiting(web_stack, "limit-desk-8")
    row = find(page, "limit-desk-8", order_id)
    button = row.get_by_role("button", name=f"Cancel order {order_id[:8]}")
    expect(button).to_be_visible(timeout=30_000)
    advance(web_stack, order_id, "pending", "routing")  # its price crossed and the executor took it

    button.click()

    expect(page.locator("#search-cancel-error")).to_contain_text("cannot be cancelled: it is routing")
    expect(button).to_have_count(0)
