"""The page's logic through Streamlit's AppTest: links, warnings, Train, live charts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.help_texts import HOW_TO_READ
from app.pages import COMPARE, PLAYGROUND
from app.playground import CONFIG
from engine.vocabulary.config import RunConfig

MAIN = str(Path(__file__).resolve().parent.parent / "app" / "main.py")


def _app(**params: str) -> AppTest:
    app = AppTest.from_file(MAIN, default_timeout=60)
    for key, value in params.items():
        app.query_params[key] = value
    return app.run()


def test_link_keys_reach_the_config_and_the_address_bar():
    app = _app(hidden="10x32", activation="sigmoid", init="standard", lr="0.3")
    assert not app.exception
    assert app.session_state[f"{CONFIG}hidden"] == "10x32"
    assert app.session_state[f"{CONFIG}activation"] == "sigmoid"
    assert app.session_state[f"{CONFIG}lr"] == 0.3
    assert dict(app.query_params) == {"hidden": "10x32", "activation": "sigmoid", "init": "standard", "lr": "0.3"}
    assert not app.warning


def test_bad_keys_warn_by_name_and_the_rest_applies():
    app = _app(hidden="4x8", lr="abc", colour="blue", samples="-5")
    assert not app.exception
    warnings = " ".join(w.value for w in app.warning)
    for key, value in (("lr", "abc"), ("colour", "blue"), ("samples", "-5")):
        assert key in warnings and value in warnings
    assert app.session_state[f"{CONFIG}hidden"] == "4x8"
    assert app.session_state[f"{CONFIG}lr"] == RunConfig().lr  # the default
    assert dict(app.query_params) == {"hidden": "4x8"}


@pytest.mark.parametrize("hostile", ["1000000x1000000", "nan", "x" * 5000, "-1", "🙂"])
def test_hostile_values_never_crash(hostile):
    app = _app(hidden=hostile, lr=hostile, preset=hostile)
    assert not app.exception
    assert app.warning


def test_train_starts_a_run_and_the_live_fragment_draws_charts():
    app = _app(hidden="3x8", steps="300", probe_every="5")
    app.button(key=f"{PLAYGROUND.prefix}train").click().run()  # Train
    assert not app.exception
    job_id = app.session_state[f"{PLAYGROUND.prefix}job_id"]
    from app.runtime import get_runner

    runner = get_runner()
    deadline = time.monotonic() + 60
    while runner.job(job_id).status != "finished" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert runner.job(job_id).status == "finished"
    app.run()  # a fragment's timer never fires in AppTest: rerun the page
    assert not app.exception
    assert len(app.get("plotly_chart")) >= 5
    assert any("step 300 / 300" in str(p.proto) for p in app.get("progress"))
    captions = [c.value for c in app.caption]  # every chart drawn shows its caption
    drawn = [c.proto.id.rsplit("-chart-", 1)[1] for c in app.get("plotly_chart")]  # chart(figure, name)'s key
    assert [name for name in drawn if name not in HOW_TO_READ] == ["output"]  # captioned by its kind instead
    for name in [*(name for name in drawn if name in HOW_TO_READ), "boundary"]:  # spiral: boundaries
        assert HOW_TO_READ[name] in captions, name


@pytest.mark.parametrize("page", [PLAYGROUND, COMPARE])
def test_a_thousand_parameter_link_gets_one_warning_that_counts_its_bad_keys(page):
    from app.plain_text import shown
    from tests.test_safe_pages import _open

    link = {"hidden": "4x8", **{f"a{i}": str(i) for i in range(1, 998)}, "lr": "abc", "activation": "relu"}
    app = _open(page, link)
    assert not app.exception
    assert len(app.warning) == 1, f"{len(app.warning)} warning boxes"  # was one box per key: 62
    text = shown(app.warning[0].value)
    assert "997 unknown keys, ignored: a1='1', a2='2', " in text and " and 989 more (allowed: " in text
    assert "lr: got 'abc'" in text  # a known key's bad value, in the same box
    assert len(text) < 1500
    config = CONFIG if page is PLAYGROUND else f"{COMPARE.prefix}a.config."
    assert app.session_state[f"{config}activation"] == "relu"  # the rest of the link applies


# ------------------------------------------------------------------------------------ the sidebar


def _shown_keys(app: AppTest) -> set[str]:
    widgets = [*app.number_input, *app.selectbox, *app.text_input, *app.toggle]
    return {w.key.removeprefix(CONFIG) for w in widgets if w.key and w.key.startswith(CONFIG)}


def test_a_key_is_shown_only_where_it_applies_and_keeps_its_value_while_hidden():
    app = _app(leak="0.2")  # a link's value for a key that does not apply (tanh) waits, unseen
    assert "momentum" not in _shown_keys(app) and "leak" not in _shown_keys(app)  # sgd, tanh
    app.selectbox(key=f"{CONFIG}optimizer").set_value("momentum").run()
    assert "momentum" in _shown_keys(app)
    app.number_input(key=f"{CONFIG}momentum").set_value(0.5).run()
    app.selectbox(key=f"{CONFIG}optimizer").set_value("adam").run()
    assert "momentum" not in _shown_keys(app)
    app.selectbox(key=f"{CONFIG}activation").set_value("leaky_relu").run()
    assert "leak" in _shown_keys(app) and app.number_input(key=f"{CONFIG}leak").value == 0.2
    app.selectbox(key=f"{CONFIG}activation").set_value("relu").run()
    assert "leak" not in _shown_keys(app)
    app.selectbox(key=f"{CONFIG}optimizer").set_value("nesterov").run()
    assert not app.exception
    assert app.number_input(key=f"{CONFIG}momentum").value == 0.5  # the user's setting survived the hiding
    assert app.query_params["momentum"] == "0.5" and app.query_params["optimizer"] == "nesterov"


def test_each_section_lists_what_a_key_depends_on_before_the_key():
    from app.sidebar import SECTIONS
    from engine.vocabulary.applies import APPLIES_WHEN

    order = [key for keys in SECTIONS.values() for key in keys]
    for key, (depends_on, _) in APPLIES_WHEN.items():
        assert order.index(depends_on) < order.index(key), key


def test_labels_are_words_with_the_key_beside_them():
    app = _app()
    assert app.number_input(key=f"{CONFIG}lr").label == "Learning rate · lr"
    widgets = [*app.number_input, *app.selectbox, *app.text_input, *app.toggle]
    for widget in (w for w in widgets if w.key and w.key.startswith(CONFIG)):
        words, _, key = widget.label.rpartition(" · ")
        assert key == widget.key.removeprefix(CONFIG) and words, widget.label


def test_the_chosen_value_of_a_choice_is_explained_under_it():
    from engine.vocabulary.config import CHOICE_DESCRIPTIONS

    app = _app(activation="relu")
    captions = [c.value for c in app.caption]
    described = CHOICE_DESCRIPTIONS["init"]
    assert described["default"] in captions and described["lsuv"] not in captions
    assert CHOICE_DESCRIPTIONS["activation"]["relu"] in captions
    assert CHOICE_DESCRIPTIONS["dataset"]["spiral"] in captions and CHOICE_DESCRIPTIONS["optimizer"]["sgd"] in captions
    app.selectbox(key=f"{CONFIG}init").set_value("lsuv").run()
    captions = [c.value for c in app.caption]
    assert described["lsuv"] in captions and described["default"] not in captions


def test_reset_goes_back_to_step_0_and_waits_for_train():
    from app.runtime import get_runner
    from tests.waiting import wait_for

    app = _app(hidden="3x8", steps="200000")
    app.button(key=f"{PLAYGROUND.prefix}train").click().run()
    job_id = app.session_state[f"{PLAYGROUND.prefix}job_id"]
    runner = get_runner()
    try:
        wait_for("training under way", lambda: runner.job(job_id).step > 20)
        app.button(key=f"{PLAYGROUND.prefix}reset").click().run()
        assert not app.exception
        wait_for("the fresh net, waiting", lambda: runner.job(job_id).status == "paused")
        time.sleep(1.0)
        assert runner.job(job_id).step == 0 and runner.job(job_id).status == "paused"
        app.run()
        assert not app.exception
        assert any("step 0 / 200,000" in str(p.proto) and "paused" in str(p.proto) for p in app.get("progress"))
        assert any("press **Train** to train it" in c.value for c in app.caption)
        app.button(key=f"{PLAYGROUND.prefix}train").click().run()  # the same setup: Train sets it going
        assert app.session_state[f"{PLAYGROUND.prefix}job_id"] == job_id
        wait_for("training again", lambda: runner.job(job_id).step > 0)
    finally:
        runner.stop(job_id)


def test_findings_say_no_problems_only_while_training_and_an_ended_run_shows_its_verdict():
    from app.runtime import get_runner
    from tests.waiting import wait_for

    runner = get_runner()
    # A net that learns at once and stays healthy: no finding at steps 100 to 20,000 (measured).
    app = _app(dataset="gaussians", hidden="3x8", steps="200000")
    app.button(key=f"{PLAYGROUND.prefix}train").click().run()
    job_id = app.session_state[f"{PLAYGROUND.prefix}job_id"]
    try:
        wait_for("training under way", lambda: runner.job(job_id).step > 20)
        app.run()
        assert not app.exception
        assert "No problems found so far." in [s.value for s in app.success]  # a healthy net, still training
        assert not app.info or not any(i.value.startswith(("Learned", "Underfits")) for i in app.info)
    finally:
        runner.stop(job_id)

    # No finding fires on this run (tests/test_verdict.py), which used to read "No problems found so far".
    app = _app(hidden="2x8", activation="sigmoid", steps="2000")
    app.button(key=f"{PLAYGROUND.prefix}train").click().run()
    job_id = app.session_state[f"{PLAYGROUND.prefix}job_id"]
    wait_for("the run to end", lambda: runner.job(job_id).status == "finished", timeout=90)
    app.run()
    assert not app.exception
    verdict = runner.job(job_id).tables()[3]["runs"][0]["verdict"]
    assert verdict.startswith("Underfits:"), verdict
    assert verdict in [i.value for i in app.info]
    assert "No problems found so far." not in [s.value for s in app.success]
