"""Workshop mode: preset links with their story, the Share panel, lock=, view=present, links that
survive anything (hypothesis, at page level), links that stay short, and a rehearsal: one presenter
link opened by a room of participants is one training run that every participant sees."""

from __future__ import annotations

import io
import struct
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from app.links import link_params, read_link
from app.pages import COMPARE, PLAYGROUND
from app.plain_text import shown
from app.playground import CONFIG
from app.share import qr_png
from engine.lessons.presets import OWN_VOCABULARY_PAGES, load_preset, preset_ids
from engine.vocabulary.config import MAX_PARAMETERS, RunConfig, all_keys, parameter_count
from engine.vocabulary.group import GROUP_KEYS, GroupConfig

MAIN = str(Path(__file__).resolve().parent.parent / "app" / "main.py")
C = COMPARE.prefix  # of every key of the Compare page's state


def _open(page: str | None, params: dict[str, str]) -> AppTest:
    app = AppTest.from_file(MAIN, default_timeout=60)
    if page is None:  # the Playground is the default page
        for key, value in params.items():
            app.query_params[key] = value
        return app.run()
    app.run()
    for key, value in params.items():
        app.query_params[key] = value
    return app.switch_page(page).run()


def _markdown(app: AppTest) -> str:
    return " ".join(m.value for m in app.markdown)


def _warnings(app: AppTest) -> str:
    return " ".join(w.value for w in app.warning)


# ------------------------------------------------------------------------------ presets and stories


@pytest.mark.parametrize("page", [None, COMPARE.script])
def test_a_preset_link_shows_its_story_and_keeps_preset_in_the_address_bar(page):
    preset = load_preset("dying-relu")
    app = _open(page, {"preset": preset.id})
    assert not app.exception
    assert preset.title in _markdown(app) and preset.story[:60] in _markdown(app)
    assert dict(app.query_params) == {"preset": preset.id}
    lr = app.number_input(key=f"{CONFIG}lr" if page is None else f"{C}a.config.lr")
    lr.set_value(0.5).run()
    assert dict(app.query_params) == {"preset": preset.id, "lr": "0.5"}  # the preset, then what changed
    assert preset.title in _markdown(app)


def test_preset_relative_links_read_back_to_the_same_setup_for_every_preset():
    for preset_id in preset_ids():
        preset = load_preset(preset_id)
        if preset.page in OWN_VOCABULARY_PAGES:  # not a net: tests/test_words_page.py, tests/test_search_page.py
            continue
        group = preset.group()
        assert link_params(group, preset_id) == {"preset": preset_id}
        changed = GroupConfig(runs=(group.base.model_copy(update={"seed": 7}), *group.runs[1:]),
                              labels=group.labels, ids=group.ids)
        params = link_params(changed, preset_id)
        assert params["preset"] == preset_id
        assert read_link({k: [v] for k, v in params.items()}).group == changed


# ------------------------------------------------------------------------------------ share panel


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_the_share_panel_holds_the_link_a_copy_button_and_a_scannable_qr_code():
    app = _open(COMPARE.script, {"preset": "vanishing-sigmoid"})
    codes = [c.value for c in app.code]
    assert any(c.endswith("?preset=vanishing-sigmoid") for c in codes), codes
    assert any(c.endswith("?preset=vanishing-sigmoid&view=present") for c in codes), codes
    assert any("Copy link" in str(e.proto) for e in app.get("iframe")), "the Copy button"
    assert app.get("image"), "the QR code"
    app.button(key=f"{C}train").click().run()  # once the page trains, its link joins that run on open
    codes = [c.value for c in app.code]
    assert any(c.endswith("?preset=vanishing-sigmoid&autorun=1") for c in codes), codes
    url = "http://192.168.1.20:8501/compare?preset=vanishing-sigmoid&autorun=1&view=present"
    width, height = _png_size(qr_png(url))
    assert width == height >= 300  # a projected QR code needs size: 8 px per module, version 4 or more
    import segno

    assert segno.make(url, error="m").designator.endswith("-M")  # error correction M: survives a photo


# ----------------------------------------------------------------------------------------- lock=


def test_lock_makes_those_controls_read_only_on_both_pages_and_stays_in_the_link():
    app = _open(None, {"hidden": "4x8", "lock": "lr,activation"})
    assert app.number_input(key=f"{CONFIG}lr").disabled and app.selectbox(key=f"{CONFIG}activation").disabled
    assert not app.number_input(key=f"{CONFIG}weight_decay").disabled
    assert app.query_params["lock"] == "lr,activation"
    app = _open(COMPARE.script, {"hidden": "4x8", "b.lr": "0.5", "lock": "lr"})
    assert app.number_input(key=f"{C}a.config.lr").disabled
    assert app.number_input(key=f"{C}b.config.lr").disabled  # run b's locked change, read-only
    assert app.number_input(key=f"{C}b.config.lr").value == 0.5
    options = app.multiselect(key=f"{C}b.keys").options  # each a key in words: "Learning rate · lr"
    assert "Learning rate · lr" not in options and "Batch size · batch_size" not in options  # no run can add it
    assert "Activation · activation" in options
    assert dict(app.query_params) == {"hidden": "4x8", "b.lr": "0.5", "lock": "lr"}


def test_a_bad_lock_or_view_is_named_and_the_rest_applies():
    app = _open(None, {"hidden": "4x8", "lock": "lr,colour", "view": "cinema"})
    warnings = _warnings(app)
    assert "lock" in warnings and "colour" in warnings and "view" in warnings and "present" in warnings
    assert app.number_input(key=f"{CONFIG}lr").disabled
    assert app.query_params["lock"] == "lr" and "view" not in app.query_params


# ------------------------------------------------------------------------------------ view=present


def test_the_presenter_view_folds_the_controls_and_enlarges_charts():
    app = _open(COMPARE.script, {"hidden": "3x8", "steps": "60", "b.activation": "relu", "view": "present",
                                 "preset": "vanishing-sigmoid"})
    assert not app.exception
    labels = [e.label for e in app.expander]
    assert "Controls" in labels and "Runs" in labels
    assert "font-size:1.7rem" in _markdown(app)  # the story, big
    app.button(key=f"{C}train").click().run()
    from app.runtime import get_runner
    from tests.test_compare import _wait_until_ended

    _wait_until_ended(app.session_state[f"{C}job_id"])
    app.run()
    import json

    heights = [json.loads(c.proto.spec)["layout"]["height"] for c in app.get("plotly_chart")]
    normal = _open(COMPARE.script, {"hidden": "3x8", "steps": "60", "b.activation": "relu",
                                    "preset": "vanishing-sigmoid"})
    normal.button(key=f"{C}train").click().run()
    normal.run()
    plain = [json.loads(c.proto.spec)["layout"]["height"] for c in normal.get("plotly_chart")]
    assert len(heights) == len(plain) and all(h > p for h, p in zip(heights, plain))
    assert get_runner().job(app.session_state[f"{C}job_id"]).status == "finished"


# ------------------------------------------------------------------------------- hostile links


VOCABULARY = all_keys()
GOOD = {"activation": ["relu", "elu", "gelu"], "init": ["he_normal", "orthogonal"], "optimizer": ["adam", "sgd"],
        "seed": ["3", "11"]}
HOSTILE_VALUES = st.one_of(
    st.sampled_from(["nan", "NaN", "inf", "-inf", "1e308", "-1", "-0", "", " ", "0x10", "1000000x1000000",
                     "99999999999999999999", "🙂", "ｌｒ", "true", "1,2,3", "50x1024", "%00", "<script>"]),
    st.text(max_size=30),
    st.integers(min_value=-10**30, max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.just("x" * 100_000),
)
HOSTILE_KEYS = st.one_of(
    st.sampled_from([k for k in VOCABULARY if k not in GOOD]),
    st.sampled_from([f"{p}.{k}" for p in "bcd" for k in VOCABULARY if k not in GOOD]),
    st.sampled_from(["e.lr", "a.lr", "b.", ".lr", "B.lr", "label", "b.label", "preset", "lock", "view", "page"]),
    st.text(min_size=1, max_size=20),
)


@st.composite
def hostile_links(draw) -> tuple[dict[str, str], dict[str, str]]:
    good = {key: draw(st.sampled_from(values)) for key, values in GOOD.items() if draw(st.booleans())}
    bad = draw(st.dictionaries(HOSTILE_KEYS, HOSTILE_VALUES, max_size=8))
    bad = {k: v for k, v in bad.items() if k not in good and k.strip() not in good and k != "autorun"}
    if draw(st.booleans()):  # a flood: 1,000 parameters, Streamlit's own limit for a query string
        bad.update({f"junk{i}": str(i) for i in range(1000 - len(good) - len(bad))})
    return good, bad


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")


def _check_page(app: AppTest, good: dict[str, str], bad: dict[str, str], prefix: str) -> None:
    assert not app.exception, app.exception
    expected = read_link({k: [v] for k, v in {**good, **bad}.items()})
    warnings = shown(_warnings(app))  # as the reader sees them: plain text
    for problem in expected.problems:  # every bad value is named by its key, with what is allowed
        assert _one_line(problem.key) in warnings, (problem.key, warnings[:300])
    if expected.unknown:  # the keys that are none: counted, the first ones named, all in one line
        assert f"{len(expected.unknown):,} unknown key" in warnings, warnings[:300]
        assert _one_line(next(iter(expected.unknown))[:39]) in warnings, warnings[:300]
    assert len(app.warning) <= 2, [w.value for w in app.warning]  # the link's problems, and "compares"
    assert all("allowed" in w.value or "compares" in w.value for w in app.warning), warnings[:300]
    for key, value in good.items():  # the rest of the link applies
        now = app.session_state[f"{prefix}{key}"]
        assert str(now) == value, (key, now, value)
    config = app.session_state  # nothing exceeds the server's limits
    assert len(app.query_params) <= 60
    assert sum(len(k) + len(v) for k, v in app.query_params.items()) < 2000
    assert f"{PLAYGROUND.prefix}job_id" not in config and f"{C}job_id" not in config  # no autorun: nothing trains


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(hostile_links())
def test_hostile_links_never_crash_the_playground(link):
    good, bad = link
    _check_page(_open(None, {**good, **bad}), good, bad, CONFIG)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(hostile_links())
def test_hostile_links_never_crash_the_compare_page(link):
    good, bad = link
    _check_page(_open(COMPARE.script, {**good, **bad}), good, bad, f"{C}a.config.")


# ------------------------------------------------------------------------------ links stay short


WIDTHS = st.lists(st.integers(min_value=1, max_value=1024), min_size=0, max_size=50)
FLOATS = {key: field for key, field in RunConfig.model_fields.items() if field.annotation is float}


@st.composite
def widget_configs(draw) -> RunConfig:
    """Any config the widgets allow: each value anywhere in its bounds, typed digits and all."""
    values = {}
    for key, field in RunConfig.model_fields.items():
        lo = next((m.ge for m in field.metadata if hasattr(m, "ge")), None)
        hi = next((m.le for m in field.metadata if hasattr(m, "le")), None)
        if key == "hidden":
            values[key] = tuple(draw(WIDTHS))
        elif field.annotation is float:
            values[key] = draw(st.floats(min_value=lo, max_value=hi, allow_nan=False))
        elif field.annotation is int:
            values[key] = draw(st.integers(min_value=lo, max_value=hi))
    config = RunConfig.model_construct(**{**RunConfig().model_dump(), **values})
    return config


@st.composite
def widget_groups(draw) -> GroupConfig:
    runs = [draw(widget_configs()) for _ in range(draw(st.integers(1, 4)))]
    shared = {key: getattr(runs[0], key) for key in GROUP_KEYS}
    runs = [r.model_copy(update=shared) for r in runs]
    labels = [draw(st.text(min_size=1, max_size=40).filter(lambda t: t.strip() == t and t.isprintable()
                                                           and len(t.encode()) <= 40)) for _ in runs]
    return GroupConfig.model_construct(runs=tuple(runs), labels=tuple(labels), ids=("a", "b", "c", "d")[:len(runs)])


@settings(max_examples=300, deadline=None)
@given(widget_groups())
def test_links_built_by_the_app_stay_under_2000_characters(group):
    params = {**link_params(group), "lock": ",".join(all_keys()[:6]), "view": "present"}
    url = "http://layerscope.example.org:8501/compare?" + urlencode(params, quote_via=quote, safe=",")
    assert len(url) < 2000, len(url)


def test_the_widest_config_the_widgets_allow_still_fits_a_link():
    """Four runs, every key off its default with long decimals, 50 layers of distinct 3-digit widths."""
    def run(k: int) -> RunConfig:
        widths = tuple(300 + (i * 7 + k) % 17 for i in range(50))  # under the parameter cap
        assert parameter_count(RunConfig(hidden=widths)) <= MAX_PARAMETERS
        return RunConfig(hidden=widths, activation="leaky_relu", leak=0.123456789012345, init="xavier_uniform",
                         init_std=1.23456789012345, init_gain=12.3456789012345, norm="batch",
                         dropout=0.123456789012345, optimizer="nesterov", lr=0.00123456789012345,
                         momentum=0.923456789012345, weight_decay=0.0123456789012345, l1=0.0123456789012345,
                         early_stopping=123, seed=2147483647 - k, samples=49999, noise=0.123456789012345,
                         val_fraction=0.123456789012345, standardize=False, batch_size=4095, steps=199999,
                         probe_every=999, dataset="checkerboard")
    group = GroupConfig(runs=tuple(run(k) for k in range(4)), labels=tuple("🙂" * 10 for _ in range(4)))
    params = {**link_params(group), "lock": "activation,init,lr", "view": "present"}
    url = "http://layerscope.example.org:8501/compare?" + urlencode(params, quote_via=quote, safe=",")
    assert len(url) < 2000, len(url)


# ------------------------------------------------------------------------------------- rehearsal


def test_workshop_rehearsal_thirty_participants_one_presenter_link_one_run():
    from bench.workshop import LINK, rehearse

    result = rehearse(30, {**LINK, "seed": "2026"})  # a seed no other test trains: this room starts the run
    assert result["errors"] == []
    assert result["trainings_started"] == 1 and result["distinct_jobs"] == 1  # one run for the room
    assert result["saw_charts"] == 30  # every participant sees the charts
    for app in result["apps"]:
        assert "font-size:1.7rem" in _markdown(app)  # the presenter view, with the story
    print({k: v for k, v in result.items() if k != "apps"})  # numbers for the notes, never asserted


def test_qr_png_is_cached_and_deterministic():
    url = "http://localhost:8501/?preset=dying-relu"
    assert qr_png(url) is qr_png(url)
    assert io.BytesIO(qr_png(url, scale=16)).getbuffer().nbytes > len(qr_png(url))


def test_a_crowded_job_is_polled_less_often_an_ended_one_not_at_all_and_one_without_data_soon():
    from types import SimpleNamespace

    from app.run_panel import FIRST_DATA_REFRESH_SECONDS, REFRESH_SECONDS, VIEWERS_AT_FULL_RATE, refresh_seconds

    def job(status: str, viewers: int, snapshots: int = 1, pretraining: bool = False) -> SimpleNamespace:
        return SimpleNamespace(status=status, subscribers=viewers, snapshots=lambda: [object()] * snapshots,
                               pretraining=pretraining)

    assert refresh_seconds(job("running", 1, snapshots=0)) == FIRST_DATA_REFRESH_SECONDS < REFRESH_SECONDS
    assert refresh_seconds(job("running", 100, snapshots=0)) < REFRESH_SECONDS  # crowded: still sooner, but
    assert refresh_seconds(job("running", 100, snapshots=0)) > FIRST_DATA_REFRESH_SECONDS  # less often
    assert refresh_seconds(job("queued", 1, snapshots=0)) == REFRESH_SECONDS  # a wait in line may be long
    assert refresh_seconds(job("running", 1, snapshots=0, pretraining=True)) == REFRESH_SECONDS  # may take long

    assert refresh_seconds(job("running", 1)) == REFRESH_SECONDS
    assert refresh_seconds(job("running", VIEWERS_AT_FULL_RATE)) == REFRESH_SECONDS
    assert refresh_seconds(job("running", 100)) == pytest.approx(REFRESH_SECONDS * 100 / VIEWERS_AT_FULL_RATE)
    assert refresh_seconds(job("finished", 100)) is None and refresh_seconds(job("paused", 3)) is None
