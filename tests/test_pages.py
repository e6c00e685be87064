"""The registry of pages (app/pages.py): every page script is in it and exists, every address is one
page's, no page's path, address, title or icon is typed anywhere else in app/, and each page keeps
its session state under its own prefix."""

from __future__ import annotations

import ast
from pathlib import Path

from streamlit.testing.v1 import AppTest

from app.pages import COMPARE, GALLERY, GUIDE, PAGES, PLAYGROUND

APP = Path(__file__).resolve().parent.parent / "app"
MAIN = str(APP / "main.py")


def test_every_record_names_a_script_that_exists():
    for page in PAGES:
        assert (APP / page.script).is_file(), page.script


def test_every_page_script_under_views_is_in_the_registry():
    scripts = {path.relative_to(APP).as_posix() for path in (APP / "views").glob("*.py") if path.stem != "__init__"}
    assert scripts == {page.script for page in PAGES}
    assert len(PAGES) == len(scripts), "one record per script"


def test_addresses_titles_and_prefixes_are_each_one_page_s():
    paths = [path for page in PAGES for path in (page.url_path, *page.aliases)]
    assert len(paths) == len(set(paths)), paths
    assert len({page.title for page in PAGES}) == len(PAGES)
    assert [page.default for page in PAGES].count(True) == 1
    for page in PAGES:
        assert page.prefix and page.prefix.endswith(".")
        others = [other.prefix for other in PAGES if other is not page]
        assert not any(other.startswith(page.prefix) for other in others), "no page's keys fall under another's"


def _strings(path: Path) -> list[str]:
    return [node.value for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def test_no_page_fact_is_typed_outside_the_registry():
    exact = {fact for page in PAGES for fact in (page.script, page.url_path, *page.aliases, page.title)}
    anywhere = {"views/", *(page.icon for page in PAGES)}  # a path built from parts, an icon inside a label
    for path in sorted(APP.rglob("*.py")):
        if path == APP / "pages.py":
            continue
        for text in _strings(path):
            assert text not in exact, (path.name, text)
            assert not any(fact in text for fact in anywhere), (path.name, text)


def _new_keys(app: AppTest, before: set[str]) -> set[str]:
    return set(app.session_state.keys()) - before


def test_each_page_keeps_its_state_under_its_prefix():
    """Visit every page, the training pages with a comparison link and a run started, and check the keys
    each visit adds to the session."""
    link = {"hidden": "3x8", "steps": "20", "b.activation": "relu"}
    app = AppTest.from_file(MAIN, default_timeout=60)
    for key, value in link.items():
        app.query_params[key] = value
    app.run()  # the Playground, the default page, offers the comparison
    app.button(key=f"{PLAYGROUND.prefix}train").click().run()
    assert not app.exception
    added = _new_keys(app, set())
    assert f"{PLAYGROUND.prefix}job_id" in added and f"{PLAYGROUND.prefix}config.lr" in added
    assert all(key.startswith(PLAYGROUND.prefix) for key in added), sorted(added)
    for page in (COMPARE, GALLERY, GUIDE):
        before = set(app.session_state.keys())
        for key in list(app.query_params):
            del app.query_params[key]
        for key, value in (link if page is COMPARE else {}).items():
            app.query_params[key] = value
        app.switch_page(page.script).run()
        if page is COMPARE:
            app.button(key=f"{COMPARE.prefix}train").click().run()
        assert not app.exception
        assert app.title[0].value == page.title
        added = _new_keys(app, before)
        assert all(key.startswith(page.prefix) for key in added), (page.title, sorted(added))
        assert not any(key.startswith(page.prefix) for key in before), "a page's keys come with its first visit"
