"""The Word vectors page in a real browser (Debian's Chromium): a preset link with autorun trains live, the
progress moves, and the map with its analogy arrows is drawn. Run by the lead with `-m browser`."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.pages import WORDS
from tests.test_browser import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
PROGRESS = re.compile(r"(running|paused|done): step ([\d,]+) of ([\d,]+)")


def test_a_words_link_trains_live_and_draws_the_map_with_arrows(server, browser):
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    # ten times the preset's text, so the run lasts long enough to be seen moving (the preset's takes ~1 s)
    page.goto(f"{server}/{WORDS.url_path}?preset=words-skipgram-vs-cbow&tokens=200000&autorun=1")
    expect(page.get_by_text("Skip-gram learns the planted analogies").first).to_be_visible(timeout=60_000)
    first = page.get_by_text(PROGRESS).first.inner_text(timeout=60_000)
    expect(page.get_by_text(re.compile(r"done: step"))).to_be_visible(timeout=180_000)
    last = page.get_by_text(PROGRESS).first.inner_text()
    assert int(PROGRESS.search(last).group(2).replace(",", "")) > int(PROGRESS.search(first).group(2).replace(",", ""))
    expect(page.get_by_text("Map of the vocabulary")).to_be_visible()
    maps = page.locator(".js-plotly-plot", has_text="PC 1 and 2")
    expect(maps.first).to_be_visible(timeout=30_000)
    expect(maps).to_have_count(2, timeout=30_000)  # one map per run, once a rerun's stale copies are gone
    assert maps.first.locator("g.annotation").count() == 6  # a -> b and c -> d for three relations
    expect(maps.first.get_by_text("queen")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "words-map.png"), full_page=True)
    page.close()
