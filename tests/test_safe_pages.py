"""Safe pages (AppTest): each page run, and each run of a live view, draws one job view; an unexpected
error shows an error id, never a traceback, and is logged on the server with its traceback."""

from __future__ import annotations

import contextlib
import logging
import re
import time
import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.pages import COMPARE, PLAYGROUND, Page
from engine.serving.errors import UnknownJobError

ROOT = Path(__file__).resolve().parent.parent
MAIN = str(ROOT / "app" / "main.py")
C = COMPARE.prefix
SETUPS = {  # a page, the link it opens with, the widget a person changes between presses
    "playground": (PLAYGROUND, {"hidden": "2x4", "steps": "100000", "probe_every": "10"},
                   f"{PLAYGROUND.prefix}config.seed"),
    "compare": (COMPARE, {"hidden": "2x4", "steps": "100000", "probe_every": "10", "b.activation": "relu"},
                f"{C}a.config.seed"),
}
ERROR_ID = re.compile(r"error \*\*([0-9a-f]{8})\*\*")


def _open(page: Page, params: dict[str, str]) -> AppTest:
    """Open `page` with a link, as a browser does (the Playground is the default page)."""
    app = AppTest.from_file(MAIN, default_timeout=60)
    if page is not PLAYGROUND:
        app.run()
    for key, value in params.items():
        app.query_params[key] = value
    return app.run() if page is PLAYGROUND else app.switch_page(page.script).run()


def _texts(app: AppTest) -> list[str]:
    kinds = (app.error, app.warning, app.info, app.success, app.markdown, app.caption, app.code, app.exception)
    return [str(element.value) for elements in kinds for element in elements]


def _assert_clean(app: AppTest) -> None:
    """No exception element, no traceback and no error message anywhere on the page."""
    assert not app.exception, [e.value for e in app.exception]
    texts = " ".join(_texts(app))
    assert "Traceback" not in texts and 'File "' not in texts and "Error:" not in texts, texts[:500]
    assert not ERROR_ID.search(texts), texts[:500]


# ------------------------------------------------------------------------- one view per page run


@pytest.mark.parametrize("name", SETUPS)
def test_rapid_train_presses_draw_one_view_per_run_and_never_an_error(name, monkeypatch, caplog):
    """Press Train, change a setting, press again, with the live view drawn in between: each page run reads
    the job once (the old pages read it five times). Every read takes 50 ms here, as on a loaded server,
    where two reads in one run may well be two different views."""
    from app.runtime import get_runner

    page, link, seed = SETUPS[name]
    runner = get_runner()
    real, reads, started = runner.job, [], set()

    def slow_job(job_id):
        view = real(job_id)
        reads.append(job_id)
        time.sleep(0.05)
        return view

    monkeypatch.setattr(runner, "job", slow_job)
    app = _open(page, link)
    try:
        for press in range(12):
            app.number_input(key=seed).set_value(press + 1)
            reads.clear()
            app.button(key=f"{page.prefix}train").click().run()
            started.add(app.session_state[f"{page.prefix}job_id"])
            assert len(reads) == 1, f"press {press}: {len(reads)} reads of the job in one page run"
            _assert_clean(app)
            reads.clear()
            app.run()  # the live fragment again (its timer never fires in AppTest)
            assert len(reads) == 1, f"press {press}: {len(reads)} reads of the job in one page run"
            _assert_clean(app)
        assert app.get("plotly_chart"), "the live view draws"
    finally:
        for job_id in started:
            with contextlib.suppress(UnknownJobError):  # a released job nobody holds has ended already
                runner.stop(job_id)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("name", SETUPS)
def test_a_view_published_while_the_page_draws_never_mixes_into_it(name, monkeypatch):
    """The reported interleaving, made certain: right after Train, the progress line waits until the
    worker's first update (the first view with a prediction) has arrived, and only then do the figures
    draw. The old Playground drew the figures from that newer view and the rest from the older one."""
    from app import run_panel
    from app.runtime import get_runner

    page, link, seed = SETUPS[name]
    runner, progress, started = get_runner(), run_panel.progress, set()

    def progress_while_a_new_view_arrives(job):
        deadline = time.monotonic() + 5
        while runner.job(job.id).prediction is None and time.monotonic() < deadline:
            time.sleep(0.005)
        progress(job)

    monkeypatch.setattr(run_panel, "progress", progress_while_a_new_view_arrives)
    app = _open(page, {**link, "hidden": "4x64", "samples": "20000", "batch_size": "512"})  # a slower first update
    try:
        for press in range(4):
            app.number_input(key=seed).set_value(press + 1)
            app.button(key=f"{page.prefix}train").click().run()
            started.add(app.session_state[f"{page.prefix}job_id"])
            _assert_clean(app)
    finally:
        for job_id in started:
            with contextlib.suppress(UnknownJobError):  # a released job nobody holds has ended already
                runner.stop(job_id)


# ------------------------------------------------------------------------------- errors show an id


def test_streamlit_never_sends_error_details_to_the_browser():
    from streamlit.config import ShowErrorDetailsConfigOptions

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == ShowErrorDetailsConfigOptions.NONE


def _error_id_logged(app: AppTest, caplog: pytest.LogCaptureFixture, secret: str) -> None:
    assert not app.exception
    [shown] = [e.value for e in app.error if ERROR_ID.search(e.value)]
    error_id = ERROR_ID.search(shown).group(1)
    assert secret not in " ".join(_texts(app)) and "Traceback" not in " ".join(_texts(app))
    [record] = [r for r in caplog.records if r.name == "layerscope" and error_id in r.getMessage()]
    assert record.levelno == logging.ERROR and record.exc_info is not None  # with its traceback
    assert secret in caplog.text and "Traceback" in caplog.text


def test_an_error_in_a_page_body_shows_an_error_id_and_is_logged_with_its_traceback(monkeypatch, caplog):
    import app.playground

    def broken(*args, **kwargs):
        raise RuntimeError("boom in /srv/layerscope/secret.py")

    monkeypatch.setattr(app.playground, "show_story", broken)
    page = _open(PLAYGROUND, {"hidden": "4x8"})
    _error_id_logged(page, caplog, "/srv/layerscope/secret.py")
    assert page.title and page.title[0].value == PLAYGROUND.title  # what came before the error still shows


@pytest.mark.parametrize("name", SETUPS)
def test_an_error_in_the_live_view_shows_an_error_id_and_the_page_stays(name, monkeypatch, caplog):
    from app import run_panel

    page, link, _ = SETUPS[name]

    def broken(job):
        raise ValueError("boom in /srv/layerscope/live.py")

    monkeypatch.setattr(run_panel, "progress", broken)
    app = _open(page, {**link, "steps": "50"})
    app.button(key=f"{page.prefix}train").click().run()
    _error_id_logged(app, caplog, "/srv/layerscope/live.py")
    assert app.button(key=f"{page.prefix}train")  # the controls outside the live view are there
