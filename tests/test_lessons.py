"""Lessons open ready to run, and workshops work on a real network.

Every preset names the chart its story points to (`key_chart`, one of engine/lessons/charts.py's CHARTS, the
one list of chart names); its Gallery card plots a quantity of that chart; the page a lesson opens on draws
that chart first, right under the story (before training: the stored preview of it). The Share panel uses
the configured public address, warns when it is local, and never hands participants the presenter layout;
the presenter view is the story and the key chart with projector-sized ticks; locked controls say who
locked them.
"""

from __future__ import annotations

import json
from pathlib import Path

import plotly.graph_objects as go
import pytest
import yaml
from streamlit.testing.v1 import AppTest

from app import help_texts
from app.charts import projected
from app.charts.style import PROJECTED_TICKS
from app.pages import COMPARE, GALLERY, PLAYGROUND
from app.plain_text import shown
from app.playground import CONFIG
from app.preview_charts import preview_figure
from app.public_address import ENV, configured_root, is_local, local_warning, public_page_url
from app.sidebar import LOCK_ICON, LOCKED_BY_PRESENTER
from app.story import PRESENT_CHART_HEIGHT
from engine.lessons.charts import CHARTS, CURVES, DEPTH_STATS, NEEDS, QUANTITIES, charts_for, group_has
from engine.lessons.presets import all_presets, load_preset, load_preset_file
from engine.lessons.previews import read_previews, with_previews
from engine.vocabulary.config import ConfigError
from engine.vocabulary.group import parse_group
from tests.test_compare import _wait_until_ended

MAIN = str(Path(__file__).resolve().parent.parent / "app" / "main.py")
C = COMPARE.prefix
PREDICTION_KINDS = ("boundary", "curve", "confusion")  # the "output" chart's captions, by what it draws


def _open(page: str, params: dict[str, str]) -> AppTest:
    app = AppTest.from_file(MAIN, default_timeout=60).run()
    for key in list(app.query_params):
        del app.query_params[key]
    for key, value in params.items():
        app.query_params[key] = value
    return app.switch_page(page).run()


def _in_order(node):
    """Every element under `node`, in page order."""
    children = getattr(node, "children", None)
    if not children:
        yield node
        return
    for index in sorted(children):
        yield from _in_order(children[index])


def _codes(app: AppTest) -> list[str]:
    return [code.value for code in app.code]


# ---------------------------------------------------------------------------------- the chart list


def test_every_preset_names_a_key_chart_drawn_on_the_page_it_opens_on():
    for preset in all_presets():
        if preset.page == "search":  # a search preset's key chart is checked against its own page
            assert preset.key_chart in CHARTS and preset.card_quantity in CHARTS[preset.key_chart].quantities
            continue
        group = preset.group()
        assert preset.key_chart in CHARTS and preset.key_chart in charts_for(len(group.runs), group_has(group)), \
            preset.id
        assert preset.card_quantity in CHARTS[preset.key_chart].quantities, preset.id


def test_the_chart_list_is_the_apps_list_of_charts():
    """Each chart of the list has its caption in the app (the output chart's depends on what it draws), and
    every caption of the app is of a chart of the list: one list of chart names."""
    captions = set(help_texts.HOW_TO_READ)
    assert set(CHARTS) - {"output"} <= captions
    assert captions - set(PREDICTION_KINDS) <= set(CHARTS)
    assert all(set(chart.quantities) <= set(QUANTITIES) for chart in CHARTS.values())
    assert all(chart.quantities or chart.needs for chart in CHARTS.values())  # every chart always drawn has a card
    assert all(chart.needs is None or chart.needs in NEEDS for chart in CHARTS.values())


@pytest.mark.parametrize(("config", "has"), [
    ({}, set()),
    ({"dataset": "digits"}, {"filters"}),  # the first layer's 8x8 images, pre-trained or not
    ({"b.pretrain": "autoencoder"}, {"pretrain", "filters"}),
    ({"pretrain": "rbm", "b.pretrain": "none"}, {"pretrain", "rbm", "filters"}),
])
def test_the_pre_training_charts_are_drawn_on_groups_that_have_what_they_need(config, has):
    group = parse_group(config)
    assert group_has(group) == has
    drawn = set(charts_for(len(group.runs), has))
    conditional = {name for name, chart in CHARTS.items() if chart.needs}
    assert {"pretraining", "start", "filters", "fantasies"} <= conditional
    assert drawn & conditional == {name for name in conditional if CHARTS[name].needs in has}
    assert set(charts_for(len(group.runs))) == drawn - conditional
    assert all(chart.one_run or chart.comparison for chart in CHARTS.values())


def _write(tmp_path: Path, **changes) -> Path:
    data = yaml.safe_load(Path("presets/vanishing-sigmoid.yaml").read_text())
    data.update(changes)
    path = tmp_path / "vanishing-sigmoid.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(("changes", "key"), [
    ({"key_chart": "weight_rms"}, "key_chart"),  # no such chart
    ({"key_chart": "update"}, "key_chart"),  # a Playground chart, and this preset compares two runs
    ({"key_chart": "loss", "card": "dead_frac"}, "(file)"),  # the loss chart does not plot dead units
    ({"key_chart": "pretraining"}, "(file)"),  # no Gallery card can plot it (and this preset does not pre-train)
])
def test_a_preset_whose_key_chart_or_card_does_not_fit_is_refused(tmp_path, changes, key):
    with pytest.raises(ConfigError) as error:
        load_preset_file(_write(tmp_path, **changes))
    assert any(problem.key == key for problem in error.value.problems), error.value.problems


# ---------------------------------------------------------------------------------- the Gallery's cards


@pytest.fixture(scope="module")
def gallery() -> AppTest:
    return _open(GALLERY.script, {})


def _card_chart(gallery: AppTest, preset_id: str) -> dict:
    key = f"{GALLERY.prefix}preview-{preset_id}"
    return next(json.loads(chart.proto.spec) for chart in gallery.get("plotly_chart") if chart.key == key)


def test_every_card_plots_a_quantity_of_its_key_chart(gallery):
    for preset in with_previews(all_presets()):  # a search preset's card has no stored preview to plot
        quantity = _card_chart(gallery, preset.id)["layout"]["meta"]["quantity"]
        assert quantity == preset.card_quantity and quantity in CHARTS[preset.key_chart].quantities, preset.id


def test_the_memorize_ten_points_card_shows_training_loss(gallery):
    preset = load_preset("overfit-ten-samples")
    assert preset.key_chart == "loss" and preset.card_quantity == "train_loss"
    spec = _card_chart(gallery, preset.id)
    run_a = read_previews()[preset.id]["runs"][0]
    assert spec["data"][0]["y"] == [value for _, value in run_a["train_loss"]]
    assert spec["data"][0]["y"] != [value for _, value in run_a["val_loss"]]
    assert any("Training loss" in caption.value for caption in gallery.caption)


def test_depth_cards_draw_the_first_and_the_last_step_and_mark_exact_zeros():
    preview = read_previews()["zeros-init"]  # run a: every hidden gradient exactly 0
    figure = preview_figure(preview, "grad_preact_rms")
    assert figure.layout.yaxis.type == "log" and figure.layout.meta["quantity"] == "grad_preact_rms"
    zeros = [trace for trace in figure.data if trace.name.endswith("exactly 0")]
    assert zeros and all(min(trace.y) > 0 for trace in figure.data if trace.y)  # drawn on the floor, not lost
    dotted = [trace for trace in figure.data if trace.line.dash == "dot"]
    assert len(dotted) == len(preview["runs"])  # step 0, one per run
    fractions = preview_figure(read_previews()["dying-relu"], "dead_frac")
    assert fractions.layout.yaxis.type != "log" and max(max(t.y) for t in fractions.data) > 0.5  # run a's top layer


def test_previews_hold_every_quantity_a_card_can_plot():
    nets = {preset.id for preset in all_presets()}  # a Word vectors preview holds its own curves (test_words_*)
    for preset_id, preview in read_previews().items():
        if preset_id not in nets:
            continue
        for run in preview["runs"]:
            assert all(run[name] for name in CURVES), (preset_id, run["id"])
            assert set(run["depth"]) == set(DEPTH_STATS) and len(run["depth_steps"]) == 2
            assert run["depth"]["grad_preact_rms"][-1][0] == "out", (preset_id, run["id"])


# ---------------------------------------------------------------------------------- the lesson's page


def _story_then_first_chart(app: AppTest, preset_id: str) -> tuple[int, int, list]:
    """(index of the story, index of the first chart after it, the elements) in page order."""
    story = load_preset(preset_id).story[:60]
    elements = list(_in_order(app.main))
    at_story = next(i for i, e in enumerate(elements) if e.type == "markdown" and story in str(e.value))
    at_chart = next(i for i, e in enumerate(elements) if i > at_story and e.type == "plotly_chart")
    return at_story, at_chart, elements


def test_a_lesson_opens_with_its_story_the_train_button_and_its_key_chart_first():
    preset = load_preset("vanishing-sigmoid")
    app = _open(COMPARE.script, {"preset": preset.id, "steps": "60"})
    assert not app.exception
    at_story, at_chart, elements = _story_then_first_chart(app, preset.id)
    before = elements[at_story:at_chart]
    assert any(e.type == "button" and e.label == "Train" for e in before)  # the Run button, above the chart
    assert json.loads(elements[at_chart].proto.spec)["layout"]["meta"]["quantity"] == preset.card_quantity
    assert not app.info  # the stored run stands in for "press Train"

    app.button(key=f"{C}train").click().run()
    _wait_until_ended(app.session_state[f"{C}job_id"])
    app.run()
    at_story, at_chart, elements = _story_then_first_chart(app, preset.id)
    assert elements[at_chart].key == f"chart-lesson-{preset.key_chart}", elements[at_chart].key
    headings = [e.value for e in elements[at_story:at_chart] if e.type == "subheader"]
    assert headings == [CHARTS[preset.key_chart].title]  # nothing else comes between the story and its chart
    charts = [e for e in elements if e.type == "plotly_chart"]
    assert sum("grad_depth" in (e.key or "") for e in charts) == 1  # drawn once: its usual place points up
    assert any("top of the page" in caption.value for caption in app.caption)



@pytest.mark.parametrize("page", [PLAYGROUND.script, COMPARE.script])
def test_a_link_that_changes_a_lessons_setup_says_so_under_its_story(page):
    preset = load_preset("vanishing-sigmoid")
    app = _open(page, {"preset": preset.id, "steps": "60", "b.lr": "0.3"} if page == COMPARE.script
                else {"preset": preset.id, "steps": "60"})
    assert not app.exception
    said = [shown(c.value) for c in app.caption if "changes the lesson's setup" in c.value]  # as read
    assert len(said) == 1 and "steps=60" in said[0] and "preset" not in said[0].split("(")[1]
    assert ("b.lr=0.3" in said[0]) == (page == COMPARE.script)
    unchanged = _open(page, {"preset": preset.id})
    assert not [c.value for c in unchanged.caption if "changes the lesson's setup" in c.value]

def _trained(page: str, params: dict[str, str]) -> AppTest:
    app = _open(page, params)
    scope = COMPARE.prefix if page == COMPARE.script else PLAYGROUND.prefix
    app.button(key=f"{scope}train").click().run()
    _wait_until_ended(app.session_state[f"{scope}job_id"])
    return app.run()


@pytest.mark.parametrize(("page", "runs", "params"), [
    (COMPARE.script, 2, {"steps": "60", "hidden": "3x8", "b.activation": "relu"}),
    (PLAYGROUND.script, 1, {"steps": "60", "hidden": "3x8"}),
])
def test_without_a_lesson_a_page_draws_exactly_the_charts_of_the_list_in_their_usual_order(page, runs, params):
    app = _trained(page, params)
    keys = [e.key for e in _in_order(app.main) if e.type == "plotly_chart"]
    assert keys[0] == "chart-network" and not any("lesson" in key for key in keys)
    names = {key.removeprefix("chart-").split("-")[0] for key in keys}  # output-a: run a's map
    assert names == set(charts_for(runs))  # the page's charts are the list's, by the same names


@pytest.mark.parametrize(("preset_id", "fits"), [("vanishing-sigmoid", True), ("xavier-vs-he", False)])
def test_the_presenter_view_is_the_story_and_the_key_chart_with_projector_ticks(preset_id, fits):
    """A one-row key chart shares the screen with the story; a grid of one panel per layer (16 here) keeps
    the height its panels need. Either way every tick label is projector-sized."""
    preset = load_preset(preset_id)
    app = _open(COMPARE.script, {"preset": preset.id, "steps": "40", "view": "present"})
    assert not app.exception
    assert not app.title  # the story carries the title: one screen for story and chart
    app.button(key=f"{C}train").click().run()
    _wait_until_ended(app.session_state[f"{C}job_id"])
    app.run()
    _, at_chart, elements = _story_then_first_chart(app, preset.id)
    spec = json.loads(elements[at_chart].proto.spec)
    assert elements[at_chart].key == f"chart-lesson-{preset.key_chart}"
    assert (spec["layout"]["height"] <= PRESENT_CHART_HEIGHT) is fits
    axes = [value for key, value in spec["layout"].items() if key.startswith(("xaxis", "yaxis"))]
    sizes = [axis.get("tickfont", {}).get("size") for axis in axes]
    assert axes and all(size is None or size >= PROJECTED_TICKS for size in sizes), sizes
    assert spec["layout"]["font"]["size"] >= PROJECTED_TICKS  # the size of every tick that sets none


def test_projected_enlarges_small_tick_labels():
    figure = go.Figure(layout={"xaxis": {"tickfont": {"size": 9}}, "yaxis": {"title": {"text": "h1",
                                                                                       "font": {"size": 11}}}})
    big = projected(figure)
    assert big.layout.xaxis.tickfont.size >= PROJECTED_TICKS and big.layout.yaxis.title.font.size >= PROJECTED_TICKS


# ---------------------------------------------------------------------------------- the share address


def test_the_public_address_comes_from_the_environment_then_streamlits_setting():
    assert configured_root({ENV: "http://192.168.1.20:8501"}) == "http://192.168.1.20:8501"
    assert configured_root({ENV: "10.0.0.7:8501"}) == "http://10.0.0.7:8501"
    assert configured_root({ENV: "http://192.168.1.20:8501"}, "10.0.0.5", 8501) == "http://192.168.1.20:8501"
    assert configured_root({}, "10.0.0.5", 8501) == "http://10.0.0.5:8501"
    assert configured_root({}, "scope.example.org/ls", 443) == "https://scope.example.org/ls"
    assert configured_root({}, None, 8501) is None


def test_a_page_keeps_its_path_under_the_public_address():
    assert public_page_url("http://localhost:8501/compare", "http://192.168.1.20:8501") == \
        "http://192.168.1.20:8501/compare"
    assert public_page_url("http://localhost:8501/ls/compare", "https://scope.example.org/ls/", "ls") == \
        "https://scope.example.org/ls/compare"
    assert public_page_url("http://localhost:8501/compare", None) == "http://localhost:8501/compare"
    assert public_page_url("http://localhost:8501/", "http://192.168.1.20:8501") == "http://192.168.1.20:8501/"


@pytest.mark.parametrize(("url", "local"), [
    ("http://localhost:8501/compare", True), ("http://127.0.1.1:8501", True), ("http://[::1]:8501", True),
    ("http://0.0.0.0:8501", True), ("http://192.168.1.20:8501", False), ("https://scope.example.org", False),
])
def test_local_addresses_are_recognised(url, local):
    assert is_local(url) is local
    assert (local_warning(url) is not None) is local


def test_the_share_panel_uses_the_configured_address(monkeypatch):
    monkeypatch.setenv(ENV, "http://192.168.1.20:8501")
    app = _open(COMPARE.script, {"preset": "dying-relu"})
    assert not app.exception
    assert _codes(app) and all(code.startswith("http://192.168.1.20:8501") for code in _codes(app)), _codes(app)
    assert not any("cannot open" in warning.value for warning in app.warning)


def test_the_share_panel_warns_plainly_about_a_local_address(monkeypatch):
    monkeypatch.setenv(ENV, "http://localhost:8501")
    app = _open(COMPARE.script, {"preset": "dying-relu"})
    warnings = [warning.value for warning in app.warning]
    assert any("localhost" in text and "phones" in text and ENV in text for text in warnings), warnings
    assert any("local" in expander.label for expander in app.expander)  # said even while the panel is folded


def test_the_participant_link_never_carries_the_presenter_layout():
    app = _open(COMPARE.script, {"preset": "dying-relu", "view": "present", "lock": "lr"})
    participant, presenter = _codes(app)[:2]
    assert "view=present" not in participant and "lock=lr" in participant
    assert "view=present" in presenter


# ---------------------------------------------------------------------------------- locked controls


def test_locked_controls_say_the_presenter_locked_them():
    app = _open(PLAYGROUND.script, {"preset": "dying-relu", "lock": "lr,activation"})
    assert not app.exception
    lr = app.number_input(key=f"{CONFIG}lr")
    assert lr.disabled and LOCK_ICON in lr.label and LOCKED_BY_PRESENTER in lr.help
    free = app.number_input(key=f"{CONFIG}weight_decay")
    assert not free.disabled and LOCK_ICON not in free.label
    assert any("Locked by the presenter: activation, lr" in caption.value for caption in app.sidebar.caption)
