"""A live search in a real browser (Debian's Chromium): open a link that holds the space, start, watch the
trials arrive ranked by validation, and stop. Marked `browser`: .ci/run runs it alone, after the rest."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.pages import SEARCH
from bench.browser_rehearsal import HAS_DATA

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
LINK = ("dataset=moons&samples=300&hidden=2x12&steps=20000&probe_every=10&early_stopping=0"
        "&space.lr=log:1e-3:1&space.activation=tanh|relu&method=random&trials=6")


def test_a_live_search_fills_its_table_and_stops(server, browser):
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{server}/{SEARCH.url_path}?{LINK}")
    start = page.get_by_role("button", name="Start", exact=True)
    expect(start).to_be_visible(timeout=60_000)
    start.click()
    expect(page.get_by_text(re.compile(r"random search: \d+ of 6 trials ended \(running"))).to_be_visible(
        timeout=60_000)
    page.wait_for_function(HAS_DATA, timeout=60_000, polling=100)  # the curves arrive while the trials train
    expect(page.get_by_text(re.compile("Best so far: trial"))).to_be_visible(timeout=60_000)
    assert "space.lr=log" in page.url  # the address bar holds the space
    page.get_by_role("button", name="Stop", exact=True).click()
    expect(page.get_by_text(re.compile(r"random search: 6 of 6 trials ended \(stopped"))).to_be_visible(
        timeout=5_000)
    expect(page.get_by_role("link", name=re.compile("Open trial \\d+ in the Playground"))).to_be_visible()
    page.close()
