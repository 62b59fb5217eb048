"""The page in Debian's Chromium (headless, driven by Playwright for Python; Playwright never downloads a browser
here) against a local stack of its own. Screenshots go to test-artifacts/screenshots/ (git-ignored; CI keeps it).

CHROMIUM names another Chromium binary; without one the tests fail, they are not skipped.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.support.browser import CHROMIUM_FLAGS, SCREENSHOTS, chromium_path, open_page
from tests.support.stack_process import StackProcess


@pytest.fixture(scope="module")
def browser() -> Iterator["object"]:
    """Per module, not per session: Playwright's sync API keeps an event loop running in this thread while it is
    up, and the e2e tests an xdist worker may run next need `asyncio.run`."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def web_stack(start_engine) -> StackProcess:
    """The engine with venue latencies at half of the real ones (an order takes about 1.5 s), so a test sees each
    step yet finishes quickly, in a database of its own (the panel's counts are this stack's alone)."""
    return start_engine(DEX_LATENCY_SCALE="0.5")


@pytest.fixture(scope="session")
def fast_stack(start_engine) -> StackProcess:
    """The engine without venue latency, for many orders at once (the page's load, not the venues', is tested)."""
    return start_engine(DEX_LATENCY_SCALE="0", EXECUTOR_CONCURRENCY="50")


@pytest.fixture(scope="session")
def flaky_stack(start_engine) -> StackProcess:
    """The engine with its venues failing often (RPC errors on most sends, the price moving past the slippage on
    some), so orders retry and some fail after their last attempt: the live table's retries and failures column
    has something to say."""
    return start_engine(DEX_LATENCY_SCALE="0.2", DEX_FAIL_RPC_ERROR="0.6", DEX_FAIL_PRICE_MOVE="0.2")


@pytest.fixture
def page(browser, web_stack):
    yield from open_page(browser, web_stack)


@pytest.fixture
def keyless_page(browser, web_stack):
    yield from open_page(browser, web_stack, with_key=False)


@pytest.fixture
def fast_page(browser, fast_stack):
    yield from open_page(browser, fast_stack)


@pytest.fixture
def flaky_page(browser, flaky_stack):
    yield from open_page(browser, flaky_stack)


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
