"""Every table cell readable at a laptop's width (1366 px) and a phone's (390 px), with several orders on the page:
retried, failed, confirmed and waiting ones, history, a search result and a quote. Checked in Chromium's layout
(no word wider than its cell or broken over lines) and left as screenshots to look at."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.support.browser import DESKTOP, PHONE, submit_through_form, words_too_wide_for_their_cells

LIVE_TIMEOUT_MS = 60_000
SCROLLING_SIDEWAYS = """() => [...document.querySelectorAll(".table-wrap")]
    .filter((wrap) => wrap.scrollWidth > wrap.clientWidth + 1)
    .map((wrap) => `${wrap.querySelector("table").id}: ${wrap.scrollWidth} px in ${wrap.clientWidth}`)"""
FINISHED = ':is([data-status="confirmed"], [data-status="failed"])'


def tables_scrolling_sideways(page) -> list[str]:
    return page.evaluate(SCROLLING_SIDEWAYS)


def fill_the_page(page) -> list[str]:
    market = [submit_through_form(page, amount, token_in, token_out, reference)
              for amount, token_in, token_out, reference in [
                  ("1", "SOL", "USDC", "desk-a1"), ("2.5", "SOL", "USDC", "rebalance-weekly-7"),
                  ("150", "USDC", "SOL", ""), ("0.75", "SOL", "USDT", "desk-a2"), ("1200.5", "USDC", "SOL", "treasury"),
                  ("3", "SOL", "USDC", ""), ("40", "USDT", "SOL", "desk-b1"), ("0.1", "SOL", "USDC", "")]]
    page.select_option("#orderType", "limit")
    page.fill("#limitPrice", "9999")  # far above the market: it waits, cancellable
    limit = submit_through_form(page, "0.5", "SOL", "USDC", "limit-far")
    page.select_option("#orderType", "market")
    for order_id in market:
        expect(page.locator(f'#live-rows tr[data-order-id="{order_id}"]{FINISHED}')).to_have_count(
            1, timeout=LIVE_TIMEOUT_MS)
    expect(page.locator(f'#live-rows tr[data-order-id="{limit}"]')).to_have_attribute("data-status", "waiting",
                                                                                       timeout=LIVE_TIMEOUT_MS)
    page.click("#history-form button")
    expect(page.locator("#history-rows tr")).to_have_count(len(market) + 1)
    page.fill("#search", "desk-a1")
    page.click("#search-form button")
    expect(page.locator("#search-results tr")).to_have_count(1)
    page.fill("#amount", "2")
    page.click("#get-quote")
    expect(page.locator("#quote-venues tr")).to_have_count(2, timeout=LIVE_TIMEOUT_MS)
    return market


def test_every_table_cell_is_readable_at_laptop_and_phone_width(flaky_page, screenshot_dir):
    page = flaky_page
    fill_the_page(page)
    notes = page.locator('#live-rows td[data-cell="notes"]')
    # the column that broke a letter a line: retries (most first sends fail here) and failures to show
    expect(notes.filter(has_text="retried after")).not_to_have_count(0)

    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(screenshot_dir / f"layout-{name}.png"), full_page=True)
        # from the top of the page: the table under the header, not scrolled behind it
        live_table = page.evaluate("""() => { window.scrollTo(0, 0);
            const box = document.querySelector("#live").getBoundingClientRect();
            return { x: box.x, y: box.y, width: box.width, height: box.height }; }""")
        page.screenshot(path=str(screenshot_dir / f"layout-live-orders-{name}.png"), full_page=True, clip=live_table)
        words, too_wide = words_too_wide_for_their_cells(page)
        assert words > 500, f"{name}: only {words} words in tables: the page is not filled"
        assert too_wide == [], f"{name} ({viewport['width']} px): words that do not fit their cells: {too_wide[:20]}"
        # and every column on screen at once: no table needs scrolling sideways at these widths
        assert tables_scrolling_sideways(page) == [], name
