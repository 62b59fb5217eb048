"""The API key in the page's header, in Chromium against a stack with access control on: a tab without one asks for
it in words, a key typed there makes the page live (HTTP and WebSocket) and stays for the tab, and a refused key is
forgotten with a message asking for another."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.support.browser import submit_through_form

LIVE_TIMEOUT_MS = 30_000


def stored_key(page):
    return page.evaluate("sessionStorage.getItem('orderEngineApiKey')")


def test_without_a_key_the_page_asks_for_one_and_a_typed_key_makes_it_live(keyless_page, web_stack):
    page = keyless_page
    message = page.locator("#key-message")
    expect(message).to_have_text("This engine needs an API key: enter yours here (./local/up prints one).")
    expect(page.locator("#api-key")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#history-error")).to_contain_text("Bearer <key>")  # the 401's own words, where history goes
    expect(page.locator("#connection")).not_to_have_attribute("data-state", "live")

    page.fill("#api-key", web_stack.api_key)
    page.press("#api-key", "Enter")

    expect(message).to_be_empty()
    expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("#history-error")).to_be_empty()
    expect(page.locator('[data-count="confirmed"]')).to_have_text(re.compile(r"^\d+$"))  # was "–"
    assert stored_key(page) == web_stack.api_key
    order_id = submit_through_form(page, "0.3")  # sent with the key, followed over the keyed WebSocket
    expect(page.locator(f'#live-rows tr[data-order-id="{order_id}"]')).to_have_attribute(
        "data-status", "confirmed", timeout=LIVE_TIMEOUT_MS)

    page.reload()  # the tab keeps its key
    expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=LIVE_TIMEOUT_MS)
    expect(message).to_be_empty()


def test_a_refused_key_is_forgotten_and_the_page_asks_for_another(page, web_stack):
    page.fill("#api-key", "oek_" + "x" * 43)
    page.press("#api-key", "Enter")

    expect(page.locator("#key-message")).to_have_text("The engine refused that API key (401): enter a valid one.")
    expect(page.locator("#api-key")).to_have_value("")
    assert stored_key(page) is None
    expect(page.locator("#history-error")).not_to_be_empty()
