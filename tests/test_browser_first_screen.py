"""The first screen in a real browser (Debian's Chromium): what a newcomer, a workshop's presenter and a
participant on a phone see without scrolling. Screenshots go to tests/screenshots/ for a person to look at.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from app.pages import COMPARE, GALLERY
from bench.browser_rehearsal import HAS_DATA
from bench.live_server import serve
from tests.test_browser import SCREENSHOTS, STEP

# One xdist worker runs every browser test in turn: two servers and two Chromiums at once on 2 cores flake.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
PUBLIC = "http://workshop.example:8501"


FIRST_CHART_TOP = """() => Math.min(...Array.from(document.querySelectorAll('.js-plotly-plot'))
    .map(e => e.getBoundingClientRect()).filter(r => r.height > 0).map(r => r.top))"""


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name))  # the viewport: the first screen, as a person sees it
    assert (SCREENSHOTS / name).stat().st_size > 10_000


def test_a_lesson_opened_from_the_gallery_shows_story_train_and_its_chart_in_the_first_screen(server, browser):
    page = browser.new_page(viewport=DESKTOP)
    page.goto(f"{server}/{GALLERY.url_path}")
    page.locator("a[href*='preset=vanishing-sigmoid']").first.click()
    train = page.get_by_role("button", name="Train", exact=True)
    expect(train).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Vanishing gradients in a deep sigmoid net").first).to_be_visible(timeout=30_000)
    page.wait_for_function(HAS_DATA, timeout=60_000, polling=100)  # the key chart, from the stored run
    page.wait_for_timeout(500)
    box = train.bounding_box()
    assert box["y"] + box["height"] <= DESKTOP["height"], "the Train button is below the first screen"
    chart = page.locator(".js-plotly-plot").first.bounding_box()
    assert chart["y"] + 0.5 * chart["height"] <= DESKTOP["height"], "the key chart is not in the first screen"
    _shot(page, "lesson-first-screen.png")
    page.close()


def test_the_presenter_view_fits_the_story_and_the_key_chart_in_one_1440x900_screen(server, browser):
    page = browser.new_page(viewport=DESKTOP)
    page.goto(f"{server}/{COMPARE.url_path}?preset=vanishing-sigmoid&view=present&autorun=1")
    expect(page.get_by_text("Vanishing gradients in a deep sigmoid net").first).to_be_visible(timeout=60_000)
    expect(page.get_by_text(STEP).first).to_be_visible(timeout=60_000)
    page.wait_for_function(HAS_DATA, timeout=60_000, polling=100)
    page.wait_for_timeout(1500)
    chart = page.locator(".js-plotly-plot").first.bounding_box()
    assert chart["y"] + chart["height"] <= DESKTOP["height"] + 1, chart  # story and key chart: one screen
    _shot(page, "presenter-1440x900.png")
    page.close()


def test_on_a_phone_the_first_chart_is_within_two_screen_heights(server, browser):
    page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page.goto(f"{server}/?hidden=4x16&steps=20000&autorun=1")
    page.wait_for_function(HAS_DATA, timeout=60_000, polling=100)
    page.wait_for_timeout(1000)
    assert page.evaluate(FIRST_CHART_TOP) <= 2 * PHONE["height"]
    train = page.get_by_role("button", name="Train", exact=True).bounding_box()
    pause = page.get_by_role("button", name="Pause", exact=True).bounding_box()
    assert abs(train["y"] - pause["y"]) < 5, "the controls stack one per line instead of sharing a row"
    _shot(page, "phone-390x844.png")
    page.close()


def test_the_share_link_warns_on_a_local_address_and_uses_the_public_one_when_set(server, browser):
    page = browser.new_page(viewport=DESKTOP)
    page.goto(f"{server}/?hidden=3x8")
    page.get_by_text(re.compile("^Share this view")).first.click()
    expect(page.get_by_text(re.compile("phones cannot open")).first).to_be_visible(timeout=30_000)
    page.close()
    with serve(env={"LAYERSCOPE_PUBLIC_URL": PUBLIC}) as public_server:
        page = browser.new_page(viewport=DESKTOP)
        page.goto(f"{public_server}/?hidden=3x8")
        page.get_by_text(re.compile("^Share this view")).first.click()
        expect(page.get_by_text(re.compile(r"workshop\.example:8501/\?hidden=3x8")).first).to_be_visible(
            timeout=30_000)
        assert page.get_by_text(re.compile("phones cannot open")).count() == 0
        _shot(page, "share-public-address.png")
        page.close()


def test_the_landing_says_what_this_is_and_opens_a_starter_lesson_in_one_click(server, browser):
    page = browser.new_page(viewport=DESKTOP)
    page.goto(server)
    expect(page.get_by_text("Start with a lesson").first).to_be_visible(timeout=60_000)
    for preset_id in ("vanishing-sigmoid", "dying-relu", "batchnorm-rescue"):
        expect(page.locator(f"a[href*='preset={preset_id}']").first).to_be_visible()
    _shot(page, "landing-1440x900.png")
    page.locator("a[href*='preset=dying-relu']").first.click()
    page.wait_for_url(re.compile(rf"/{COMPARE.url_path}\?preset=dying-relu"), timeout=30_000)
    expect(page.get_by_role("button", name="Train", exact=True)).to_be_visible(timeout=60_000)
    page.close()
