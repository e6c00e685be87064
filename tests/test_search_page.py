"""The Search page (AppTest): the form, its errors, a link that holds the space, a live search and its results,
Stop, opening a trial in the Playground, the downloads, and the edge warning."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qsl

from streamlit.testing.v1 import AppTest

from app.pages import PLAYGROUND, SEARCH
from app.plain_text import shown
from app.search import search_jobs

MAIN = str(Path(__file__).resolve().parent.parent / "app" / "main.py")
S = SEARCH.prefix
SMALL = "dataset=moons\nsamples=300\nhidden=2x12\nsteps=200\nprobe_every=10\nearly_stopping=3"


def _open(params: dict[str, str] | None = None) -> AppTest:
    app = AppTest.from_file(MAIN, default_timeout=60).run()
    for key in list(app.query_params):
        del app.query_params[key]
    for key, value in (params or {}).items():
        app.query_params[key] = value
    return app.switch_page(SEARCH.script).run()


def _set_form(app: AppTest, fixed: str, rows: list[tuple[str, str]], method: str, trials: int) -> None:
    app.text_area(key=f"{S}fixed").set_value(fixed)
    for i in range(4):
        key, spec = rows[i] if i < len(rows) else ("", "")
        app.selectbox(key=f"{S}key{i}").set_value(key)
        app.text_input(key=f"{S}spec{i}").set_value(spec)
    app.radio(key=f"{S}method").set_value(method)
    app.number_input(key=f"{S}trials").set_value(trials)


def _run_to_end(app: AppTest) -> AppTest:
    key = app.session_state[f"{S}key"]
    assert search_jobs().wait(key, timeout=120)  # its own nice-10 process, on busy cores
    return app.run()


def test_the_page_opens_with_a_space_to_start_from():
    app = _open()
    assert not app.exception and not app.error
    assert app.selectbox(key=f"{S}key0").value == "lr" and app.text_input(key=f"{S}spec0").value == "log:1e-4:10"
    assert "dataset=digits" in app.text_area(key=f"{S}fixed").value


def test_bad_input_is_named_and_nothing_starts():
    app = _open()
    _set_form(app, "dataset=moons\nlr=fast\nnonsense", [("lr", "log:0:1"), ("dropout", "0:2")], "random", 4)
    app.button(key=f"{S}start").click().run()
    text = shown(app.error[0].value)  # as the reader sees it
    for says in ("fixed keys: got 'nonsense'", "lr: got 'fast'", "lr: got 'log:0:1'", "dropout: got '0:2'",
                 "allowed"):
        assert says in text, says
    assert f"{S}key" not in app.session_state


def test_a_search_runs_and_shows_its_trials_ranked_by_validation_with_downloads_and_links():
    app = _open()
    _set_form(app, SMALL + "\ntest_fraction=0.2", [("lr", "log:1e-3:3"), ("activation", "tanh|relu")], "grid", 6)
    app.button(key=f"{S}start").click().run()
    assert not app.exception and not app.error
    params = dict(app.query_params)
    assert params["space.lr"] == "log:0.001:3" and params["space.activation"] == "tanh|relu"
    assert params["method"] == "grid" and params["trials"] == "6" and params["dataset"] == "moons"
    app = _run_to_end(app)
    (table,) = [frame.value for frame in app.dataframe]
    assert len(table) == 6 and list(table["rank"]) == list(range(1, 7))
    assert list(table["val_accuracy"]) == sorted(table["val_accuracy"], reverse=True)
    texts = " ".join(m.value for m in app.markdown)
    assert f"trial {table['trial'][0]}" in texts and "Test split (42 held-out points)" in texts
    assert len(app.get("plotly_chart")) == 2
    downloads = [d for d in app.get("download_button")]
    assert len(downloads) == 2
    best = table.iloc[0]
    link = next(e for e in app.get("page_link") if "Playground" in e.proto.label)
    assert link.proto.label == f"Open trial {best['trial']} in {PLAYGROUND.called}"
    query = dict(parse_qsl(link.proto.query_string))  # the trial's keys ride along to the Playground
    assert float(query["lr"]) == best["lr"] and query.get("activation", "tanh") == best["activation"]
    assert query["dataset"] == "moons" and query["test_fraction"] == "0.2"


def test_a_link_that_holds_the_space_fills_the_form():
    app = _open({"dataset": "moons", "space.lr": "log:1e-3:1", "space.norm": "none|layer", "method": "grid",
                 "trials": "8"})
    assert not app.exception
    assert [app.selectbox(key=f"{S}key{i}").value for i in range(3)] == ["lr", "norm", ""]
    assert app.text_input(key=f"{S}spec1").value == "none|layer"
    assert app.radio(key=f"{S}method").value == "grid" and app.number_input(key=f"{S}trials").value == 8
    assert app.text_area(key=f"{S}fixed").value == "dataset=moons"


def test_a_running_search_shows_its_best_so_far_and_stop_ends_every_trial_within_two_seconds():
    app = _open()
    _set_form(app, SMALL.replace("steps=200", "steps=200000").replace("early_stopping=3", "early_stopping=0"),
              [("lr", "log:1e-3:1"), ("dropout", "0:0.4")], "random", 5)
    app.button(key=f"{S}start").click().run()
    key = app.session_state[f"{S}key"]
    deadline = time.monotonic() + 120  # the search's own process starts (imports torch), then reports
    while not any(search_jobs().view(key).outcome.results) and time.monotonic() < deadline:
        time.sleep(0.2)
    app.run()  # the fragment's next look: the trials so far, ranked, while they train
    texts = " ".join(m.value for m in app.markdown)
    assert "Best so far: trial" in texts and "Chosen by validation" not in texts
    assert len(app.dataframe[0].value) == 5 and search_jobs().view(key).state == "running"
    started = time.monotonic()
    app.button(key=f"{S}stop").click().run()
    assert search_jobs().wait(key, timeout=2.0), "still running 2 s after Stop"
    assert time.monotonic() - started < 2.5
    view = search_jobs().view(key)
    assert view.state == "stopped" and all(r is None or r.status == "stopped" for r in view.outcome.results)


def test_a_best_value_at_the_edge_of_its_range_is_warned_about():
    app = _open()
    _set_form(app, SMALL, [("lr", "log:1e-4:1e-3")], "grid", 3)  # far too small: the largest wins
    app.button(key=f"{S}start").click().run()
    app = _run_to_end(app)
    warnings = " ".join(w.value for w in app.warning)
    assert "high edge" in warnings and "lr" in warnings


def test_a_link_with_a_bad_search_names_each_problem_and_still_fills_the_form():
    app = _open({"dataset": "moons", "space.lr": "log:0:1", "space.activation": "relu|wobble", "trials": "0"})
    assert not app.exception
    text = shown(app.error[0].value)
    for says in ("lr: got 'log:0:1'", "activation: got 'relu|wobble'", "trials: got '0'"):
        assert says in text, says
    assert app.text_input(key=f"{S}spec0").value == "log:0:1"  # as the link wrote it, to fix


def test_leaving_the_page_and_coming_back_by_the_menu_keeps_the_form():
    app = _open()
    app.text_input(key=f"{S}spec0").set_value("log:1e-3:1")
    app.run()
    for key in list(app.query_params):  # the menu clears the address bar
        del app.query_params[key]
    app.switch_page(PLAYGROUND.script).run()
    app.switch_page(SEARCH.script).run()
    assert not app.exception and app.text_input(key=f"{S}spec0").value == "log:1e-3:1"
