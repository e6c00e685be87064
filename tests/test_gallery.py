"""The Gallery: a card per preset under its topic, each opening its preset on the right page, with a
tiny preview chart from presets/previews.json; and the previews themselves (fresh, reproducible)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qsl

import plotly.graph_objects as go
import pytest
import yaml
from streamlit.testing.v1 import AppTest

import engine.lessons.presets
from app import gallery
from app.charts import run_color
from app.pages import COMPARE, GALLERY, PLAYGROUND, SEARCH
from app.plain_text import plain
from app.playground import CONFIG
from app.preview_charts import preview_figure
from app.sidebar import widget_value
from engine.lessons.presets import (
    MAX_LESSON,
    OWN_VOCABULARY_PAGES,
    TOPICS,
    all_presets,
    load_preset,
    load_preset_file,
    preset_ids,
)
from engine.lessons.previews import (
    PREVIEW_STEPS,
    compute_preview,
    dumps,
    preview_group,
    preview_hash,
    read_previews,
    stale_by_hash,
    with_previews,
)
from engine.search.presets import SEARCH_PAGE, search_of
from engine.words.presets import WORDS_PAGE

MAIN = str(Path(__file__).resolve().parent.parent / "app" / "main.py")
PRESETS = preset_ids()
# Presets whose config is a group of nets; the Word vectors page's are tested in tests/test_words_page.py.
NET_PRESETS = [p for p in PRESETS if load_preset(p).page not in OWN_VOCABULARY_PAGES]
PREVIEWED = [preset.id for preset in with_previews(all_presets(every_page=True))]  # a search preset has no preview
REPRODUCED = ("zeros-init", "learning-rate-range")  # cheap (under a second each), one with a diverged run


def _open(page: str, params: dict[str, str] | None = None) -> AppTest:
    """Open `page` as a click on a link does: a first run, then the page with the link's address."""
    app = AppTest.from_file(MAIN, default_timeout=60).run()
    for key in list(app.query_params):
        del app.query_params[key]
    for key, value in (params or {}).items():
        app.query_params[key] = value
    return app.switch_page(page).run()


def _walk(node, parent=None):
    """(node, parent) of every node under `node`, in page order."""
    yield node, parent
    children = getattr(node, "children", None) or {}
    for index in sorted(children):
        yield from _walk(children[index], node)


def _cards(app: AppTest) -> dict[str, dict]:
    """Each card by the preset its link opens: the topic heading above it, its link, its texts and charts."""
    cards, topic = {}, None
    for node, parent in _walk(app.main):
        if node.type == "subheader":
            topic = node.value
        elif node.type == "page_link":
            query = dict(parse_qsl(node.proto.query_string))
            siblings = [child for _, child in sorted(parent.children.items())]
            cards[query.get("preset")] = {
                "topic": topic, "link": node.proto, "query": query,
                "texts": [child.value for child in siblings if child.type in ("markdown", "caption")],
                "charts": [child.proto for child in siblings if child.type == "plotly_chart"],
            }
    return cards


# ------------------------------------------------------------------------------------ the page


@pytest.fixture(scope="module")
def page() -> AppTest:
    return _open(GALLERY.script)


def test_every_topic_has_a_plain_title():
    assert list(gallery.TOPIC_TITLES) == list(TOPICS)
    assert all(title and "_" not in title for title in gallery.TOPIC_TITLES.values())


def test_the_gallery_shows_a_card_per_preset_under_its_topic(page):
    assert not page.exception
    assert not page.warning
    topics = [topic for topic in TOPICS if any(load_preset(p).topic == topic for p in PRESETS)]
    assert [s.value for s in page.subheader] == [gallery.TOPIC_TITLES[t] for t in topics]
    cards = _cards(page)
    assert sorted(cards) == PRESETS
    for preset_id, card in cards.items():
        preset = load_preset(preset_id)
        assert card["topic"] == gallery.TOPIC_TITLES[preset.topic], preset_id
        assert f"**{preset.title}**" in card["texts"] and preset.lesson in card["texts"], card["texts"]
        if preset.page == SEARCH_PAGE:
            spec = search_of(preset)
            assert f"a {spec.method} search · {spec.trials} trials over {', '.join(spec.space)}" in card["texts"]
        if preset_id not in NET_PRESETS:
            continue
        group = preset.group()
        runs = len(group.runs)
        assert any(text.startswith(f"{runs} runs compared" if runs > 1 else "one run") for text in card["texts"])
        legend = next(text for text in card["texts"] if "●" in text)  # the runs' labels in their colours
        for run_id, label in zip(group.ids, group.labels):
            assert f"color:{run_color(run_id)}" in legend and f"● {plain(label)}<" in legend, (preset_id, run_id)


def test_each_card_opens_its_preset_on_the_right_page(page):
    for preset_id, card in _cards(page).items():
        preset = load_preset(preset_id)
        if preset.page == WORDS_PAGE:  # tests/test_words_page.py
            continue
        expected = SEARCH if preset.page == SEARCH_PAGE else COMPARE if len(preset.group().runs) > 1 else PLAYGROUND
        assert gallery.page_for(preset) == expected
        assert card["link"].page == expected.url_path, (preset_id, card["link"].page)
        assert card["query"] == {"preset": preset_id}


def test_each_card_draws_its_preview_small_and_static(page):
    previews = read_previews()
    for preset_id, card in _cards(page).items():
        if preset_id not in PREVIEWED:
            assert not card["charts"], preset_id  # a search preset's card says it has no preview
            continue
        assert len(card["charts"]) == 1, preset_id
        chart = card["charts"][0]
        assert json.loads(chart.config)["staticPlot"] is True
        spec = json.loads(chart.spec)
        assert spec["layout"]["height"] <= 160 and spec["layout"]["showlegend"] is False
        colours = {trace["line"]["color"] for trace in spec["data"] if "line" in trace and "x" in trace}
        assert colours <= {run_color(run["id"]) for run in previews[preset_id]["runs"]}


def test_a_card_without_a_preview_says_so_and_still_opens(monkeypatch):
    stored = read_previews()
    monkeypatch.setattr(gallery, "read_previews", lambda: {k: v for k, v in stored.items() if k != "zeros-init"})
    gallery.stored_previews.clear()  # st.cache_data: read once per server
    try:
        app = _open(GALLERY.script)
    finally:
        gallery.stored_previews.clear()
    assert not app.exception
    card = _cards(app)["zeros-init"]
    assert not card["charts"]
    assert any("No preview yet" in text for text in card["texts"])
    assert card["query"] == {"preset": "zeros-init"}
    assert all(len(other["charts"]) == 1 for preset_id, other in _cards(app).items()
               if preset_id != "zeros-init" and preset_id in PREVIEWED)


# ------------------------------------------------------------------------------------ a card's link, opened


@pytest.mark.parametrize("preset_id", NET_PRESETS)
def test_a_preset_opened_from_its_card_is_restored_on_its_page(preset_id):
    preset = load_preset(preset_id)
    page = gallery.page_for(preset)
    app = _open(page.script, {"preset": preset_id})
    assert not app.exception
    assert not app.warning, [w.value for w in app.warning]
    state = app.session_state
    if page == SEARCH:  # the form holds the search (tests/test_search_page.py starts one)
        spec = search_of(preset)
        keys = [state[f"{SEARCH.prefix}key{i}"] for i in range(len(spec.space))]
        assert keys == list(spec.space) and state[f"{SEARCH.prefix}method"] == spec.method
        assert state[f"{SEARCH.prefix}trials"] == spec.trials
        return
    group = preset.group()
    if page == COMPARE:
        assert state[f"{COMPARE.prefix}runs"] == list(group.ids[1:])
        for key in ("hidden", "activation", "init", "lr", "optimizer", "dataset", "steps"):
            assert state[f"{COMPARE.prefix}a.config.{key}"] == widget_value(group.base, key), key
        for run_id, run, label in zip(group.ids[1:], group.runs[1:], group.labels[1:]):
            for key in state[f"{COMPARE.prefix}{run_id}.keys"]:
                assert state[f"{COMPARE.prefix}{run_id}.config.{key}"] == widget_value(run, key), (run_id, key)
            assert state[f"{COMPARE.prefix}{run_id}.label"] == (label if label != run_id else "")
    else:
        for key in ("hidden", "activation", "init", "lr", "optimizer", "dataset", "steps"):
            assert state[f"{CONFIG}{key}"] == widget_value(group.base, key), key


def test_a_one_run_preset_opens_on_the_playground(tmp_path, monkeypatch):
    """No preset today is a single run; one written here opens on the Playground with its config."""
    data = yaml.safe_load((engine.lessons.presets.PRESET_DIR / "vanishing-sigmoid.yaml").read_text())
    data["id"] = "one-run-test"
    data["config"] = {k: v for k, v in data["config"].items() if "." not in k}
    path = tmp_path / "one-run-test.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    preset = load_preset_file(path)
    assert gallery.page_for(preset) == PLAYGROUND
    original = engine.lessons.presets.load_preset
    # resolve() reads ?preset= through load_preset
    monkeypatch.setattr(engine.lessons.presets, "load_preset",
                        lambda preset_id, directory=tmp_path: original(preset_id, tmp_path))
    app = _open(PLAYGROUND.script, {"preset": "one-run-test"})
    assert not app.exception
    assert not app.warning, [w.value for w in app.warning]
    for key in ("hidden", "activation", "init", "dataset", "steps"):
        assert app.session_state[f"{CONFIG}{key}"] == widget_value(preset.group().base, key), key


# ------------------------------------------------------------------------------------ the preview charts


@pytest.mark.parametrize("preset_id", NET_PRESETS)
def test_preview_figures_are_valid_plotly_in_the_runs_colours(preset_id):
    preview = read_previews()[preset_id]
    figure = preview_figure(preview)
    go.Figure(figure.to_dict())  # validates every property
    lines = [trace for trace in figure.data if trace.mode != "markers"]
    assert [trace.line.color for trace in lines] == [run_color(run["id"]) for run in preview["runs"]]
    assert figure.layout.height <= 160 and figure.layout.showlegend is False
    assert all(trace.showlegend is False for trace in figure.data)


def test_a_diverged_run_ends_in_a_cross_and_gaps_stay_gaps():
    preview = {"steps": 100, "runs": [
        {"id": "a", "label": "lr 10", "status": "diverged", "val_loss": [[0, 0.7], [10, 3.0], [20, None]]},
        {"id": "b", "label": "lr 0.1", "status": "finished", "val_loss": [[0, 0.7], [10, 0.5], [20, 0.3]]},
    ]}
    figure = preview_figure(preview)
    go.Figure(figure.to_dict())
    crosses = [trace for trace in figure.data if trace.mode == "markers"]
    assert len(crosses) == 1 and crosses[0].marker.color == run_color("a")
    assert list(crosses[0].x) == [10] and list(crosses[0].y) == [3.0]
    assert list(figure.data[0].y) == [0.7, 3.0, None]
    go.Figure(preview_figure({"runs": []}).to_dict())  # nothing to draw is still a figure


# ------------------------------------------------------------------------------------ the previews file


def test_every_preset_has_a_fresh_preview():
    """Cheap: by hash. After changing a preset's config, run `python -m engine previews`."""
    stale = stale_by_hash()
    assert not stale, f"stale previews (run `python -m engine previews`): {stale}"


def test_every_preview_describes_its_presets_runs():
    previews = read_previews()
    for preset in with_previews(all_presets()):
        assert len(preset.lesson) <= MAX_LESSON
        preview, group = previews[preset.id], preview_group(preset)
        assert preview["steps"] == min(preset.group().base.steps, PREVIEW_STEPS)
        assert [(r["id"], r["label"]) for r in preview["runs"]] == list(zip(group.ids, group.labels))
        for run in preview["runs"]:
            assert 30 <= len(run["val_loss"]) <= 60 or run["status"] != "finished", (preset.id, run["id"])
            assert run["val_loss"][0][0] == 0
            layers = [layer for layer, _, _ in run["depth"]["grad_preact_rms"]]
            assert len(layers) >= 2 and layers[-1] == "out" and run["depth_steps"][0] == 0


def test_the_previews_file_is_written_exactly_as_dumps_writes_it():
    text = (engine.lessons.presets.PRESET_DIR / "previews.json").read_text()
    assert dumps(read_previews()) == text


def test_the_hash_follows_the_config_and_nothing_else():
    preset = load_preset("zeros-init")
    same = preset.model_copy(update={"lesson": "Another lesson, the same runs.", "title": "Another title"})
    assert preview_hash(same) == preview_hash(preset)
    rewritten = preset.model_copy(update={"config": {**preset.config, "hidden": "2x32"}})  # "32,32" as NxW
    assert preview_hash(rewritten) == preview_hash(preset)
    changed = preset.model_copy(update={"config": {**preset.config, "b.lr": 0.1}})
    assert preview_hash(changed) != preview_hash(preset)


@pytest.mark.parametrize("preset_id", REPRODUCED)
def test_a_preview_regenerated_now_has_exactly_the_stored_numbers(preset_id):
    """Training is deterministic on CPU: a mismatch means the engine trains differently now. If that is
    intended, run `python -m engine previews` and commit presets/previews.json."""
    assert compute_preview(load_preset(preset_id)) == read_previews()[preset_id]
