"""The first visit (issue 11): the landing on a fresh Playground, folded once there is a job or a link; the
menu's icons and each page's browser-tab title."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
import streamlit as st
from streamlit.string_util import is_material_icon
from streamlit.testing.v1 import AppTest

from app import landing
from app.gallery import page_for
from app.pages import APP_ICON, PAGES, PLAYGROUND, tab_title
from app.playground import CONFIG
from engine.lessons.presets import load_preset
from tests.waiting import wait_for

APP = Path(__file__).resolve().parent.parent / "app"
MAIN = str(APP / "main.py")
MATERIAL = re.compile(r"^:material/([a-z0-9_]+):$")


def _open(**params: str) -> AppTest:
    app = AppTest.from_file(MAIN, default_timeout=60)
    for key, value in params.items():
        app.query_params[key] = value
    return app.run()


def _lesson_links(node) -> list:
    """The landing's lesson links under `node`: page links that open a preset, labelled with its title."""
    titles = {load_preset(preset_id).title for preset_id in landing.STARTERS}
    return [link.proto for link in node.get("page_link") if "preset=" in link.proto.query_string
            and link.proto.label in titles]


def _folded(app: AppTest):
    return next((e for e in app.expander if e.label == landing.FOLDED), None)


def test_the_starters_are_real_presets_about_the_three_first_lessons():
    presets = [load_preset(preset_id) for preset_id in landing.STARTERS]  # raises for an unknown id
    topics = " | ".join(f"{p.title} {p.lesson}".lower() for p in presets)
    for subject in ("vanishing gradients", "dying relu", "batch norm"):
        assert subject in topics, subject


def test_a_fresh_playground_says_what_this_is_and_offers_three_lessons():
    app = _open()
    assert not app.exception
    assert app.markdown[0].value == landing.WHAT_IT_SHOWS  # right under the title, before the controls
    assert _folded(app) is None
    links = _lesson_links(app.main)
    assert [dict(parse_qsl(link.query_string)) for link in links] == [{"preset": i} for i in landing.STARTERS]
    for link, preset_id in zip(links, landing.STARTERS):
        preset = load_preset(preset_id)
        assert link.page == page_for(preset).url_path  # where the Gallery opens it
        assert link.label == preset.title
    assert any("set up your own net" in m.value.lower() for m in app.markdown)
    assert not [i.value for i in app.info if "Set up a net" in i.value]  # said once, by the landing


def test_a_link_without_a_preset_says_how_to_start_since_the_landing_is_folded():
    app = _open(hidden="4x8")
    assert not app.exception and _folded(app) is not None
    assert [i.value for i in app.info if "Set up a net in the sidebar" in i.value]


@pytest.mark.parametrize("params", [{"hidden": "4x8"}, {"preset": "dying-relu"}, {"colour": "blue"}])
def test_a_link_folds_the_landing_into_one_line(params):
    app = _open(**params)
    assert not app.exception
    folded = _folded(app)
    assert folded is not None and not folded.proto.expanded
    assert len(_lesson_links(folded)) == len(landing.STARTERS)  # still one click away, inside the fold
    assert len(_lesson_links(app.main)) == len(landing.STARTERS)  # and nowhere else


def test_training_folds_the_landing():
    app = _open()
    app.number_input(key=f"{CONFIG}steps").set_value(30).run()  # set up in the sidebar: not a link
    assert _folded(app) is None
    app.button(key=f"{PLAYGROUND.prefix}train").click().run()
    assert not app.exception
    assert _folded(app) is not None  # folded in the very run that started the job
    from app.runtime import get_runner

    runner, job_id = get_runner(), app.session_state[f"{PLAYGROUND.prefix}job_id"]
    assert wait_for("the run to end", lambda: runner.job(job_id).status == "finished", timeout=120)
    app.run()
    assert _folded(app) is not None


def test_the_presenter_view_has_no_landing():
    app = _open(view="present")
    assert not app.exception
    assert _folded(app) is None and not _lesson_links(app.main)


def test_menu_icons_are_material_symbols_and_the_favicon_is_drawn_inline():
    """No emoji (they need an emoji font); the favicon is no Material icon either, whose image Streamlit
    fetches from fonts.gstatic.com: it is an inline SVG, served as a data: URL."""
    for icon in (page.icon for page in PAGES):
        match = MATERIAL.match(icon)
        assert match and is_material_icon(match.group(1)), icon
    assert APP_ICON.startswith("<svg ") and APP_ICON.endswith("</svg>")  # tests/test_browser.py: nothing fetched
    for path in (APP / "main.py", APP / "pages.py"):  # an emoji needs a font the browser may lack
        symbols = [c for c in path.read_text(encoding="utf-8") if unicodedata.category(c) == "So"]
        assert not symbols, (path.name, symbols)


def test_each_page_has_its_own_browser_tab_title(monkeypatch):
    titles: list[str] = []
    original = st.set_page_config

    def recording(*args, **kwargs):
        if kwargs.get("page_title"):
            titles.append(kwargs["page_title"])
        return original(*args, **kwargs)

    monkeypatch.setattr(st, "set_page_config", recording)
    app = AppTest.from_file(MAIN, default_timeout=60).run()
    assert titles[-1] == tab_title(PLAYGROUND.title) == "Playground · Layerscope"
    for page in PAGES:
        app.switch_page(page.script).run()
        assert not app.exception
        assert titles[-1] == tab_title(page.title), page.title
    assert len({tab_title(page.title) for page in PAGES}) == len(PAGES)
